//! `/metrics`: the job's batches in the Prometheus text format, with the official
//! `prometheus-client` crate. Names start with `sluice_`; times are in seconds.

use prometheus_client::encoding::{EncodeLabelValue, LabelValueEncoder};
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::Registry;

use crate::checkpoint::Written;
use crate::metrics::{BatchInfo, InputStatus, ProcessReport, StateView};

/// A label value, escaped as the text format requires (`\`, `"` and newlines); the crate
/// writes `String` values as they are.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct Escaped(String);

impl EncodeLabelValue for Escaped {
    fn encode(&self, encoder: &mut LabelValueEncoder<'_>) -> Result<(), std::fmt::Error> {
        use std::fmt::Write;
        for c in self.0.chars() {
            match c {
                '\\' => encoder.write_str("\\\\")?,
                '"' => encoder.write_str("\\\"")?,
                '\n' => encoder.write_str("\\n")?,
                c => encoder.write_char(c)?,
            }
        }
        Ok(())
    }
}

type Labels = Vec<(&'static str, Escaped)>;

/// A family of histograms of seconds.
type Histograms = Family<Labels, Histogram, fn() -> Histogram>;

/// The metrics of one job and the registry that encodes them.
pub(crate) struct Metrics {
    registry: Registry,
    scheduling_delay: Histogram,
    processing_time: Histogram,
    total_delay: Histogram,
    batches: Counter,
    failed_outputs: Counter,
    /// One counter per input, in registration order (handles into the family).
    input_records: Vec<Counter>,
    waiting: Gauge,
    running: Gauge,
    checkpoint_write: Histogram,
    checkpoint_stall: Histogram,
    checkpoint_bytes: Gauge,
    checkpoints: Counter,
    failed_checkpoints: Counter,
    /// Read from the inputs at scrape time.
    kafka_lag: Family<Labels, Gauge>,
    connected: Family<Labels, Gauge>,
    rate: Family<Labels, Gauge<f64, std::sync::atomic::AtomicU64>>,
    /// Keys of each stateful operation (read when scraped).
    state_keys: Family<Labels, Gauge>,
    /// Estimated bytes of each stateful operation (read when scraped).
    state_bytes: Family<Labels, Gauge>,
    /// In a cluster: each process's processing time of its last batch.
    process_time: Family<Labels, Gauge<f64, std::sync::atomic::AtomicU64>>,
    /// In a cluster: records each process read, by input.
    process_records: Family<Labels, Counter>,
    /// Each fused stage's time in the batches it ran, by stage (and process, in a cluster).
    stage_seconds: Histograms,
    /// The labels of each fused stage: its number and its operator.
    stage_labels: Vec<Labels>,
    /// Each fused stage's histogram in `stage_seconds` (one process alone), looked up at the
    /// first batch: the batches after it observe it with no label lookup.
    stage_histograms: std::sync::OnceLock<Vec<Histogram>>,
}

/// Buckets from 1 ms to about 65 s, doubling.
fn seconds_buckets() -> impl Iterator<Item = f64> {
    exponential_buckets(0.001, 2.0, 17)
}

/// Buckets of a stage's time: from 10 us to about 42 s, quadrupling.
fn stage_histogram() -> Histogram {
    Histogram::new(exponential_buckets(0.000_01, 4.0, 12))
}

impl Metrics {
    /// The metrics of a job with inputs `inputs` and fused stages whose operators are `stages`.
    pub(crate) fn new(inputs: &[String], stages: &[String]) -> Metrics {
        let mut registry = Registry::with_prefix("sluice");
        let scheduling_delay = Histogram::new(seconds_buckets());
        let processing_time = Histogram::new(seconds_buckets());
        let total_delay = Histogram::new(seconds_buckets());
        let (batches, failed_outputs) = (Counter::default(), Counter::default());
        let (waiting, running) = (Gauge::default(), Gauge::default());
        registry.register(
            "batch_scheduling_delay_seconds",
            "Time from a batch's time to the start of its processing",
            scheduling_delay.clone(),
        );
        registry.register("batch_processing_time_seconds", "Time spent processing a batch", processing_time.clone());
        registry.register(
            "batch_total_delay_seconds",
            "Scheduling delay plus processing time of a batch",
            total_delay.clone(),
        );
        registry.register("batches", "Batches completed", batches.clone());
        registry.register("failed_output_operations", "Output operations that failed", failed_outputs.clone());
        let records = Family::<Labels, Counter>::default();
        let input_records =
            inputs.iter().map(|name| records.get_or_create(&vec![("input", Escaped(name.clone()))]).clone()).collect();
        registry.register("input_records", "Records received, by input", records);
        registry.register("waiting_batches", "Batches generated and waiting to be processed", waiting.clone());
        registry.register("running_batches", "Batches being processed", running.clone());
        let (checkpoint_write, checkpoint_stall) =
            (Histogram::new(seconds_buckets()), Histogram::new(seconds_buckets()));
        let (checkpoint_bytes, checkpoints, failed_checkpoints) =
            (Gauge::default(), Counter::default(), Counter::default());
        registry.register(
            "checkpoint_write_seconds",
            "Time the checkpoint writer took to write a checkpoint",
            checkpoint_write.clone(),
        );
        registry.register(
            "checkpoint_stall_seconds",
            "Time the batch loop spent taking a checkpoint's snapshot",
            checkpoint_stall.clone(),
        );
        registry.register("checkpoint_size_bytes", "Size of the last checkpoint written", checkpoint_bytes.clone());
        registry.register("checkpoints", "Checkpoints written", checkpoints.clone());
        registry.register("failed_checkpoints", "Checkpoints that could not be written", failed_checkpoints.clone());
        let kafka_lag = Family::<Labels, Gauge>::default();
        registry.register(
            "kafka_lag_records",
            "Records in a Kafka partition past the last batch planned, by input, topic and partition",
            kafka_lag.clone(),
        );
        let state_keys = Family::<Labels, Gauge>::default();
        registry.register(
            "state_keys",
            "Keys in the state of a stateful operation when scraped, by operation (and process, as of its last report)",
            state_keys.clone(),
        );
        let state_bytes = Family::<Labels, Gauge>::default();
        registry.register(
            "state_bytes",
            "Estimated heap bytes of the state of a stateful operation when scraped, by operation (and process)",
            state_bytes.clone(),
        );
        let process_time = Family::<Labels, Gauge<f64, std::sync::atomic::AtomicU64>>::default();
        registry.register(
            "process_processing_time_seconds",
            "In a cluster: time the process spent on its last batch, by process",
            process_time.clone(),
        );
        let process_records = Family::<Labels, Counter>::default();
        registry.register(
            "process_records_read",
            "In a cluster: records the process read, by process and input",
            process_records.clone(),
        );
        let connected = Family::<Labels, Gauge>::default();
        registry.register(
            "input_connected",
            "Whether a receiver is connected (1) or not (0), by input",
            connected.clone(),
        );
        let rate = Family::<Labels, Gauge<f64, std::sync::atomic::AtomicU64>>::default();
        registry.register(
            "input_rate_limit_records_per_second",
            "The rate backpressure or a rate cap holds an input to, by input",
            rate.clone(),
        );
        let stage_seconds: Histograms = Family::new_with_constructor(stage_histogram);
        registry.register(
            "stage_seconds",
            "Time of a fused stage of the plan (its pass over its parent's partitions) in the batches it ran, by stage and operator (and process, in a cluster)",
            stage_seconds.clone(),
        );
        let stage_labels = stages
            .iter()
            .enumerate()
            .map(|(i, op)| vec![("stage", Escaped((i + 1).to_string())), ("operator", Escaped(op.clone()))])
            .collect();
        let build = Family::<Labels, Gauge>::default();
        build.get_or_create(&vec![("version", Escaped(env!("CARGO_PKG_VERSION").to_string()))]).set(1);
        registry.register("build_info", "Version of the Sluice runtime (always 1)", build);
        Metrics {
            registry,
            scheduling_delay,
            processing_time,
            total_delay,
            batches,
            failed_outputs,
            input_records,
            waiting,
            running,
            checkpoint_write,
            checkpoint_stall,
            checkpoint_bytes,
            checkpoints,
            failed_checkpoints,
            kafka_lag,
            connected,
            rate,
            state_keys,
            state_bytes,
            process_time,
            process_records,
            stage_seconds,
            stage_labels,
            stage_histograms: std::sync::OnceLock::new(),
        }
    }

    /// Each fused stage's time in a batch (`None`: it did not run), of `process` in a cluster.
    pub(crate) fn observe_stages(
        &self,
        times: impl Iterator<Item = Option<std::time::Duration>>,
        process: Option<usize>,
    ) {
        let Some(p) = process else {
            let histograms = self.stage_histograms.get_or_init(|| {
                self.stage_labels.iter().map(|l| self.stage_seconds.get_or_create(l).clone()).collect()
            });
            for (histogram, time) in histograms.iter().zip(times) {
                if let Some(time) = time {
                    histogram.observe(time.as_secs_f64());
                }
            }
            return;
        };
        for (labels, time) in self.stage_labels.iter().zip(times) {
            let Some(time) = time else { continue };
            let mut labels = labels.clone();
            labels.push(("process", Escaped(p.to_string())));
            self.stage_seconds.get_or_create(&labels).observe(time.as_secs_f64());
        }
    }

    /// The keys and bytes of each stateful operation as read, of `process` in a
    /// cluster.
    pub(crate) fn set_state(&self, state: &[StateView], process: Option<usize>) {
        for v in state {
            let mut labels = vec![("operation", Escaped(v.operation.clone()))];
            if let Some(p) = process {
                labels.push(("process", Escaped(p.to_string())));
            }
            if let Some(keys) = v.keys {
                self.state_keys.get_or_create(&labels).set(i64::try_from(keys).unwrap_or(i64::MAX));
            }
            if let Some(bytes) = v.bytes {
                self.state_bytes.get_or_create(&labels).set(i64::try_from(bytes).unwrap_or(i64::MAX));
            }
        }
    }

    /// A process's report of a batch (cluster).
    pub(crate) fn observe_process(&self, r: &ProcessReport, inputs: &[String]) {
        let process = ("process", Escaped(r.process.to_string()));
        self.process_time.get_or_create(&vec![process.clone()]).set(r.processing_micros as f64 / 1e6);
        for (name, n) in inputs.iter().zip(&r.records_read) {
            self.process_records.get_or_create(&vec![process.clone(), ("input", Escaped(name.clone()))]).inc_by(*n);
        }
        self.set_state(&r.state, Some(r.process));
        let micros = r.fused_micros.iter().map(|us| us.map(std::time::Duration::from_micros));
        self.observe_stages(micros, Some(r.process));
    }

    /// Counts a checkpoint the writer wrote (or failed to).
    pub(crate) fn observe_checkpoint(&self, w: &Written) {
        if w.error.is_some() {
            self.failed_checkpoints.inc();
            return;
        }
        self.checkpoints.inc();
        self.checkpoint_write.observe(w.took.as_secs_f64());
        self.checkpoint_bytes.set(i64::try_from(w.bytes).unwrap_or(i64::MAX));
    }

    /// Sets the gauges read from input `name`'s status.
    pub(crate) fn set_input_status(&self, name: &str, status: &InputStatus) {
        let input = || ("input", Escaped(name.to_string()));
        for (topic, partition, lag) in &status.lag {
            let labels =
                vec![input(), ("topic", Escaped(topic.clone())), ("partition", Escaped(partition.to_string()))];
            self.kafka_lag.get_or_create(&labels).set(*lag);
        }
        if let Some(c) = status.connected {
            self.connected.get_or_create(&vec![input()]).set(i64::from(c));
        }
        if let Some(r) = status.rate {
            self.rate.get_or_create(&vec![input()]).set(r);
        }
    }

    /// Counts a completed batch.
    pub(crate) fn observe(&self, info: &BatchInfo) {
        let (delay, processing) = (info.scheduling_delay.as_secs_f64(), info.processing_time.as_secs_f64());
        self.scheduling_delay.observe(delay);
        self.processing_time.observe(processing);
        self.total_delay.observe(delay + processing);
        if !info.checkpoint_stall.is_zero() {
            self.checkpoint_stall.observe(info.checkpoint_stall.as_secs_f64());
        }
        self.batches.inc();
        self.failed_outputs.inc_by(info.failed_outputs as u64);
        for (counter, n) in self.input_records.iter().zip(&info.input_records) {
            counter.inc_by(*n);
        }
    }

    pub(crate) fn set_active(&self, waiting: usize, running: i64) {
        self.waiting.set(waiting as i64);
        self.running.set(running);
    }

    /// Batches waiting to be processed.
    pub(crate) fn waiting(&self) -> i64 {
        self.waiting.get()
    }

    /// Batches being processed (0 or 1).
    pub(crate) fn running(&self) -> i64 {
        self.running.get()
    }

    /// The text of `/metrics`.
    pub(crate) fn encode(&self) -> String {
        let mut out = String::new();
        // Writing to a String cannot fail; an encoding error would be a bug of the crate.
        if let Err(e) = prometheus_client::encoding::text::encode(&mut out, &self.registry) {
            tracing::error!("cannot encode the metrics: {e}");
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ui::ring::tests::info;

    /// A counter's or gauge's value. The parser reads an OpenMetrics counter (`# TYPE x counter`
    /// above `x_total`) as untyped.
    pub(crate) fn sample_value(v: &prometheus_parse::Value) -> f64 {
        match v {
            prometheus_parse::Value::Counter(x)
            | prometheus_parse::Value::Gauge(x)
            | prometheus_parse::Value::Untyped(x) => *x,
            other => panic!("not a single value: {other:?}"),
        }
    }

    fn parse(text: &str) -> prometheus_parse::Scrape {
        prometheus_parse::Scrape::parse(text.lines().map(|l| Ok(l.to_string()))).unwrap()
    }

    #[test]
    fn counts_batches_records_and_times_in_seconds() {
        let m = Metrics::new(&["a \\ \"quoted\"".to_string(), "b".to_string()], &[]);
        m.observe(&info(1000, &[2, 3]));
        m.observe(&info(2000, &[4, 0]));
        m.set_active(2, 1);
        let text = m.encode();
        assert!(text.contains("input=\"a \\\\ \\\"quoted\\\"\""), "{text}");
        let scrape = parse(&text);
        let value = |name: &str, input: Option<&str>| {
            scrape
                .samples
                .iter()
                .find(|s| s.metric == name && input.is_none_or(|i| s.labels.get("input") == Some(i)))
                .map(|s| sample_value(&s.value))
        };
        assert_eq!(value("sluice_batches_total", None), Some(2.0));
        assert_eq!(value("sluice_input_records_total", Some("b")), Some(3.0));
        assert_eq!(value("sluice_waiting_batches", None), Some(2.0));
        assert_eq!(value("sluice_running_batches", None), Some(1.0));
        assert_eq!(value("sluice_build_info", None), Some(1.0));
        for (family, kind) in [
            ("batches", "counter"),
            ("input_records", "counter"),
            ("waiting_batches", "gauge"),
            ("batch_scheduling_delay_seconds", "histogram"),
        ] {
            assert!(text.contains(&format!("# TYPE sluice_{family} {kind}\n")), "{family}: {text}");
        }
        assert!(text.contains("sluice_batch_processing_time_seconds_sum 0.08\n"), "{text}");
        assert!(text.contains("sluice_batch_total_delay_seconds_count 2\n"), "{text}");
    }

    #[test]
    fn checkpoints_and_input_status_as_metrics() {
        let m = Metrics::new(&["k".to_string()], &[]);
        let mut b = info(1000, &[1]);
        b.checkpoint_stall = std::time::Duration::from_millis(5);
        m.observe(&b);
        let t = crate::time::Time::from_millis(1000);
        m.observe_checkpoint(&Written {
            time: t,
            bytes: 4096,
            took: std::time::Duration::from_millis(20),
            error: None,
        });
        m.observe_checkpoint(&Written { time: t, bytes: 1, took: std::time::Duration::ZERO, error: Some("no".into()) });
        let status = InputStatus {
            connected: Some(true),
            lag: vec![("events".into(), 3, 42)],
            rate: Some(250.0),
            ..InputStatus::default()
        };
        m.set_input_status("k", &status);
        let text = m.encode();
        let scrape = parse(&text);
        let value = |name: &str| scrape.samples.iter().find(|s| s.metric == name).map(|s| s.value.clone());
        let single = |name: &str| value(name).map(|v| sample_value(&v));
        assert_eq!(single("sluice_checkpoints_total"), Some(1.0));
        assert_eq!(single("sluice_failed_checkpoints_total"), Some(1.0));
        assert_eq!(single("sluice_checkpoint_size_bytes"), Some(4096.0));
        assert!(text.contains("sluice_checkpoint_write_seconds_sum 0.02\n"), "{text}");
        assert!(text.contains("sluice_checkpoint_stall_seconds_sum 0.005\n"), "{text}");
        let lag = scrape.samples.iter().find(|s| s.metric == "sluice_kafka_lag_records").unwrap();
        assert_eq!(
            (lag.labels.get("topic"), lag.labels.get("partition"), sample_value(&lag.value)),
            (Some("events"), Some("3"), 42.0)
        );
        assert_eq!(single("sluice_input_connected"), Some(1.0));
        assert_eq!(single("sluice_input_rate_limit_records_per_second"), Some(250.0));
    }

    #[test]
    fn stage_times_are_histograms_by_stage_and_process() {
        let m = Metrics::new(&[], &["reduce_by_key".to_string(), "print(10)".to_string()]);
        let ms = std::time::Duration::from_millis;
        m.observe_stages([Some(ms(2)), None].into_iter(), None);
        m.observe_stages([Some(ms(3)), Some(ms(1))].into_iter(), None);
        let report = ProcessReport { process: 1, fused_micros: vec![Some(500), None], ..ProcessReport::default() };
        m.observe_process(&report, &[]);
        let text = m.encode();
        assert!(text.contains("# TYPE sluice_stage_seconds histogram\n"), "{text}");
        let scrape = parse(&text);
        let stage = |n: &str, process: Option<&str>| {
            scrape
                .samples
                .iter()
                .find(|s| {
                    s.metric == "sluice_stage_seconds"
                        && s.labels.get("stage") == Some(n)
                        && s.labels.get("process") == process
                })
                .map(|s| match &s.value {
                    prometheus_parse::Value::Histogram(buckets) => buckets.last().map_or(0.0, |b| b.count),
                    other => panic!("not a histogram: {other:?}"),
                })
        };
        assert_eq!(stage("1", None), Some(2.0));
        assert_eq!(stage("2", None), Some(1.0));
        assert_eq!(stage("1", Some("1")), Some(1.0));
        assert_eq!(stage("2", Some("1")), None, "it did not run there");
        assert!(text.contains("sluice_stage_seconds_sum{stage=\"1\",operator=\"reduce_by_key\"} 0.005\n"), "{text}");
    }
}
