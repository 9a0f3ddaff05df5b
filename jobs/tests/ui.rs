//! The `--ui` option of the job binaries: where the Streaming page listens, and the errors.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Command, Stdio};

fn file_wordcount(ui: &str, dir: &std::path::Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_file_wordcount"));
    cmd.arg(dir).args(["--batch", "100ms", "--ui", ui]).env_remove("RUST_LOG");
    cmd
}

#[test]
fn a_job_serves_its_metrics_where_it_says() {
    let dir = tempfile::tempdir().unwrap();
    let mut child = file_wordcount("127.0.0.1:0", dir.path())
        .args(["--duration", "30"])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stderr = BufReader::new(child.stderr.take().unwrap());
    let mut line = String::new();
    stderr.read_line(&mut line).unwrap();
    let addr = line.trim().strip_prefix("Streaming UI at http://").unwrap_or_else(|| panic!("{line}")).to_string();
    let get = |path: &str| {
        let mut http = TcpStream::connect(&addr).unwrap();
        http.write_all(format!("GET {path} HTTP/1.1\r\nHost: job\r\n\r\n").as_bytes()).unwrap();
        let mut answer = String::new();
        http.read_to_string(&mut answer).unwrap();
        answer
    };
    let metrics = get("/metrics");
    let page = get("/");
    let _ = child.kill();
    let _ = child.wait();
    assert!(metrics.starts_with("HTTP/1.1 200 OK\r\n"), "{metrics}");
    assert!(metrics.contains("sluice_input_records_total{input=\"text_file_stream("), "{metrics}");
    // The plan view is the plan `--explain` prints with the same command line (the runtime's
    // description of the graph the job builds), line for line, each stage's time after it.
    let explain = file_wordcount("127.0.0.1:0", dir.path()).arg("--explain").output().unwrap();
    let explained = String::from_utf8(explain.stdout).unwrap();
    let plan = explained.split("settings: ").next().unwrap();
    assert!(plan.contains("\nstage 1 <- input 1: flat_map -> map -> reduce_by_key   (fused)\n"), "{explained}");
    let shown = page.split("<pre id=\"plan\">").nth(1).and_then(|p| p.split("</pre>").next()).unwrap();
    let shown: Vec<&str> = shown.lines().map(|l| l.split("   <span").next().unwrap()).collect();
    let escaped: Vec<String> =
        plan.lines().map(|l| l.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;")).collect();
    assert_eq!(shown, escaped, "{page}");
    assert_eq!(page.matches("<pre").count(), 1, "one plan on the page");
}

#[test]
fn a_taken_port_or_a_bad_address_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let taken = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap().to_string();
    let out = file_wordcount(&addr, dir.path()).args(["--duration", "1"]).output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains(&format!("the Streaming UI cannot listen on {addr}")), "{stderr}");
    let out = file_wordcount("somewhere", dir.path()).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("expected `off`, a port or an address"));
}
