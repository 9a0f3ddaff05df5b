//! Real processes on loopback: `cluster_wordcount_demo` at 1, 2 and 3 processes, a refused plan,
//! a killed process, a panicking worker, a failing launcher child, bad hosts files.
#![forbid(unsafe_code)]

use std::collections::BTreeMap;
use std::io::Read;
use std::path::Path;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use stream_cluster::demo::{line, PLAN};
use stream_cluster::failstop::exit_code;
use stream_cluster::launch::free_ports;
use stream_cluster::plan_fingerprint;

const DEMO: &str = env!("CARGO_BIN_EXE_cluster_wordcount_demo");
/// Every run here ends in well under a second on an idle machine; the bound allows a busy one.
const BOUND: Duration = Duration::from_secs(20);
const RESTART: &str = "stopping; restart all processes to recover from the last checkpoint";

struct Finished {
    status: ExitStatus,
    stdout: String,
    stderr: String,
    took: Duration,
}

/// A started demo; dropping it kills it, so a failing test leaves no endless run behind (a killed
/// launcher takes its processes with it).
struct Running {
    child: Child,
    started: Instant,
}

impl Drop for Running {
    fn drop(&mut self) {
        // It has usually exited already; then there is nothing to kill.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start(args: &[&str]) -> Running {
    let child = Command::new(DEMO)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    Running { child, started: Instant::now() }
}

/// Waits for `child` within [`BOUND`] (killing it and failing the test past that).
fn finish(mut running: Running) -> Finished {
    let (child, started) = (&mut running.child, running.started);
    let mut stdout = child.stdout.take().unwrap();
    let mut stderr = child.stderr.take().unwrap();
    let out = thread::spawn(move || {
        let mut text = String::new();
        stdout.read_to_string(&mut text).unwrap();
        text
    });
    let err = thread::spawn(move || {
        let mut text = String::new();
        stderr.read_to_string(&mut text).unwrap();
        text
    });
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if started.elapsed() > BOUND {
            child.kill().unwrap();
            panic!("{DEMO} did not end within {BOUND:?}: {}", err.join().unwrap());
        }
        thread::sleep(Duration::from_millis(10));
    };
    let took = started.elapsed();
    Finished { status, stdout: out.join().unwrap(), stderr: err.join().unwrap(), took }
}

fn run(args: &[&str]) -> Finished {
    finish(start(args))
}

/// The word count of the demo's lines, counted plainly.
fn oracle(seed: u64, lines: u64) -> String {
    let mut counts: BTreeMap<String, u64> = BTreeMap::new();
    for index in 0..lines {
        for word in line(seed, index).split(' ') {
            *counts.entry(word.to_string()).or_default() += 1;
        }
    }
    counts.iter().map(|(word, count)| format!("{word} {count}\n")).collect()
}

fn hosts_file(dir: &Path, processes: usize) -> String {
    let text: String = free_ports(processes).unwrap().iter().map(|port| format!("127.0.0.1:{port}\n")).collect();
    let path = dir.join("hosts");
    std::fs::write(&path, text).unwrap();
    path.to_str().unwrap().to_string()
}

fn wait_for_files(dir: &Path, names: &[&str]) {
    let started = Instant::now();
    while !names.iter().all(|name| dir.join(name).exists()) {
        assert!(started.elapsed() < BOUND, "{names:?} did not all appear in {}", dir.display());
        thread::sleep(Duration::from_millis(10));
    }
}

#[test]
fn one_two_and_three_processes_count_the_same_words() {
    let expected = oracle(5, 4 * 300);
    let common = ["--seed", "5", "--rounds", "4", "--lines-per-round", "300"];
    let layouts: [&[&str]; 6] = [
        &[],
        &["--threads", "2"],
        &["--local-cluster", "2"],
        &["--local-cluster", "3"],
        &["--local-cluster", "2", "--threads", "2"],
        &["--local-cluster", "3", "--in-flight", "3"],
    ];
    for layout in layouts {
        let args: Vec<&str> = common.iter().chain(layout).copied().collect();
        let finished = run(&args);
        assert!(finished.status.success(), "{layout:?}: {}", finished.stderr);
        assert_eq!(finished.stdout, expected, "{layout:?}");
        assert_eq!(finished.stderr, "", "{layout:?}: nothing but the output is printed");
    }
}

#[test]
fn a_different_plan_is_refused_naming_both() {
    let dir = tempfile::tempdir().unwrap();
    let hosts = hosts_file(dir.path(), 2);
    let member = |process: &str, plan: &str| {
        start(&["--processes", "2", "--process", process, "--hosts", &hosts, "--plan", plan])
    };
    let first = member("0", PLAN);
    let second = member("1", "lines -> words -> distinct");
    let ours = format!("plan {:016x}", plan_fingerprint(PLAN));
    let theirs = format!("plan {:016x}", plan_fingerprint("lines -> words -> distinct"));
    for finished in [finish(first), finish(second)] {
        assert_eq!(finished.status.code(), Some(1), "{}", finished.stderr);
        assert_eq!(finished.stdout, "");
        let error = finished.stderr.trim_end();
        assert!(!error.contains('\n'), "one line: {error}");
        assert!(error.contains("refusing to run different jobs"), "{error}");
        assert!(error.contains(&ours) && error.contains(&theirs), "both plans named: {error}");
        assert!(error.contains(&format!("{PLAN:?}")) && error.contains("\"lines -> words -> distinct\""), "{error}");
    }
}

#[test]
fn a_killed_process_stops_the_others_with_one_line_each() {
    let ready = tempfile::tempdir().unwrap();
    let ready_dir = ready.path().to_str().unwrap();
    let launcher = start(&["--local-cluster", "3", "--rounds", "0", "--pause-ms", "5", "--ready-dir", ready_dir]);
    wait_for_files(ready.path(), &["worker-0", "worker-1", "worker-2"]);
    let victim = std::fs::read_to_string(ready.path().join("worker-2")).unwrap();
    let killed = Instant::now();
    let status = Command::new("kill").args(["-KILL", victim.trim()]).status().unwrap();
    assert!(status.success());
    let finished = finish(launcher);
    let after_kill = killed.elapsed();

    assert_eq!(finished.status.code(), Some(128 + 9), "{}", finished.stderr);
    let lines: Vec<&str> = finished.stderr.lines().collect();
    assert_eq!(lines.len(), 3, "one line per survivor and one from the launcher: {lines:#?}");
    let gone: Vec<&&str> = lines.iter().filter(|line| line.ends_with(&format!("is gone; {RESTART}"))).collect();
    assert_eq!(gone.len(), 2, "{lines:#?}");
    // Usually both survivors see process 2 first; one may see the other survivor leave first.
    assert!(gone.iter().any(|line| line.starts_with("process 2 of 3 (127.0.0.1:")), "{lines:#?}");
    assert!(
        lines.contains(&"cluster_wordcount_demo: process 2 of the local cluster failed (signal: 9 (SIGKILL)); all 3 processes are stopped"),
        "{lines:#?}"
    );
    // The survivors stopped by themselves (they printed their line), well before the launcher's grace ran out.
    assert!(after_kill < stream_cluster::launch::GRACE + Duration::from_secs(5), "{after_kill:?}");
}

/// Whether process `pid` has ended (gone, or a zombie waiting for its new parent to reap it).
fn ended(pid: &str) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Err(_) => true,
        Ok(stat) => stat.rsplit_once(") ").is_some_and(|(_, rest)| rest.starts_with('Z')),
    }
}

#[test]
fn the_processes_of_a_killed_launcher_die_with_it() {
    let ready = tempfile::tempdir().unwrap();
    let ready_dir = ready.path().to_str().unwrap();
    let mut launcher = start(&["--local-cluster", "2", "--rounds", "0", "--pause-ms", "5", "--ready-dir", ready_dir]);
    wait_for_files(ready.path(), &["worker-0", "worker-1"]);
    let pids: Vec<String> =
        ["worker-0", "worker-1"].iter().map(|f| std::fs::read_to_string(ready.path().join(f)).unwrap()).collect();
    launcher.child.kill().unwrap();
    launcher.child.wait().unwrap();
    let killed = Instant::now();
    while !pids.iter().all(|pid| ended(pid)) {
        if killed.elapsed() > BOUND {
            for pid in &pids {
                let _ = Command::new("kill").args(["-KILL", pid]).status();
            }
            panic!("processes {pids:?} outlived their launcher");
        }
        thread::sleep(Duration::from_millis(10));
    }
}

#[test]
fn a_panicking_worker_stops_the_cluster_with_one_line() {
    let finished = run(&["--local-cluster", "3", "--rounds", "5", "--panic-worker", "1", "--panic-round", "2"]);
    assert_eq!(finished.status.code(), Some(exit_code::WORKER_PANIC), "{}", finished.stderr);
    assert_eq!(finished.stdout, "", "no output from an incomplete run");
    let lines: Vec<&str> = finished.stderr.lines().collect();
    assert_eq!(lines.len(), 4, "{lines:#?}");
    let panic_line = format!(
        "process 1 of 3: thread timely:work-0 panicked at stream-cluster/src/demo.rs:{}",
        include_str!("../src/demo.rs").lines().position(|l| l.contains("panic!(\"injected")).unwrap() + 1
    );
    assert!(
        lines
            .iter()
            .any(|line| line.starts_with(&panic_line)
                && line.ends_with(&format!("injected panic in round 2; {RESTART}"))),
        "{lines:#?}"
    );
    let gone: Vec<&&str> = lines.iter().filter(|line| line.ends_with(&format!("is gone; {RESTART}"))).collect();
    assert_eq!(gone.len(), 2, "one line per survivor: {lines:#?}");
    assert!(gone.iter().any(|line| line.starts_with("process 1 of 3 (127.0.0.1:")), "{lines:#?}");
    assert!(lines.last().unwrap().contains("process 1 of the local cluster failed (exit status: 4)"), "{lines:#?}");
    assert!(!finished.stderr.contains("backtrace"), "{}", finished.stderr);
}

#[test]
fn the_launcher_stops_the_others_when_one_fails_before_connecting() {
    // Processes 0 and 2 would wait 60 s for process 1; the launcher kills them after its grace.
    let finished = run(&["--local-cluster", "3", "--exit-before-connect", "1", "--connect-timeout-ms", "60000"]);
    assert_eq!(finished.status.code(), Some(1), "{}", finished.stderr);
    assert_eq!(
        finished.stderr,
        "cluster_wordcount_demo: process 1 stops before connecting (--exit-before-connect)\n\
         cluster_wordcount_demo: process 1 of the local cluster failed (exit status: 1); all 3 processes are stopped\n"
    );
    assert!(finished.took < stream_cluster::launch::GRACE + Duration::from_secs(5), "{:?}", finished.took);
}

#[test]
fn bad_cluster_flags_are_refused_with_one_line() {
    let dir = tempfile::tempdir().unwrap();
    let one_host = dir.path().join("one");
    std::fs::write(&one_host, "127.0.0.1:7000\n").unwrap();
    let one_host = one_host.to_str().unwrap();
    let cases: [(&[&str], &str); 3] = [
        (
            &["--processes", "2", "--process", "0", "--hosts", one_host],
            "lists 1 hosts but --processes is 2: one host:port a line, one line per process",
        ),
        (
            &["--processes", "2", "--process", "2", "--hosts", one_host],
            "--process 2 is out of range: --processes 2 allows 0 to 1",
        ),
        (&["--local-cluster", "2", "--hosts", one_host], "--local-cluster 2 cannot be combined with --hosts"),
    ];
    for (args, expected) in cases {
        let finished = run(args);
        assert_eq!(finished.status.code(), Some(1), "{args:?}");
        assert!(finished.stderr.starts_with("cluster_wordcount_demo: "), "{}", finished.stderr);
        assert!(finished.stderr.contains(expected), "{args:?}: {}", finished.stderr);
        assert_eq!(finished.stderr.lines().count(), 1, "{}", finished.stderr);
    }
}
