//! Sluice's integration tests: one binary, one module per area. Each test that runs a
//! pipeline runs it at 1 and at 4 threads; the property tests (`properties`) at random thread
//! counts from 1 to 4. Tests on the system clock wait on conditions with a deadline
//! (`sluice_tests::wait_until`), never a fixed sleep before asserting.
#![forbid(unsafe_code)]

mod api;
mod basic;
mod cluster_engine;
mod errors;
mod job_settings;
mod lifecycle;
mod macro_jobs;
mod oracle;
mod partitions;
mod properties;
mod receivers;
mod recovery;
mod registry;
mod sources;
mod state;
mod windows;

/// Thread counts every pipeline test runs at.
pub const THREADS: [usize; 2] = [1, 4];

/// Sorts each batch, for comparisons as sets (Spark's `useSet`).
pub fn sorted<T: Ord>(mut batches: Vec<Vec<T>>) -> Vec<Vec<T>> {
    batches.iter_mut().for_each(|b| b.sort());
    batches
}
