//! Phase 3: checks that catch at compile time what Spark reports when a job starts (or never):
//! windows that are not whole numbers of batches, state without checkpointing, jobs without
//! outputs, misspelt operators and streams built but never used.

use std::collections::BTreeMap;

use syn::{Expr, Ident};

use crate::attrs::JobAttrs;
use crate::diag::Diagnostics;
use crate::ir::{Chain, JobFn, Root, StatementKind};
use crate::ops;
use crate::parse::chain_yields_stream;

/// Runs every check on `job`, recording each problem in `diag`.
pub fn check_job(job: &JobFn, attrs: &JobAttrs, diag: &mut Diagnostics) {
    let mut checker = Checker { job, attrs, diag, slides: BTreeMap::new() };
    for (i, stmt) in job.statements.iter().enumerate() {
        match &stmt.kind {
            StatementKind::Let { name, chain } => {
                let slide = checker.chain(chain);
                checker.slides.insert(name.to_string(), slide);
                let used_later = job.statements[i + 1..].iter().any(|s| s.idents.contains(&name.to_string()));
                if known_stream(chain) && !used_later && !name.to_string().starts_with('_') {
                    checker.diag.error(
                        name,
                        format!(
                            "stream `{name}` is built but never used: streams are lazy, so it computes nothing; \
                             end it with an output operation (e.g. `{name}.print()`) or remove it"
                        ),
                    );
                }
            }
            StatementKind::Expr(chain) => {
                checker.chain(chain);
                if known_stream(chain) {
                    let at = chain.ops.last().map(|op| op.method.clone()).unwrap_or_else(|| root_ident(chain));
                    checker.diag.error(
                        at,
                        "this stream is built but never used: streams are lazy, so nothing runs until it ends in \
                         an output operation such as `.print()` or `.foreach_batch(..)`",
                    );
                }
            }
            StatementKind::Checkpoint | StatementKind::Opaque { .. } => {}
        }
    }
    // Without a context parameter (already reported) every stream is out of reach: no cascade.
    if job.ctx.is_some() && !job.output_call && !opaque_code_may_output(job) {
        diag.error(
            job.name(),
            format!(
                "job `{}` has no output operation, so it would compute nothing: end a stream with `.print()`, \
                 `.print_n(n)`, `.foreach_batch(..)` or `.save_as_text_files(..)`",
                job.name()
            ),
        );
    }
}

/// Whether the chain is a stream at its end, with every operator known (so not an extension
/// method that might register an output).
fn known_stream(chain: &Chain) -> bool {
    !matches!(chain.root, Root::Opaque(_)) && chain_yields_stream(chain)
}

fn root_ident(chain: &Chain) -> Ident {
    match &chain.root {
        Root::Source { method, .. } => method.clone(),
        Root::Stream(name) => name.clone(),
        Root::Opaque(_) => Ident::new("stream", proc_macro2::Span::call_site()),
    }
}

/// Whether code the macro does not analyse mentions the context or a named stream, and so
/// might register outputs (a helper function taking `ssc`).
fn opaque_code_may_output(job: &JobFn) -> bool {
    let mut names: Vec<String> = job.ctx.iter().map(Ident::to_string).collect();
    names.extend(job.statements.iter().filter_map(|s| match &s.kind {
        StatementKind::Let { name, .. } => Some(name.to_string()),
        _ => None,
    }));
    job.statements
        .iter()
        .any(|s| matches!(s.kind, StatementKind::Opaque { .. }) && names.iter().any(|n| s.idents.contains(n)))
}

struct Checker<'a> {
    job: &'a JobFn,
    attrs: &'a JobAttrs,
    diag: &'a mut Diagnostics,
    /// The slide of each named stream, when known at compile time.
    slides: BTreeMap<String, Option<i64>>,
}

impl Checker<'_> {
    /// Checks one chain and returns the slide of its result, when known.
    fn chain(&mut self, chain: &Chain) -> Option<i64> {
        let mut slide = match &chain.root {
            Root::Source { .. } => self.attrs.batch_ms,
            Root::Stream(name) => self.slides.get(&name.to_string()).copied().flatten(),
            Root::Opaque(_) => None,
        };
        let mut known = !matches!(chain.root, Root::Opaque(_));
        for op in &chain.ops {
            if let Some(other) = &op.other {
                self.chain(other);
            }
            let kind = match op.kind {
                Some(kind) => kind,
                // A likely typo: report it, and check the rest as if it were the suggestion.
                None => match known.then(|| self.unknown_operator(&op.method)).flatten() {
                    Some(kind) => kind,
                    None => {
                        known = false;
                        slide = None;
                        continue;
                    }
                },
            };
            if kind.is_stateful() && self.attrs.checkpoint.is_none() && !self.job.checkpoint_call {
                let ctx = self.job.ctx.as_ref().map_or("ssc".to_string(), Ident::to_string);
                self.diag.error(
                    &op.method,
                    format!(
                        "`{}` keeps state across batches, which needs a checkpoint directory: add \
                         `checkpoint = \"<dir>\"` to `#[stream_job(..)]` or call `{ctx}.checkpoint(\"<dir>\")` \
                         in the job",
                        op.method
                    ),
                );
            }
            if kind.is_windowed() {
                slide = self.window(&op.method, &op.args, slide);
            }
            if !kind.yields_stream() {
                known = false;
            }
        }
        slide
    }

    /// Reports an unknown operator close to a known one; returns the known one's kind.
    fn unknown_operator(&mut self, method: &Ident) -> Option<ops::OpKind> {
        let name = method.to_string();
        let s = ops::suggest(&name)?;
        self.diag.error(method, format!("unknown stream operator `{name}`; did you mean `{s}`?"));
        ops::classify(s)
    }

    /// Checks a window operator's literal durations against `parent` (the slide of the stream
    /// it windows) and returns the slide of its result.
    fn window(&mut self, method: &Ident, args: &[Expr], parent: Option<i64>) -> Option<i64> {
        let durations: Vec<(&Expr, Option<i64>)> =
            args.iter().filter_map(|a| duration_call(a).map(|ms| (a, ms))).collect();
        let of = match (parent, self.attrs.batch_ms) {
            (Some(p), Some(b)) if p == b => format!("the batch interval ({b} ms)"),
            (Some(p), _) => format!("the slide of the stream it windows ({p} ms)"),
            (None, _) => String::new(),
        };
        for (i, (expr, ms)) in durations.iter().take(2).enumerate() {
            let what = if i == 0 { "window" } else { "slide" };
            match (ms, parent) {
                (Some(ms), _) if *ms <= 0 => {
                    self.diag.error(expr, format!("the {what} duration of `{method}` must be positive"))
                }
                (Some(ms), Some(p)) if ms % p != 0 => self.diag.error(
                    expr,
                    format!(
                        "the {what} duration of `{method}` ({ms} ms) must be a multiple of {of}: windows are made \
                         of whole batches"
                    ),
                ),
                _ => {}
            }
        }
        match durations.get(1) {
            Some((_, ms)) => *ms,
            None => parent,
        }
    }
}

/// `Some(Some(ms))` for `Duration::seconds(3)` and the like with a literal argument,
/// `Some(None)` for a `Duration` constructor call with any other argument, `None` for other
/// expressions.
fn duration_call(expr: &Expr) -> Option<Option<i64>> {
    let Expr::Call(call) = expr else { return None };
    let Expr::Path(func) = &*call.func else { return None };
    let segs: Vec<String> = func.path.segments.iter().map(|s| s.ident.to_string()).collect();
    let [.., ty, ctor] = segs.as_slice() else { return None };
    if ty != "Duration" {
        return None;
    }
    let scale = match ctor.as_str() {
        "millis" => 1,
        "seconds" => 1000,
        "minutes" => 60_000,
        _ => return None,
    };
    let literal = match call.args.first() {
        Some(Expr::Lit(syn::ExprLit { lit: syn::Lit::Int(n), .. })) if call.args.len() == 1 => {
            n.base10_parse::<i64>().ok().and_then(|v| v.checked_mul(scale))
        }
        _ => None,
    };
    Some(literal)
}

#[cfg(test)]
mod tests {
    use quote::quote;
    use syn::parse_quote;

    use super::*;
    use crate::parse::parse_job;

    fn errors(attrs: proc_macro2::TokenStream, item: syn::ItemFn) -> Vec<String> {
        let mut diag = Diagnostics::new();
        let attrs = JobAttrs::parse(attrs, &mut diag);
        let job = parse_job(item, &mut diag);
        check_job(&job, &attrs, &mut diag);
        diag.messages()
    }

    #[test]
    fn a_plain_word_count_passes() {
        let e = errors(
            quote!(batch = "1s"),
            parse_quote! {
                fn wc(ssc: &mut StreamingContext, host: String, port: u16) {
                    ssc.socket_text_stream(&host, port)
                        .flat_map(|line| line.split(' '))
                        .map(|word| (word, 1))
                        .reduce_by_key(|a, b| a + b)
                        .print();
                }
            },
        );
        assert!(e.is_empty(), "{e:?}");
    }

    #[test]
    fn windows_must_be_whole_batches() {
        let e = errors(
            quote!(batch = "2s"),
            parse_quote! {
                fn w(ssc: &mut StreamingContext) {
                    let pairs = ssc.text_file_stream("d").map(|w| (w, 1));
                    pairs.reduce_by_key_and_window(|a, b| a + b, Duration::seconds(3), Duration::millis(4000)).print();
                    pairs.window(Duration::seconds(4), Duration::seconds(4))
                        .window(Duration::seconds(6), Duration::seconds(8))
                        .print();
                }
            },
        );
        assert_eq!(e.len(), 2, "{e:?}");
        assert!(e[0].contains("window duration of `reduce_by_key_and_window` (3000 ms) must be a multiple of the batch interval (2000 ms)"), "{e:?}");
        assert!(e[1].contains("(6000 ms) must be a multiple of the slide of the stream it windows (4000 ms)"), "{e:?}");
    }

    #[test]
    fn windows_are_not_checked_without_a_batch_attribute() {
        let e = errors(
            quote!(),
            parse_quote! {
                fn w(ssc: &mut StreamingContext) {
                    ssc.text_file_stream("d").window(Duration::millis(1500), Duration::millis(500)).print();
                }
            },
        );
        assert!(e.is_empty(), "{e:?}");
    }

    #[test]
    fn state_needs_a_checkpoint() {
        let body: syn::ItemFn = parse_quote! {
            fn s(ssc: &mut StreamingContext) {
                ssc.text_file_stream("d").map(|w| (w, 1)).update_state_by_key(update).print();
            }
        };
        let e = errors(quote!(), body.clone());
        assert_eq!(e.len(), 1);
        assert!(e[0].contains("add `checkpoint = \"<dir>\"`") && e[0].contains("ssc.checkpoint"), "{e:?}");
        assert!(errors(quote!(checkpoint = "/tmp/c"), body).is_empty());
        let with_call = errors(
            quote!(),
            parse_quote! {
                fn s(ssc: &mut StreamingContext) {
                    ssc.checkpoint("/tmp/c");
                    ssc.text_file_stream("d").map(|w| (w, 1)).map_with_state(spec).print();
                }
            },
        );
        assert!(with_call.is_empty(), "{with_call:?}");
    }

    #[test]
    fn jobs_need_an_output() {
        let e = errors(
            quote!(),
            parse_quote!(
                fn nothing(ssc: &mut StreamingContext) {
                    ssc.checkpoint("c");
                }
            ),
        );
        assert_eq!(e, ["job `nothing` has no output operation, so it would compute nothing: end a stream with `.print()`, `.print_n(n)`, `.foreach_batch(..)` or `.save_as_text_files(..)`"]);
        let helper = errors(
            quote!(),
            parse_quote!(
                fn helped(ssc: &mut StreamingContext) {
                    build(ssc);
                }
            ),
        );
        assert!(helper.is_empty(), "a helper given the context may register outputs: {helper:?}");
    }

    #[test]
    fn misspelt_operators_get_a_suggestion() {
        let e = errors(
            quote!(),
            parse_quote! {
                fn t(ssc: &mut StreamingContext) {
                    ssc.text_file_stream("d").flatmap(|l| l.split(' ')).frobnicate().print();
                    ssc.text_file_stream("d").my_extension().reduceByKey(f).print();
                }
            },
        );
        assert_eq!(e, ["unknown stream operator `flatmap`; did you mean `flat_map`?"]);
    }

    #[test]
    fn unused_streams_are_reported() {
        let e = errors(
            quote!(),
            parse_quote! {
                fn u(ssc: &mut StreamingContext) {
                    let words = ssc.text_file_stream("d").flat_map(|l| l.split(' '));
                    let _ignored = ssc.text_file_stream("e");
                    ssc.text_file_stream("f").map(|l| l.len());
                    ssc.text_file_stream("g").print();
                }
            },
        );
        assert_eq!(e.len(), 2, "{e:?}");
        assert!(e[0].starts_with("stream `words` is built but never used"));
        assert!(e[1].starts_with("this stream is built but never used"));
    }
}
