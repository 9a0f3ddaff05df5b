//! The pages: the overview of Spark's Streaming tab and a page per batch, as HTML with
//! server-side SVG timelines and histograms. Everything that comes from the job (its name,
//! input and output names, file names, topics, error texts) is HTML-escaped; the overview's
//! script only swaps in the server's own (escaped) rendering of the live part.

use std::fmt::Write;

use serde_json::Value;

use super::api::date;
use super::Monitor;
use crate::metrics::{BatchInfo, InputDetail};

/// Completed batches per page of the overview's table.
pub(crate) const PAGE_SIZE: usize = 20;

/// Output operation times on the plan view: over this many last batches.
pub(crate) const LAST_BATCHES: usize = 10;

/// `s` with `&`, `<`, `>`, `"` and `'` escaped, for HTML text and attribute values.
pub(crate) fn escape_html(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

const STYLE: &str =
    "body{font-family:sans-serif;margin:1.5em;color:#222}table{border-collapse:collapse;margin:.5em 0 1.5em}\
td,th{border:1px solid #ccc;padding:.25em .6em;text-align:left;vertical-align:top}th{background:#eee}\
.num{text-align:right}svg{background:#fafafa;border:1px solid #ddd}.muted{color:#777}.failed{color:#b00}\
ul{margin:0;padding-left:1.2em}tr.input-rate-of td:first-child{padding-left:1.6em}pre{background:#f6f6f6;padding:.5em;border:1px solid #ddd}";

/// The charts: name in the URL, title, unit.
const CHARTS: [(&str, &str, &str); 4] = [
    ("input-rate", "Input Rate", "records/s"),
    ("scheduling-delay", "Scheduling Delay", "ms"),
    ("processing-time", "Processing Time", "ms"),
    ("total-delay", "Total Delay", "ms"),
];

/// A chart of the overview: one of [`CHARTS`] (by index), or the input rate of one input
/// (`input-rate-0` is the first input's, as Spark's Streaming tab shows each receiver's
/// rate under the "Input Rate" row).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Chart {
    Total(usize),
    Input(usize),
}

/// The chart named `name` in a URL or an element id; `None` for none.
fn chart(m: &Monitor, name: &str) -> Option<Chart> {
    if let Some(i) = name.strip_prefix("input-rate-") {
        return i.parse::<usize>().ok().filter(|&i| i < m.input_names.len()).map(Chart::Input);
    }
    CHARTS.iter().position(|(n, _, _)| *n == name).map(Chart::Total)
}

/// Records per second of `records` records in one batch.
pub(crate) fn rate(m: &Monitor, records: u64) -> f64 {
    records as f64 * 1000.0 / m.batch.as_millis().max(1) as f64
}

/// The value of `chart` in batch `b`; `None` where the batch does not say (the records of
/// each input of a batch replayed from a batch log written before they were logged).
fn value(chart: Chart, m: &Monitor, b: &BatchInfo) -> Option<f64> {
    Some(match chart {
        Chart::Input(i) => rate(m, *b.input_records.get(i)?),
        Chart::Total(0) => rate(m, b.num_records),
        Chart::Total(1) => b.scheduling_delay.as_secs_f64() * 1000.0,
        Chart::Total(2) => b.processing_time.as_secs_f64() * 1000.0,
        Chart::Total(_) => (b.scheduling_delay + b.processing_time).as_secs_f64() * 1000.0,
    })
}

/// The points of chart `name` (batch time, value), its unit and the top of its scale: the
/// three delays share one scale (the largest total delay or the batch interval, whichever is
/// larger), so do the input rates (the largest rate of all inputs), so they compare at a
/// glance; `None` for an unknown chart.
fn series(m: &Monitor, name: &str) -> Option<(Vec<(i64, f64)>, &'static str, f64)> {
    let chart = chart(m, name)?;
    let ring = m.ring.lock();
    let points: Vec<(i64, f64)> =
        ring.iter().filter_map(|b| Some((b.batch_time.as_millis(), value(chart, m, b)?))).collect();
    let unit = match chart {
        Chart::Input(_) => CHARTS[0].2,
        Chart::Total(k) => CHARTS[k].2,
    };
    let top = match chart {
        Chart::Input(_) | Chart::Total(0) => ring.iter().map(|b| rate(m, b.num_records)).fold(1.0_f64, f64::max),
        _ => ring.iter().filter_map(|b| value(Chart::Total(3), m, b)).fold(m.batch.as_millis() as f64, f64::max),
    };
    Some((points, unit, top * 1.1))
}

const W: f64 = 520.0;
const H: f64 = 140.0;
const PAD: f64 = 24.0;

/// The y of value `v` on a scale topped at `top`.
fn y_of(v: f64, top: f64) -> f64 {
    H - PAD - v / top * (H - 2.0 * PAD)
}

/// The SVG timeline `chart` of the retained batches, a point per batch; `None` for an
/// unknown chart.
pub(crate) fn timeline(m: &Monitor, chart: &str) -> Option<String> {
    let (points, unit, top) = series(m, chart)?;
    // The processing time is drawn against the batch interval, as Spark draws it.
    let limit = (chart == "processing-time").then(|| m.batch.as_millis() as f64);
    let (t0, t1) = (points.first().map_or(0, |p| p.0), points.last().map_or(1, |p| p.0));
    let span = (t1 - t0).max(1) as f64;
    let x = |t: i64| if points.len() == 1 { W / 2.0 } else { PAD + (t - t0) as f64 / span * (W - 2.0 * PAD) };
    let y = |v: f64| y_of(v, top);
    let mut svg = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{W}\" height=\"{H}\" viewBox=\"0 0 {W} {H}\" class=\"timeline\" data-points=\"{}\">",
        points.len()
    );
    let _ = write!(
        svg,
        "<line x1=\"{PAD}\" y1=\"{b}\" x2=\"{r}\" y2=\"{b}\" stroke=\"#999\"/><text x=\"2\" y=\"14\" font-size=\"11\">{top:.0} {unit}</text>",
        b = H - PAD,
        r = W - PAD
    );
    if let Some(limit) = limit {
        let _ = write!(
            svg,
            "<line class=\"batch-interval\" x1=\"{PAD}\" y1=\"{yl:.1}\" x2=\"{r}\" y2=\"{yl:.1}\" stroke=\"#c00\" stroke-dasharray=\"4 3\"/><text x=\"{r}\" y=\"{yt:.1}\" font-size=\"10\" fill=\"#c00\" text-anchor=\"end\">batch interval</text>",
            yl = y(limit),
            yt = y(limit) - 3.0,
            r = W - PAD
        );
    }
    let line: Vec<String> = points.iter().map(|&(t, v)| format!("{:.1},{:.1}", x(t), y(v))).collect();
    let _ =
        write!(svg, "<polyline fill=\"none\" stroke=\"#2a6ebb\" stroke-width=\"1.5\" points=\"{}\"/>", line.join(" "));
    for &(t, v) in &points {
        let _ = write!(
            svg,
            "<circle class=\"point\" cx=\"{:.1}\" cy=\"{:.1}\" r=\"2\" fill=\"#2a6ebb\"><title>{}: {v:.1} {unit}</title></circle>",
            x(t),
            y(v),
            date(t)
        );
    }
    if let (Some(a), Some(b)) = (points.first(), points.last()) {
        let _ = write!(
            svg,
            "<text x=\"{PAD}\" y=\"{H}\" font-size=\"10\" dy=\"-6\">{}</text><text x=\"{}\" y=\"{H}\" font-size=\"10\" dy=\"-6\" text-anchor=\"end\">{}</text>",
            &date(a.0)[11..19],
            W - PAD,
            &date(b.0)[11..19]
        );
    }
    svg.push_str("</svg>");
    Some(svg)
}

/// Bins of a histogram.
const BINS: usize = 10;

/// The SVG histogram of `chart` over the retained batches, on the timeline's vertical scale
/// (a bar per tenth of it, as long as the batches that fall in it); `None` for an unknown
/// chart.
pub(crate) fn histogram(m: &Monitor, chart: &str) -> Option<String> {
    let (points, _, top) = series(m, chart)?;
    let mut counts = [0usize; BINS];
    for &(_, v) in &points {
        counts[((v / top * BINS as f64) as usize).min(BINS - 1)] += 1;
    }
    let most = counts.iter().copied().max().unwrap_or(0).max(1) as f64;
    let w = 170.0;
    let mut svg = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{w}\" height=\"{H}\" viewBox=\"0 0 {w} {H}\" class=\"histogram\" data-batches=\"{}\">",
        points.len()
    );
    let band = (H - 2.0 * PAD) / BINS as f64;
    for (i, &n) in counts.iter().enumerate() {
        let y = y_of((i + 1) as f64 * top / BINS as f64, top);
        let len = n as f64 / most * (w - 60.0);
        let _ = write!(
            svg,
            "<rect class=\"bin\" data-count=\"{n}\" x=\"4\" y=\"{y:.1}\" width=\"{len:.1}\" height=\"{:.1}\" fill=\"#2a6ebb\" opacity=\".7\"/>",
            band - 1.0
        );
        if n > 0 {
            let _ = write!(svg, "<text x=\"{:.1}\" y=\"{:.1}\" font-size=\"9\">{n}</text>", len + 8.0, y + band - 2.0);
        }
    }
    let _ = write!(svg, "<text x=\"4\" y=\"{}\" font-size=\"10\" dy=\"-6\">batches</text></svg>", H);
    Some(svg)
}

fn head(title: &str) -> String {
    format!(
        "<!DOCTYPE html><html><head><meta charset=\"utf-8\"><link rel=\"icon\" href=\"data:,\"><title>{}</title><style>{STYLE}</style></head><body>",
        escape_html(title)
    )
}

/// The page number a query asks for (`page=2`), 1 when it asks for none.
pub(crate) fn page_number(query: &str) -> usize {
    query.split('&').find_map(|kv| kv.strip_prefix("page=")).and_then(|n| n.parse::<usize>().ok()).unwrap_or(1).max(1)
}

fn millis(d: std::time::Duration) -> String {
    let ms = d.as_secs_f64() * 1000.0;
    if ms < 10.0 {
        format!("{ms:.3} ms")
    } else {
        format!("{ms:.0} ms")
    }
}

/// The overview: statistics, timelines and histograms, inputs, active and completed batches
/// (page `page` of them, newest first), checkpoints and the plan. The script reloads the live
/// part every two seconds.
pub(crate) fn overview(m: &Monitor, page: usize) -> String {
    let stats = super::api::statistics(m);
    let mut s = head(&format!("{} - Streaming", m.name));
    let now_ms = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_millis() as i64);
    let _ = write!(
        s,
        "<h1>Streaming Statistics: {}</h1><div id=\"live\"><p>Running batches of {} ms for {} s since {} \
         (<span id=\"completed\">{}</span> completed batches, <span id=\"records\">{}</span> records). \
         <span id=\"status\" class=\"muted\"></span></p>",
        escape_html(&m.name),
        m.batch.as_millis(),
        (now_ms - m.started_ms).max(0) / 1000,
        escape_html(stats["startTime"].as_str().unwrap_or("")),
        stats["numTotalCompletedBatches"],
        stats["numReceivedRecords"],
    );
    s.push_str(
        "<table id=\"charts\"><tr><th></th><th>Average</th>\
         <th>Timeline <span class=\"muted\">(the three delays on one scale)</span></th><th>Histogram</th></tr>",
    );
    let avg = ["avgInputRate", "avgSchedulingDelay", "avgProcessingTime", "avgTotalDelay"];
    let row = |s: &mut String, title: &str, class: &str, key: &str, average: &Value, name: &str, unit: &str| {
        let _ = write!(
            s,
            "<tr{class}><td>{title}</td><td class=\"num\"><span id=\"{key}\">{:.1}</span> {unit}</td><td id=\"tl-{name}\">{}</td><td id=\"hist-{name}\">{}</td></tr>",
            average.as_f64().unwrap_or(0.0),
            timeline(m, name).unwrap_or_default(),
            histogram(m, name).unwrap_or_default()
        );
    };
    for (k, ((name, title, unit), key)) in CHARTS.iter().zip(avg).enumerate() {
        row(&mut s, title, "", key, &stats[key], name, unit);
        // Under the input rate, each input's, on the same scale.
        if k == 0 {
            for (i, input) in stats["inputRates"].as_array().into_iter().flatten().enumerate() {
                let title = format!(
                    "<span class=\"input-name\">{}</span>",
                    escape_html(input["streamName"].as_str().unwrap_or(""))
                );
                let (key, name) = (format!("avgInputRate-{i}"), format!("input-rate-{i}"));
                row(&mut s, &title, " class=\"input-rate-of\"", &key, &input["avgInputRate"], &name, unit);
            }
        }
    }
    s.push_str("</table>");
    inputs_table(m, &mut s);
    active_table(m, &mut s);
    completed_table(m, page, &mut s);
    checkpoints_table(m, &mut s);
    processes_table(m, &mut s);
    state_table(m, &mut s);
    plan_view(m, &mut s);
    s.push_str("</div>");
    s.push_str(SCRIPT);
    s.push_str("</body></html>");
    s
}

fn inputs_table(m: &Monitor, s: &mut String) {
    s.push_str(
        "<h2>Inputs</h2><table id=\"input-status\"><tr><th>Input</th><th>Records</th><th>Errors</th>\
         <th>Receiver</th><th>Last error</th><th>Rate limit</th><th>Kafka lag</th></tr>",
    );
    let ring = m.ring.lock();
    for (i, (input, name)) in m.inputs.iter().zip(&m.input_names).enumerate() {
        let (stats, status) = (input.stats(), input.status());
        let receiver = match status.connected {
            Some(true) => "connected",
            Some(false) => "not connected",
            None => "",
        };
        let lag: Vec<String> =
            status.lag.iter().map(|(topic, p, n)| format!("<li>{}-{p}: {n}</li>", escape_html(topic))).collect();
        let _ = write!(
            s,
            "<tr><td>{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td>{receiver}</td><td><code>{}</code></td>\
             <td class=\"num\">{}</td><td>{}</td></tr>",
            escape_html(name),
            ring.input_records.get(i).copied().unwrap_or(0),
            stats.errors,
            escape_html(status.last_error.as_deref().unwrap_or("")),
            status.rate.map_or(String::new(), |r| format!("{r:.0} records/s")),
            if lag.is_empty() { String::new() } else { format!("<ul>{}</ul>", lag.concat()) },
        );
    }
    s.push_str("</table>");
}

fn active_table(m: &Monitor, s: &mut String) {
    let active = m.active();
    let _ = write!(
        s,
        "<h2>Active Batches ({})</h2><table id=\"active-batches\"><tr><th>Batch Time</th><th>Status</th></tr>",
        active.len()
    );
    // The newest first; a job far behind lists the page's worth nearest to running.
    let shown = active.len().min(PAGE_SIZE);
    for (t, running) in active[..shown].iter().rev() {
        let status = if *running { "processing" } else { "queued" };
        let _ = write!(s, "<tr><td>{}</td><td>{status}</td></tr>", date(*t));
    }
    s.push_str("</table>");
    if active.len() > shown {
        let _ = write!(s, "<p class=\"muted\">and {} more queued after these</p>", active.len() - shown);
    }
}

fn completed_table(m: &Monitor, page: usize, s: &mut String) {
    let ring = m.ring.lock();
    let retained = ring.iter().len();
    let pages = retained.div_ceil(PAGE_SIZE).max(1);
    let page = page.min(pages);
    let _ = write!(s, "<h2>Completed Batches (last {retained} of {})</h2>", ring.completed);
    s.push_str(&pager(page, pages, "pager-top"));
    s.push_str(
        "<table id=\"batches\"><thead><tr><th>Batch Time</th><th>Records</th><th>Scheduling Delay</th>\
         <th>Processing Time</th><th>Total Delay</th><th>Output Ops: Succeeded/Total</th><th>Status</th></tr></thead>\
         <tbody id=\"batches-body\">",
    );
    for b in ring.iter().rev().skip((page - 1) * PAGE_SIZE).take(PAGE_SIZE) {
        let id = b.batch_time.as_millis();
        let succeeded = b.output_ops.iter().filter(|o| o.error.is_none()).count();
        let status = if b.failed_outputs > 0 { "<span class=\"failed\">failed</span>" } else { "completed" };
        let replayed = if b.replayed { " <span class=\"replayed\">replayed</span>" } else { "" };
        let _ = write!(
            s,
            "<tr><td><a href=\"/batch/{id}\">{}</a></td><td class=\"num\">{}</td><td class=\"num\">{} ms</td>\
             <td class=\"num\">{} ms</td><td class=\"num\">{} ms</td><td class=\"num\">{succeeded}/{}</td><td>{status}{replayed}</td></tr>",
            date(id),
            b.num_records,
            b.scheduling_delay.as_millis(),
            b.processing_time.as_millis(),
            (b.scheduling_delay + b.processing_time).as_millis(),
            m.outputs.len(),
        );
    }
    s.push_str("</tbody></table>");
    s.push_str(&pager(page, pages, "pager-bottom"));
}

/// Links to the previous and next pages of the completed batches.
fn pager(page: usize, pages: usize, id: &str) -> String {
    let mut p = format!("<p class=\"pager\" id=\"{id}\">");
    if page > 1 {
        let _ = write!(p, "<a class=\"prev\" href=\"/?page={}\">newer</a> ", page - 1);
    }
    let _ = write!(p, "page {page} of {pages}");
    if page < pages {
        let _ = write!(p, " <a class=\"next\" href=\"/?page={}\">older</a>", page + 1);
    }
    p.push_str("</p>");
    p
}

/// Each stateful operation's keys and estimated bytes now (in a cluster: in
/// all, and on each process), then each window's contents.
fn state_table(m: &Monitor, s: &mut String) {
    let rows = m.state_rows();
    if rows.is_empty() {
        return;
    }
    let cluster = rows.iter().any(|r| !r.processes.is_empty());
    s.push_str("<h2>State</h2><table id=\"state\"><tr><th>Operation</th><th>Keys</th><th>Bytes (estimate)</th>");
    if cluster {
        s.push_str("<th>By process (keys, bytes)</th>");
    }
    s.push_str("</tr>");
    let opt = |n: Option<u64>| n.map_or(String::new(), |n| n.to_string());
    for r in &rows {
        let _ = write!(
            s,
            "<tr><td><code>{}</code></td><td class=\"num\">{}</td><td class=\"num\">{}</td>",
            escape_html(&r.total.operation),
            opt(r.total.keys),
            opt(r.total.bytes)
        );
        if cluster {
            let parts: Vec<String> =
                r.processes.iter().map(|(p, v)| format!("{p}: {}, {}", opt(v.keys), opt(v.bytes))).collect();
            let _ = write!(s, "<td>{}</td>", parts.join("; "));
        }
        s.push_str("</tr>");
    }
    s.push_str("</table>");
    for (i, r) in rows.iter().enumerate() {
        let Some(window) = &r.total.window else { continue };
        let _ = write!(
            s,
            "<h3>Window contents of <code>{}</code></h3><table id=\"window-{}\" class=\"window\">\
             <tr><th>Parent batch</th><th>Records</th><th>Keys</th></tr>",
            escape_html(&r.total.operation),
            i + 1
        );
        for b in window.iter().rev() {
            let id = b.time.as_millis();
            let link = if m.ring.lock().get(id).is_some() {
                format!("<a href=\"/batch/{id}\">{}</a>", date(id))
            } else {
                date(id)
            };
            let _ = write!(
                s,
                "<tr><td>{link}</td><td class=\"num\">{}</td><td class=\"num\">{}</td></tr>",
                opt(b.records),
                opt(b.keys)
            );
        }
        s.push_str("</table>");
    }
}

/// In a cluster: each process's last report (its batch, processing time, records read, state)
/// and the totals.
fn processes_table(m: &Monitor, s: &mut String) {
    let cluster = m.cluster.lock();
    let Some(c) = cluster.as_ref() else { return };
    let _ = write!(
        s,
        "<h2>Processes ({})</h2><table id=\"processes\"><tr><th>Process</th><th>Last batch reported</th>\
         <th>Processing time</th><th>Records read (batch)</th><th>Records read (total)</th><th>State keys</th>\
         <th>State bytes</th><th>Failures</th><th>Inputs</th></tr>",
        c.processes
    );
    let totals = super::api::process_totals(c);
    for (p, r) in c.latest.iter().enumerate() {
        let Some(r) = r else {
            let _ = write!(s, "<tr><td>{p}</td><td colspan=\"8\">no report yet</td></tr>");
            continue;
        };
        let status: Vec<String> = r
            .inputs
            .iter()
            .zip(&m.input_names)
            .filter_map(|(st, name)| {
                let connected = st.connected.map(|c| if c { "connected" } else { "not connected" });
                let parts: Vec<String> = connected
                    .map(str::to_string)
                    .into_iter()
                    .chain(st.last_error.as_ref().map(|e| format!("last error: {e}")))
                    .collect();
                (!parts.is_empty()).then(|| format!("{name}: {}", parts.join(", ")))
            })
            .collect();
        let _ = write!(
            s,
            "<tr><td>{p}</td><td>{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td>\
             <td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td>{}</td></tr>",
            date(r.time.as_millis()),
            millis(std::time::Duration::from_micros(r.processing_micros)),
            r.records_read.iter().sum::<u64>(),
            r.records_read_total.iter().sum::<u64>(),
            r.state.iter().filter_map(|v| v.keys).sum::<u64>(),
            r.state.iter().filter_map(|v| v.bytes).sum::<u64>(),
            r.failures,
            escape_html(&status.join("; ")),
        );
    }
    let _ = write!(
        s,
        "<tr class=\"total\"><td>all {}</td><td></td><td class=\"num\">max {}</td><td class=\"num\">{}</td>\
         <td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td></td></tr></table>",
        c.processes,
        millis(std::time::Duration::from_micros(totals.max_processing_micros)),
        totals.records_read,
        totals.records_read_total,
        totals.state_keys,
        totals.state_bytes,
        totals.failures,
    );
}

fn checkpoints_table(m: &Monitor, s: &mut String) {
    let kept = m.checkpoints.lock().clone();
    if kept.is_empty() {
        return;
    }
    s.push_str(
        "<h2>Last Checkpoints</h2><table id=\"checkpoints\"><tr><th>After batch</th><th>Size</th>\
         <th>Write time</th><th>Stall of the batch loop</th><th>Error</th></tr>",
    );
    let ring = m.ring.lock();
    for c in kept.iter().rev() {
        let stall = ring.get(c.time.as_millis()).map_or(String::new(), |b| millis(b.checkpoint_stall));
        let _ = write!(
            s,
            "<tr><td>{}</td><td class=\"num\">{} bytes</td><td class=\"num\">{}</td><td class=\"num\">{stall}</td><td><code>{}</code></td></tr>",
            date(c.time.as_millis()),
            c.bytes,
            millis(c.took),
            escape_html(c.error.as_deref().unwrap_or("")),
        );
    }
    s.push_str("</table>");
}

/// The plan: the runtime's own description of the job (`--explain` prints the same: inputs,
/// fused stages, stateful operations, outputs) with the time of each stage over the last
/// batches, and the same as a table.
fn plan_view(m: &Monitor, s: &mut String) {
    s.push_str("<h2>Plan</h2>");
    let times = super::api::stage_times(m);
    let mut plan = String::new();
    for line in m.graph_plan.lines() {
        plan.push_str(&escape_html(line));
        // `stage 2 <- ...`, `output 1: ...`: the first two words name the stage.
        let mut words = line.split_whitespace();
        let stage = words.next().zip(words.next()).map(|(a, b)| format!("{a} {}", b.trim_end_matches(':')));
        if let Some(t) = times.iter().find(|t| Some(&t.stage) == stage.as_ref()) {
            if let Some(last) = t.last {
                let _ = write!(
                    plan,
                    "   <span class=\"stage-time\">last {}, average {}, max {}</span>",
                    millis(last),
                    millis(t.avg.unwrap_or_default()),
                    millis(t.max.unwrap_or_default())
                );
            }
        }
        plan.push('\n');
    }
    let _ = write!(s, "<pre id=\"plan\">{plan}</pre>");
    let cluster = m.cluster.lock().is_some();
    let _ = write!(
        s,
        "<table id=\"stage-times\"><tr><th>Stage</th><th>Operation (its fused chain)</th><th>Last batch</th>\
         <th>Average of the last {}</th><th>Max</th><th>Failed</th>{}</tr>",
        times.first().map_or(0, |t| t.batches),
        if cluster { "<th>Last, per process</th>" } else { "" }
    );
    for t in &times {
        let per_process = if cluster {
            let each: Vec<String> = t
                .processes
                .iter()
                .map(|(p, d)| format!("{p}: {}", d.map_or("did not run".to_string(), millis)))
                .collect();
            format!("<td class=\"per-process\">{}</td>", each.join(", "))
        } else {
            String::new()
        };
        let _ = write!(
            s,
            "<tr><td>{}</td><td>{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td>{per_process}</tr>",
            escape_html(&t.stage),
            escape_html(&t.name),
            t.last.map_or(String::new(), millis),
            t.avg.map_or(String::new(), millis),
            t.max.map_or(String::new(), millis),
            t.failed,
        );
    }
    s.push_str("</table>");
}

/// Reloads the live part every two seconds from the server (which escapes everything).
const SCRIPT: &str = r#"<script>
async function refresh() {
  const status = () => document.getElementById('status');
  try {
    const r = await fetch(location.pathname + location.search, { cache: 'no-store' });
    const next = new DOMParser().parseFromString(await r.text(), 'text/html').getElementById('live');
    if (next) {
      next.dataset.refreshed = '1';
      document.getElementById('live').replaceWith(next);
    }
  } catch (e) {
    if (status()) status().textContent = 'no answer from the job (stopped?)';
  }
}
setInterval(refresh, 2000);
</script>"#;

/// The note on the page of a batch replayed after recovery.
const REPLAYED: &str = "<p id=\"replayed\" class=\"muted\">Replayed after a recovery: the job stopped after \
    logging this batch and before a checkpoint covered it, and ran it again from its checkpoint, with the \
    same data (the files, offset ranges and received records the batch log kept).</p>";

/// The page of one batch: its times, what each input gave it, each output operation with
/// its duration and error, and the checkpoint written after it.
pub(crate) fn batch(m: &Monitor, b: &BatchInfo) -> String {
    let id = b.batch_time.as_millis();
    let mut s = head(&format!("Batch {id} - {}", m.name));
    let ms = |d: std::time::Duration| d.as_millis();
    let _ = write!(
        s,
        "<p><a href=\"/\">Streaming Statistics</a></p><h1>Details of batch at {}</h1>{}<table id=\"summary\">\
         <tr><th>Batch Duration</th><td>{} ms</td></tr><tr><th>Input data size</th><td>{} records</td></tr>\
         <tr><th>Scheduling delay</th><td>{} ms</td></tr><tr><th>Processing time</th><td>{} ms</td></tr>\
         <tr><th>Total delay</th><td>{} ms</td></tr><tr><th>Checkpoint stall</th><td>{} ms</td></tr>",
        date(id),
        if b.replayed { REPLAYED } else { "" },
        m.batch.as_millis(),
        b.num_records,
        ms(b.scheduling_delay),
        ms(b.processing_time),
        ms(b.scheduling_delay + b.processing_time),
        ms(b.checkpoint_stall)
    );
    if let Some(c) = m.checkpoints.lock().iter().find(|c| c.time == b.batch_time) {
        let _ = write!(
            s,
            "<tr><th>Checkpoint written after it</th><td id=\"checkpoint\">{} bytes in {}{}</td></tr>",
            c.bytes,
            millis(c.took),
            c.error.as_deref().map_or(String::new(), |e| format!(", failed: {}", escape_html(e)))
        );
    }
    s.push_str("</table><h2>Inputs</h2><table id=\"inputs\"><tr><th>Input</th><th>Records</th><th>Data</th></tr>");
    for (i, name) in m.input_names.iter().enumerate() {
        let records = b.input_records.get(i).map_or("unknown".to_string(), u64::to_string);
        let _ = write!(
            s,
            "<tr><td>{}</td><td class=\"num\">{records}</td><td>{}</td></tr>",
            escape_html(name),
            b.input_details.get(i).map(detail_html).unwrap_or_default()
        );
    }
    s.push_str("</table>");
    inputs_per_process(m, b, &mut s);
    let _ =
        write!(s, "<h2>Output Operations</h2><p>{} of {} failed in this batch.</p>", b.failed_outputs, m.outputs.len());
    if let Some(failure) = &b.first_failure {
        let _ = write!(s, "<p>First failure: <code id=\"failure\">{}</code></p>", escape_html(failure));
    }
    s.push_str(
        "<table id=\"outputs\"><tr><th>Id</th><th>Output operation</th><th>Duration</th><th>Status</th><th>Error</th></tr>",
    );
    for (i, name) in m.outputs.iter().enumerate() {
        let op = b.output_ops.get(i);
        let (duration, status, error) = match op {
            Some(op) => (
                millis(op.duration),
                if op.error.is_some() { "<span class=\"failed\">failed</span>" } else { "succeeded" },
                op.error
                    .as_deref()
                    .map_or(String::new(), |e| format!("<code class=\"error\">{}</code>", escape_html(e))),
            ),
            None => (String::new(), "not run", String::new()),
        };
        let _ = write!(
            s,
            "<tr><td class=\"num\">{i}</td><td>{}</td><td class=\"num\">{duration}</td><td>{status}</td><td>{error}</td></tr>",
            escape_html(name)
        );
    }
    s.push_str("</table></body></html>");
    s
}

/// In a cluster, what each process read of each input in batch `b`: the records it reported
/// and its share of the driver's plan (files, offset ranges).
fn inputs_per_process(m: &Monitor, b: &BatchInfo, s: &mut String) {
    let mut rows = String::new();
    for (i, name) in m.input_names.iter().enumerate() {
        for share in super::api::input_shares(m, b, i).unwrap_or_default() {
            let _ = write!(
                rows,
                "<tr><td class=\"num\">{}</td><td>{}</td><td class=\"num\">{}</td><td>{}</td></tr>",
                share.process,
                escape_html(name),
                share.records_read.map_or("not reported yet".to_string(), |n| n.to_string()),
                match &share.detail {
                    InputDetail::None => String::new(),
                    d => detail_html(d),
                }
            );
        }
    }
    if !rows.is_empty() {
        let _ = write!(
            s,
            "<h2>Inputs per Process</h2><table id=\"inputs-per-process\"><tr><th>Process</th><th>Input</th>\
             <th>Records read</th><th>Its share</th></tr>{rows}</table>"
        );
    }
}

/// What an input gave a batch, as HTML.
fn detail_html(d: &InputDetail) -> String {
    match d {
        InputDetail::Files(files) if files.is_empty() => "no new file".to_string(),
        InputDetail::Files(files) => {
            let items: Vec<String> = files
                .iter()
                .map(|(path, bytes)| {
                    format!(
                        "<li><span class=\"file\">{}</span>: <span class=\"bytes\">{bytes}</span> bytes</li>",
                        escape_html(path)
                    )
                })
                .collect();
            format!("<ul class=\"files\">{}</ul>", items.concat())
        }
        InputDetail::Offsets(ranges) => {
            let items: Vec<String> = ranges
                .iter()
                .map(|r| {
                    format!(
                        "<li><span class=\"partition\">{}-{}</span>: offsets {} to {} ({} records)</li>",
                        escape_html(&r.topic),
                        r.partition,
                        r.from,
                        r.until,
                        (r.until - r.from).max(0)
                    )
                })
                .collect();
            format!("<ul class=\"offsets\">{}</ul>", items.concat())
        }
        InputDetail::Lines(n) => format!("<span class=\"lines\">{n}</span> lines received"),
        _ => String::new(),
    }
}

/// The 404 page of a batch time that is not retained.
pub(crate) fn no_batch(m: &Monitor, id: &str) -> String {
    let ring = m.ring.lock();
    let oldest = ring.iter().next().map_or("none yet".to_string(), |b| date(b.batch_time.as_millis()));
    let mut s = head("No such batch");
    let _ = write!(
        s,
        "<p><a href=\"/\">Streaming Statistics</a></p><h1>No such batch</h1><p id=\"message\">No batch at time {} \
         is retained: the page keeps the last {} completed batches (the oldest kept: {oldest}).</p></body></html>",
        escape_html(id),
        ring.capacity()
    );
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ui::ring::tests::info;

    #[test]
    fn escapes_markup() {
        assert_eq!(escape_html(r#"<a href="x">&'"#), "&lt;a href=&quot;x&quot;&gt;&amp;&#39;");
    }

    #[test]
    fn names_from_the_job_show_as_text() {
        let m = crate::ui::tests::monitor(&["file(<script>alert(1)</script>)"]);
        m.batch_completed(&info(2000, &[3]), 0);
        let failed = BatchInfo {
            failed_outputs: 1,
            first_failure: Some("<script>alert(2)</script>".into()),
            ..info(2000, &[3])
        };
        let with_failure = batch(&m, &failed);
        assert!(
            with_failure.contains("<code id=\"failure\">&lt;script&gt;alert(2)&lt;/script&gt;</code>"),
            "{with_failure}"
        );
        for page in [overview(&m, 1), with_failure] {
            assert!(!page.contains("<script>alert"), "{page}");
            assert!(page.contains("file(&lt;script&gt;alert(1)&lt;/script&gt;)"), "{page}");
        }
    }

    #[test]
    fn the_processing_time_is_drawn_against_the_batch_interval() {
        let m = crate::ui::tests::monitor(&["in"]);
        for k in 1..=3 {
            m.batch_completed(&info(k * 1000, &[k as u64]), 0);
        }
        let svg = timeline(&m, "processing-time").unwrap();
        assert!(svg.contains("class=\"batch-interval\"") && svg.contains("data-points=\"3\""), "{svg}");
        assert!(!timeline(&m, "input-rate").unwrap().contains("batch-interval"));
        assert!(timeline(&m, "nothing").is_none());
    }

    #[test]
    fn each_input_has_its_rate_under_the_total_on_its_scale() {
        let m = crate::ui::tests::monitor(&["a", "<b>"]);
        m.batch_completed(&info(1000, &[2, 0]), 0);
        m.batch_completed(&info(2000, &[1, 3]), 0);
        // Replayed from a batch log that did not count each input: in the total only.
        let mut replayed = info(3000, &[]);
        replayed.num_records = 10;
        m.batch_completed(&replayed, 0);
        assert!(timeline(&m, "input-rate").unwrap().contains("data-points=\"3\""));
        for i in 0..2 {
            let svg = timeline(&m, &format!("input-rate-{i}")).unwrap();
            assert!(svg.contains("data-points=\"2\"") && svg.contains(">11 records/s</text>"), "{svg}");
            let hist = histogram(&m, &format!("input-rate-{i}")).unwrap();
            assert!(hist.contains("data-batches=\"2\""), "{hist}");
        }
        assert!(timeline(&m, "input-rate-2").is_none() && timeline(&m, "input-rate-x").is_none());
        let page = overview(&m, 1);
        assert!(page.contains("<span id=\"avgInputRate-1\">1.5</span> records/s"), "{page}");
        assert!(page.contains("<span class=\"input-name\">&lt;b&gt;</span>"), "{page}");
        assert_eq!(page.matches("<tr class=\"input-rate-of\">").count(), 2, "{page}");
    }

    #[test]
    fn histograms_count_every_batch_and_delays_share_a_scale() {
        let m = crate::ui::tests::monitor(&["in"]);
        for k in 1..=7 {
            let mut b = info(k * 1000, &[k as u64]);
            b.scheduling_delay = std::time::Duration::from_millis(k as u64 * 300);
            m.batch_completed(&b, 0);
        }
        let hist = histogram(&m, "input-rate").unwrap();
        assert!(hist.contains("data-batches=\"7\""), "{hist}");
        let counted: usize = hist
            .split("data-count=\"")
            .skip(1)
            .map(|rest| rest.split('"').next().unwrap().parse::<usize>().unwrap())
            .sum();
        assert_eq!(counted, 7);
        // The largest total delay is 2100 + 40 ms: every delay chart tops at 110 % of it.
        for chart in ["scheduling-delay", "processing-time", "total-delay"] {
            assert!(timeline(&m, chart).unwrap().contains(">2354 ms</text>"), "{chart}");
        }
        assert!(histogram(&m, "nothing").is_none());
    }

    #[test]
    fn completed_batches_are_paged_newest_first() {
        let m = crate::ui::tests::monitor(&["in"]);
        for k in 1..=(PAGE_SIZE as i64 + 3) {
            m.batch_completed(&info(k * 1000, &[1]), 0);
        }
        let rows = |page: &str| -> Vec<i64> {
            page.split("<a href=\"/batch/").skip(1).map(|r| r.split('"').next().unwrap().parse().unwrap()).collect()
        };
        let first = rows(&overview(&m, page_number("")));
        assert_eq!(first.len(), PAGE_SIZE);
        assert_eq!(first[0], (PAGE_SIZE as i64 + 3) * 1000, "newest first");
        let second = overview(&m, page_number("x=1&page=2"));
        assert_eq!(rows(&second), [3000, 2000, 1000]);
        assert!(second.contains("page 2 of 2") && second.contains("href=\"/?page=1\""), "{second}");
        assert_eq!(rows(&overview(&m, page_number("page=9"))), [3000, 2000, 1000], "past the end: the last page");
        assert_eq!(page_number("page=0"), 1);
    }

    #[test]
    fn a_batch_page_shows_each_output_its_inputs_and_its_checkpoint() {
        let m = crate::ui::tests::monitor(&["files"]);
        let mut b = info(2000, &[0]);
        b.output_ops[0].error = Some("disk <full>".into());
        b.input_details = vec![InputDetail::Files(vec![("/in/<b>.txt".into(), 12)])];
        m.batch_completed(&b, 0);
        let w = crate::checkpoint::Written {
            time: b.batch_time,
            bytes: 345,
            took: std::time::Duration::from_millis(2),
            error: None,
        };
        m.checkpoint_written(&w);
        let page = batch(&m, &b);
        assert!(page.contains("<code class=\"error\">disk &lt;full&gt;</code>"), "{page}");
        assert!(page.contains("<span class=\"file\">/in/&lt;b&gt;.txt</span>: <span class=\"bytes\">12</span> bytes"));
        assert!(page.contains("<td id=\"checkpoint\">345 bytes in 2.000 ms</td>"), "{page}");
        let offsets = detail_html(&InputDetail::Offsets(vec![crate::metrics::KafkaRange {
            topic: "<script>t</script>".into(),
            partition: 1,
            from: 5,
            until: 9,
        }]));
        assert!(offsets.contains("&lt;script&gt;t&lt;/script&gt;-1</span>: offsets 5 to 9 (4 records)"), "{offsets}");
        assert!(!offsets.contains("<script>"), "a topic's markup shows as text: {offsets}");
        assert!(overview(&m, 1).contains("<td class=\"num\">345 bytes</td>"));
        assert!(no_batch(&m, "<x>").contains("No batch at time &lt;x&gt; is retained"));
    }
}
