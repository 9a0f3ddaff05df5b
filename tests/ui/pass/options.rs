use stream_runtime::prelude::*;

/// Named options: `--window` with a default, `--top-n` required; the attributes are the
/// macro's and do not reach rustc.
#[stream_job(batch = "1s")]
fn top(ssc: &mut StreamingContext, dir: String, #[opt(default = "4s")] window: Duration, #[opt] top_n: usize) {
    ssc.text_file_stream(&dir).window(window, window).print_n(top_n);
}

fn main() {
    let err = TOP.simulate(["d"]).run().unwrap_err();
    assert!(err.to_string().contains("job top needs option --top-n"), "{err}");
    let out = TOP.simulate(["d", "--top-n", "1"]).input(vec![vec!["a", "b"]]).batches(4).run().unwrap();
    assert!(out.errors.is_empty());
}
