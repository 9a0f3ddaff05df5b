//! The `network_wordcount` binary against a real TCP server: Spark's output format, counts,
//! and a clean exit after `--duration`.
#![forbid(unsafe_code)]

use std::io::Write;
use std::net::TcpListener;
use std::process::Command;

#[test]
fn counts_words_sent_by_a_server_and_stops_by_itself() {
    let server = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = server.local_addr().unwrap().port();
    let feeder = std::thread::spawn(move || {
        let (mut conn, _) = server.accept().unwrap();
        conn.write_all(b"to be or not to be\n").unwrap();
        std::thread::sleep(std::time::Duration::from_secs(4));
    });
    let out = Command::new(env!("CARGO_BIN_EXE_network_wordcount"))
        .args(["127.0.0.1", &port.to_string(), "--batch", "500ms", "--master", "local[2]", "--duration", "3"])
        .output()
        .unwrap();
    feeder.join().unwrap();
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
