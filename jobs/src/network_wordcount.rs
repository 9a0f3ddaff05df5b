//! Spark's `NetworkWordCount`: counts words in UTF-8 text received from a TCP server every
//! batch.
//!
//! ```scala
//! val lines = ssc.socketTextStream(args(0), args(1).toInt)
//! val wordCounts = lines.flatMap(_.split(" ")).map(x => (x, 1)).reduceByKey(_ + _)
//! wordCounts.print()
//! ```
//!
//! Run it with `network_wordcount <host> <port>` (e.g. beside `nc -lk 9999`); `--explain`
//! prints its plan.

use stream_runtime::prelude::*;

/// Counts words in text received from a TCP server (e.g. `nc -lk 9999`), printing each batch's
/// counts.
#[stream_job(batch = "1s", threads = 2)]
pub fn network_wordcount(ssc: &mut StreamingContext, host: String, port: u16) {
    ssc.socket_text_stream(&host, port)
        .flat_map(|line| line.split(' '))
        .map(|word| (word, 1))
        .reduce_by_key(|a, b| a + b)
        .print();
}
