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
        lines.foreach_batch(|b, _| assert!(b.len() != 5, "<five> lines"));
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
        let caps = serde_json::json!({"capabilities": {"alwaysMatch": {"goog:chromeOptions": {
            "args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--window-size=1100,1000"]
        }}}});
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
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = call(self.addr, "DELETE", &format!("/session/{}", self.session), None);
    }
}

/// The page in a real browser: its script fills the batch table from the JSON API, one row
/// per batch of the job, newest first, and a batch's link opens its page. With
/// `SLUICE_SCREENSHOT=path`, saves a screenshot of the page there (the book's).
#[test]
fn streaming_page_in_chromium() {
    let mut job = Job::start();
    for lines in [3, 1, 4, 1, 5] {
        job.batch(lines);
    }
    let addr = job.running.ui_addr().unwrap();
    let reported = job.reported.lock().unwrap().clone();
    let browser = Browser::start();
    browser.open(&format!("http://{addr}/"));
    wait_for("the table rows", || browser.find_all("#batches-body tr").len() == reported.len());
    let rows: Vec<String> = browser.find_all("#batches-body tr").iter().map(|r| browser.text(r)).collect();
    for (row, batch) in rows.iter().zip(reported.iter().rev()) {
        let cells: Vec<&str> = row.split_whitespace().collect(); // time, records, 3 delays in ms, ops
        assert!(cells[0].contains('T') && cells[0].ends_with("GMT"), "{row}");
        assert_eq!(cells[1], batch.num_records.to_string(), "{row}");
        assert_eq!(cells[2], batch.scheduling_delay.as_millis().to_string(), "{row}");
    }
    let title = browser.find_all("h1");
    assert!(browser.text(&title[0]).starts_with("Streaming Statistics: sluice"));
    assert_eq!(browser.find_all("#tl-processing-time svg line.batch-interval").len(), 1);
    if let Some(path) = std::env::var_os("SLUICE_SCREENSHOT") {
        use base64::Engine;
        let png = browser.call("GET", "/screenshot", None);
        std::fs::write(path, base64::engine::general_purpose::STANDARD.decode(png.as_str().unwrap()).unwrap()).unwrap();
    }
    let newest = reported.last().unwrap();
    let link = browser.find_all("#batches-body tr:first-child a");
    browser.call("POST", &format!("/element/{}/click", link[0]), Some(serde_json::json!({})));
    let url = format!("http://{addr}/batch/{}", newest.batch_time.as_millis());
    wait_for("the batch page", || browser.call("GET", "/url", None) == url);
    let inputs = browser.find_all("#inputs tr");
    assert_eq!(inputs.len(), 2, "a header and one input");
    assert!(browser.text(&inputs[1]).ends_with(&format!(" {}", newest.num_records)));
}
