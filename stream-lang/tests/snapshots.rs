//! Snapshots of what `#[stream_job]` generates and of the plans `--explain` prints: for the
//! example jobs in `jobs/src/` (read from their files, so the snapshots follow the jobs) and
//! for pipelines exercising each kind of operator.
#![forbid(unsafe_code)]

use proc_macro2::TokenStream;
use quote::{quote, ToTokens};

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

#[test]
fn errors_expand_to_compile_errors_and_a_fallback() {
    let out = expanded(
        quote!(batch = "2s"),
        quote! {
            /// Docs stay.
            pub fn broken(ssc: &mut StreamingContext) {
                ssc.text_file_stream("d").flatmap(|l| l.split(' ')).window(Duration::seconds(3), Duration::seconds(2)).print();
            }
        },
    );
    insta::assert_snapshot!(out);
}

#[test]
fn windowed_and_stateful_plan() {
    insta::assert_snapshot!(plan(
        quote!(batch = "1s", checkpoint = "/tmp/sluice-ckpt", name = "trending"),
        quote! {
            fn trending(ssc: &mut StreamingContext, dir: String) {
                let pairs = ssc.text_file_stream(&dir).flat_map(|l| l.split(' ')).map(|w| (w, 1));
                pairs
                    .reduce_by_key_and_window_inv(|a, b| a + b, |a, b| a - b, Duration::seconds(30), Duration::seconds(10))
                    .filter(|(_, n)| *n > 0)
                    .print_n(20);
                pairs.update_state_by_key(|new: &[i32], old: Option<i32>| Some(old.unwrap_or(0) + new.iter().sum::<i32>())).print();
                pairs.window(Duration::seconds(4), Duration::seconds(2)).count().foreach_batch(|b, _| drop(b));
            }
        },
    ));
}

#[test]
fn joins_unions_and_opaque_code_plan() {
    insta::assert_snapshot!(plan(
        quote!(),
        quote! {
            fn joined(ssc: &mut StreamingContext, a: String, b: String) {
                ssc.checkpoint("/tmp/c");
                let left = ssc.text_file_stream(&a).map(|l| (l, 1));
                let right = ssc.text_file_stream(&b).map(|l| (l, 2)).reduce_by_key(|x, y| x + y);
                left.join(right.clone()).map_values(|(x, y)| x + y).save_as_text_files("out/joined", "txt");
                left.union(ssc.text_file_stream(&b).map(|l| (l, 3))).repartition(4).group_by_key().print();
                right.my_extension().print();
                register_more(ssc, &a);
                for i in 0..2 {
                    ssc.text_file_stream(&format!("{a}/{i}")).count().print();
                }
            }
        },
    ));
}
