use stream_runtime::prelude::*;

#[stream_job]
fn typos(ssc: &mut StreamingContext, dir: String) {
    ssc.text_file_stream(&dir).flatmap(|line| line.split(' ')).map(|word| (word, 1)).reduceByKey(|a, b| a + b).print();
}

fn main() {
    let _ = TYPOS;
}
