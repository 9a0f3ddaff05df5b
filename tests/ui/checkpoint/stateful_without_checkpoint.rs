use stream_runtime::prelude::*;

#[stream_job(batch = "1s")]
fn running_counts(ssc: &mut StreamingContext, dir: String) {
    ssc.text_file_stream(&dir)
        .map(|word| (word, 1))
        .update_state_by_key(|new: &[i32], old: Option<i32>| Some(old.unwrap_or(0) + new.iter().sum::<i32>()))
        .print();
}

fn main() {
    let _ = RUNNING_COUNTS;
}
