//! Phase 1: from `syn`'s function to the job IR.

use std::collections::{BTreeMap, BTreeSet};

use proc_macro2::{TokenStream, TokenTree};
use quote::ToTokens;
use syn::spanned::Spanned;
use syn::visit::Visit;
use syn::{Expr, FnArg, Ident, ItemFn, Pat, ReturnType, Stmt, Type};

use stream_spec::{from_spark_name, lookup, Kind, Receiver, OPERATORS};

use crate::diag::Diagnostics;
use crate::ir::{Chain, JobFn, Op, OptParam, Param, Root, Statement, StatementKind};
use crate::symbol;

/// The streams bound by `let` so far, with their types.
pub type Streams = BTreeMap<String, Receiver>;

/// Parses a job function, recording what is wrong with its signature in `diag`.
///
/// The `#[opt]` attributes of its parameters are removed from the function (they are the
/// macro's, rustc does not know them) and recorded in its [`Param`]s.
pub fn parse_job(mut item: ItemFn, diag: &mut Diagnostics) -> JobFn {
    let options: Vec<Option<OptParam>> = item
        .sig
        .inputs
        .iter_mut()
        .enumerate()
        .map(|(i, arg)| match arg {
            FnArg::Typed(pt) => parse_opt(pt, i == 0, diag),
            FnArg::Receiver(_) => None,
        })
        .collect();
    let sig = &item.sig;
    if let Some(a) = &sig.asyncness {
        diag.error(a, "a stream job cannot be `async`: it builds a lazy graph that the runtime drives");
    }
    if !sig.generics.params.is_empty() {
        diag.error(&sig.generics, "a stream job cannot be generic: its arguments come from the command line");
    }
    if let Some(v) = &sig.variadic {
        diag.error(v, "a stream job cannot be variadic");
    }
    if let ReturnType::Type(_, ty) = &sig.output {
        diag.error(ty, "a stream job returns nothing: it registers streams and outputs on the context");
    }
    let mut inputs = sig.inputs.iter();
    let ctx = match inputs.next() {
        Some(FnArg::Typed(pt)) if is_context_type(&pt.ty) => match &*pt.pat {
            Pat::Ident(p) if p.subpat.is_none() => Some(p.ident.clone()),
            other => {
                diag.error(other, "name the context parameter with a plain identifier, e.g. `ssc`");
                None
            }
        },
        Some(other) => {
            diag.error(other, "the first parameter of a stream job must be the context: `ssc: &mut StreamingContext`");
            None
        }
        None => {
            diag.error_at(
                sig.paren_token.span.join(),
                "a stream job takes the context as its first parameter: `ssc: &mut StreamingContext`",
            );
            None
        }
    };
    let mut params = Vec::new();
    for (arg, option) in inputs.zip(options.into_iter().skip(1)) {
        match arg {
            FnArg::Typed(pt) => match &*pt.pat {
                Pat::Ident(p) if p.subpat.is_none() && p.by_ref.is_none() => {
                    if let Type::Reference(r) = &*pt.ty {
                        diag.error(
                            r,
                            "job arguments are parsed from the command line: take an owned type such as `String`",
                        );
                    }
                    params.push(Param { name: p.ident.clone(), ty: (*pt.ty).clone(), option })
                }
                other => {
                    diag.error(other, "name each job argument with a plain identifier: it is its command-line name")
                }
            },
            FnArg::Receiver(r) => diag.error(r, "a stream job is a free function, not a method"),
        }
    }
    let mut streams = Streams::new();
    let statements = item.block.stmts.iter().map(|s| parse_statement(s, ctx.as_ref(), &mut streams)).collect();
    let mut calls = Calls { ctx: ctx.as_ref(), checkpoint: false, output: false };
    calls.visit_block(&item.block);
    let (checkpoint_call, output_call) = (calls.checkpoint, calls.output);
    JobFn { item, ctx, params, statements, checkpoint_call, output_call }
}

/// Removes the `#[opt(..)]` attributes of parameter `pt` and reads them: `#[opt]` or
/// `#[opt(default = "..")]`. `first` is the context parameter's place, which cannot be an option.
fn parse_opt(pt: &mut syn::PatType, first: bool, diag: &mut Diagnostics) -> Option<OptParam> {
    let (opts, others): (Vec<_>, Vec<_>) =
        std::mem::take(&mut pt.attrs).into_iter().partition(|a| a.path().is_ident(symbol::OPT));
    pt.attrs = others;
    let attr = opts.first()?;
    for extra in &opts[1..] {
        diag.error(extra, "a parameter takes one `#[opt(..)]`");
    }
    if first {
        diag.error(attr, "the context parameter is not a command-line option");
        return None;
    }
    let name = match &*pt.pat {
        Pat::Ident(p) => p.ident.to_string(),
        _ => return None,
    };
    let long = name.trim_start_matches("r#").replace('_', "-");
    if stream_spec::COMMON_OPTIONS.contains(&long.as_str()) {
        diag.error(&pt.pat, format!("every job has the option `--{long}`: name this option differently"));
    }
    let mut default = None;
    if let syn::Meta::List(list) = &attr.meta {
        let parsed =
            list.parse_args_with(syn::punctuated::Punctuated::<syn::MetaNameValue, syn::Token![,]>::parse_terminated);
        match parsed {
            Err(e) => {
                diag.push(syn::Error::new(e.span(), format!("{e}; expected `#[opt]` or `#[opt(default = \"..\")]`")))
            }
            Ok(args) => {
                for nv in args {
                    if !nv.path.is_ident(symbol::DEFAULT) {
                        diag.error(&nv.path, "unknown `opt` argument; expected `default = \"..\"`");
                        continue;
                    }
                    match &nv.value {
                        Expr::Lit(syn::ExprLit { lit: syn::Lit::Str(s), .. }) => default = Some(s.clone()),
                        other => diag.error(other, "the default is the option's command-line text: a string literal"),
                    }
                }
            }
        }
    } else if let syn::Meta::NameValue(nv) = &attr.meta {
        diag.error(nv, "expected `#[opt]` or `#[opt(default = \"..\")]`");
    }
    // A duration's default is checked here, with the command line's parser.
    if let (Some(d), Type::Path(p)) = (&default, &*pt.ty) {
        if p.path.segments.last().is_some_and(|s| s.ident == "Duration") {
            if let Err(e) = stream_spec::parse_duration_ms(&d.value()) {
                diag.error(d, e);
            }
        }
    }
    Some(OptParam { long, default })
}

/// Whether `ty` is `&StreamingContext` or `&mut StreamingContext` (by the last path segment:
/// the macro runs before name resolution).
fn is_context_type(ty: &Type) -> bool {
    match ty {
        Type::Reference(r) => {
            matches!(&*r.elem, Type::Path(p) if p.qself.is_none()
                && p.path.segments.last().is_some_and(|s| s.ident == "StreamingContext"))
        }
        _ => false,
    }
}

fn parse_statement(stmt: &Stmt, ctx: Option<&Ident>, streams: &mut Streams) -> Statement {
    let idents = idents_of(stmt.to_token_stream());
    let kind = match stmt {
        Stmt::Local(local) => {
            let name = match &local.pat {
                Pat::Ident(p) if p.subpat.is_none() => Some(&p.ident),
                Pat::Type(t) => match &*t.pat {
                    Pat::Ident(p) if p.subpat.is_none() => Some(&p.ident),
                    _ => None,
                },
                _ => None,
            };
            let chain = match (&local.init, name) {
                (Some(init), Some(_)) if init.diverge.is_none() => parse_chain(&init.expr, ctx, streams),
                _ => None,
            };
            match (name, chain) {
                (Some(name), Some(chain)) => {
                    match chain.receiver() {
                        Some(receiver) => streams.insert(name.to_string(), receiver),
                        None => streams.remove(&name.to_string()),
                    };
                    StatementKind::Let { name: name.clone(), chain }
                }
                _ => {
                    if let Some(name) = name {
                        streams.remove(&name.to_string());
                    }
                    opaque(stmt, format!("let {}", name.map_or("..".to_string(), Ident::to_string)))
                }
            }
        }
        Stmt::Expr(expr, _) => {
            if is_checkpoint_call(expr, ctx) {
                StatementKind::Checkpoint
            } else if let Some(chain) = parse_chain(expr, ctx, streams) {
                StatementKind::Expr(chain)
            } else {
                opaque(stmt, describe(expr))
            }
        }
        Stmt::Item(_) => opaque(stmt, "item".to_string()),
        Stmt::Macro(m) => opaque(stmt, format!("{}!(..)", path_text(&m.mac.path))),
    };
    Statement { kind, idents }
}

fn opaque(stmt: &Stmt, summary: String) -> StatementKind {
    StatementKind::Opaque { summary, span: stmt.span() }
}

fn is_checkpoint_call(expr: &Expr, ctx: Option<&Ident>) -> bool {
    match expr {
        Expr::MethodCall(m) => is_checkpoint(&m.method) && is_ident(&m.receiver, ctx),
        _ => false,
    }
}

/// Whether `method` is the context's `checkpoint`.
fn is_checkpoint(method: &Ident) -> bool {
    lookup(Receiver::Context, &method.to_string()).is_some_and(|o| o.kind == Kind::Checkpoint)
}

fn is_ident(expr: &Expr, ident: Option<&Ident>) -> bool {
    match (expr, ident) {
        (Expr::Path(p), Some(id)) => p.qself.is_none() && p.path.is_ident(id),
        _ => false,
    }
}

/// The method calls of a chain, innermost first, and the expression they start from.
pub fn flatten(expr: &Expr) -> (&Expr, Vec<&syn::ExprMethodCall>) {
    let mut calls = Vec::new();
    let mut e = expr;
    loop {
        match e {
            Expr::MethodCall(m) => {
                calls.push(m);
                e = &m.receiver;
            }
            Expr::Paren(p) => e = &p.expr,
            _ => break,
        }
    }
    calls.reverse();
    (e, calls)
}

/// Parses `expr` as a stream chain: a method of the context that starts one (a source,
/// `union`, `transform`), or a named stream, followed by method calls, each looked up in the
/// operator registry for the type it is called on. `None` when it is neither.
pub fn parse_chain(expr: &Expr, ctx: Option<&Ident>, streams: &Streams) -> Option<Chain> {
    let (base, calls) = flatten(expr);
    let Expr::Path(path) = base else { return None };
    let ident = path.path.get_ident()?;
    let (root, rest, mut receiver) = if ctx.is_some_and(|c| c == ident) {
        let (first, rest) = calls.split_first()?;
        let op = lookup(Receiver::Context, &first.method.to_string()).filter(|o| o.starts_chain())?;
        let root = Root::Source { method: first.method.clone(), args: first.args.iter().cloned().collect(), op };
        (root, rest, op.returns.as_receiver())
    } else if let Some(receiver) = streams.get(&ident.to_string()).filter(|_| path.qself.is_none()) {
        (Root::Stream(ident.clone(), *receiver), &calls[..], Some(*receiver))
    } else {
        return None;
    };
    let ops = rest
        .iter()
        .map(|m| {
            let name = m.method.to_string();
            let (op, spark_name) = match receiver {
                Some(r) => match (lookup(r, &name), from_spark_name(r, &name)) {
                    (Some(op), _) => (Some(op), false),
                    (None, Some(op)) => (Some(op), true),
                    (None, None) => (None, false),
                },
                None => (None, false),
            };
            receiver = op.and_then(|o| o.returns.as_receiver());
            let other = match op.map(|o| o.kind) {
                Some(Kind::Join | Kind::Union) => m.args.first().map(|a| {
                    Box::new(
                        parse_chain(a, ctx, streams)
                            .unwrap_or(Chain { root: Root::Opaque(Box::new(a.clone())), ops: Vec::new() }),
                    )
                }),
                _ => None,
            };
            Op { method: m.method.clone(), op, spark_name, args: m.args.iter().cloned().collect(), other }
        })
        .collect();
    Some(Chain { root, ops })
}

/// Every identifier in `tokens`, at any depth.
fn idents_of(tokens: TokenStream) -> BTreeSet<String> {
    fn walk(tokens: TokenStream, out: &mut BTreeSet<String>) {
        for tt in tokens {
            match tt {
                TokenTree::Ident(i) => {
                    out.insert(i.to_string());
                }
                TokenTree::Group(g) => walk(g.stream(), out),
                _ => {}
            }
        }
    }
    let mut out = BTreeSet::new();
    walk(tokens, &mut out);
    out
}

/// Finds `<ctx>.checkpoint(..)` and output operations anywhere in the body.
struct Calls<'i> {
    ctx: Option<&'i Ident>,
    checkpoint: bool,
    output: bool,
}

impl<'ast> Visit<'ast> for Calls<'_> {
    fn visit_expr_method_call(&mut self, m: &'ast syn::ExprMethodCall) {
        if is_checkpoint(&m.method) && is_ident(&m.receiver, self.ctx) {
            self.checkpoint = true;
        }
        if OPERATORS.iter().any(|o| o.is_output() && m.method == o.name) {
            self.output = true;
        }
        syn::visit::visit_expr_method_call(self, m);
    }
}

/// A short description of code the macro does not analyse, for the plan.
fn describe(expr: &Expr) -> String {
    match expr {
        Expr::Call(c) => match &*c.func {
            Expr::Path(p) => format!("{}(..)", path_text(&p.path)),
            _ => "call".to_string(),
        },
        Expr::MethodCall(m) => format!("{}.{}(..)", render(&m.receiver), m.method),
        Expr::ForLoop(_) => "for loop".to_string(),
        Expr::While(_) => "while loop".to_string(),
        Expr::Loop(_) => "loop".to_string(),
        Expr::If(_) => "if".to_string(),
        Expr::Match(_) => "match".to_string(),
        Expr::Block(_) | Expr::Unsafe(_) => "block".to_string(),
        Expr::Macro(m) => format!("{}!(..)", path_text(&m.mac.path)),
        Expr::Assign(_) => "assignment".to_string(),
        _ => "expression".to_string(),
    }
}

fn path_text(path: &syn::Path) -> String {
    let segs: Vec<String> = path.segments.iter().map(|s| s.ident.to_string()).collect();
    format!("{}{}", if path.leading_colon.is_some() { "::" } else { "" }, segs.join("::"))
}

/// Renders a (simple) expression compactly for the plan: paths, references, literals, field
/// accesses, calls and method calls; anything else is `..`.
pub fn render(expr: &Expr) -> String {
    match expr {
        Expr::Path(p) => path_text(&p.path),
        Expr::Reference(r) => format!("&{}{}", if r.mutability.is_some() { "mut " } else { "" }, render(&r.expr)),
        Expr::Lit(l) => l.lit.to_token_stream().to_string(),
        Expr::Field(f) => format!("{}.{}", render(&f.base), f.member.to_token_stream()),
        Expr::Paren(p) => format!("({})", render(&p.expr)),
        Expr::Unary(u) => format!("{}{}", u.op.to_token_stream(), render(&u.expr)),
        Expr::Call(c) => format!("{}({})", render(&c.func), render_args(c.args.iter())),
        Expr::MethodCall(m) => format!("{}.{}({})", render(&m.receiver), m.method, render_args(m.args.iter())),
        Expr::Closure(_) => "|..| ..".to_string(),
        _ => "..".to_string(),
    }
}

/// Renders arguments separated by `, `.
pub fn render_args<'e>(args: impl Iterator<Item = &'e Expr>) -> String {
    args.map(render).collect::<Vec<_>>().join(", ")
}

#[cfg(test)]
mod tests {
    use syn::parse_quote;

    use super::*;

    fn parse(item: ItemFn) -> (JobFn, Vec<String>) {
        let mut diag = Diagnostics::new();
        let job = parse_job(item, &mut diag);
        (job, diag.messages())
    }

    #[test]
    fn options_are_read_and_stripped_from_the_function() {
        let (job, errors) = parse(parse_quote! {
            fn wc(ssc: &mut StreamingContext, host: String, #[opt(default = "6s")] slide_by: Duration, #[opt] n: u32) {
                ssc.socket_text_stream(&host, 9).print();
            }
        });
        assert!(errors.is_empty(), "{errors:?}");
        let options: Vec<_> = job
            .params
            .iter()
            .map(|p| p.option.as_ref().map(|o| (o.long.clone(), o.default.as_ref().map(syn::LitStr::value))))
            .collect();
        assert_eq!(options, [None, Some(("slide-by".into(), Some("6s".into()))), Some(("n".into(), None))]);
        let attrs = job.item.sig.inputs.iter().filter(|a| matches!(a, FnArg::Typed(pt) if !pt.attrs.is_empty()));
        assert_eq!(attrs.count(), 0, "rustc does not know `#[opt]`");
    }

    #[test]
    fn bad_options_are_reported_together() {
        let (_, errors) = parse(parse_quote! {
            fn wc(
                #[opt] ssc: &mut StreamingContext,
                #[opt(default = "soon")] window: Duration,
                #[opt(default = 3)] n: u32,
                #[opt(colour = "red")] m: u32,
                #[opt] batch: Duration,
                #[opt] #[opt] twice: u32,
            ) {
                ssc.socket_text_stream("h", 9).print();
            }
        });
        assert_eq!(errors.len(), 6, "{errors:?}");
        assert!(errors[0].contains("the context parameter is not a command-line option"), "{errors:?}");
        assert!(errors[1].starts_with("invalid duration \"soon\""), "{errors:?}");
        assert!(errors[2].contains("a string literal"), "{errors:?}");
        assert!(errors[3].contains("unknown `opt` argument"), "{errors:?}");
        assert!(errors[4].contains("every job has the option `--batch`"), "{errors:?}");
        assert!(errors[5].contains("one `#[opt(..)]`"), "{errors:?}");
    }

    #[test]
    fn reads_context_parameters_and_chains() {
        let (job, errors) = parse(parse_quote! {
            fn wc(ssc: &mut StreamingContext, host: String, port: u16) {
                let words = ssc.socket_text_stream(&host, port).flat_map(|l| l.split(' '));
                words.map(|w| (w, 1)).reduce_by_key(|a, b| a + b).print();
            }
        });
        assert!(errors.is_empty(), "{errors:?}");
        assert_eq!(job.ctx.as_ref().map(Ident::to_string).as_deref(), Some("ssc"));
        assert_eq!(job.params.iter().map(|p| p.name.to_string()).collect::<Vec<_>>(), ["host", "port"]);
        let StatementKind::Let { name, chain } = &job.statements[0].kind else { panic!("a let of a stream") };
        assert_eq!(name, "words");
        assert!(matches!(&chain.root, Root::Source { method, .. } if method == "socket_text_stream"));
        let StatementKind::Expr(chain) = &job.statements[1].kind else { panic!("a chain") };
        assert!(matches!(&chain.root, Root::Stream(s, Receiver::DStream) if s == "words"));
        let names: Vec<_> = chain.ops.iter().map(|o| o.method.to_string()).collect();
        assert_eq!(names, ["map", "reduce_by_key", "print"]);
        assert!(job.output_call && !job.checkpoint_call);
    }

    #[test]
    fn helper_calls_and_loops_are_opaque() {
        let (job, _) = parse(parse_quote! {
            fn j(ssc: &mut StreamingContext) {
                ssc.checkpoint("/tmp/c");
                helper(ssc);
                for i in 0..2 { ssc.queue_stream(q(i), true, None).print(); }
            }
        });
        assert!(matches!(job.statements[0].kind, StatementKind::Checkpoint));
        assert!(matches!(&job.statements[1].kind, StatementKind::Opaque { summary, .. } if summary == "helper(..)"));
        assert!(matches!(&job.statements[2].kind, StatementKind::Opaque { summary, .. } if summary == "for loop"));
        assert!(job.checkpoint_call && job.output_call);
    }

    #[test]
    fn binary_operators_parse_their_other_stream() {
        let (job, _) = parse(parse_quote! {
            fn j(ssc: &StreamingContext) {
                let a = ssc.queue_stream(qa, true, None);
                a.join(ssc.queue_stream(qb, true, None).map(f)).print();
            }
        });
        let StatementKind::Expr(chain) = &job.statements[1].kind else { panic!("a chain") };
        let other = chain.ops[0].other.as_ref().expect("join's other stream");
        assert!(matches!(&other.root, Root::Source { .. }));
        assert_eq!(other.ops[0].method, "map");
    }

    #[test]
    fn operators_are_looked_up_on_the_type_they_are_called_on() {
        let (job, _) = parse(parse_quote! {
            fn j(ssc: &mut StreamingContext) {
                let state = ssc.queue_stream(q, true, None).map_with_state(spec);
                state.mapped().reduceByKey(f).print();
                state.map(f).print();
            }
        });
        let StatementKind::Let { chain, .. } = &job.statements[0].kind else { panic!("a let") };
        assert_eq!(chain.receiver(), Some(Receiver::StateStream));
        let StatementKind::Expr(chain) = &job.statements[1].kind else { panic!("a chain") };
        assert!(chain.ops[0].op.is_some_and(|o| o.kind == Kind::View));
        assert!(chain.ops[1].spark_name && chain.ops[1].op.is_some_and(|o| o.name == "reduce_by_key"));
        assert_eq!(chain.receiver(), None, "print ends the chain");
        let StatementKind::Expr(chain) = &job.statements[2].kind else { panic!("a chain") };
        assert!(chain.ops[0].op.is_none(), "`map` is not a method of StateStream");
    }

    #[test]
    fn bad_signatures_are_reported_together() {
        let (_, errors) = parse(parse_quote! {
            async fn j<T>(port: u16, (a, b): (u8, u8)) -> u32 { 0 }
        });
        assert_eq!(errors.len(), 5, "{errors:?}");
    }

    #[test]
    fn renders_simple_expressions() {
        let e: Expr = parse_quote!(ssc.socket_text_stream(&host, self.port).f(1, "a", |x| x));
        assert_eq!(render(&e), "ssc.socket_text_stream(&host, self.port).f(1, \"a\", |..| ..)");
    }
}
