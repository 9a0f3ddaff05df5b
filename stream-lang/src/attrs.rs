//! Phase 2: the `#[stream_job(...)]` arguments.

use syn::parse::Parser;
use syn::punctuated::Punctuated;
use syn::{Expr, ExprLit, Lit, LitStr, MetaNameValue, Token};

use crate::diag::Diagnostics;
use crate::symbol;

/// The arguments of `#[stream_job(batch = "1s", threads = 2, name = "...", checkpoint = "dir")]`:
/// defaults the command line can override.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct JobAttrs {
    /// The default batch interval in milliseconds (`batch`).
    pub batch_ms: Option<i64>,
    /// The default number of worker threads (`threads`).
    pub threads: Option<usize>,
    /// The job's name (`name`).
    pub name: Option<String>,
    /// The default checkpoint directory (`checkpoint`).
    pub checkpoint: Option<String>,
}

impl JobAttrs {
    /// Parses the attribute's arguments, recording errors in `diag` and keeping what is valid.
    pub fn parse(args: proc_macro2::TokenStream, diag: &mut Diagnostics) -> JobAttrs {
        let mut attrs = JobAttrs::default();
        let list = match Punctuated::<MetaNameValue, Token![,]>::parse_terminated.parse2(args) {
            Ok(list) => list,
            Err(e) => {
                diag.push(syn::Error::new(
                    e.span(),
                    format!("{e}; expected arguments like `batch = \"1s\", threads = 2, checkpoint = \"/tmp/ckpt\"`"),
                ));
                return attrs;
            }
        };
        for nv in list {
            let key = nv.path.get_ident().map(|i| i.to_string()).unwrap_or_default();
            match key.as_str() {
                symbol::BATCH => {
                    if let Some(lit) = string_value(&nv, diag) {
                        match stream_spec::parse_duration_ms(&lit.value()) {
                            Ok(ms) if ms > 0 => attrs.batch_ms = Some(ms),
                            Ok(_) => diag.error(&lit, "the batch interval must be positive"),
                            Err(e) => diag.error(&lit, e),
                        }
                    }
                }
                symbol::THREADS => match &nv.value {
                    Expr::Lit(ExprLit { lit: Lit::Int(n), .. }) => match n.base10_parse::<usize>() {
                        Ok(v) if v > 0 => attrs.threads = Some(v),
                        _ => diag.error(n, "`threads` must be a positive integer"),
                    },
                    other => diag.error(other, "`threads` must be an integer literal, e.g. `threads = 4`"),
                },
                symbol::NAME => {
                    if let Some(lit) = string_value(&nv, diag) {
                        attrs.name = Some(lit.value());
                    }
                }
                symbol::CHECKPOINT => {
                    if let Some(lit) = string_value(&nv, diag) {
                        attrs.checkpoint = Some(lit.value());
                    }
                }
                _ => diag.error(
                    &nv.path,
                    format!(
                        "unknown `stream_job` argument; expected one of {}",
                        symbol::ALL.iter().map(|a| format!("`{a}`")).collect::<Vec<_>>().join(", ")
                    ),
                ),
            }
        }
        attrs
    }
}

fn string_value(nv: &MetaNameValue, diag: &mut Diagnostics) -> Option<LitStr> {
    match &nv.value {
        Expr::Lit(ExprLit { lit: Lit::Str(s), .. }) => Some(s.clone()),
        other => {
            diag.error(other, "expected a string literal");
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use quote::quote;

    use super::*;

    fn parse(tokens: proc_macro2::TokenStream) -> (JobAttrs, Vec<String>) {
        let mut diag = Diagnostics::new();
        let attrs = JobAttrs::parse(tokens, &mut diag);
        (attrs, diag.messages())
    }

    #[test]
    fn reads_every_argument() {
        let (attrs, errors) = parse(quote!(batch = "2s", threads = 3, name = "wc", checkpoint = "/tmp/c"));
        assert!(errors.is_empty(), "{errors:?}");
        assert_eq!(
            attrs,
            JobAttrs {
                batch_ms: Some(2000),
                threads: Some(3),
                name: Some("wc".into()),
                checkpoint: Some("/tmp/c".into())
            }
        );
    }

    #[test]
    fn collects_every_bad_argument() {
        let (attrs, errors) = parse(quote!(batch = "soon", threads = 0, colour = "red"));
        assert_eq!(attrs.batch_ms, None);
        assert_eq!(errors.len(), 3, "{errors:?}");
        assert!(errors[0].starts_with("invalid duration \"soon\""), "{errors:?}");
        assert!(errors[2].contains("unknown `stream_job` argument"));
    }

    #[test]
    fn empty_arguments_are_fine() {
        assert_eq!(parse(quote!()), (JobAttrs::default(), vec![]));
    }
}
