//! Spark's `HdfsWordCount` on a local directory: counts the words of new files moved into
//! `dir` every batch.
//!
//! ```scala
//! val lines = ssc.textFileStream(args(0))
//! val words = lines.flatMap(_.split(" "))
//! val wordCounts = words.map(x => (x, 1)).reduceByKey(_ + _)
//! wordCounts.print()
//! ```

use stream_runtime::prelude::*;

/// Builds the word count over new files in `dir`, printing each batch's counts.
pub fn file_wordcount(ssc: &StreamingContext, dir: &str) {
    ssc.text_file_stream(dir)
        .flat_map(|line| line.split(' '))
        .map(|word| (word, 1))
        .reduce_by_key(|a, b| a + b)
        .print();
}
