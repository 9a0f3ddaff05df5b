//! Windows and state: compiles, and `stream-lang`'s snapshot `windowed_and_stateful_plan` is
//! its plan.
use stream_runtime::prelude::*;

#[stream_job(batch = "1s", checkpoint = "/tmp/sluice-ckpt", name = "trending")]
fn trending(ssc: &mut StreamingContext, dir: String) {
    let pairs = ssc.text_file_stream(&dir).flat_map(|l| l.split(' ')).map(|w| (w, 1));
    pairs
        .clone()
        .reduce_by_key_and_window_inv(|a, b| a + b, |a, b| a - b, Duration::seconds(30), Duration::seconds(10))
        .filter(|(_, n)| *n > 0)
        .print_n(20);
    pairs.clone().update_state_by_key(|new: Vec<i32>, old: Option<i32>| Some(old.unwrap_or(0) + new.iter().sum::<i32>())).print();
    pairs.clone().window(Duration::seconds(4), Duration::seconds(2)).count().foreach_batch(|b, _| drop(b));
    pairs.running_reduce_by_key(|a, b| a + b).mapped().count_by_value_and_window(Duration::seconds(2), Duration::seconds(2)).print();
}

fn main() {
    assert!(TRENDING.plan().starts_with("job trending (batch 1000 ms, 2 threads)\n"));
}
