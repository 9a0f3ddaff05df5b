//! The job the cluster tests run on 1, 2 and 3 processes: over the words of new files, a word
//! count, a running count (`update_state_by_key`), the same through `map_with_state`, windowed
//! counts with and without an inverse, and a join, each saved as text files under `out`.
//!
//! Run it with `cluster_check <dir> <out> --checkpoint <cp> [--local-cluster N]`.

use stream_runtime::prelude::*;
use stream_runtime::{State, StateSpec};

/// Counts words of new files in several ways and saves each result under `out`.
#[stream_job(batch = "500ms", threads = 1)]
pub fn cluster_check(ssc: &mut StreamingContext, dir: String, out: String) {
    let window = Duration::seconds(3600);
    let slide = ssc.batch_duration();
    let words = ssc.text_file_stream(&dir).flat_map(|line| line.split(' ')).filter(|w| !w.is_empty());
    let pairs = words.map(|word| (word, 1u64));
    let counts = pairs.clone().reduce_by_key(|a, b| a + b);
    counts.clone().save_as_text_files(&format!("{out}/counts/b"), "txt");
    counts.clone().join(counts.clone().map_values(|n| n * 2)).save_as_text_files(&format!("{out}/join/b"), "txt");
    pairs
        .clone()
        .update_state_by_key(|new: Vec<u64>, old: Option<u64>| Some(new.iter().sum::<u64>() + old.unwrap_or(0)))
        .save_as_text_files(&format!("{out}/state/b"), "txt");
    let spec = StateSpec::function(|_: &Str, n: Option<u64>, state: &mut State<u64>| {
        let total = state.get_option().copied().unwrap_or(0) + n.unwrap_or(0);
        state.update(total);
        total
    });
    pairs.clone().map_with_state(spec).state_snapshots().save_as_text_files(&format!("{out}/mapstate/b"), "txt");
    pairs
        .clone()
        .reduce_by_key_and_window(|a, b| a + b, window, slide)
        .save_as_text_files(&format!("{out}/window/b"), "txt");
    pairs
        .reduce_by_key_and_window_inv(|a, b| a + b, |a, b| a - b, window, slide)
        .save_as_text_files(&format!("{out}/window_inv/b"), "txt");
}
