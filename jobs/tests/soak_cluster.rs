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

use std::sync::Arc;
use std::time::Duration;

use common::{kill_and_check_in, Counts, Layout};
use rand::{Rng, SeedableRng};
use stream_runtime::fs::{self, FileSystem};

const FILES: usize = 30;

/// Seeded input texts and their word counts.
fn corpus(seed: u64, n: usize) -> (Vec<String>, Counts) {
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    let mut counts = Counts::new();
    let texts = (0..n)
        .map(|_| {
            let mut text = String::new();
            for _ in 0..rng.gen_range(1..20) {
                let words: Vec<String> =
                    (0..rng.gen_range(1..15)).map(|_| format!("w{}", rng.gen_range(0..60))).collect();
                for w in &words {
                    *counts.entry(w.clone()).or_default() += 1;
                }
                text.push_str(&words.join(" "));
                text.push('\n');
            }
            text
        })
        .collect();
    (texts, counts)
}

#[test]
fn three_processes_killed_10_times_on_a_local_directory_count_every_word_once() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().to_string_lossy().into_owned();
    let fs: Arc<dyn FileSystem> = Arc::new(fs::LocalFs);
    let (files, expected) = corpus(23, FILES);
    let input = fs::join(&root, "in");
    let staging = fs::join(&root, "staging");
    fs.mkdirs(&input).unwrap();
    fs.mkdirs(&staging).unwrap();
    let feed = {
        let fs = Arc::clone(&fs);
        move || {
            for (i, text) in files.iter().enumerate() {
                let name = format!("part-{i:03}.txt");
                let tmp = fs::join(&staging, &name);
                fs.write(&tmp, text.as_bytes()).unwrap();
                fs.rename(&tmp, &fs::join(&input, &name)).unwrap();
                std::thread::sleep(Duration::from_millis(150));
            }
        }
    };
    kill_and_check_in(Layout::Cluster(3), fs, &root, &root, 23, &["--dir", &format!("{root}/in")], feed, &expected);
}
