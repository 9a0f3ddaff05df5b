//! Sluice example jobs.
