//! Word counts over a sliding window of the UTF-8 text a TCP server sends: Spark's
//! `window(Seconds(6), Seconds(4))` and `reduceByKeyAndWindow` examples in one job.
//!
//! ```scala
//! val words = ssc.socketTextStream(args(0), args(1).toInt).flatMap(_.split(" "))
//! words.window(Seconds(6), Seconds(4)).count().print()
//! words.map(x => (x, 1)).reduceByKeyAndWindow(_ + _, Seconds(6), Seconds(4)).print()
//! ```
//!
//! Run it with `windowed_network_wordcount <host> <port> [--window 6s] [--slide 4s]`, e.g.
//! `windowed_network_wordcount localhost 9999 --window 6s --slide 4s --batch 2s`: every
//! `--slide` (default 4 s), it prints how many words the last `--window` (default 6 s) held,
//! then each word's count over it. Both durations must be multiples of the batch interval; the
//! job refuses to start otherwise.

use stream_runtime::prelude::*;

/// Word counts over the last WINDOW of text received from a TCP server (e.g. `nc -lk 9999`),
/// printed every SLIDE: first the number of words in the window, then each word's count.
#[stream_job(batch = "2s", threads = 2)]
pub fn windowed_network_wordcount(
    ssc: &mut StreamingContext,
    host: String,
    port: u16,
    #[opt(default = "6s")] window: Duration,
    #[opt(default = "4s")] slide: Duration,
) {
    let words = ssc.socket_text_stream(&host, port).flat_map(|line| line.split(' ')).filter(|word| !word.is_empty());
    words.clone().window(window, slide).count().print();
    words.map(|word| (word, 1u64)).reduce_by_key_and_window(|a, b| a + b, window, slide).print();
}
