//! The `#[stream_job]` attribute: a thin shell over `stream-lang`, which parses, checks, lowers
//! and generates. Use it as `stream_runtime::stream_job` (also in `stream_runtime::prelude`).
#![forbid(unsafe_code)]

/// Makes a runnable job of a function that builds a pipeline on a context.
///
/// ```
/// use stream_runtime::prelude::*;
///
/// /// Spark's NetworkWordCount.
/// #[stream_job(batch = "1s")]
/// pub fn network_wordcount(ssc: &mut StreamingContext, host: String, port: u16) {
///     ssc.socket_text_stream(&host, port)
///         .flat_map(|line| line.split(' '))
///         .map(|word| (word, 1))
///         .reduce_by_key(|a, b| a + b)
///         .print();
/// }
///
/// // The function is kept as written; `NETWORK_WORDCOUNT` is its entry point:
/// // `fn main() -> std::process::ExitCode { NETWORK_WORDCOUNT.run() }`.
/// let out = NETWORK_WORDCOUNT.simulate(["localhost", "9999"]).input(vec![vec!["a b a"]]).run().unwrap();
/// assert_eq!(out.printed[0].records.len(), 2);
/// ```
///
/// The function takes the context first (`&mut StreamingContext` or `&StreamingContext`),
/// then any number of owned parameters of types implementing `FromStr`: the job's positional
/// command-line arguments, in order. The macro keeps the function and adds a constant named
/// after it in upper case, a [`StreamJob`](../stream_runtime/struct.StreamJob.html) whose
/// `run()` parses those arguments plus `--batch`, `--threads` / `--master local[N]`,
/// `--duration`, `--checkpoint <dir>` and `--explain` (which prints the job's plan and checks
/// the settings), builds
/// the job and runs it until `--duration` elapses or Ctrl-C / SIGTERM stops it gracefully.
///
/// Attribute arguments give defaults the command line overrides: `batch = "2s"` (default 1 s),
/// `threads = 4` (default 2), `name = "..."` (default: the function's name) and
/// `checkpoint = "dir"`.
///
/// At compile time the macro checks, with errors on the offending tokens, what holds for every
/// run: literal window and slide durations that are not multiples of the attribute's `batch`
/// (when given) or of the slide of the window they window, jobs without an output operation,
/// Spark's camelCase operator names (`reduceByKey`, with Sluice's name), and streams built but
/// never used. On an error the function is still compiled as written, so rustc reports the
/// other errors of its body:
///
/// ```compile_fail
/// use stream_runtime::prelude::*;
///
/// #[stream_job]
/// fn spark_style(ssc: &mut StreamingContext, dir: String) {
///     ssc.text_file_stream(&dir).map(|w| (w, 1)).reduceByKey(|a, b| a + b).print(); // did you mean `reduce_by_key`?
/// }
/// # fn main() {}
/// ```
///
/// What the command line can change is checked at start and by `--explain`, against the
/// settings in effect, with errors naming the flag: window durations against `--batch`, and
/// stateful operators (`update_state_by_key`, `map_with_state`, `count_by_window`, ...)
/// against `--checkpoint`. A stateful job may get its checkpoint directory from
/// `--checkpoint` alone. The macro knows the operators from the registry of `stream-spec`,
/// which a workspace test keeps equal to the engine's public methods.
///
/// Code the macro cannot analyse (helper functions, loops, extension methods) runs as written
/// and shows as `opaque` in the plan.
#[proc_macro_attribute]
pub fn stream_job(attr: proc_macro::TokenStream, item: proc_macro::TokenStream) -> proc_macro::TokenStream {
    stream_lang::expand(attr.into(), item.into()).into()
}
