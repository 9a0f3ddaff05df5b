//! Spark's `StatefulNetworkWordCount` in its `updateStateByKey` form: running word counts over
//! the UTF-8 text a TCP server sends, every batch printing every word's count since the start.
//!
//! ```scala
//! ssc.checkpoint(".")
//! val words = ssc.socketTextStream(args(0), args(1).toInt).flatMap(_.split(" "))
//! val runningCounts = words.map(x => (x, 1)).updateStateByKey[Int] {
//!   (values: Seq[Int], state: Option[Int]) => Some(values.sum + state.getOrElse(0))
//! }
//! runningCounts.print()
//! ```
//!
//! Run it with `stateful_network_wordcount <host> <port> [--checkpoint DIR]` (e.g. beside
//! `nc -lk 9999`). The counts are checkpointed (by default to `checkpoint/stateful_network_wordcount`
//! under the current directory); started again with the same directory, the job goes on from
//! the counts it had.

use stream_runtime::prelude::*;

/// Running word counts over text received from a TCP server (e.g. `nc -lk 9999`): every batch
/// prints every word's count since the start. The counts survive a restart with the same
/// --checkpoint directory.
#[stream_job(batch = "1s", threads = 2, checkpoint = "checkpoint/stateful_network_wordcount")]
pub fn stateful_network_wordcount(ssc: &mut StreamingContext, host: String, port: u16) {
    ssc.socket_text_stream(&host, port)
        .flat_map(|line| line.split(' '))
        .filter(|word| !word.is_empty())
        .map(|word| (word, 1u64))
        .update_state_by_key(|new: Vec<u64>, old: Option<u64>| Some(new.iter().sum::<u64>() + old.unwrap_or(0)))
        .print();
}
