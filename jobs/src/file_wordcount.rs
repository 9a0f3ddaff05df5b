//! Spark's `HdfsWordCount` on a local directory (or an `hdfs://` URL): counts the words of new
//! files moved into `dir` every batch.
//!
//! ```scala
//! val lines = ssc.textFileStream(args(0))
//! val words = lines.flatMap(_.split(" "))
//! val wordCounts = words.map(x => (x, 1)).reduceByKey(_ + _)
//! wordCounts.print()
//! ```
//!
//! Run it with `file_wordcount <dir>`; `--explain` prints its plan.

use stream_runtime::prelude::*;

/// Counts words in new files moved into a directory, printing each batch's counts.
#[stream_job(batch = "2s", threads = 2)]
pub fn file_wordcount(ssc: &mut StreamingContext, dir: String) {
    let words = ssc.text_file_stream(&dir).flat_map(|line| line.split(' '));
    words.map(|word| (word, 1)).reduce_by_key(|a, b| a + b).print();
}
