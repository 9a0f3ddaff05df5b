//! Soak: the kill test of `recoverable_wordcount` on three processes (`--local-cluster 3`): one
//! process chosen at random is killed with SIGKILL at random points (10 times) while input
//! arrives, the others stop by themselves, and all are started again with the same checkpoint
//! directory. At the end every batch's counts are committed once, their sum is the word counts
//! of all the input, and every batch's totals are the sum of the counts up to it. On a local
//! directory shared by the processes. (On the embedded HDFS cluster the same test hangs now and
//! then: all three processes wait in `create` of their part files while minihdfs never
//! finalizes a block; that is open, with the Kafka variant.) Each test is bounded in time (see
//! `common`).
#![forbid(unsafe_code)]

mod common;

use common::{dir_kill_test, Layout};
use stream_runtime::fs;

#[test]
fn three_processes_killed_10_times_on_a_local_directory_count_every_word_once() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().to_string_lossy().into_owned();
    dir_kill_test(Layout::Cluster(3), std::sync::Arc::new(fs::LocalFs), &root, &root, 23, 30);
}
