//! The `#[stream_job]` attribute. A thin shell: parsing, checks, lowering and code generation
//! live in `stream-lang`. Use it through `stream_runtime::stream_job` (see there for docs).

/// Turns a function building a job on a context into a runnable job: the function stays as
/// written, and a constant named after it in upper case (`NETWORK_WORDCOUNT` for
/// `network_wordcount`) holds a `stream_runtime::StreamJob` that parses the command line, builds
/// the job and runs it. See the `stream_runtime::stream_job` docs.
#[proc_macro_attribute]
pub fn stream_job(attr: proc_macro::TokenStream, item: proc_macro::TokenStream) -> proc_macro::TokenStream {
    stream_lang::expand(attr.into(), item.into()).into()
}
