//! The routes: the JSON API under `/api/v1/streaming/` (shaped like Spark's
//! `StreamingStatistics`, `BatchInfo` and receiver endpoints), `/metrics` and the pages.

use serde_json::{json, Value};

use super::http::{Response, HTML, JSON, OPENMETRICS, SVG};
use super::ring::Ring;
use super::{page, Cluster, Monitor};
use crate::checkpoint::Written;
use crate::metrics::{BatchInfo, InputDetail, ProcessReport, StateView};

const API: &str = "/api/v1/streaming/";

/// Answers `path` with `query` (the part after `?`).
pub(crate) fn route(m: &Monitor, path: &str, query: &str) -> Response {
    if let Some(rest) = path.strip_prefix(API) {
        return match rest.trim_end_matches('/') {
            "statistics" => json_ok(&statistics(m)),
            "batches" => json_ok(&batches(m)),
            "inputs" => json_ok(&inputs(m)),
            "checkpoints" => json_ok(&checkpoints(m)),
            "state" => json_ok(&state(m)),
            "stages" => json_ok(&stages(m)),
            "processes" => json_ok(&processes(m)),
            other => match other.strip_prefix("batches/") {
                Some(id) => {
                    let (id, operations) = match id.strip_suffix("/operations") {
                        Some(id) => (id, true),
                        None => (id, false),
                    };
                    let answer = with_batch(m, id, |b| if operations { operations_json(b) } else { batch_json(m, b) });
                    match answer {
                        Some(v) => json_ok(&v),
                        None => Response::not_found(format!("unknown batch: {id}")),
                    }
                }
                None => Response::not_found(format!("unknown API route: {path}")),
            },
        };
    }
    match path {
        "/" => Response::ok(HTML, page::overview(m, page::page_number(query))),
        "/metrics" => Response::ok(OPENMETRICS, m.metrics_text()),
        _ => {
            if let Some(id) = path.strip_prefix("/batch/") {
                return match with_batch(m, id, |b| page::batch(m, b)) {
                    Some(html) => Response::ok(HTML, html),
                    None => Response::not_found_page(page::no_batch(m, id)),
                };
            }
            if let Some(chart) = path.strip_prefix("/timeline/").and_then(|c| c.strip_suffix(".svg")) {
                if let Some(svg) = page::timeline(m, chart) {
                    return Response::ok(SVG, svg);
                }
            }
            if let Some(chart) = path.strip_prefix("/histogram/").and_then(|c| c.strip_suffix(".svg")) {
                if let Some(svg) = page::histogram(m, chart) {
                    return Response::ok(SVG, svg);
                }
            }
            Response::not_found(format!("not found: {path}"))
        }
    }
}

fn json_ok(v: &Value) -> Response {
    Response::ok(JSON, v.to_string())
}

/// Runs `f` on the retained batch whose id (time in ms) is `id`.
fn with_batch<R>(m: &Monitor, id: &str, f: impl FnOnce(&BatchInfo) -> R) -> Option<R> {
    let ms = id.parse::<i64>().ok()?;
    let ring = m.ring.lock();
    ring.get(ms).map(f)
}

fn ms(d: std::time::Duration) -> u64 {
    d.as_millis() as u64
}

/// What an input allocated to a batch, as JSON.
fn detail_json(d: &InputDetail) -> Value {
    match d {
        InputDetail::Files(files) => json!({
            "files": files.iter().map(|(path, bytes)| json!({ "path": path, "bytes": bytes })).collect::<Vec<_>>(),
        }),
        InputDetail::Offsets(ranges) => json!({
            "offsetRanges": ranges.iter().map(|r| json!({
                "topic": r.topic, "partition": r.partition, "fromOffset": r.from, "untilOffset": r.until,
            })).collect::<Vec<_>>(),
        }),
        InputDetail::Lines(n) => json!({ "lines": n }),
        _ => json!({}),
    }
}

/// Spark's `OutputOperationInfo` of each output operation of batch `b`.
fn operations_json(b: &BatchInfo) -> Value {
    Value::Array(
        b.output_ops
            .iter()
            .enumerate()
            .map(|(i, op)| {
                json!({
                    "outputOpId": i,
                    "name": &*op.name,
                    "duration": ms(op.duration),
                    "durationMicros": op.duration.as_micros() as u64,
                    "failureReason": op.error,
                })
            })
            .collect(),
    )
}

/// Spark's `BatchInfo` of the REST API, with each output operation and what each input
/// allocated.
fn batch_json(m: &Monitor, b: &BatchInfo) -> Value {
    let total = m.outputs.len();
    let failed = b.output_ops.iter().filter(|o| o.error.is_some()).count();
    let checkpoint = m.checkpoints.lock().iter().find(|c| c.time == b.batch_time).map(checkpoint_json);
    json!({
        "batchId": b.batch_time.as_millis(),
        "batchTime": date(b.batch_time.as_millis()),
        "status": "COMPLETED",
        "replayed": b.replayed,
        "batchDuration": m.batch.as_millis(),
        "inputSize": b.num_records,
        "schedulingDelay": ms(b.scheduling_delay),
        "processingTime": ms(b.processing_time),
        "totalDelay": ms(b.scheduling_delay + b.processing_time),
        "numActiveOutputOps": 0,
        "numCompletedOutputOps": b.output_ops.len().saturating_sub(failed),
        "numFailedOutputOps": b.failed_outputs,
        "numTotalOutputOps": total,
        "firstFailureReason": b.first_failure,
        "checkpointStall": ms(b.checkpoint_stall),
        "checkpoint": checkpoint,
        "outputOperations": operations_json(b),
        "stageTimesMicros": b.stage_times.iter().map(|d| d.as_micros() as u64).collect::<Vec<_>>(),
        "fusedStageTimesMicros": b.fused_stage_times.iter().map(|d| d.map(|d| d.as_micros() as u64)).collect::<Vec<_>>(),
        "processes": m.cluster.lock().as_ref().map(|c| {
            let reports = c.batch(b.batch_time.as_millis()).unwrap_or_default();
            (0..c.processes).map(|p| reports.get(p).and_then(Option::as_ref).map(|r| json!({
                "process": p,
                "processingTime": r.processing_micros / 1000,
                "processingTimeMicros": r.processing_micros,
                "recordsRead": r.records_read.iter().sum::<u64>(),
                "failures": r.failures,
            }))).collect::<Vec<_>>()
        }),
        "inputs": b.input_records.iter().enumerate().map(|(i, n)| {
            let mut input = json!({
                "streamId": i,
                "streamName": m.input_names.get(i),
                "records": n,
            });
            if let (Some(d), Value::Object(fields)) = (b.input_details.get(i), &mut input) {
                if let Value::Object(more) = detail_json(d) {
                    fields.extend(more);
                }
            }
            if let Some(shares) = input_shares(m, b, i) {
                input["processes"] = Value::Array(shares.iter().map(|share| {
                    let mut v = detail_json(&share.detail);
                    v["process"] = json!(share.process);
                    v["recordsRead"] = json!(share.records_read);
                    v
                }).collect());
            }
            input
        }).collect::<Vec<_>>(),
    })
}

/// One process's share of one input in one batch (cluster).
#[derive(Debug)]
pub(crate) struct Share {
    pub(crate) process: usize,
    /// Records it read of the input in the batch, from its report (`None` until it arrives).
    pub(crate) records_read: Option<u64>,
    /// What of the batch's input it reads.
    pub(crate) detail: InputDetail,
}

/// In a cluster, each process's share of input `i` in batch `b`: what the driver's plan gave
/// it to read, and the records it says it read; `None` on one process.
pub(crate) fn input_shares(m: &Monitor, b: &BatchInfo, i: usize) -> Option<Vec<Share>> {
    let cluster = m.cluster.lock();
    let c = cluster.as_ref()?;
    let reports = c.batch(b.batch_time.as_millis()).unwrap_or_default();
    let details =
        b.input_details.get(i).map_or_else(|| vec![InputDetail::None; c.processes], |d| d.shares(c.processes));
    Some(
        details
            .into_iter()
            .enumerate()
            .map(|(process, detail)| Share {
                process,
                records_read: reports
                    .get(process)
                    .and_then(Option::as_ref)
                    .and_then(|r| r.records_read.get(i).copied()),
                detail,
            })
            .collect(),
    )
}

/// The batches waiting (`QUEUED`) and being processed (`PROCESSING`), then the retained
/// completed batches, newest first, as Spark lists them.
pub(crate) fn batches(m: &Monitor) -> Value {
    let active = m.active();
    let ring = m.ring.lock();
    let active = active.into_iter().rev().map(|(t, running)| {
        json!({
            "batchId": t,
            "batchTime": date(t),
            "status": if running { "PROCESSING" } else { "QUEUED" },
            "batchDuration": m.batch.as_millis(),
            "numTotalOutputOps": m.outputs.len(),
        })
    });
    Value::Array(active.chain(ring.iter().rev().map(|b| batch_json(m, b))).collect())
}

fn checkpoint_json(c: &Written) -> Value {
    json!({
        "batchId": c.time.as_millis(),
        "time": date(c.time.as_millis()),
        "bytes": c.bytes,
        "writeTime": ms(c.took),
        "error": c.error,
    })
}

/// The last checkpoints written, newest first, with the stall of the batch loop each cost
/// (when its batch is retained).
pub(crate) fn checkpoints(m: &Monitor) -> Value {
    let kept: Vec<Written> = m.checkpoints.lock().iter().rev().cloned().collect();
    let ring = m.ring.lock();
    Value::Array(
        kept.iter()
            .map(|c| {
                let mut v = checkpoint_json(c);
                v["stall"] = json!(ring.get(c.time.as_millis()).map(|b| ms(b.checkpoint_stall)));
                v
            })
            .collect(),
    )
}

/// Averages over the retained batches, as Spark's `StreamingStatistics`.
pub(crate) fn statistics(m: &Monitor) -> Value {
    let ring = m.ring.lock();
    let n = ring.iter().len();
    let avg = |f: &dyn Fn(&BatchInfo) -> f64| (n > 0).then(|| ring.iter().map(f).sum::<f64>() / n as f64);
    let (waiting, running) = (m.metrics.waiting(), m.metrics.running());
    json!({
        "name": m.name,
        "startTime": date(m.started_ms),
        "batchDuration": m.batch.as_millis(),
        "numInputs": m.inputs.len(),
        "numTotalCompletedBatches": ring.completed,
        "numRetainedCompletedBatches": n,
        "numActiveBatches": waiting + running,
        "numWaitingBatches": waiting,
        "numRunningBatches": running,
        "numProcessedRecords": ring.records,
        "numReceivedRecords": ring.records,
        "avgInputRate": avg(&|b| page::rate(m, b.num_records)),
        "avgSchedulingDelay": avg(&|b| b.scheduling_delay.as_secs_f64() * 1000.0),
        "avgProcessingTime": avg(&|b| b.processing_time.as_secs_f64() * 1000.0),
        "avgTotalDelay": avg(&|b| (b.scheduling_delay + b.processing_time).as_secs_f64() * 1000.0),
        "inputRates": m.input_names.iter().enumerate().map(|(i, name)| json!({
            "streamId": i,
            "streamName": name,
            "avgInputRate": average(&input_rates(m, &ring, i)),
        })).collect::<Vec<_>>(),
    })
}

/// Input `i`'s rate (records per second) in each retained batch that counts its records,
/// oldest first: (batch id, rate), Spark's `eventRates` of a receiver.
pub(crate) fn input_rates(m: &Monitor, ring: &Ring, i: usize) -> Vec<(i64, f64)> {
    ring.iter().filter_map(|b| Some((b.batch_time.as_millis(), page::rate(m, *b.input_records.get(i)?)))).collect()
}

/// The mean of the rates; `None` without any.
fn average(rates: &[(i64, f64)]) -> Option<f64> {
    (!rates.is_empty()).then(|| rates.iter().map(|(_, r)| r).sum::<f64>() / rates.len() as f64)
}

/// Each input: its records over the job and its bad-input counters.
pub(crate) fn inputs(m: &Monitor) -> Value {
    let ring = m.ring.lock();
    Value::Array(
        m.inputs
            .iter()
            .enumerate()
            .map(|(i, input)| {
                let stats = input.stats();
                let status = input.status();
                let rates = input_rates(m, &ring, i);
                json!({
                    "streamId": i,
                    "streamName": m.input_names[i],
                    "records": ring.input_records.get(i).copied().unwrap_or(0),
                    "avgEventRate": average(&rates),
                    "eventRates": rates.iter().map(|&(t, r)| json!([t, r])).collect::<Vec<_>>(),
                    "lines": stats.lines,
                    "invalidUtf8Lines": stats.invalid_utf8_lines,
                    "oversizedLines": stats.oversized_lines,
                    "errors": stats.errors,
                    "connected": status.connected,
                    "lastError": status.last_error,
                    "rateLimit": status.rate,
                    "lag": status.lag.iter().map(|(topic, partition, lag)| json!({
                        "topic": topic, "partition": partition, "records": lag,
                    })).collect::<Vec<_>>(),
                })
            })
            .collect(),
    )
}

fn view_json(v: &StateView) -> Value {
    json!({ "keys": v.keys, "bytes": v.bytes })
}

/// Each stateful operation (windows, state): its keys and estimated bytes after the last
/// batch, in a cluster on each process too, and a window's contents.
pub(crate) fn state(m: &Monitor) -> Value {
    Value::Array(
        m.state_rows()
            .iter()
            .map(|r| {
                let mut v = view_json(&r.total);
                v["operation"] = json!(r.total.operation);
                v["window"] = r.total.window.as_ref().map_or(Value::Null, |w| {
                    let records = w.iter().map(|b| b.records).sum::<Option<u64>>();
                    json!({
                        "from": w.first().map(|b| b.time.as_millis()),
                        "until": w.last().map(|b| b.time.as_millis()),
                        "records": records,
                        "batches": w.iter().map(|b| json!({
                            "batchId": b.time.as_millis(),
                            "batchTime": date(b.time.as_millis()),
                            "records": b.records,
                            "keys": b.keys,
                        })).collect::<Vec<_>>(),
                    })
                });
                if !r.processes.is_empty() {
                    v["processes"] = Value::Array(
                        r.processes
                            .iter()
                            .map(|(p, pv)| {
                                let mut x = view_json(pv);
                                x["process"] = json!(p);
                                x
                            })
                            .collect(),
                    );
                }
                v
            })
            .collect(),
    )
}

/// The time of one stage of the runtime's plan over the last batches.
#[derive(Debug)]
pub(crate) struct StageTime {
    /// As the runtime's description names it: `stage 1` (a fused stage), `stateful 1`,
    /// `output 2`.
    pub(crate) stage: String,
    pub(crate) name: String,
    pub(crate) last: Option<std::time::Duration>,
    pub(crate) avg: Option<std::time::Duration>,
    pub(crate) max: Option<std::time::Duration>,
    /// Batches the figures cover.
    pub(crate) batches: usize,
    /// Of those, batches where it failed (outputs).
    pub(crate) failed: usize,
    /// In a cluster, its time in each process's last report (`None`: it did not run there).
    pub(crate) processes: Vec<(usize, Option<std::time::Duration>)>,
}

/// Each stage of the runtime's plan over the last 10 batches: each fused stage (its pass over
/// its parent's partitions, in the batches it ran), then each stateful operation (with the
/// stages that feed it) and each output operation (with its own).
pub(crate) fn stage_times(m: &Monitor) -> Vec<StageTime> {
    let ring = m.ring.lock();
    let last: Vec<&BatchInfo> = ring.iter().rev().take(page::LAST_BATCHES).collect();
    let figures = |stage: String, name: &str, times: Vec<std::time::Duration>, failed: usize| {
        let avg = (!times.is_empty()).then(|| times.iter().sum::<std::time::Duration>() / times.len() as u32);
        StageTime {
            stage,
            name: name.to_string(),
            last: times.first().copied(),
            avg,
            max: times.iter().max().copied(),
            batches: last.len(),
            failed,
            processes: Vec::new(),
        }
    };
    let mut out: Vec<StageTime> = m
        .stages
        .iter()
        .enumerate()
        .map(|(i, name)| {
            let times = last.iter().filter_map(|b| b.fused_stage_times.get(i).copied().flatten()).collect();
            figures(format!("stage {}", i + 1), name, times, 0)
        })
        .collect();
    out.extend(m.stateful.iter().enumerate().map(|(i, name)| {
        let times = last.iter().filter_map(|b| b.stage_times.get(i).copied()).collect();
        figures(format!("stateful {}", i + 1), name, times, 0)
    }));
    out.extend(m.outputs.iter().enumerate().map(|(i, name)| {
        let ops: Vec<_> = last.iter().filter_map(|b| b.output_ops.get(i)).collect();
        let failed = ops.iter().filter(|o| o.error.is_some()).count();
        figures(format!("output {}", i + 1), name, ops.iter().map(|o| o.duration).collect(), failed)
    }));
    if let Some(c) = m.cluster.lock().as_ref() {
        let (fused, stateful) = (m.stages.len(), m.stateful.len());
        for (k, t) in out.iter_mut().enumerate() {
            t.processes = c
                .latest
                .iter()
                .flatten()
                .map(|r| {
                    let micros = if k < fused {
                        r.fused_micros.get(k).copied().flatten()
                    } else if k < fused + stateful {
                        r.stage_micros.get(k - fused).copied()
                    } else {
                        r.output_micros.get(k - fused - stateful).copied()
                    };
                    (r.process, micros.map(std::time::Duration::from_micros))
                })
                .collect();
        }
    }
    out
}

/// `/stages`: [`stage_times`] as JSON (microseconds).
pub(crate) fn stages(m: &Monitor) -> Value {
    let us = |d: Option<std::time::Duration>| d.map(|d| d.as_micros() as u64);
    Value::Array(
        stage_times(m)
            .iter()
            .map(|t| {
                json!({
                    "stage": t.stage,
                    "name": t.name,
                    "lastMicros": us(t.last),
                    "avgMicros": us(t.avg),
                    "maxMicros": us(t.max),
                    "batches": t.batches,
                    "failed": t.failed,
                    "processes": t.processes.iter().map(|(p, d)| json!({ "process": p, "lastMicros": us(*d) })).collect::<Vec<_>>(),
                })
            })
            .collect(),
    )
}

/// The sums over every process's last report.
#[derive(Debug, Default)]
pub(crate) struct Totals {
    pub(crate) max_processing_micros: u64,
    pub(crate) records_read: u64,
    pub(crate) records_read_total: u64,
    pub(crate) state_keys: u64,
    pub(crate) state_bytes: u64,
    pub(crate) failures: usize,
}

pub(crate) fn process_totals(c: &Cluster) -> Totals {
    let mut t = Totals::default();
    for r in c.latest.iter().flatten() {
        t.max_processing_micros = t.max_processing_micros.max(r.processing_micros);
        t.records_read += r.records_read.iter().sum::<u64>();
        t.records_read_total += r.records_read_total.iter().sum::<u64>();
        t.state_keys += r.state.iter().filter_map(|v| v.keys).sum::<u64>();
        t.state_bytes += r.state.iter().filter_map(|v| v.bytes).sum::<u64>();
        t.failures += r.failures;
    }
    t
}

fn report_json(m: &Monitor, r: &ProcessReport) -> Value {
    json!({
        "process": r.process,
        "batchId": r.time.as_millis(),
        "processingTime": r.processing_micros / 1000,
        "processingTimeMicros": r.processing_micros,
        "stageTimesMicros": r.stage_micros,
        "fusedStageTimesMicros": r.fused_micros,
        "outputTimesMicros": r.output_micros,
        "failures": r.failures,
        "recordsRead": r.records_read.iter().sum::<u64>(),
        "recordsReadTotal": r.records_read_total.iter().sum::<u64>(),
        "recordsHereTotal": r.records_here_total.iter().sum::<u64>(),
        "stateKeys": r.state.iter().filter_map(|v| v.keys).sum::<u64>(),
        "stateBytes": r.state.iter().filter_map(|v| v.bytes).sum::<u64>(),
        "inputs": r.inputs.iter().enumerate().map(|(i, st)| json!({
            "streamId": i,
            "streamName": m.input_names.get(i),
            "recordsRead": r.records_read.get(i),
            "recordsReadTotal": r.records_read_total.get(i),
            "recordsHereTotal": r.records_here_total.get(i),
            "connected": st.connected,
            "lastError": st.last_error,
            "rateLimit": st.rate,
            "lag": st.lag.iter().map(|(topic, partition, lag)| json!({
                "topic": topic, "partition": partition, "records": lag,
            })).collect::<Vec<_>>(),
        })).collect::<Vec<_>>(),
    })
}

/// `/processes`: in a cluster, each process's last report and the totals; one process
/// alone has no rows.
pub(crate) fn processes(m: &Monitor) -> Value {
    let cluster = m.cluster.lock();
    let Some(c) = cluster.as_ref() else {
        return json!({ "processes": 1, "rows": [], "totals": null });
    };
    let t = process_totals(c);
    json!({
        "processes": c.processes,
        "rows": c.latest.iter().enumerate().map(|(p, r)| match r {
            Some(r) => report_json(m, r),
            None => json!({ "process": p, "batchId": null }),
        }).collect::<Vec<_>>(),
        "totals": {
            "maxProcessingTime": t.max_processing_micros / 1000,
            "maxProcessingTimeMicros": t.max_processing_micros,
            "recordsRead": t.records_read,
            "recordsReadTotal": t.records_read_total,
            "stateKeys": t.state_keys,
            "stateBytes": t.state_bytes,
            "failures": t.failures,
        },
    })
}

/// `ms` since the epoch as Spark's REST API writes dates: `2026-12-02T06:28:59.000GMT`.
pub(crate) fn date(ms: i64) -> String {
    let (days, rem) = (ms.div_euclid(86_400_000), ms.rem_euclid(86_400_000));
    // Howard Hinnant's civil_from_days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let mo = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(mo <= 2);
    let (h, mi, s, milli) = (rem / 3_600_000, rem / 60_000 % 60, rem / 1000 % 60, rem % 1000);
    format!("{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}.{milli:03}GMT")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ui::ring::tests::info;

    #[test]
    fn dates_as_spark_writes_them() {
        assert_eq!(date(0), "1970-01-01T00:00:00.000GMT");
        assert_eq!(date(1_795_933_739_123), "2026-11-29T06:28:59.123GMT");
        assert_eq!(date(951_782_400_000), "2000-02-29T00:00:00.000GMT");
    }

    #[test]
    fn routes_answer_json_pages_and_404() {
        let m = super::super::tests::monitor(&["socket_text_stream(h:1)"]);
        m.batch_completed(&info(2000, &[5]), 0);
        m.batch_completed(&info(3000, &[7]), 0);
        let batches: Value = serde_json::from_str(&route(&m, "/api/v1/streaming/batches", "").body).unwrap();
        let ids: Vec<i64> = batches.as_array().unwrap().iter().map(|b| b["batchId"].as_i64().unwrap()).collect();
        assert_eq!(ids, [3000, 2000], "newest first");
        m.batch_started(crate::time::Time::from_millis(4000), 2);
        let all: Value = serde_json::from_str(&route(&m, "/api/v1/streaming/batches", "").body).unwrap();
        let listed: Vec<(i64, &str)> = all
            .as_array()
            .unwrap()
            .iter()
            .map(|b| (b["batchId"].as_i64().unwrap(), b["status"].as_str().unwrap()))
            .collect();
        assert_eq!(
            listed,
            [(6000, "QUEUED"), (5000, "QUEUED"), (4000, "PROCESSING"), (3000, "COMPLETED"), (2000, "COMPLETED")]
        );
        let page = route(&m, "/", "").body;
        assert!(page.contains("<h2>Active Batches (3)</h2>"), "{page}");
        m.batch_started(crate::time::Time::from_millis(4000), 100);
        let page = route(&m, "/", "").body;
        assert!(page.contains("<h2>Active Batches (101)</h2>") && page.contains("and 81 more queued"), "{page}");
        m.batch_completed(&info(4000, &[0]), 0);
        assert_eq!(batches[0]["inputSize"], 7);
        assert_eq!(batches[0]["totalDelay"], 43);
        let one = route(&m, "/api/v1/streaming/batches/2000", "");
        assert_eq!((one.status, one.content_type), (200, JSON));
        assert_eq!(serde_json::from_str::<Value>(&one.body).unwrap()["inputs"][0]["records"], 5);
        let unknown = route(&m, "/api/v1/streaming/batches/2500", "");
        assert_eq!(unknown.status, 404);
        assert_eq!(serde_json::from_str::<Value>(&unknown.body).unwrap()["message"], "unknown batch: 2500");
        assert_eq!(route(&m, "/api/v1/streaming/batches/x", "").status, 404);
        assert_eq!(route(&m, "/api/v1/streaming/nothing", "").status, 404);
        assert_eq!(route(&m, "/nothing", "").status, 404);
        let stats: Value = serde_json::from_str(&route(&m, "/api/v1/streaming/statistics", "").body).unwrap();
        assert_eq!(
            (stats["numTotalCompletedBatches"].as_u64(), stats["numReceivedRecords"].as_u64()),
            (Some(3), Some(12))
        );
        assert_eq!(stats["avgInputRate"], 4.0, "12 records over three one-second batches");
        assert_eq!(stats["inputRates"][0]["avgInputRate"], 4.0);
        let inputs: Value = serde_json::from_str(&route(&m, "/api/v1/streaming/inputs", "").body).unwrap();
        assert_eq!(inputs[0]["records"], 12);
        assert_eq!(inputs[0]["avgEventRate"], 4.0);
        assert_eq!(inputs[0]["eventRates"], serde_json::json!([[2000, 5.0], [3000, 7.0], [4000, 0.0]]));
        assert_eq!(route(&m, "/", "").status, 200);
        assert_eq!(route(&m, "/batch/3000", "").status, 200);
        assert_eq!(route(&m, "/batch/1", "").status, 404);
        assert_eq!(route(&m, "/timeline/processing-time.svg", "").content_type, SVG);
        assert_eq!(route(&m, "/timeline/nothing.svg", "").status, 404);
        assert!(route(&m, "/metrics", "").body.contains("sluice_batches_total 3\n"));
    }
}
