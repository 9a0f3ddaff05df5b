//! What `#[stream_job]` records of a job: its [`JobSpec`] (name, defaults, parameters, plan)
//! and the [`Args`] its generated build function parses: one value per parameter, from the
//! positional arguments and named options.

use std::fmt::Display;
use std::str::FromStr;

use crate::context::StreamingContext;

/// What the macro knows of a job: its name, defaults, arguments and plan.
#[derive(Debug, Clone, Copy)]
pub struct JobSpec {
    /// The job's name.
    pub name: &'static str,
    /// The first paragraph of the function's docs, for `--help`.
    pub about: &'static str,
    /// The default batch interval in milliseconds.
    pub batch_ms: i64,
    /// The default number of worker threads.
    pub threads: usize,
    /// The default checkpoint directory.
    pub checkpoint: Option<&'static str>,
    /// The parameters after the context, in the function's order: positional arguments and
    /// named options.
    pub params: &'static [Param],
    /// The plan `--explain` prints.
    pub plan: &'static str,
    /// What the job needs of `--batch` and `--checkpoint`, checked at start and by `--explain`.
    pub requires: crate::settings::Requirements,
}

/// A command-line argument of a job: one parameter of the job function, positional or a named
/// option (`#[opt]`).
#[derive(Debug, Clone, Copy)]
pub struct Param {
    /// The parameter's name.
    pub name: &'static str,
    /// Its name in usage messages (`HOST`).
    pub value_name: &'static str,
    /// Its type, as written.
    pub ty: &'static str,
    /// Whether a command-line value parses as the type ([`check`]).
    pub check: fn(&str) -> Result<(), InvalidValue>,
    /// How the command line gives it.
    pub kind: ParamKind,
}

/// How the command line gives a job's parameter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ParamKind {
    /// A positional argument, in the order of the function's positional parameters.
    Positional,
    /// A named option, `--long VALUE` (or `--long=VALUE`), from `#[opt]`.
    Option {
        /// Its long name (`window` for `--window`).
        long: &'static str,
        /// The value used when it is absent; `None` makes it required.
        default: Option<&'static str>,
    },
}

impl Param {
    /// The option's long name, for a named option.
    pub fn long(&self) -> Option<&'static str> {
        match self.kind {
            ParamKind::Positional => None,
            ParamKind::Option { long, .. } => Some(long),
        }
    }
}

/// Whether `s` parses as a `T`: if not, the type's parse error as [`InvalidValue`].
pub fn check<T: FromStr>(s: &str) -> Result<(), InvalidValue>
where
    T::Err: Display,
{
    s.parse::<T>().map(drop).map_err(|e| InvalidValue(e.to_string()))
}

/// A command-line value that does not parse as its parameter's type, with the text of the
/// type's `FromStr` error (which need not implement `Error`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct InvalidValue(pub String);

/// The values of a job's parameters, one per [`Param`] in order (an absent option's is its
/// default).
#[derive(Debug, Clone)]
pub struct Args {
    pub(super) values: Vec<String>,
}

impl Args {
    /// Argument `i`, parsed as a `T`.
    pub fn get<T: FromStr>(&self, i: usize) -> Result<T, ArgError>
    where
        T::Err: Display,
    {
        let v = self.values.get(i).ok_or_else(|| ArgError(format!("missing argument {}", i + 1)))?;
        v.parse().map_err(|e: T::Err| ArgError(format!("invalid value {v:?}: {e}")))
    }
}

/// A job argument that could not be parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArgError(String);

impl Display for ArgError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for ArgError {}

/// The function the macro generates to build a job from its arguments: parses them and calls
/// the job function.
pub type Build = fn(&mut StreamingContext, &Args) -> Result<(), ArgError>;
