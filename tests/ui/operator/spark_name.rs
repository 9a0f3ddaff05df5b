//! Spark's camelCase name of an operator gets Sluice's name, and the rest of the body is still
//! checked by rustc (here: the window that is not a whole number of batches is reported by
//! the macro, and the type error in `filter` by rustc).
use stream_runtime::prelude::*;

#[stream_job(batch = "2s")]
pub fn broken(ssc: &mut StreamingContext, dir: String) {
    ssc.text_file_stream(&dir)
        .flat_map(|l| l.split(' '))
        .map(|w| (w, 1))
        .reduceByKey(|a, b| a + b)
        .window(Duration::seconds(3), Duration::seconds(2))
        .filter(|(_, n)| n > 1)
        .print();
}

fn main() {
    let _ = BROKEN;
}
