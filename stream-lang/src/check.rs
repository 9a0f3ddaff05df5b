//! Phase 3: what the macro can decide soundly at compile time: windows whose literal
//! durations are not whole numbers of batches of the attribute's default `batch` (or of the
//! slide of the window they window), jobs without outputs, streams built but never used, and
//! Spark's camelCase operator names (`reduceByKey`). Other unknown methods are the user's
//! own extension methods, left to rustc.
//!
//! What depends on settings the command line can change (`--batch` against window durations,
//! `--checkpoint` for stateful operators) is collected as [`Requirements`] for the runtime to
//! check at start and in `--explain`, against the effective settings.

use std::collections::BTreeMap;

use syn::{Expr, Ident};

use crate::attrs::JobAttrs;
use crate::diag::Diagnostics;
use crate::ir::{Chain, JobFn, Op, Root, StatementKind};

/// What a job needs of settings the command line can change, from the operators the macro
/// can see: the runtime checks it against the effective settings at start and in `--explain`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Requirements {
    /// The stateful operators (each needs a checkpoint directory), in order, once each; empty
    /// when the body sets the checkpoint directory itself (`ssc.checkpoint(..)`).
    pub stateful: Vec<String>,
    /// Windows over a stream whose slide is the batch interval, with their literal durations:
    /// each must be a multiple of the effective batch interval.
    pub windows: Vec<BatchWindow>,
}

/// A window over a stream that produces a batch every batch interval.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BatchWindow {
    /// The operator (`reduce_by_key_and_window`).
    pub op: String,
    /// Its window duration in milliseconds, when a literal.
    pub window_ms: Option<i64>,
    /// Its slide duration in milliseconds, when a literal.
    pub slide_ms: Option<i64>,
}

/// How often a stream produces batches, as far as the macro knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Slide {
    /// Every batch interval (whatever `--batch` sets).
    Batch,
    /// Every so many milliseconds (a window's literal slide).
    Fixed(i64),
    /// Not known at compile time.
    Unknown,
}

/// Runs every check on `job`, recording each problem in `diag`, and returns what the runtime
/// must check against the effective settings.
pub fn check_job(job: &JobFn, attrs: &JobAttrs, diag: &mut Diagnostics) -> Requirements {
    let mut checker = Checker { attrs, diag, slides: BTreeMap::new(), requires: Requirements::default() };
    let body_checkpoints = job.checkpoint_call;
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
        checker.diag.error(
            job.name(),
            format!(
                "job `{}` has no output operation, so it would compute nothing: end a stream with `.print()`, \
                 `.print_n(n)`, `.foreach_batch(..)` or `.save_as_text_files(..)`",
                job.name()
            ),
        );
    }
    if body_checkpoints {
        checker.requires.stateful.clear();
    }
    checker.requires
}

/// Whether the chain is a stream at its end, with every operator known (so not an extension
/// method that might register an output).
fn known_stream(chain: &Chain) -> bool {
    chain.receiver().is_some()
}

fn root_ident(chain: &Chain) -> Ident {
    match &chain.root {
        Root::Source { method, .. } => method.clone(),
        Root::Stream(name, _) => name.clone(),
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
    attrs: &'a JobAttrs,
    diag: &'a mut Diagnostics,
    /// The slide of each named stream.
    slides: BTreeMap<String, Slide>,
    requires: Requirements,
}

impl Checker<'_> {
    /// Checks one chain and returns the slide of its result.
    fn chain(&mut self, chain: &Chain) -> Slide {
        let mut slide = match &chain.root {
            Root::Source { .. } => Slide::Batch,
            Root::Stream(name, _) => self.slides.get(&name.to_string()).copied().unwrap_or(Slide::Unknown),
            Root::Opaque(_) => Slide::Unknown,
        };
        for op in &chain.ops {
            if let Some(other) = &op.other {
                self.chain(other);
            }
            let Some(operator) = op.op else {
                slide = Slide::Unknown;
                continue;
            };
            if op.spark_name {
                self.diag.error(
                    &op.method,
                    format!(
                        "unknown stream operator `{}`; did you mean `{}`? (Spark's camelCase names are \
                         snake_case in Sluice)",
                        op.method, operator.name
                    ),
                );
            }
            if operator.needs_checkpoint() && !self.requires.stateful.iter().any(|s| s == operator.name) {
                self.requires.stateful.push(operator.name.to_string());
            }
            if operator.is_window() {
                slide = self.window(op, slide);
            }
        }
        slide
    }

    /// Checks a window operator's literal durations against `parent` (the slide of the stream
    /// it windows), records what the runtime checks against `--batch`, and returns the slide
    /// of its result.
    fn window(&mut self, op: &Op, parent: Slide) -> Slide {
        let Some((w, s)) = op.op.and_then(|o| o.duration_args()) else { return Slide::Unknown };
        let durations: Vec<(&Expr, Option<i64>)> =
            [w, s].iter().filter_map(|i| op.args.get(*i)).map(|a| (a, duration_call(a).flatten())).collect();
        let against = match parent {
            Slide::Batch => self.attrs.batch_ms.map(|b| (b, format!("the batch interval ({b} ms)"))),
            Slide::Fixed(p) => Some((p, format!("the slide of the stream it windows ({p} ms)"))),
            Slide::Unknown => None,
        };
        let method = &op.method;
        for ((expr, ms), what) in durations.iter().zip(["window", "slide"]) {
            match (ms, &against) {
                (Some(ms), _) if *ms <= 0 => {
                    self.diag.error(expr, format!("the {what} duration of `{method}` must be positive"))
                }
                (Some(ms), Some((p, of))) if ms % p != 0 => self.diag.error(
                    expr,
                    format!(
                        "the {what} duration of `{method}` ({ms} ms) must be a multiple of {of}: windows are made \
                         of whole batches"
                    ),
                ),
                _ => {}
            }
        }
        let literal = |i: usize| durations.get(i).and_then(|(_, ms)| *ms);
        if parent == Slide::Batch && (literal(0).is_some() || literal(1).is_some()) {
            self.requires.windows.push(BatchWindow {
                op: method.to_string(),
                window_ms: literal(0),
                slide_ms: literal(1),
            });
        }
        if op.args.len() == s {
            // A one-duration form (`window_of(window)`): it slides with the stream it windows.
            return parent;
        }
        literal(1).map_or(Slide::Unknown, Slide::Fixed)
    }
}

/// `Some(Some(ms))` for `Duration::seconds(3)` and the like with a literal argument,
/// `Some(None)` for a `Duration` constructor call with any other argument, `None` for other
/// expressions.
pub fn duration_call(expr: &Expr) -> Option<Option<i64>> {
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

    fn checked(attrs: proc_macro2::TokenStream, item: syn::ItemFn) -> (Vec<String>, Requirements) {
        let mut diag = Diagnostics::new();
        let attrs = JobAttrs::parse(attrs, &mut diag);
        let job = parse_job(item, &mut diag);
        let requires = check_job(&job, &attrs, &mut diag);
        (diag.messages(), requires)
    }

    fn errors(attrs: proc_macro2::TokenStream, item: syn::ItemFn) -> Vec<String> {
        checked(attrs, item).0
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
    fn one_duration_windows_slide_with_their_parent() {
        let e = errors(
            quote!(batch = "2s"),
            parse_quote! {
                fn w(ssc: &mut StreamingContext) {
                    let pairs = ssc.text_file_stream("d").map(|w| (w, 1));
                    pairs.window(Duration::seconds(4), Duration::seconds(4)).window_of(Duration::seconds(6)).print();
                    pairs.reduce_by_key_and_window_of(|a, b| a + b, Duration::seconds(3)).print();
                }
            },
        );
        assert_eq!(e.len(), 2, "{e:?}");
        assert!(e[0].contains("window duration of `window_of` (6000 ms) must be a multiple of the slide of the stream it windows (4000 ms)"), "{e:?}");
        assert!(e[1].contains("window duration of `reduce_by_key_and_window_of` (3000 ms) must be a multiple of the batch interval (2000 ms)"), "{e:?}");
    }

    #[test]
    fn windows_on_the_batch_are_left_to_the_runtime_without_a_batch_attribute() {
        let (e, requires) = checked(
            quote!(),
            parse_quote! {
                fn w(ssc: &mut StreamingContext, w: Duration) {
                    ssc.text_file_stream("d")
                        .window(Duration::millis(1500), Duration::millis(500))
                        .window(Duration::millis(1200), Duration::millis(1000))
                        .print();
                    ssc.text_file_stream("d").map(|w| (w, 1)).reduce_by_key_and_window(|a, b| a + b, w, Duration::seconds(2)).print();
                }
            },
        );
        assert_eq!(e.len(), 1, "{e:?}");
        assert!(e[0].contains("window duration of `window` (1200 ms) must be a multiple of the slide of the stream it windows (500 ms)"), "{e:?}");
        let window = |op: &str, window_ms, slide_ms| BatchWindow { op: op.to_string(), window_ms, slide_ms };
        assert_eq!(
            requires.windows,
            [window("window", Some(1500), Some(500)), window("reduce_by_key_and_window", None, Some(2000))]
        );
    }

    #[test]
    fn state_is_a_requirement_for_the_runtime_not_an_error() {
        let (e, requires) = checked(
            quote!(),
            parse_quote! {
                fn s(ssc: &mut StreamingContext) {
                    let counts = ssc.text_file_stream("d").map(|w| (w, 1));
                    counts.update_state_by_key(update).print();
                    counts.count_by_window(Duration::seconds(2), Duration::seconds(1)).print();
                    counts.map_with_state(spec).mapped().print();
                    counts.reduce_by_key_and_window(f, Duration::seconds(2), Duration::seconds(1)).print();
                }
            },
        );
        assert!(e.is_empty(), "{e:?}");
        assert_eq!(requires.stateful, ["update_state_by_key", "count_by_window", "map_with_state"]);
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
    fn only_spark_names_are_flagged() {
        let e = errors(
            quote!(),
            parse_quote! {
                fn t(ssc: &mut StreamingContext) {
                    ssc.text_file_stream("d").flatmap(|l| l.split(' ')).tap().max().print();
                    ssc.text_file_stream("d").map(|l| (l, 1)).reduceByKey(f).windowed().print();
                    ssc.text_file_stream("d").my_extension().reduceByKey(f).print();
                }
            },
        );
        assert_eq!(
            e,
            ["unknown stream operator `reduceByKey`; did you mean `reduce_by_key`? (Spark's camelCase names are \
              snake_case in Sluice)"]
        );
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
