//! Compile-fail cases of `#[stream_job]`, one folder per category under `tests/ui/` at the
//! workspace root; each `.rs` has its expected `.stderr` beside it (regenerate with
//! `TRYBUILD=overwrite`, then review). Every input is valid Rust apart from the error it
//! shows, and the macro keeps the body on error, so rustc's own errors in it appear too.
#![forbid(unsafe_code)]

#[test]
fn ui() {
    let t = trybuild::TestCases::new();
    for category in ["attrs", "operator", "output", "signature", "stream", "window"] {
        t.compile_fail(format!("../tests/ui/{category}/*.rs"));
    }
    t.pass("../tests/ui/pass/*.rs");
}
