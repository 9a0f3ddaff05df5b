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
                        match parse_duration_ms(&lit.value()) {
                            Some(ms) if ms > 0 => attrs.batch_ms = Some(ms),
                            Some(_) => diag.error(&lit, "the batch interval must be positive"),
                            None => diag.error(
                                &lit,
                                "invalid duration: expected a number followed by ms, s, m or h (e.g. 500ms, 2s, 1m)",
                            ),
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

/// Parses a duration such as `"2s"`, `"500ms"`, `"1.5s"` or `"1m"` into milliseconds, as the
/// runtime's `Duration::from_str` does. A bare number is seconds.
///
/// ```
/// use stream_lang::attrs::parse_duration_ms;
/// assert_eq!(parse_duration_ms("500ms"), Some(500));
/// assert_eq!(parse_duration_ms("1.5s"), Some(1500));
/// assert_eq!(parse_duration_ms("2m"), Some(120_000));
/// assert_eq!(parse_duration_ms("soon"), None);
/// ```
pub fn parse_duration_ms(s: &str) -> Option<i64> {
    let t = s.trim();
    let split = t.find(|c: char| !(c.is_ascii_digit() || c == '.')).unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let value: f64 = num.parse().ok()?;
    let scale = match unit.trim() {
        "ms" => 1.0,
        "" | "s" | "sec" | "secs" => 1000.0,
        "m" | "min" => 60_000.0,
        "h" => 3_600_000.0,
        _ => return None,
    };
    let ms = value * scale;
    (ms.is_finite() && ms >= 0.0 && ms.fract() == 0.0).then_some(ms as i64)
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
        assert!(errors[2].contains("unknown `stream_job` argument"));
    }

    #[test]
    fn empty_arguments_are_fine() {
        assert_eq!(parse(quote!()), (JobAttrs::default(), vec![]));
    }
}
