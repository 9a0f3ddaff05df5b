//! Soak: the kill test of `recoverable_wordcount`. The job is killed with SIGKILL at random
//! points (20 times) while files arrive, and started again each time with the same checkpoint
//! directory. At the end the committed outputs must be those of a run without failures: every
//! batch's counts once, their sum the word counts of all the input, and every batch's totals
//! the sum of the counts up to it. Local, on the embedded HDFS cluster, and on a replayable
//! socket with the write-ahead log. Each test is bounded in time (see `common`).
#![forbid(unsafe_code)]

mod common;

use std::sync::Arc;

use common::{dir_kill_test, Layout};

use stream_runtime::fs::{self, FileSystem};

const FILES: usize = 40;

/// Runs the kill test on the filesystem at `url` (paths under it through `fs`) over a
/// directory stream.
fn kill_test(fs: Arc<dyn FileSystem>, url: &str, root: &str, seed: u64) {
    dir_kill_test(Layout::Single, fs, url, root, seed, FILES);
}

#[test]
fn killed_20_times_on_a_local_directory_counts_every_word_once() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().to_string_lossy().into_owned();
    kill_test(Arc::new(fs::LocalFs), &root, &root, 7);
}

#[test]
fn killed_20_times_on_hdfs_counts_every_word_once() {
    let data = tempfile::tempdir().unwrap();
    let cluster = minihdfs::MiniHdfs::start(minihdfs::Config::new(data.path())).unwrap();
    let url = format!("{}/job", cluster.url());
    let (fs, root) = fs::resolve(&url).unwrap();
    kill_test(fs, &url, &root, 11);
    cluster.shutdown();
}

#[test]
fn killed_20_times_reading_a_replayable_socket_with_the_write_ahead_log_counts_every_word_once() {
    common::socket_kill_test(Layout::Single, 23, FILES);
}
