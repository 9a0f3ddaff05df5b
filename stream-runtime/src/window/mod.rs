//! Windowed operations (Spark's `window`, `reduceByKeyAndWindow`, `countByWindow`, ...): one
//! operator per file, each adding methods to [`DStream`](crate::DStream).
//!
//! Every windowed stream is a node that sees **every** batch of its parent (it registers a
//! tick with the context), keeps what the window needs per parent batch in a ring, and emits
//! at its own slide. The window at time `t` holds the parent batches at times in
//! `(t - window, t]`.
//!
//! Cost per parent batch (`b` = keys in the batch, `k` = keys in the window):
//!
//! | operation | ingest + evict | emit |
//! |---|---|---|
//! | `window` | O(1) (the batch is kept as is) | O(records in the window) |
//! | `reduce_by_key_and_window`, `reduce_by_window` | O(b) calls of `f` and O(k) column passes, bounded by chunks of 8 batches (DABA Lite over columns) | O(k) |
//! | `..._inv`, `count_by_window`, `count_by_value_and_window` | O(b) calls of `f` and `inv` | O(k) |
//! | `group_by_key_and_window` | O(1) | O(values in the window) |
//!
//! None of them re-reads the whole window on a slide, so the cost of a slide does not grow
//! with the window length.

mod column;
mod count_by_value_and_window;
mod count_by_window;
mod daba;
mod default_slide;
mod dense;
mod group_by_key_and_window;
mod keyed;
mod reduce_by_key_and_window;
mod reduce_by_key_and_window_inv;
mod reduce_by_window;
mod ring;
mod sliding;
#[allow(clippy::module_inception)]
mod window;

#[cfg(test)]
mod tests;
