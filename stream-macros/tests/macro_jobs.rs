//! Temporary home of `tests/it/macro_jobs.rs` until `tests/it/main.rs` declares it.

/// Thread counts every pipeline test runs at (as in `tests/it/main.rs`).
pub const THREADS: [usize; 2] = [1, 4];

#[path = "../../tests/it/macro_jobs.rs"]
mod macro_jobs;
