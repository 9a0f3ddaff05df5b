use stream_runtime::prelude::*;

#[stream_job]
fn forgetful(ssc: &mut StreamingContext, dir: String) {
    let words = ssc.text_file_stream(&dir).flat_map(|line| line.split(' '));
    let lines = ssc.text_file_stream(&dir);
    lines.clone().map(|line| line.len());
    lines.print();
}

fn main() {
    let _ = FORGETFUL;
}
