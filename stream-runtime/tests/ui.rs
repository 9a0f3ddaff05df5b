//! The Streaming page of a real job: a socket stream on a manual clock, the UI on a free port,
//! and its JSON API and `/metrics` fetched over TCP and compared with the batches the job
//! reported to its own listener.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use serde_json::Value;
use stream_runtime::ui::UiConf;
use stream_runtime::{BatchInfo, Duration, ManualClock, RunningContext, StreamingContext, Time};

const BATCH_MS: i64 = 1000;

/// `GET path` over a fresh connection: the status code and the body.
fn get(addr: SocketAddr, path: &str) -> (u16, String) {
    let mut c = TcpStream::connect(addr).unwrap();
    c.write_all(format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\n\r\n").as_bytes()).unwrap();
    let mut response = String::new();
    c.read_to_string(&mut response).unwrap();
    let (head, body) = response.split_once("\r\n\r\n").unwrap();
    let status = head.split(' ').nth(1).unwrap().parse().unwrap();
    (status, body.to_string())
}

fn wait_for(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + std::time::Duration::from_secs(30);
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
}

struct Job {
    running: RunningContext,
    clock: ManualClock,
    feed: TcpStream,
    reported: Arc<Mutex<Vec<BatchInfo>>>,
    sent: u64,
}

impl Job {
    /// A word count over a socket this test serves, with the UI on a free port.
    fn start() -> Job {
        Job::start_with(None)
    }

    /// As [`start`](Self::start), with a file stream of `dir` as a second input (and a third
    /// output) when given.
    fn start_with(dir: Option<&std::path::Path>) -> Job {
        let server = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = server.local_addr().unwrap().port();
        let clock = ManualClock::new(Time::from_millis(1_000_000));
        let ssc = StreamingContext::new(Duration::millis(BATCH_MS))
            .with_threads(2)
            .with_clock(Arc::new(clock.clone()))
            .with_ui(Some(UiConf::at("127.0.0.1:0".parse().unwrap())));
        let lines = ssc.socket_text_stream("127.0.0.1", port);
        lines.clone().flat_map(|l| l.split(' ')).count().foreach_batch(|_, _| {});
        // A second output fails every batch of five lines, with markup in its message.
        lines.clone().foreach_batch(|b, _| assert!(b.len() != 5, "<five> lines"));
        if let Some(dir) = dir {
            ssc.text_file_stream(dir.to_str().unwrap()).count().foreach_batch(|_, _| {});
            // A window of two batches: its state and contents on the page, its stage timed.
            let two = Duration::millis(2 * BATCH_MS);
            lines
                .flat_map(|l| l.split(' '))
                .map(|w| (w, 1u64))
                .reduce_by_key_and_window(|a, b| a + b, two, Duration::millis(BATCH_MS))
                .foreach_batch(|_, _| {});
        }
        let reported = Arc::new(Mutex::new(Vec::new()));
        let r = Arc::clone(&reported);
        ssc.on_batch_completed(move |info| r.lock().unwrap().push(info.clone()));
        let running = ssc.start().unwrap();
        server.set_nonblocking(true).unwrap();
        let mut feed = None;
        wait_for("the receiver's connection", || {
            feed = server.accept().ok().map(|(c, _)| c);
            feed.is_some()
        });
        let feed = feed.unwrap();
        feed.set_nonblocking(false).unwrap();
        Job { running, clock, feed, reported, sent: 0 }
    }

    /// Writes `text` to file `name` in `dir`, modified within the next batch's interval, so
    /// that batch reads it.
    fn put_file(&self, dir: &std::path::Path, name: &str, text: &str) {
        let k = self.running.batches_completed() as i64 + 1;
        let modified = self.running.zero_time().as_millis() + k * BATCH_MS - BATCH_MS / 2;
        let path = dir.join(name);
        std::fs::write(&path, text).unwrap();
        let at = std::time::UNIX_EPOCH + std::time::Duration::from_millis(modified as u64);
        std::fs::File::options().write(true).open(&path).unwrap().set_modified(at).unwrap();
    }

    /// Sends `lines` lines, waits until the receiver has them, then runs the next batch.
    fn batch(&mut self, lines: u64) {
        for i in 0..lines {
            writeln!(self.feed, "line {i}").unwrap();
        }
        self.sent += lines;
        wait_for("the lines", || self.running.source_stats()[0].1.lines == self.sent);
        let k = self.running.batches_completed() + 1;
        self.clock.set(self.running.zero_time() + Duration::millis(k as i64 * BATCH_MS));
        wait_for("the batch", || self.running.batches_completed() == k);
    }
}

#[test]
fn the_api_and_the_metrics_agree_with_the_jobs_batches() {
    let mut job = Job::start();
    for lines in [2, 0, 5] {
        job.batch(lines);
    }
    let addr = job.running.ui_addr().unwrap();
    let reported = job.reported.lock().unwrap().clone();
    assert_eq!(reported.iter().map(|b| b.num_records).collect::<Vec<_>>(), [2, 0, 5]);

    let (status, body) = get(addr, "/api/v1/streaming/batches");
    assert_eq!(status, 200);
    let batches: Vec<Value> = serde_json::from_str(&body).unwrap();
    let newest_first: Vec<&BatchInfo> = reported.iter().rev().collect();
    assert_eq!(batches.len(), newest_first.len());
    for (api, job) in batches.iter().zip(&newest_first) {
        assert_eq!(api["batchId"].as_i64(), Some(job.batch_time.as_millis()));
        assert_eq!(api["inputSize"].as_u64(), Some(job.num_records));
        assert_eq!(api["processingTime"].as_u64(), Some(job.processing_time.as_millis() as u64));
        assert_eq!(api["schedulingDelay"].as_u64(), Some(job.scheduling_delay.as_millis() as u64));
        assert_eq!(api["numTotalOutputOps"], 2);
        assert_eq!(api["numFailedOutputOps"].as_u64(), Some(job.failed_outputs as u64));
        assert_eq!(api["firstFailureReason"].as_str(), job.first_failure.as_deref());
    }
    assert!(batches[0]["firstFailureReason"].as_str().unwrap().contains("<five> lines"), "{}", batches[0]);
    let (_, failed_page) = get(addr, &format!("/batch/{}", batches[0]["batchId"]));
    assert!(failed_page.contains("&lt;five&gt; lines") && !failed_page.contains("<five>"), "{failed_page}");
    let first = reported[0].batch_time.as_millis();
    let (status, one) = get(addr, &format!("/api/v1/streaming/batches/{first}"));
    assert_eq!((status, serde_json::from_str::<Value>(&one).unwrap()["inputSize"].as_u64()), (200, Some(2)));
    let (status, unknown) = get(addr, &format!("/api/v1/streaming/batches/{}", first + 1));
    assert_eq!(status, 404);
    assert!(unknown.contains("unknown batch"), "{unknown}");
    let (_, stats) = get(addr, "/api/v1/streaming/statistics");
    let stats: Value = serde_json::from_str(&stats).unwrap();
    assert_eq!((stats["numTotalCompletedBatches"].as_u64(), stats["numReceivedRecords"].as_u64()), (Some(3), Some(7)));
    let (_, inputs) = get(addr, "/api/v1/streaming/inputs");
    let inputs: Value = serde_json::from_str(&inputs).unwrap();
    assert_eq!((inputs[0]["records"].as_u64(), inputs[0]["lines"].as_u64()), (Some(7), Some(7)));

    let (status, text) = get(addr, "/metrics");
    assert_eq!(status, 200);
    let scrape = prometheus_parse::Scrape::parse(text.lines().map(|l| Ok(l.to_string()))).unwrap();
    let sample = |name: &str| scrape.samples.iter().find(|s| s.metric == name).map(|s| s.value.clone());
    use prometheus_parse::Value as P;
    // The parser reads an OpenMetrics counter (`# TYPE x counter` above `x_total`) as untyped.
    assert_eq!(sample("sluice_batches_total"), Some(P::Untyped(3.0)));
    assert_eq!(sample("sluice_input_records_total"), Some(P::Untyped(7.0)));
    assert!(text.contains("# TYPE sluice_batches counter\n") && text.contains("# TYPE sluice_input_records counter\n"));
    assert_eq!(sample("sluice_running_batches"), Some(P::Gauge(0.0)));
    let seconds: f64 = reported.iter().map(|b| b.processing_time.as_secs_f64()).sum();
    match sample("sluice_batch_processing_time_seconds") {
        Some(P::Histogram(buckets)) => {
            assert_eq!(buckets.last().map(|b| b.count), Some(3.0), "{buckets:?}");
        }
        other => panic!("no processing-time histogram: {other:?}\n{text}"),
    }
    let sum = text.lines().find_map(|l| l.strip_prefix("sluice_batch_processing_time_seconds_sum ")).unwrap();
    assert!((sum.parse::<f64>().unwrap() - seconds).abs() < 1e-6, "{sum} != {seconds}");
    // The one fused stage (`flat_map -> count` over the socket's lines), timed in every batch.
    let stage: Vec<std::time::Duration> = reported.iter().map(|b| b.fused_stage_times[0].unwrap()).collect();
    let count =
        text.lines().find_map(|l| l.strip_prefix("sluice_stage_seconds_count{stage=\"1\",operator=\"count\"} "));
    assert_eq!(count, Some("3"), "{text}");
    let sum = text.lines().find_map(|l| l.strip_prefix("sluice_stage_seconds_sum{stage=\"1\",operator=\"count\"} "));
    let seconds: f64 = stage.iter().map(std::time::Duration::as_secs_f64).sum();
    assert!((sum.unwrap().parse::<f64>().unwrap() - seconds).abs() < 1e-6, "{sum:?} != {seconds}");
    assert!(
        scrape.samples.iter().any(|s| s.metric == "sluice_stage_seconds" && s.labels.get("stage") == Some("1")),
        "the parser reads it: {text}"
    );

    let (status, missing) = get(addr, &format!("/batch/{}", first + 1));
    assert_eq!(status, 404);
    assert!(missing.contains(&format!("No batch at time {} is retained", first + 1)), "{missing}");
    for route in ["/nothing", "/api/v1/streaming/nothing", "/batch/", "/timeline/nothing.svg"] {
        assert_eq!(get(addr, route).0, 404, "{route}");
    }
    let (status, ops) = get(addr, &format!("/api/v1/streaming/batches/{}/operations", batches[0]["batchId"]));
    let ops: Value = serde_json::from_str(&ops).unwrap();
    assert_eq!(status, 200);
    assert_eq!((ops[0]["name"].as_str(), ops[0]["failureReason"].as_str()), (Some("foreach_batch"), None));
    assert!(ops[1]["failureReason"].as_str().unwrap().contains("<five> lines"), "{ops}");
    assert_eq!(batches[0]["outputOperations"], ops);
    assert_eq!(batches[0]["inputs"][0]["lines"], 5);
    for (api, job) in batches.iter().zip(&newest_first) {
        let fused: Vec<Option<u64>> = job.fused_stage_times.iter().map(|d| d.map(|d| d.as_micros() as u64)).collect();
        assert_eq!(api["fusedStageTimesMicros"], serde_json::json!(fused));
    }
    for (api, job) in batches.iter().zip(&newest_first) {
        for (i, op) in job.output_ops.iter().enumerate() {
            let api_op = &api["outputOperations"][i];
            assert_eq!(api_op["durationMicros"].as_u64(), Some(op.duration.as_micros() as u64));
            assert_eq!(api_op["failureReason"].as_str(), op.error.as_deref());
        }
        let done = job.output_ops.iter().filter(|o| o.error.is_none()).count();
        assert_eq!(api["numCompletedOutputOps"].as_u64(), Some(done as u64));
    }
    assert_eq!(inputs[0]["connected"], true);

    let (status, page) = get(addr, "/");
    assert_eq!(status, 200);
    assert!(page.contains("socket_text_stream(127.0.0.1:"), "{page}");
    let (status, page) = get(addr, &format!("/batch/{first}"));
    assert!(status == 200 && page.contains("<td class=\"num\">2</td>"), "{page}");

    job.running.stop(false);
    assert!(TcpStream::connect(addr).is_err(), "the UI outlived its job");
}

#[test]
fn an_explicit_port_that_is_taken_is_a_clear_error() {
    let taken = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap();
    let ssc = StreamingContext::new(Duration::millis(BATCH_MS)).with_ui(Some(UiConf::at(addr)));
    ssc.queue_stream(stream_runtime::BatchQueue::<i32>::new(), true, None).count().foreach_batch(|_, _| {});
    let err = ssc.start().unwrap_err().to_string();
    assert!(err.contains(&format!("the Streaming UI cannot listen on {addr}")), "{err}");
}

#[test]
fn a_taken_default_port_moves_to_the_next() {
    let taken = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap();
    let ui = UiConf { next_port_when_taken: true, ..UiConf::at(addr) };
    let ssc = StreamingContext::new(Duration::millis(BATCH_MS)).with_ui(Some(ui));
    ssc.queue_stream(stream_runtime::BatchQueue::<i32>::new(), true, None).count().foreach_batch(|_, _| {});
    let running = ssc.start().unwrap();
    let port = running.ui_addr().unwrap().port();
    assert!(port > addr.port() && port <= addr.port() + 16, "{port}");
    running.stop(false);
}

/// A request with a JSON body over a fresh connection: the status code and the JSON answer,
/// read up to its `Content-Length` or its last chunk (chromedriver keeps connections open).
fn call(addr: SocketAddr, method: &str, path: &str, body: Option<&Value>) -> (u16, Value) {
    let body = body.map(Value::to_string).unwrap_or_default();
    let c = TcpStream::connect(addr).unwrap();
    c.set_read_timeout(Some(std::time::Duration::from_secs(60))).unwrap();
    write!(
        &c,
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut r = std::io::BufReader::new(c);
    let mut line = String::new();
    let mut next_line = |r: &mut std::io::BufReader<TcpStream>| {
        line.clear();
        std::io::BufRead::read_line(r, &mut line).unwrap();
        line.trim_end().to_string()
    };
    let status = next_line(&mut r).split(' ').nth(1).unwrap().parse().unwrap();
    let (mut length, mut chunked) = (None, false);
    loop {
        let header = next_line(&mut r).to_ascii_lowercase();
        if header.is_empty() {
            break;
        }
        if let Some(v) = header.strip_prefix("content-length:") {
            length = Some(v.trim().parse::<usize>().unwrap());
        }
        chunked |= header.starts_with("transfer-encoding:") && header.contains("chunked");
    }
    let mut answer = Vec::new();
    if chunked {
        loop {
            let size = usize::from_str_radix(next_line(&mut r).split(';').next().unwrap().trim(), 16).unwrap();
            let mut chunk = vec![0; size + 2];
            r.read_exact(&mut chunk).unwrap();
            answer.extend_from_slice(&chunk[..size]);
            if size == 0 {
                break;
            }
        }
    } else if let Some(n) = length {
        answer.resize(n, 0);
        r.read_exact(&mut answer).unwrap();
    } else {
        r.read_to_end(&mut answer).unwrap();
    }
    let value = serde_json::from_slice(&answer)
        .unwrap_or_else(|e| panic!("{method} {path}: {e}: {}", String::from_utf8_lossy(&answer)));
    (status, value)
}

/// A headless Chromium driven over WebDriver (`/usr/bin/chromedriver`), closed on drop.
struct Browser {
    addr: SocketAddr,
    session: String,
    _driver: Driver,
}

/// The chromedriver process, killed on drop.
struct Driver(std::process::Child);

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";

impl Browser {
    fn start() -> Browser {
        let addr = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap();
        let driver = Driver(
            std::process::Command::new("/usr/bin/chromedriver")
                .arg(format!("--port={}", addr.port()))
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::null())
                .spawn()
                .expect("/usr/bin/chromedriver: install it with scripts/install-test-deps.sh"),
        );
        wait_for("chromedriver", || TcpStream::connect(addr).is_ok());
        let caps = serde_json::json!({"capabilities": {"alwaysMatch": {
            "goog:chromeOptions": {
                "args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--window-size=1100,1000"]
            },
            "goog:loggingPrefs": {"browser": "ALL"}
        }}});
        let (status, answer) = call(addr, "POST", "/session", Some(&caps));
        assert_eq!(status, 200, "{answer}");
        let session =
            answer["value"]["sessionId"].as_str().unwrap_or_else(|| panic!("no session: {answer}")).to_string();
        Browser { addr, session, _driver: driver }
    }

    fn call(&self, method: &str, path: &str, body: Option<Value>) -> Value {
        let (status, answer) = call(self.addr, method, &format!("/session/{}{path}", self.session), body.as_ref());
        assert_eq!(status, 200, "{method} {path}: {answer}");
        answer["value"].clone()
    }

    fn open(&self, url: &str) {
        self.call("POST", "/url", Some(serde_json::json!({ "url": url })));
    }

    fn find_all(&self, css: &str) -> Vec<String> {
        let found = self.call("POST", "/elements", Some(serde_json::json!({"using": "css selector", "value": css})));
        found
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e[ELEMENT].as_str().unwrap_or_else(|| panic!("{found}")).to_string())
            .collect()
    }

    fn text(&self, element: &str) -> String {
        self.call("GET", &format!("/element/{element}/text"), None).as_str().unwrap().to_string()
    }

    /// The text of every element `css` selects, whitespace runs as one space, read at once
    /// (the page's refresh cannot swap them in between).
    fn texts(&self, css: &str) -> Vec<String> {
        let script =
            "return Array.from(document.querySelectorAll(arguments[0]), e => e.innerText.replace(/\\s+/g, ' ').trim())";
        self.execute_with(script, serde_json::json!([css]))
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap().to_string())
            .collect()
    }

    /// Attribute `name` of every element `css` selects, read at once.
    fn attrs(&self, css: &str, name: &str) -> Vec<String> {
        let script = "return Array.from(document.querySelectorAll(arguments[0]), e => e.getAttribute(arguments[1]))";
        self.execute_with(script, serde_json::json!([css, name]))
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap_or_default().to_string())
            .collect()
    }

    /// Clicks the one element `css` selects, found and clicked in one script (the page's
    /// refresh cannot swap it for a new one in between, as it can between two WebDriver calls).
    fn click(&self, css: &str) {
        let script = "const all = document.querySelectorAll(arguments[0]); if (all.length === 1) all[0].click(); return all.length";
        assert_eq!(self.execute_with(script, serde_json::json!([css])), serde_json::json!(1), "{css}");
    }

    fn url(&self) -> String {
        self.call("GET", "/url", None).as_str().unwrap().to_string()
    }

    fn execute(&self, script: &str) -> Value {
        self.execute_with(script, serde_json::json!([]))
    }

    fn execute_with(&self, script: &str, args: Value) -> Value {
        self.call("POST", "/execute/sync", Some(serde_json::json!({ "script": script, "args": args })))
    }

    /// The browser's console messages since the last call (chromedriver's log).
    fn console(&self) -> Vec<Value> {
        self.call("POST", "/se/log", Some(serde_json::json!({ "type": "browser" }))).as_array().unwrap().clone()
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = call(self.addr, "DELETE", &format!("/session/{}", self.session), None);
    }
}

/// The page in a real browser: the charts have a point per batch, the tables' rows are the
/// job's batches (newest first, paged), a batch's link opens its page with its inputs (files
/// with their sizes) and each output operation with its error, markup in a file name shows
/// as text and never runs, and the console stays clean. With `SLUICE_SCREENSHOT=path`, saves
/// a screenshot of the overview there (the book's).
#[test]
fn streaming_page_in_chromium() {
    let dir = tempfile::tempdir().unwrap();
    let mut job = Job::start_with(Some(dir.path()));
    // Enough empty batches for a second page of the completed batches.
    for _ in 0..18 {
        job.batch(0);
    }
    let hostile = "<script>window.pwned=1<\\script><img src=x onerror=window.pwned=2>.txt";
    let mut files_at = Vec::new();
    for (k, lines) in [3, 1, 4, 1, 5].into_iter().enumerate() {
        if k == 1 {
            job.put_file(dir.path(), "a.txt", "one\ntwo\n");
            job.put_file(dir.path(), hostile, "three\n");
        }
        if k == 3 {
            job.put_file(dir.path(), "b.txt", "four five six\n");
        }
        job.batch(lines);
        files_at.push(job.running.batches_completed());
    }
    let addr = job.running.ui_addr().unwrap();
    let reported = job.reported.lock().unwrap().clone();
    assert_eq!(reported.len(), 23);
    let newest_first: Vec<&BatchInfo> = reported.iter().rev().collect();
    let browser = Browser::start();
    browser.open(&format!("http://{addr}/"));
    wait_for("the page", || browser.find_all("#batches-body tr").len() == 20);
    let title = browser.find_all("h1");
    assert!(browser.text(&title[0]).starts_with("Streaming Statistics: sluice"));

    // A point per completed batch in every timeline, every batch in every histogram.
    for chart in ["input-rate", "scheduling-delay", "processing-time", "total-delay"] {
        assert_eq!(browser.find_all(&format!("#tl-{chart} circle.point")).len(), reported.len(), "{chart}");
        assert_eq!(browser.attrs(&format!("#hist-{chart} svg"), "data-batches"), [reported.len().to_string()]);
        let bins: usize = browser
            .attrs(&format!("#hist-{chart} rect.bin"), "data-count")
            .iter()
            .map(|n| n.parse::<usize>().unwrap())
            .sum();
        assert_eq!(bins, reported.len(), "{chart}");
    }
    assert_eq!(browser.find_all("#tl-processing-time svg line.batch-interval").len(), 1);
    // Under the input rate, each input's own timeline and histogram: a point per completed
    // batch per input, at the rate the job's listener saw, and the same rates in the API.
    let inputs: Value = serde_json::from_str(&get(addr, "/api/v1/streaming/inputs").1).unwrap();
    let names: Vec<&str> = inputs.as_array().unwrap().iter().map(|i| i["streamName"].as_str().unwrap()).collect();
    assert_eq!(browser.texts("#charts tr.input-rate-of .input-name"), names);
    for i in 0..2 {
        assert_eq!(browser.find_all(&format!("#tl-input-rate-{i} circle.point")).len(), reported.len(), "input {i}");
        assert_eq!(browser.attrs(&format!("#hist-input-rate-{i} svg"), "data-batches"), [reported.len().to_string()]);
        let rates: Vec<Value> = reported
            .iter()
            .map(|b| {
                serde_json::json!([b.batch_time.as_millis(), (b.input_records[i] * 1000 / BATCH_MS as u64) as f64])
            })
            .collect();
        assert_eq!(inputs[i]["eventRates"], Value::Array(rates), "input {i}");
    }

    // The rows of both pages are the job's batches, newest first.
    let check_rows = |rows: Vec<String>, batches: &[&BatchInfo]| {
        assert_eq!(rows.len(), batches.len());
        for (row, batch) in rows.iter().zip(batches) {
            // time, records, three delays in ms, output ops done/total, status
            let cells: Vec<&str> = row.split_whitespace().collect();
            assert!(cells[0].contains('T') && cells[0].ends_with("GMT"), "{row}");
            assert_eq!(cells[1], batch.num_records.to_string(), "{row}");
            assert_eq!(cells[2], batch.scheduling_delay.as_millis().to_string(), "{row}");
            assert_eq!(cells[4], batch.processing_time.as_millis().to_string(), "{row}");
            let done = batch.output_ops.iter().filter(|o| o.error.is_none()).count();
            assert_eq!(cells[8], format!("{done}/4"), "{row}");
            assert_eq!(cells[9], if batch.failed_outputs > 0 { "failed" } else { "completed" }, "{row}");
        }
    };
    check_rows(browser.texts("#batches-body tr"), &newest_first[..20]);
    if let Some(path) = std::env::var_os("SLUICE_SCREENSHOT") {
        use base64::Engine;
        let png = browser.call("GET", "/screenshot", None);
        std::fs::write(path, base64::engine::general_purpose::STANDARD.decode(png.as_str().unwrap()).unwrap()).unwrap();
    }
    browser.click("#pager-top a.next");
    wait_for("the second page", || browser.url().ends_with("/?page=2"));
    check_rows(browser.texts("#batches-body tr"), &newest_first[20..]);
    browser.click("#pager-top a.prev");
    wait_for("the first page", || browser.url().ends_with("/?page=1"));

    // A click on the batch that read the files opens its page, with the files and sizes.
    let with_files = reported[files_at[1] as usize - 1].clone();
    let link = format!("/batch/{}", with_files.batch_time.as_millis());
    browser.click(&format!("#batches-body a[href='{link}']"));
    wait_for("the batch page", || browser.url() == format!("http://{addr}{link}"));
    let inputs = browser.texts("#inputs > tbody > tr");
    assert_eq!(inputs.len(), 3, "a header and two inputs: {inputs:?}");
    assert!(inputs[1].ends_with(" 1 1 lines received"), "{inputs:?}");
    assert!(inputs[2].contains("a.txt: 8 bytes"), "{inputs:?}");
    let mut files = browser.texts("#inputs ul.files li");
    files.sort();
    let path = |name: &str| dir.path().join(name).to_str().unwrap().to_string();
    let mut expected = vec![format!("{}: 6 bytes", path(hostile)), format!("{}: 8 bytes", path("a.txt"))];
    expected.sort();
    assert_eq!(files, expected, "the hostile name shows as text");
    assert_eq!(browser.execute("return window.pwned === undefined"), Value::Bool(true), "markup ran");
    let ops = browser.texts("#outputs tr");
    assert_eq!(ops.len(), 5, "{ops:?}");
    assert!(ops[1].starts_with("0 foreach_batch ") && ops[1].ends_with(" ms succeeded"), "{ops:?}");

    // The failed batch's page shows the failing output operation with its error.
    let failed = newest_first[0];
    assert_eq!(failed.failed_outputs, 1);
    browser.open(&format!("http://{addr}/batch/{}", failed.batch_time.as_millis()));
    wait_for("the failed batch's page", || browser.find_all("#outputs code.error").len() == 1);
    let ops = browser.texts("#outputs tr");
    assert!(ops[2].starts_with("1 foreach_batch ") && ops[2].contains(" failed "), "{ops:?}");
    assert!(ops[2].contains("<five> lines"), "{ops:?}");
    assert_eq!(browser.texts("#inputs ul.files li"), Vec::<String>::new());

    // A batch that does not exist: a 404 page with a message.
    browser.open(&format!("http://{addr}/batch/12345"));
    let message = browser.texts("#message");
    assert!(message[0].starts_with("No batch at time 12345 is retained"), "{message:?}");

    // The window's state: the distinct words of its two batches ("line 0" then "line 0" to
    // "line 4"), an estimate of its bytes, and what it holds of each batch, newest first.
    browser.open(&format!("http://{addr}/"));
    wait_for("the state table", || browser.find_all("#state tr").len() == 2);
    let state = browser.texts("#state tr");
    let cells: Vec<&str> = state[1].split_whitespace().collect();
    assert!(state[1].starts_with("reduce_by_key_and_window(window 2000 ms, slide 1000 ms) "), "{state:?}");
    assert_eq!(cells[cells.len() - 2], "6", "keys: {state:?}");
    let bytes: u64 = cells[cells.len() - 1].parse().unwrap();
    // At least a table slot (a `(Str, TwoStacks<u64>)` and a control byte) per key.
    assert!(bytes > 6 * 40, "{state:?}");
    let held = browser.texts("#window-1 tr");
    assert_eq!(held.len(), 3, "a header and the window's two batches: {held:?}");
    let last_two: Vec<String> =
        newest_first[..2].iter().map(|b| format!("/batch/{}", b.batch_time.as_millis())).collect();
    assert_eq!(
        browser
            .attrs("#window-1 a", "href")
            .iter()
            .map(|h| h.replace(&format!("http://{addr}"), ""))
            .collect::<Vec<_>>(),
        last_two
    );
    assert_eq!(held[1].split_whitespace().last(), Some("6"), "{held:?}");
    assert_eq!(held[2].split_whitespace().last(), Some("2"), "{held:?}");
    let api: Value = serde_json::from_str(&get(addr, "/api/v1/streaming/state").1).unwrap();
    assert_eq!((api[0]["keys"].as_u64(), api[0]["bytes"].as_u64()), (Some(6), Some(bytes)), "{api}");

    // The plan view: the runtime's plan (what `explain` says), once, with the time of each
    // stage: the three fused stages, the window and the four outputs, as the job's listener
    // saw them in the last batch.
    let plan = browser.texts("#plan");
    assert_eq!(plan.len(), 1);
    assert!(plan[0].contains("stage 1 <- input 1: flat_map -> count"), "{plan:?}");
    // (The browser folds the spaces before `(fused)` into one.)
    assert!(plan[0].contains("stage 3 <- input 1: flat_map -> map -> reduce_by_key (fused)"), "{plan:?}");
    assert!(
        plan[0]
            .contains("stateful 1: reduce_by_key_and_window(window 2000 ms, slide 1000 ms) <- reduce_by_key (stage 3)"),
        "{plan:?}"
    );
    assert_eq!(browser.find_all("pre").len(), 1, "one plan on the page");
    let stages = browser.texts("#stage-times tr");
    assert_eq!(stages.len(), 1 + 3 + 1 + 4, "a header, three stages, the window, four outputs: {stages:?}");
    assert!(stages[1].starts_with("stage 1 <- input 1: flat_map -> count"), "{stages:?}");
    assert!(stages[4].starts_with("stateful 1 reduce_by_key_and_window("), "{stages:?}");
    assert!(stages[8].starts_with("output 4 foreach_batch"), "{stages:?}");
    assert_eq!(browser.find_all("#plan span.stage-time").len(), 8);
    let api: Value = serde_json::from_str(&get(addr, "/api/v1/streaming/stages").1).unwrap();
    let newest = newest_first[0];
    for (i, time) in newest.fused_stage_times.iter().enumerate() {
        assert_eq!(api[i]["stage"], format!("stage {}", i + 1));
        assert_eq!(api[i]["lastMicros"].as_u64(), time.map(|d| d.as_micros() as u64), "{api}");
    }
    assert_eq!(api[3]["stage"], "stateful 1");
    assert_eq!(api[3]["lastMicros"].as_u64(), Some(newest.stage_times[0].as_micros() as u64), "{api}");
    assert_eq!(api[7]["lastMicros"].as_u64(), Some(newest.output_ops[3].duration.as_micros() as u64), "{api}");
    let fused = newest.fused_stage_times[2].unwrap();
    if fused.as_millis() < 10 {
        let shown = format!("{:.3} ms", fused.as_secs_f64() * 1000.0);
        assert!(stages[3].contains(&shown), "{stages:?} lacks {shown}");
    }

    // Back on the overview after a refresh of its live part: still no console error.
    browser.open(&format!("http://{addr}/"));
    wait_for("a refresh", || {
        browser.execute("return document.getElementById('live').dataset.refreshed === '1'") == Value::Bool(true)
    });
    let (expected, errors): (Vec<Value>, Vec<Value>) = browser
        .console()
        .into_iter()
        .filter(|e| e["level"] == "SEVERE")
        .partition(|e| e["message"].as_str().unwrap_or("").contains("/batch/12345"));
    // The 404 of the missing batch is the one error, and shows the log is read at all.
    assert_eq!(expected.len(), 1, "{expected:?}");
    assert!(errors.is_empty(), "console errors: {errors:?}");
}

/// A stateful job checkpointing after every batch: the page lists each checkpoint with the
/// size of the file on disk, its write time and the stall of the batch loop, the batch page
/// names the checkpoint written after the batch, and `/metrics` counts them.
#[test]
fn checkpoints_show_with_their_size_write_time_and_stall() {
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::new(Time::from_millis(1_000_000));
    let mut ssc = StreamingContext::new(Duration::millis(BATCH_MS))
        .with_clock(Arc::new(clock.clone()))
        .with_checkpoint_interval(Duration::millis(BATCH_MS))
        .with_ui(Some(UiConf::at("127.0.0.1:0".parse().unwrap())));
    ssc.checkpoint(dir.path().to_string_lossy());
    let queue = stream_runtime::BatchQueue::new();
    for k in 0..3u64 {
        queue.push((0..=k).map(|i| (stream_runtime::Str::from(format!("key-{i}")), 1u64)).collect::<Vec<_>>());
    }
    ssc.queue_stream(queue, true, None).running_reduce_by_key(|a, b| a + b).foreach_snapshot(|_, _| {});
    let running = ssc.start().unwrap();
    let addr = running.ui_addr().unwrap();
    let checkpoints = || -> Vec<Value> { serde_json::from_str(&get(addr, "/api/v1/streaming/checkpoints").1).unwrap() };
    wait_for("the checkpoint at the start", || checkpoints().len() == 1);
    for k in 1..=3 {
        clock.set(running.zero_time() + Duration::millis(k * BATCH_MS));
        wait_for("the batch", || running.batches_completed() == k as u64);
        wait_for("its checkpoint", || checkpoints().len() == 1 + k as usize);
    }
    let listed = checkpoints();
    for (i, c) in listed.iter().enumerate() {
        let t = c["batchId"].as_i64().unwrap();
        assert_eq!(t, running.zero_time().as_millis() + (3 - i as i64) * BATCH_MS, "newest first: {listed:?}");
        let on_disk = std::fs::metadata(dir.path().join(format!("checkpoint-{t}"))).unwrap().len();
        assert_eq!(c["bytes"].as_u64(), Some(on_disk), "{c}");
        assert!(c["error"].is_null() && c["writeTime"].is_u64(), "{c}");
        // The stall is known for the retained batches (not for the start's checkpoint).
        assert_eq!(c["stall"].is_u64(), i < 3, "{c}");
    }
    let newest = listed[0]["batchId"].as_i64().unwrap();
    let (_, page) = get(addr, &format!("/batch/{newest}"));
    assert!(page.contains(&format!("<td id=\"checkpoint\">{} bytes in ", listed[0]["bytes"])), "{page}");
    let (_, overview) = get(addr, "/");
    for c in &listed {
        assert!(overview.contains(&format!("<td class=\"num\">{} bytes</td>", c["bytes"])), "{overview}");
    }
    let (_, metrics) = get(addr, "/metrics");
    assert!(metrics.contains("sluice_checkpoints_total 4\n"), "{metrics}");
    assert!(metrics.contains("sluice_checkpoint_stall_seconds_count 3\n"), "{metrics}");
    assert!(metrics.contains(&format!("sluice_checkpoint_size_bytes {}\n", listed[0]["bytes"])), "{metrics}");
    running.stop(false);
}

/// A file-directory job stopped after two batches that no checkpoint covers, then restarted
/// from its checkpoint: it runs the two batches again (its batch log gives the file stream
/// back the files each read), and their pages show those files with their sizes, as the
/// first run's did, marked replayed.
#[test]
fn batches_replayed_after_recovery_show_their_inputs() {
    let input = tempfile::tempdir().unwrap();
    let ckpt = tempfile::tempdir().unwrap();
    let ckpt_dir = ckpt.path().to_string_lossy().to_string();
    let job = |clock: &ManualClock| {
        let (input, clock) = (input.path().to_string_lossy().to_string(), clock.clone());
        move || {
            // One-second batches checkpointed every 10 s: after the start, no checkpoint
            // covers the first batches.
            let ssc = StreamingContext::new(Duration::millis(BATCH_MS))
                .with_clock(Arc::new(clock))
                .with_ui(Some(UiConf::at("127.0.0.1:0".parse().unwrap())));
            ssc.text_file_stream(&input).count().foreach_batch(|_, _| {});
            ssc
        }
    };
    let batch_json = |addr: SocketAddr, t: i64| -> Value {
        let (status, body) = get(addr, &format!("/api/v1/streaming/batches/{t}"));
        assert_eq!(status, 200, "{body}");
        serde_json::from_str(&body).unwrap()
    };
    let files_of = |batch: &Value| -> Vec<(String, u64)> {
        let files = batch["inputs"][0]["files"].as_array().unwrap();
        files.iter().map(|f| (f["path"].as_str().unwrap().to_string(), f["bytes"].as_u64().unwrap())).collect()
    };

    let clock = ManualClock::new(Time::from_millis(1_000_000));
    let first = StreamingContext::get_or_create(&ckpt_dir, job(&clock)).unwrap().start().unwrap();
    let (addr, zero) = (first.ui_addr().unwrap(), first.zero_time());
    let checkpoints = || -> Vec<Value> { serde_json::from_str(&get(addr, "/api/v1/streaming/checkpoints").1).unwrap() };
    wait_for("the checkpoint at the start", || checkpoints().len() == 1);
    let mut seen = Vec::new();
    for (k, (name, text)) in [(1, ("a.txt", "one\ntwo\n")), (2, ("b.txt", "three\n"))] {
        // Modified within batch k's interval, so batch k reads it.
        let path = input.path().join(name);
        std::fs::write(&path, text).unwrap();
        let at =
            std::time::UNIX_EPOCH + std::time::Duration::from_millis((zero.as_millis() + k * BATCH_MS - 500) as u64);
        std::fs::File::options().write(true).open(&path).unwrap().set_modified(at).unwrap();
        clock.set(zero + Duration::millis(k * BATCH_MS));
        wait_for("the batch", || first.batches_completed() == k as u64);
        let batch = batch_json(addr, (zero + Duration::millis(k * BATCH_MS)).as_millis());
        assert_eq!(batch["replayed"], false);
        assert_eq!(files_of(&batch), [(path.to_string_lossy().to_string(), text.len() as u64)]);
        seen.push(batch);
    }
    assert_eq!(checkpoints().len(), 1, "no checkpoint past the start");
    first.stop(false);

    let second = StreamingContext::get_or_create(&ckpt_dir, job(&clock)).unwrap().start().unwrap();
    assert_eq!(second.zero_time(), zero);
    wait_for("the two batches again", || second.batches_completed() == 2);
    let addr = second.ui_addr().unwrap();
    for before in &seen {
        let t = before["batchId"].as_i64().unwrap();
        let again = batch_json(addr, t);
        assert_eq!(again["replayed"], true, "{again}");
        assert_eq!(files_of(&again), files_of(before), "{again}");
        assert_eq!(again["inputs"][0]["records"], before["inputs"][0]["records"], "{again}");
        let (_, page) = get(addr, &format!("/batch/{t}"));
        assert!(page.contains("<p id=\"replayed\""), "{page}");
        for (path, bytes) in files_of(before) {
            let shown = format!("<span class=\"file\">{path}</span>: <span class=\"bytes\">{bytes}</span> bytes");
            assert!(page.contains(&shown), "{page}");
        }
    }
    let (_, overview) = get(addr, "/");
    assert_eq!(overview.matches("<span class=\"replayed\">replayed</span>").count(), 2, "{overview}");
    second.stop(false);
}
