//! Compile-fail cases of `#[stream_job]`, one folder per category under `tests/ui/` at the
//! workspace root; each `.rs` has its expected `.stderr` beside it (regenerate with
//! `TRYBUILD=overwrite`, then review).
#![forbid(unsafe_code)]

#[test]
fn ui() {
    let t = trybuild::TestCases::new();
    for category in ["attrs", "checkpoint", "operator", "output", "signature", "stream", "window"] {
        t.compile_fail(format!("../tests/ui/{category}/*.rs"));
    }
    t.pass("../tests/ui/pass/*.rs");
}
