//! The pages: the overview of Spark's Streaming tab and a page per batch, as HTML with
//! server-side SVG timelines. Everything that comes from the job (its name, input and output
//! names) is HTML-escaped; the overview's script writes JSON values as text, never as HTML.

use std::fmt::Write;

use super::api::date;
use super::Monitor;
use crate::metrics::BatchInfo;

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
td,th{border:1px solid #ccc;padding:.25em .6em;text-align:left}th{background:#eee}\
.num{text-align:right}svg{background:#fafafa;border:1px solid #ddd}.muted{color:#777}";

/// The timelines: name in the URL, title, unit, and the value of a batch.
const CHARTS: [(&str, &str, &str); 4] = [
    ("input-rate", "Input Rate", "records/s"),
    ("scheduling-delay", "Scheduling Delay", "ms"),
    ("processing-time", "Processing Time", "ms"),
    ("total-delay", "Total Delay", "ms"),
];

fn value(chart: &str, m: &Monitor, b: &BatchInfo) -> f64 {
    match chart {
        "input-rate" => b.num_records as f64 * 1000.0 / m.batch.as_millis().max(1) as f64,
        "scheduling-delay" => b.scheduling_delay.as_secs_f64() * 1000.0,
        "processing-time" => b.processing_time.as_secs_f64() * 1000.0,
        _ => (b.scheduling_delay + b.processing_time).as_secs_f64() * 1000.0,
    }
}

/// The SVG timeline `chart` of the retained batches; `None` for an unknown chart.
pub(crate) fn timeline(m: &Monitor, chart: &str) -> Option<String> {
    let (_, _, unit) = CHARTS.iter().find(|(name, _, _)| *name == chart)?;
    let points: Vec<(i64, f64)> =
        m.ring.lock().iter().map(|b| (b.batch_time.as_millis(), value(chart, m, b))).collect();
    // The processing time is drawn against the batch interval, as Spark draws it.
    let limit = (chart == "processing-time").then(|| m.batch.as_millis() as f64);
    let (w, h, pad) = (640.0, 140.0, 24.0);
    let top = points.iter().map(|p| p.1).chain(limit).fold(1.0_f64, f64::max) * 1.1;
    let (t0, t1) = (points.first().map_or(0, |p| p.0), points.last().map_or(1, |p| p.0));
    let span = (t1 - t0).max(1) as f64;
    let x = |t: i64| pad + (t - t0) as f64 / span * (w - 2.0 * pad);
    let y = |v: f64| h - pad - v / top * (h - 2.0 * pad);
    let mut svg = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{w}\" height=\"{h}\" viewBox=\"0 0 {w} {h}\" class=\"timeline\" data-points=\"{}\">",
        points.len()
    );
    let _ = write!(
        svg,
        "<line x1=\"{pad}\" y1=\"{b}\" x2=\"{r}\" y2=\"{b}\" stroke=\"#999\"/><text x=\"2\" y=\"14\" font-size=\"11\">{top:.0} {unit}</text>",
        b = h - pad,
        r = w - pad
    );
    if let Some(limit) = limit {
        let _ = write!(
            svg,
            "<line class=\"batch-interval\" x1=\"{pad}\" y1=\"{yl:.1}\" x2=\"{r}\" y2=\"{yl:.1}\" stroke=\"#c00\" stroke-dasharray=\"4 3\"/><text x=\"{r}\" y=\"{yt:.1}\" font-size=\"10\" fill=\"#c00\" text-anchor=\"end\">batch interval</text>",
            yl = y(limit),
            yt = y(limit) - 3.0,
            r = w - pad
        );
    }
    let line: Vec<String> = points.iter().map(|&(t, v)| format!("{:.1},{:.1}", x(t), y(v))).collect();
    let _ =
        write!(svg, "<polyline fill=\"none\" stroke=\"#2a6ebb\" stroke-width=\"1.5\" points=\"{}\"/>", line.join(" "));
    if let [(t, v)] = points[..] {
        let _ = write!(svg, "<circle cx=\"{:.1}\" cy=\"{:.1}\" r=\"3\" fill=\"#2a6ebb\"/>", x(t), y(v));
    }
    if let (Some(a), Some(b)) = (points.first(), points.last()) {
        let _ = write!(
            svg,
            "<text x=\"{pad}\" y=\"{h}\" font-size=\"10\" dy=\"-6\">{}</text><text x=\"{}\" y=\"{h}\" font-size=\"10\" dy=\"-6\" text-anchor=\"end\">{}</text>",
            &date(a.0)[11..19],
            w - pad,
            &date(b.0)[11..19]
        );
    }
    svg.push_str("</svg>");
    Some(svg)
}

fn head(title: &str) -> String {
    format!(
        "<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>{}</title><style>{STYLE}</style></head><body>",
        escape_html(title)
    )
}

/// The overview: statistics, timelines, inputs and the completed batches (filled and kept
/// up to date by the script from `/api/v1/streaming/batches`).
pub(crate) fn overview(m: &Monitor) -> String {
    let stats = super::api::statistics(m);
    let mut s = head(&format!("{} - Streaming", m.name));
    let _ = write!(
        s,
        "<h1>Streaming Statistics: {}</h1><p>Running batches of {} ms for <span id=\"uptime\"></span> since {} \
         (<span id=\"completed\">{}</span> completed batches, <span id=\"records\">{}</span> records). \
         <span id=\"status\" class=\"muted\"></span></p>",
        escape_html(&m.name),
        m.batch.as_millis(),
        escape_html(stats["startTime"].as_str().unwrap_or("")),
        stats["numTotalCompletedBatches"],
        stats["numReceivedRecords"],
    );
    s.push_str("<table><tr><th>Timelines</th><th>Average</th><th></th></tr>");
    let avg = ["avgInputRate", "avgSchedulingDelay", "avgProcessingTime", "avgTotalDelay"];
    for ((name, title, unit), key) in CHARTS.iter().zip(avg) {
        let _ = write!(
            s,
            "<tr><td>{title}</td><td class=\"num\"><span id=\"{key}\">{:.1}</span> {unit}</td><td id=\"tl-{name}\">{}</td></tr>",
            stats[key].as_f64().unwrap_or(0.0),
            timeline(m, name).unwrap_or_default()
        );
    }
    s.push_str("</table><h2>Inputs</h2><table><tr><th>Input</th><th>Records</th><th>Errors</th></tr>");
    let inputs = super::api::inputs(m);
    for input in inputs.as_array().into_iter().flatten() {
        let _ = write!(
            s,
            "<tr><td>{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td></tr>",
            escape_html(input["streamName"].as_str().unwrap_or("")),
            input["records"],
            input["errors"]
        );
    }
    s.push_str(
        "</table><h2>Completed Batches</h2><table id=\"batches\"><thead><tr><th>Batch Time</th><th>Records</th>\
         <th>Scheduling Delay</th><th>Processing Time</th><th>Total Delay</th><th>Output Ops: Succeeded/Total</th>\
         </tr></thead><tbody id=\"batches-body\"></tbody></table>",
    );
    s.push_str(SCRIPT);
    s.push_str("</body></html>");
    s
}

/// Polls the JSON API every two seconds; writes values with `textContent` only.
const SCRIPT: &str = r#"<script>
const api = '/api/v1/streaming/';
const charts = ['input-rate', 'scheduling-delay', 'processing-time', 'total-delay'];
function cell(tr, text, cls) { const td = tr.insertCell(); td.textContent = text; if (cls) td.className = cls; return td; }
function row(b) {
  const tr = document.createElement('tr');
  const a = document.createElement('a');
  a.href = '/batch/' + b.batchId; a.textContent = b.batchTime;
  tr.insertCell().append(a);
  cell(tr, b.inputSize, 'num');
  cell(tr, b.schedulingDelay + ' ms', 'num');
  cell(tr, b.processingTime + ' ms', 'num');
  cell(tr, b.totalDelay + ' ms', 'num');
  cell(tr, b.numCompletedOutputOps + '/' + b.numTotalOutputOps, 'num');
  return tr;
}
async function refresh() {
  try {
    const s = await (await fetch(api + 'statistics')).json();
    document.getElementById('completed').textContent = s.numTotalCompletedBatches;
    document.getElementById('records').textContent = s.numReceivedRecords;
    for (const k of ['avgInputRate', 'avgSchedulingDelay', 'avgProcessingTime', 'avgTotalDelay'])
      document.getElementById(k).textContent = (s[k] || 0).toFixed(1);
    const up = Math.round((Date.now() - Date.parse(s.startTime.replace('GMT', 'Z'))) / 1000);
    document.getElementById('uptime').textContent = up + ' s';
    const batches = await (await fetch(api + 'batches')).json();
    document.getElementById('batches-body').replaceChildren(...batches.map(row));
    for (const c of charts)
      document.getElementById('tl-' + c).innerHTML = await (await fetch('/timeline/' + c + '.svg')).text();
    document.getElementById('status').textContent = '';
  } catch (e) {
    document.getElementById('status').textContent = 'no answer from the job (stopped?)';
  }
}
refresh();
setInterval(refresh, 2000);
</script>"#;

/// The page of one batch: its times, its inputs and the job's output operations.
pub(crate) fn batch(m: &Monitor, b: &BatchInfo) -> String {
    let id = b.batch_time.as_millis();
    let mut s = head(&format!("Batch {id} - {}", m.name));
    let ms = |d: std::time::Duration| d.as_millis();
    let _ = write!(
        s,
        "<p><a href=\"/\">Streaming Statistics</a></p><h1>Details of batch at {}</h1><table>\
         <tr><th>Batch Duration</th><td>{} ms</td></tr><tr><th>Input data size</th><td>{} records</td></tr>\
         <tr><th>Scheduling delay</th><td>{} ms</td></tr><tr><th>Processing time</th><td>{} ms</td></tr>\
         <tr><th>Total delay</th><td>{} ms</td></tr><tr><th>Checkpoint stall</th><td>{} ms</td></tr></table>",
        date(id),
        m.batch.as_millis(),
        b.num_records,
        ms(b.scheduling_delay),
        ms(b.processing_time),
        ms(b.scheduling_delay + b.processing_time),
        ms(b.checkpoint_stall)
    );
    s.push_str("<h2>Inputs</h2><table id=\"inputs\"><tr><th>Input</th><th>Records</th></tr>");
    for (i, name) in m.input_names.iter().enumerate() {
        let records = b.input_records.get(i).map_or("unknown (replayed)".to_string(), u64::to_string);
        let _ = write!(s, "<tr><td>{}</td><td class=\"num\">{records}</td></tr>", escape_html(name));
    }
    let _ = write!(
        s,
        "</table><h2>Output Operations</h2><p>{} of {} failed in this batch.</p>",
        b.failed_outputs,
        m.outputs.len()
    );
    if let Some(failure) = &b.first_failure {
        let _ = write!(s, "<p>First failure: <code id=\"failure\">{}</code></p>", escape_html(failure));
    }
    s.push_str("<table id=\"outputs\"><tr><th>Id</th><th>Output operation</th></tr>");
    for (i, name) in m.outputs.iter().enumerate() {
        let _ = write!(s, "<tr><td class=\"num\">{i}</td><td>{}</td></tr>", escape_html(name));
    }
    s.push_str("</table></body></html>");
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
        for page in [overview(&m), with_failure] {
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
}
