//! Round trips through the Go `hdfs` command line client (Debian package `hdfs-cli`), and between it and
//! `hdfs-native`.
//!
//! These tests fail when `hdfs` is missing (run `scripts/install-test-deps.sh`), unless
//! `SLUICE_SKIP_HDFS_CLI=1` is set.

use std::os::unix::process::ExitStatusExt;
use std::path::Path;
use std::process::Output;
use std::time::Instant;

use minihdfs::cli::{cli_available, hdfs_command, run_with_timeout};

use crate::common::{client, data, read, run, start, write, TestCluster, BLOCK, OP_TIMEOUT};

/// Runs `hdfs ARGS...` against the cluster, killing it after [`OP_TIMEOUT`].
fn hdfs(c: &TestCluster, args: &[&str]) -> Output {
    let started = Instant::now();
    let out =
        run_with_timeout(hdfs_command(&c.hdfs.namenode_addr().to_string(), args), OP_TIMEOUT).expect("spawn hdfs");
    // `run_with_timeout` kills an overrunning child with SIGKILL (9).
    if started.elapsed() > OP_TIMEOUT && out.status.signal() == Some(9) {
        panic!("`hdfs {}` did not finish within {OP_TIMEOUT:?}", args.join(" "));
    }
    out
}

/// Runs `hdfs ARGS...` and returns its stdout, failing the test on a non-zero exit.
fn ok(c: &TestCluster, args: &[&str]) -> Vec<u8> {
    let out = hdfs(c, args);
    assert!(
        out.status.success(),
        "`hdfs {}` failed ({}): {}",
        args.join(" "),
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

fn text(bytes: Vec<u8>) -> String {
    String::from_utf8(bytes).expect("utf-8 output")
}

fn local(dir: &Path, name: &str, bytes: &[u8]) -> String {
    let path = dir.join(name);
    std::fs::write(&path, bytes).unwrap();
    path.to_str().unwrap().to_string()
}

#[test]
fn cli_put_ls_cat_get_du_tail() {
    if !cli_available() {
        return;
    }
    let c = start();
    let scratch = tempfile::tempdir().unwrap();
    let small = b"line one\nline two\nline three\n".to_vec();
    let big = data(3 * BLOCK as usize + BLOCK as usize / 2, 11);
    let small_local = local(scratch.path(), "small.txt", &small);
    let big_local = local(scratch.path(), "big.bin", &big);

    ok(&c, &["mkdir", "-p", "/cli/x/y"]);
    ok(&c, &["put", &small_local, "/cli/small.txt"]);
    ok(&c, &["put", &big_local, "/cli/big.bin"]);

    let ls = text(ok(&c, &["ls", "/cli"]));
    let names: Vec<&str> = ls.split_whitespace().collect();
    assert_eq!(names, ["big.bin", "small.txt", "x"], "{ls}");
    let long = text(ok(&c, &["ls", "-l", "/cli"]));
    assert!(long.lines().any(|l| l.contains(&big.len().to_string()) && l.ends_with("big.bin")), "{long}");
    assert!(long.lines().any(|l| l.starts_with('d') && l.ends_with(" x")), "{long}");

    assert_eq!(ok(&c, &["cat", "/cli/small.txt"]), small);
    let got = scratch.path().join("got.bin");
    ok(&c, &["get", "/cli/big.bin", got.to_str().unwrap()]);
    assert_eq!(std::fs::read(&got).unwrap(), big);

    assert_eq!(ok(&c, &["tail", "-c", "100", "/cli/big.bin"]), &big[big.len() - 100..]);
    assert_eq!(text(ok(&c, &["tail", "-n", "2", "/cli/small.txt"])), "line two\nline three\n");
    assert_eq!(ok(&c, &["head", "-c", "1048600", "/cli/big.bin"]), &big[..1_048_600]);

    let du = text(ok(&c, &["du", "-s", "/cli"]));
    let total: usize = du.split_whitespace().next().unwrap().parse().unwrap();
    assert_eq!(total, big.len() + small.len(), "{du}");
}

#[test]
fn cli_mv_rm_mkdir() {
    if !cli_available() {
        return;
    }
    let c = start();
    let scratch = tempfile::tempdir().unwrap();
    let f = local(scratch.path(), "f", b"payload");
    ok(&c, &["mkdir", "-p", "/m/a/b", "/m/target"]);
    ok(&c, &["put", &f, "/m/a/f"]);
    ok(&c, &["mv", "/m/a/f", "/m/target"]);
    assert_eq!(ok(&c, &["cat", "/m/target/f"]), b"payload");
    ok(&c, &["mv", "/m/target/f", "/m/renamed"]);
    assert_eq!(ok(&c, &["cat", "/m/renamed"]), b"payload");
    assert!(!hdfs(&c, &["cat", "/m/target/f"]).status.success());

    assert!(!hdfs(&c, &["rm", "/m/a"]).status.success(), "rm of a directory needs -r");
    ok(&c, &["rm", "-r", "/m/a"]);
    ok(&c, &["rm", "/m/renamed"]);
    assert_eq!(text(ok(&c, &["ls", "/m"])).split_whitespace().collect::<Vec<_>>(), ["target"]);
    assert!(!hdfs(&c, &["ls", "/m/a"]).status.success());
}

#[test]
fn cli_and_native_read_each_others_files() {
    if !cli_available() {
        return;
    }
    let c = start();
    let scratch = tempfile::tempdir().unwrap();
    let from_native = data(2 * BLOCK as usize + 777, 21);
    let from_cli = data(BLOCK as usize + 4321, 22);
    let cli_local = local(scratch.path(), "from_cli", &from_cli);

    run(120, async {
        let fs = client(&c);
        fs.mkdirs("/x", 0o755, true).await.unwrap();
        write(&fs, "/x/from_native", &from_native, false).await;
    });
    assert_eq!(ok(&c, &["cat", "/x/from_native"]), from_native);
    ok(&c, &["put", &cli_local, "/x/from_cli"]);
    run(120, async {
        let fs = client(&c);
        assert_eq!(read(&fs, "/x/from_cli").await, from_cli);
        let status = fs.get_file_info("/x/from_cli").await.unwrap();
        assert_eq!(status.length, from_cli.len());
        let age = crate::common::now_ms().abs_diff(status.modification_time);
        assert!(age < 60_000, "mtime of a CLI-written file is now-ish: {age} ms off");
    });
}

#[test]
fn cli_touch_chmod_truncate_df() {
    if !cli_available() {
        return;
    }
    let c = start();
    let scratch = tempfile::tempdir().unwrap();
    let big = data(2 * BLOCK as usize + 10, 31);
    let f = local(scratch.path(), "f", &big);
    ok(&c, &["put", &f, "/t"]);
    ok(&c, &["touch", "/touched"]);
    ok(&c, &["chmod", "600", "/touched"]);
    let long = text(ok(&c, &["ls", "-l", "/"]));
    assert!(long.lines().any(|l| l.starts_with("-rw-------") && l.ends_with("touched")), "{long}");
    ok(&c, &["truncate", "1048586", "/t"]);
    assert_eq!(ok(&c, &["cat", "/t"]), &big[..1_048_586]);
    ok(&c, &["truncate", "5", "/t"]);
    assert_eq!(ok(&c, &["cat", "/t"]), &big[..5]);
    let df = text(ok(&c, &["df"]));
    assert!(df.lines().count() >= 2, "{df}");
}
