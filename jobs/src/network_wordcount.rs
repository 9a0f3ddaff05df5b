//! Spark's `NetworkWordCount`: counts words in UTF-8 text received from a TCP server every
//! batch.
//!
//! ```scala
//! val lines = ssc.socketTextStream(args(0), args(1).toInt)
//! val wordCounts = lines.flatMap(_.split(" ")).map(x => (x, 1)).reduceByKey(_ + _)
//! wordCounts.print()
//! ```

use stream_runtime::prelude::*;

/// Builds the word count over the lines a server at `host:port` sends, printing each batch's
/// counts.
pub fn network_wordcount(ssc: &StreamingContext, host: &str, port: u16) {
    ssc.socket_text_stream(host, port)
        .flat_map(|line| line.split(' '))
        .map(|word| (word, 1))
        .reduce_by_key(|a, b| a + b)
        .print();
}
