use stream_runtime::prelude::*;

#[stream_job(batch = "soon", threads = 0, colour = "blue")]
fn misconfigured(ssc: &mut StreamingContext, dir: String) {
    ssc.text_file_stream(&dir).print();
}

fn main() {
    let _ = MISCONFIGURED;
}
