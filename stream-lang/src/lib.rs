//! Lowering library for `#[stream_job]` (placeholder).
