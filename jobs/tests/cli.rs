//! The jobs' command lines, run as binaries: what cannot work is refused at start with one
//! line and exit status 2 (a bad command line) or 1 (the job cannot start), `--explain` only
//! prints, `--help` and `--version` are for the command line, and what reaches the terminal
//! carries no escape sequences. Each probe that could hang (a job retrying forever) is bounded
//! by `--duration`, so before a fix it fails instead of hanging.
#![forbid(unsafe_code)]

use std::io::Write;
use std::net::TcpListener;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

/// A job binary's path.
fn bin(name: &str) -> &'static str {
    match name {
        "network_wordcount" => env!("CARGO_BIN_EXE_network_wordcount"),
        "file_wordcount" => env!("CARGO_BIN_EXE_file_wordcount"),
        "kafka_wordcount" => env!("CARGO_BIN_EXE_kafka_wordcount"),
        "hdfs_wordcount" => env!("CARGO_BIN_EXE_hdfs_wordcount"),
        "recoverable_wordcount" => env!("CARGO_BIN_EXE_recoverable_wordcount"),
        "stateful_network_wordcount" => env!("CARGO_BIN_EXE_stateful_network_wordcount"),
        "windowed_network_wordcount" => env!("CARGO_BIN_EXE_windowed_network_wordcount"),
        other => panic!("no job {other}"),
    }
}

/// Runs `job args` in a new temporary directory (relative paths land there), killing it if it
/// still runs after 20 s.
fn run(job: &str, args: &[&str]) -> Output {
    let cwd = tempfile::tempdir().unwrap();
    let child = Command::new(bin(job))
        .args(args)
        .current_dir(cwd.path())
        .env_remove("RUST_LOG")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let pid = child.id();
    let (done, finished) = std::sync::mpsc::channel::<()>();
    let killer = std::thread::spawn(move || {
        if let Err(std::sync::mpsc::RecvTimeoutError::Timeout) = finished.recv_timeout(Duration::from_secs(20)) {
            let _ = Command::new("kill").args(["-KILL", &pid.to_string()]).status();
        }
    });
    let out = child.wait_with_output().unwrap();
    drop(done);
    killer.join().unwrap();
    out
}

/// A port nothing listens on.
fn closed_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// Probes of one test: each failure is kept, and all of them are reported at the end.
#[derive(Default)]
struct Probes {
    tried: usize,
    failed: Vec<String>,
}

impl Probes {
    /// Expects `job args` to exit with `code` within 5 s, its standard error being one error
    /// line (clap adds `For more information, try '--help'.` to usage errors) containing
    /// `says`.
    fn refused(&mut self, job: &str, args: &[&str], code: i32, says: &str) {
        self.tried += 1;
        let started = Instant::now();
        let out = run(job, args);
        let took = started.elapsed();
        let stderr = String::from_utf8_lossy(&out.stderr);
        let lines: Vec<&str> =
            stderr.lines().filter(|l| !l.is_empty() && *l != "For more information, try '--help'.").collect();
        let one_line = lines.len() == 1 && lines[0].starts_with("error: ") && lines[0].contains(says);
        if out.status.code() != Some(code) || !one_line || took > Duration::from_secs(5) {
            self.failed.push(format!(
                "{job} {args:?}: exit {:?} after {took:?}, expected {code} and one line with {says:?}:\n{stderr}",
                out.status.code()
            ));
        }
    }

    fn finish(self) {
        assert!(
            self.failed.is_empty(),
            "{} of {} probes failed:\n{}",
            self.failed.len(),
            self.tried,
            self.failed.join("\n")
        );
    }
}

#[test]
fn explain_prints_the_plan_and_touches_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let ckpt = tmp.path().join("ckpt").to_string_lossy().into_owned();
    let out_dir = tmp.path().join("out").to_string_lossy().into_owned();
    let in_dir = tmp.path().to_string_lossy().into_owned();
    let cases: [(&str, Vec<&str>); 2] = [
        ("recoverable_wordcount", vec!["--dir", &in_dir, "--output", &out_dir, "--checkpoint", &ckpt, "--explain"]),
        ("hdfs_wordcount", vec!["--checkpoint", &ckpt, "--explain"]),
    ];
    for (job, mut args) in cases {
        args.extend(["--duration", "3"]);
        let out = run(job, &args);
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(out.status.success(), "{job} {args:?}: {}", String::from_utf8_lossy(&out.stderr));
        assert!(stdout.starts_with(&format!("job {job} (batch ")), "{stdout}");
        assert!(stdout.contains("input 1: text_file_stream(") && !stdout.contains("Time: "), "{stdout}");
        assert!(!std::path::Path::new(&ckpt).exists() && !std::path::Path::new(&out_dir).exists());
    }
}

#[test]
fn directories_that_cannot_work_are_refused() {
    let mut p = Probes::default();
    let args = |output: &'static str| ["--dir", "in", "--output", output, "--checkpoint", "ckpt", "--duration", "3"];
    p.refused("recoverable_wordcount", &args(""), 2, "invalid directory \"\": the path is empty");
    p.refused("recoverable_wordcount", &args("/"), 2, "\"/\": this is the root directory");
    p.refused("recoverable_wordcount", &args("hdfs://nn:8020/"), 2, "this is the root directory");
    p.refused("recoverable_wordcount", &args("http://host/out"), 2, "unsupported filesystem");
    let no_namenode = ["--dir", "hdfs:///in", "--output", "o", "--checkpoint", "c", "--duration", "3"];
    p.refused("recoverable_wordcount", &no_namenode, 2, "no namenode");
    p.refused("network_wordcount", &["localhost", "9", "--checkpoint", "", "--duration", "3"], 2, "the path is empty");
    p.refused("file_wordcount", &["http://host/in", "--duration", "3"], 1, "text_file_stream: invalid directory");
    p.refused("file_wordcount", &["hdfs:///in", "--duration", "3"], 1, "no namenode: write hdfs://host:port/path");
    p.refused("hdfs_wordcount", &["s3://bucket/in", "--duration", "3"], 2, "unsupported filesystem");
    p.finish();
}

#[test]
fn addresses_that_cannot_work_are_refused() {
    let mut p = Probes::default();
    let socket = |addr: &'static str| ["--socket", addr, "--output", "o", "--checkpoint", "c", "--duration", "3"];
    for addr in ["localhost:abc", "localhost", "localhost:99999", "localhost:0"] {
        p.refused("recoverable_wordcount", &socket(addr), 2, &format!("invalid address \"{addr}\""));
    }
    let kafka =
        ["--kafka", "localhost:notaport", "--topic", "t", "--output", "o", "--checkpoint", "c", "--duration", "3"];
    p.refused("recoverable_wordcount", &kafka, 2, "the port must be a number from 1 to 65535");
    p.refused("network_wordcount", &["localhost", "0", "--duration", "3"], 1, "invalid address \"localhost:0\"");
    p.refused("network_wordcount", &["", "9999", "--duration", "3"], 1, "expected host:port");
    p.refused("network_wordcount", &["localhost", "99999", "--duration", "3"], 2, "for '[PORT]'");
    p.refused("kafka_wordcount", &["localhost:notaport", "t", "--duration", "3"], 1, "invalid address");
    p.finish();
}

#[test]
fn durations_and_negative_numbers_are_refused_with_the_reason() {
    let mut p = Probes::default();
    // Each probe stops by itself should the value be taken.
    let job = |opt: &'static str, v: &'static str| {
        let stop = if opt == "--duration" { "--batch" } else { "--duration" };
        ["localhost", "9", opt, v, stop, "3"]
    };
    let limit = "longer than the limit of 365 days (31536000000 ms)";
    p.refused("network_wordcount", &job("--batch", "99999999999999s"), 2, limit);
    p.refused("network_wordcount", &job("--duration", "9223372036854775807ms"), 2, limit);
    p.refused("network_wordcount", &job("--batch", "-1s"), 2, "a duration cannot be negative");
    p.refused("network_wordcount", &job("--duration", "-1"), 2, "a duration cannot be negative");
    p.refused("network_wordcount", &job("--threads", "-1"), 2, "invalid value '-1' for '--threads <N>'");
    p.refused("network_wordcount", &["localhost", "-1", "--duration", "3"], 2, "invalid value '-1' for '[PORT]'");
    let interval =
        ["--dir", "in", "--output", "o", "--checkpoint", "c", "--checkpoint-interval", "-2s", "--duration", "3"];
    p.refused("recoverable_wordcount", &interval, 2, "a duration cannot be negative");
    p.finish();
}

#[test]
fn options_of_a_job_are_refused_when_bad() {
    let mut p = Probes::default();
    let job = |extra: &[&'static str]| {
        let mut args = vec!["localhost", "9", "--duration", "3"];
        args.extend(extra);
        args
    };
    p.refused(
        "windowed_network_wordcount",
        &job(&["--window", "soon"]),
        2,
        "invalid value 'soon' for '--window <WINDOW>'",
    );
    p.refused("windowed_network_wordcount", &job(&["--slide", "-4s"]), 2, "a duration cannot be negative");
    p.refused("windowed_network_wordcount", &job(&["--slide"]), 2, "a value is required for '--slide <SLIDE>'");
    // The window check sees the options' values: the default 6 s window against `--batch 4s`,
    // and a 5 s `--window` against the default 2 s batch.
    p.refused(
        "windowed_network_wordcount",
        &job(&["--batch", "4s"]),
        1,
        "(6000 ms) is not a multiple of `--batch` (4000 ms)",
    );
    p.refused(
        "windowed_network_wordcount",
        &job(&["--window", "5s"]),
        1,
        "(5000 ms) is not a multiple of the batch interval",
    );
    p.finish();
}

#[test]
fn version_and_help_are_written_for_the_command_line() {
    for job in ["network_wordcount", "recoverable_wordcount", "hdfs_wordcount"] {
        let out = run(job, &["--version"]);
        assert!(out.status.success());
        assert_eq!(String::from_utf8_lossy(&out.stdout), format!("{job} {}\n", env!("CARGO_PKG_VERSION")));
        let out = run(job, &["--help"]);
        let help = String::from_utf8_lossy(&out.stdout);
        assert!(out.status.success());
        assert!(!help.contains("```") && !help.contains("flatten") && !help.contains("clap"), "{job}: {help}");
    }
    let help = String::from_utf8_lossy(&run("recoverable_wordcount", &["--help"]).stdout).into_owned();
    let usage = help.lines().find(|l| l.starts_with("Usage:")).unwrap();
    assert!(
        usage.contains(" --output <DIR> --checkpoint <DIR> <--dir <DIR>|"),
        "required options in the usage: {usage}"
    );
    assert!(help.contains("totals-<ms>"), "{help}");
    let help = String::from_utf8_lossy(&run("windowed_network_wordcount", &["--help"]).stdout).into_owned();
    assert!(help.contains("--window <WINDOW>") && help.contains("[default: 6s]"), "{help}");
    assert!(help.contains("--slide <SLIDE>") && help.contains("[default: 4s]"), "{help}");
}

#[test]
fn a_namenode_that_is_down_is_reported_once_without_raw_errors_or_colours() {
    let url = format!("hdfs://127.0.0.1:{}/in", closed_port());
    let out = run("file_wordcount", &[&url, "--batch", "100ms", "--duration", "1", "--ui", "off"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(!stderr.contains("IOError"), "no raw client errors: {stderr}");
    assert!(!stderr.contains('\u{1b}'), "no colours when standard error is not a terminal: {stderr:?}");
    let lines: Vec<&str> = stderr.lines().collect();
    assert_eq!(lines.len(), 1, "{stderr}");
    assert!(lines[0].contains("cannot list the directory") && lines[0].contains("Connection refused"), "{stderr}");
}

#[test]
fn print_escapes_control_characters_of_the_data() {
    let server = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = server.local_addr().unwrap().port().to_string();
    // The connection stays open until the job exited (a closed one would be reconnected).
    let (release, released) = std::sync::mpsc::channel::<()>();
    let feeder = std::thread::spawn(move || {
        let (mut conn, _) = server.accept().unwrap();
        conn.write_all(b"\x1b]0;owned\x07 \x1b[2J\n").unwrap();
        let _ = released.recv();
    });
    let out = run("network_wordcount", &["127.0.0.1", &port, "--batch", "200ms", "--duration", "1.5"]);
    drop(release);
    feeder.join().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(!stdout.chars().any(|c| c.is_control() && c != '\n'), "{stdout:?}");
    let mut records: Vec<&str> = stdout.lines().filter(|l| l.starts_with('(')).collect();
    records.sort();
    assert_eq!(records, ["(\\x1b[2J,1)", "(\\x1b]0;owned\\x07,1)"], "{stdout}");
}
