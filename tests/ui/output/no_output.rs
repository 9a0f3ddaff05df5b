use stream_runtime::prelude::*;

#[stream_job]
fn quiet(ssc: &mut StreamingContext, dir: String) {
    let _words = ssc.text_file_stream(&dir).flat_map(|line| line.split(' '));
}

fn main() {
    let _ = QUIET;
}
