//! The library behind `#[stream_job]`: everything but the proc-macro glue, so it can be unit
//! tested and reused (the `--explain` printer, generated docs).
//!
//! The macro runs four phases, one module each, and collects every error on the way:
//!
//! 1. [`parse`]: `syn`'s function into the job IR ([`ir`]): the context parameter, the
//!    command-line parameters (positional, or named options marked `#[opt(default = "..")]`,
//!    an attribute the macro removes from the function), and each statement as a stream chain, a checkpoint call or code
//!    the macro does not analyse ("opaque", kept as written);
//! 2. [`attrs`]: the attribute's arguments (`batch`, `threads`, `name`, `checkpoint`);
//! 3. [`check`]: what is decidable at compile time (windows that are not whole batches of the
//!    attribute's `batch`, jobs without outputs, Spark's camelCase operator names, unused
//!    streams), and the [`Requirements`](check::Requirements) the runtime checks against the
//!    effective settings (`--batch`, `--checkpoint`) at start and in `--explain`;
//! 4. [`lower`] to a [`Plan`](lower::Plan) (printed by [`explain`]) and [`codegen`].
//!
//! What each method does comes from the operator registry of `stream-spec`, which a workspace
//! test keeps equal to the engine's public methods.
//!
//! On any error the output is the errors plus a fallback: the function as written (so rustc
//! still reports the other errors of its body) and an entry that does nothing.
//!
//! ```
//! let plan = stream_lang::explain(
//!     quote::quote!(batch = "1s"),
//!     quote::quote! {
//!         fn wc(ssc: &mut StreamingContext, host: String, port: u16) {
//!             ssc.socket_text_stream(&host, port)
//!                 .flat_map(|line| line.split(' '))
//!                 .map(|word| (word, 1))
//!                 .reduce_by_key(|a, b| a + b)
//!                 .print();
//!         }
//!     },
//! )
//! .unwrap();
//! assert_eq!(
//!     plan,
//!     "job wc (batch 1000 ms, 2 threads)\n\
//!      stage 0: socket_text_stream(&host, port) -> flat_map -> map -> reduce_by_key [map-side combine]   (fused)\n\
//!      \x20 shuffle: hash by key\n\
//!      stage 1 <- stage 0: reduce_by_key [merge] -> print(10)\n"
//! );
//! ```
#![deny(missing_docs)]
#![forbid(unsafe_code)]

pub mod attrs;
pub mod check;
pub mod codegen;
pub mod diag;
mod explain;
pub mod ir;
pub mod lower;
pub mod parse;
pub mod symbol;

use proc_macro2::TokenStream;

use crate::attrs::JobAttrs;
use crate::diag::Diagnostics;
use crate::lower::Plan;

/// A job parsed, checked and lowered, or the errors found (with the job as parsed, if its
/// item is a function).
fn analyse(attr: TokenStream, item: TokenStream) -> Result<(ir::JobFn, Plan), (Option<Box<ir::JobFn>>, Diagnostics)> {
    let mut diag = Diagnostics::new();
    let attrs = JobAttrs::parse(attr, &mut diag);
    let item: syn::ItemFn = match syn::parse2(item) {
        Ok(item) => item,
        Err(e) => {
            diag.push(syn::Error::new(
                e.span(),
                format!("`#[stream_job]` applies to a function `fn job(ssc: &mut StreamingContext, ..)`: {e}"),
            ));
            return Err((None, diag));
        }
    };
    let job = parse::parse_job(item, &mut diag);
    let requires = check::check_job(&job, &attrs, &mut diag);
    if !diag.is_empty() {
        return Err((Some(Box::new(job)), diag));
    }
    let plan = lower::lower(&job, &attrs, requires);
    Ok((job, plan))
}

/// Expands `#[stream_job(attr)] item`: the job function and its entry constant, or the errors
/// found with a fallback.
pub fn expand(attr: TokenStream, item: TokenStream) -> TokenStream {
    match analyse(attr, item.clone()) {
        Ok((job, plan)) => codegen::generate(&job, &plan),
        Err((Some(job), diag)) => {
            let mut out = diag.to_compile_errors();
            out.extend(codegen::fallback(&job));
            out
        }
        Err((None, diag)) => {
            let mut out = diag.to_compile_errors();
            out.extend(item);
            out
        }
    }
}

/// The plan `--explain` prints for `#[stream_job(attr)] item`, or the error messages.
pub fn explain(attr: TokenStream, item: TokenStream) -> Result<String, Vec<String>> {
    match analyse(attr, item) {
        Ok((_, plan)) => Ok(plan.to_string()),
        Err((_, diag)) => Err(diag.messages()),
    }
}
