use stream_runtime::prelude::*;

#[stream_job]
fn no_context(dir: String) {
    let _ = dir;
}

#[stream_job]
fn borrowed_argument(ssc: &mut StreamingContext, dir: &str) {
    ssc.text_file_stream(dir).print();
}

#[stream_job]
async fn asynchronous(ssc: &mut StreamingContext) -> u32 {
    ssc.text_file_stream("d").print();
    0
}

fn main() {}
