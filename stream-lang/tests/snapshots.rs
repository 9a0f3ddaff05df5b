//! Snapshots of what `#[stream_job]` generates and of the plans `--explain` prints: for the
//! example jobs in `jobs/src/` (read from their files, so the snapshots follow the jobs) and
//! for pipelines exercising each kind of operator.
#![forbid(unsafe_code)]

use proc_macro2::TokenStream;
use quote::ToTokens;

/// The `#[stream_job(..)]` function of a source file, split into the attribute's arguments and
/// the function without the attribute.
fn job_in(source: &str) -> (TokenStream, TokenStream) {
    let file = syn::parse_file(source).expect("the job file parses");
    for item in file.items {
        if let syn::Item::Fn(mut f) = item {
            if let Some(i) = f.attrs.iter().position(|a| a.path().is_ident("stream_job")) {
                let attr = f.attrs.remove(i);
                let args = match attr.meta {
                    syn::Meta::List(list) => list.tokens,
                    _ => TokenStream::new(),
                };
                return (args, f.into_token_stream());
            }
        }
    }
    panic!("no #[stream_job] function")
}

fn expanded(attr: TokenStream, item: TokenStream) -> String {
    let tokens = stream_lang::expand(attr, item);
    prettyplease::unparse(&syn::parse2(tokens).expect("the expansion is a file"))
}

fn plan(attr: TokenStream, item: TokenStream) -> String {
    stream_lang::explain(attr, item).unwrap_or_else(|e| panic!("job has errors: {e:?}"))
}

const NETWORK_WORDCOUNT: &str = include_str!("../../jobs/src/network_wordcount.rs");
const FILE_WORDCOUNT: &str = include_str!("../../jobs/src/file_wordcount.rs");
const WINDOWED_NETWORK_WORDCOUNT: &str = include_str!("../../jobs/src/windowed_network_wordcount.rs");

#[test]
fn network_wordcount_expansion() {
    let (attr, item) = job_in(NETWORK_WORDCOUNT);
    insta::assert_snapshot!(expanded(attr, item));
}

#[test]
fn network_wordcount_plan() {
    let (attr, item) = job_in(NETWORK_WORDCOUNT);
    insta::assert_snapshot!(plan(attr, item));
}

#[test]
fn file_wordcount_expansion() {
    let (attr, item) = job_in(FILE_WORDCOUNT);
    insta::assert_snapshot!(expanded(attr, item));
}

#[test]
fn file_wordcount_plan() {
    let (attr, item) = job_in(FILE_WORDCOUNT);
    insta::assert_snapshot!(plan(attr, item));
}

/// Named options (`#[opt(default = "6s")]`): stripped from the function, described as options.
#[test]
fn windowed_network_wordcount_expansion() {
    let (attr, item) = job_in(WINDOWED_NETWORK_WORDCOUNT);
    insta::assert_snapshot!(expanded(attr, item));
}

/// Jobs of the UI tests (so they are known to compile, apart from the errors they show).
const TRENDING: &str = include_str!("../../tests/ui/pass/trending.rs");
const JOINED: &str = include_str!("../../tests/ui/pass/joined.rs");
const BROKEN: &str = include_str!("../../tests/ui/operator/spark_name.rs");

#[test]
fn errors_expand_to_compile_errors_and_a_fallback() {
    let (attr, item) = job_in(BROKEN);
    insta::assert_snapshot!(expanded(attr, item));
}

#[test]
fn windowed_and_stateful_plan() {
    let (attr, item) = job_in(TRENDING);
    insta::assert_snapshot!(plan(attr, item));
}

#[test]
fn joins_unions_and_opaque_code_plan() {
    let (attr, item) = job_in(JOINED);
    insta::assert_snapshot!(plan(attr, item));
}
