//! Soak: the kill test of `recoverable_wordcount` on a Kafka topic (bounded in time, see
//! `common`): the job reads a two-partition
//! topic of a local `tansu` broker through a direct stream and is killed with SIGKILL at
//! random points (20 times) while records arrive, then started again with the same checkpoint
//! directory. Each restart replays the logged batches' offset ranges and continues from the
//! offsets they end at, so the committed outputs must be those of a run without failures:
//! every batch's counts once, their sum the word counts of every record, and every batch's
//! totals the sum of the counts up to it. (The same on three processes: `soak_cluster.rs`.)
//!
//! Fails when the broker is missing (run `scripts/install-test-deps.sh`), unless
//! `SLUICE_SKIP_KAFKA=1` is set.
#![forbid(unsafe_code)]

mod common;

use common::{kafka_kill_test, Layout};

#[test]
fn killed_20_times_on_a_kafka_topic_counts_every_record_once() {
    kafka_kill_test(Layout::Single, 5, 40);
}
