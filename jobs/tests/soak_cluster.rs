//! Soak: the kill test of `recoverable_wordcount` on three processes (`--local-cluster 3`): one
//! process chosen at random is killed with SIGKILL at random points (10 times) while input
//! arrives, the others stop by themselves, and all are started again with the same checkpoint
//! directory. At the end every batch's counts are committed once, their sum is the word counts
//! of all the input, and every batch's totals are the sum of the counts up to it. Three inputs:
//! a local directory shared by the processes (checkpoints and outputs there too); a directory of
//! the embedded HDFS cluster (minihdfs, over TCP), with the checkpoints (each process's under
//! `ckpt/process-I-of-3`) and the outputs on it as well; and a Kafka topic of a local `tansu`
//! broker whose partitions are spread over the processes by a hash of (topic, partition). Each
//! test is bounded in time (see `common`).
//!
//! A fourth reads a replayable socket with the write-ahead log: the receiver runs on process 0,
//! which logs each batch's lines before they are dealt over the processes; a restarted cluster
//! (with another process count too) replays the logged batches and deals them again.
//!
//! The Kafka test fails when the broker is missing (run `scripts/install-test-deps.sh`), unless
//! `SLUICE_SKIP_KAFKA=1` is set.
#![forbid(unsafe_code)]

mod common;

use common::{dir_kill_test, kafka_kill_test, Layout};
use stream_runtime::fs;

#[test]
fn three_processes_killed_10_times_on_a_local_directory_count_every_word_once() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().to_string_lossy().into_owned();
    dir_kill_test(Layout::Cluster(3), std::sync::Arc::new(fs::LocalFs), &root, &root, 23, 30);
}

#[test]
fn three_processes_killed_10_times_on_hdfs_count_every_word_once() {
    let data = tempfile::tempdir().unwrap();
    let cluster = minihdfs::MiniHdfs::start(minihdfs::Config::new(data.path())).unwrap();
    let url = format!("{}/job", cluster.url());
    let (fs, root) = fs::resolve(&url).unwrap();
    dir_kill_test(Layout::Cluster(3), fs, &url, &root, 29, 30);
    cluster.shutdown();
}

#[test]
fn three_processes_killed_10_times_on_a_kafka_topic_count_every_record_once() {
    kafka_kill_test(Layout::Cluster(3), 31, 40);
}

#[test]
fn three_processes_killed_10_times_reading_a_socket_with_the_write_ahead_log_count_every_word_once() {
    common::socket_kill_test(Layout::Cluster(3), 37, 30);
}
