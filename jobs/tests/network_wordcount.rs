//! The `network_wordcount` binary against a real TCP server: Spark's output format, counts,
//! and a clean exit after `--duration`.
#![forbid(unsafe_code)]

use std::io::Write;
use std::net::TcpListener;
use std::process::Command;

#[test]
fn counts_words_sent_by_a_server_and_stops_by_itself() {
    let (port, done) = serve(0, b"to be or not to be\n");
    let out = Command::new(env!("CARGO_BIN_EXE_network_wordcount"))
        .args(["127.0.0.1", &port.to_string(), "--batch", "500ms", "--master", "local[2]", "--duration", "3"])
        .output()
        .unwrap();
    done();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "exit {:?}, stderr: {}", out.status, String::from_utf8_lossy(&out.stderr));
    let batches: Vec<&str> = stdout.split("-------------------------------------------\nTime: ").skip(1).collect();
    assert!(batches.len() >= 4, "one block per batch: {stdout}");
    let mut counted: Vec<&str> = stdout.lines().filter(|l| l.starts_with('(')).collect();
    counted.sort();
    assert_eq!(counted, vec!["(be,2)", "(not,1)", "(or,1)", "(to,2)"], "{stdout}");
}

#[test]
fn a_bad_master_is_a_clear_error() {
    let out = Command::new(env!("CARGO_BIN_EXE_network_wordcount"))
        .args(["127.0.0.1", "9", "--master", "yarn"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("unsupported master \"yarn\""));
}

/// Serves `lines` to the first connection on `port` (0: a free one) and keeps it open (a
/// closed one would be reconnected) until the returned function is called, once the job has
/// exited; returns the port.
fn serve(port: u16, lines: &'static [u8]) -> (u16, impl FnOnce()) {
    let server = TcpListener::bind(("127.0.0.1", port)).unwrap();
    let port = server.local_addr().unwrap().port();
    let (release, released) = std::sync::mpsc::channel::<()>();
    let feeder = std::thread::spawn(move || {
        let (mut conn, _) = server.accept().unwrap();
        conn.write_all(lines).unwrap();
        let _ = released.recv();
    });
    let done = move || {
        drop(release);
        feeder.join().unwrap();
    };
    (port, done)
}

/// The printed blocks of `stdout`: each batch's time and records.
fn printed(stdout: &str) -> Vec<(i64, Vec<&str>)> {
    stdout
        .split("-------------------------------------------\nTime: ")
        .skip(1)
        .map(|b| {
            let (time, rest) = b.split_once(" ms\n-------------------------------------------\n").unwrap();
            (time.parse().unwrap(), rest.lines().filter(|l| !l.is_empty()).collect())
        })
        .collect()
}

fn stateful_run(port: u16, ckpt: &str) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_stateful_network_wordcount"))
        .args(["127.0.0.1", &port.to_string(), "--batch", "200ms", "--duration", "2", "--checkpoint", ckpt])
        .output()
        .unwrap();
    assert!(out.status.success(), "exit {:?}, stderr: {}", out.status, String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn stateful_wordcount_keeps_running_counts_across_a_restart() {
    let ckpt = tempfile::tempdir().unwrap();
    let ckpt = ckpt.path().join("ckpt").to_string_lossy().into_owned();
    let (port, done) = serve(0, b"a a b\nc a\n");
    let stdout = stateful_run(port, &ckpt);
    done();
    // Every batch prints the whole state; the counts only grow, to the totals of all lines.
    let blocks = printed(&stdout);
    assert!(blocks.len() >= 5, "one block per batch: {stdout}");
    let mut last = blocks.last().unwrap().1.clone();
    last.sort();
    assert_eq!(last, ["(a,3)", "(b,1)", "(c,1)"], "{stdout}");
    assert!(blocks.windows(2).all(|w| w[0].1.len() <= w[1].1.len()), "{stdout}");

    // Started again with the same checkpoint directory (and server), it goes on from those
    // counts.
    let (port, done) = serve(port, b"a d\n");
    let stdout = stateful_run(port, &ckpt);
    done();
    let mut last = printed(&stdout).last().unwrap().1.clone();
    last.sort();
    assert_eq!(last, ["(a,4)", "(b,1)", "(c,1)", "(d,1)"], "{stdout}");
}

#[test]
fn windowed_wordcount_counts_each_window_every_slide() {
    let (port, done) = serve(0, b"a a b\n");
    let out = Command::new(env!("CARGO_BIN_EXE_windowed_network_wordcount"))
        .args([
            "127.0.0.1",
            &port.to_string(),
            "--window",
            "600ms",
            "--slide",
            "400ms",
            "--batch",
            "200ms",
            "--duration",
            "2.5",
        ])
        .output()
        .unwrap();
    done();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "exit {:?}, stderr: {}", out.status, String::from_utf8_lossy(&out.stderr));
    let blocks = printed(&stdout);
    // Two prints (the window's word count, then its word counts) every slide, not every batch.
    assert!(blocks.len() >= 6 && blocks.len() % 2 == 0, "{stdout}");
    for pair in blocks.chunks(2) {
        assert_eq!(pair[0].0, pair[1].0, "{stdout}");
    }
    assert!(blocks.chunks(2).zip(blocks.chunks(2).skip(1)).all(|(a, b)| b[0].0 - a[0].0 == 400), "{stdout}");
    // The line lands in one 200 ms batch; a 600 ms window sliding by 400 ms holds each batch
    // once or twice, and every window holding it counts 3 words: a twice, b once.
    let with_words: Vec<&[(i64, Vec<&str>)]> = blocks.chunks(2).filter(|p| p[0].1 != ["0"]).collect();
    assert!((1..=2).contains(&with_words.len()), "{stdout}");
    for pair in with_words {
        let mut counts = pair[1].1.clone();
        counts.sort();
        assert_eq!((pair[0].1.clone(), counts), (vec!["3"], vec!["(a,2)", "(b,1)"]), "{stdout}");
    }
}
