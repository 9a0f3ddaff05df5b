use stream_runtime::prelude::*;

#[stream_job(batch = "2s")]
fn windowed(ssc: &mut StreamingContext, dir: String) {
    ssc.text_file_stream(&dir)
        .map(|word| (word, 1))
        .reduce_by_key_and_window(|a, b| a + b, Duration::seconds(3), Duration::millis(2000))
        .window(Duration::seconds(4), Duration::millis(500))
        .print();
}

fn main() {
    let _ = WINDOWED;
}
