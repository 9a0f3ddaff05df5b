//! What `#[stream_job]` records of a job: its [`JobSpec`] (name, defaults, parameters, plan)
//! and the positional [`Args`] its generated build function parses.

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
    /// The positional arguments, in order.
    pub params: &'static [Param],
    /// The plan `--explain` prints.
    pub plan: &'static str,
    /// What the job needs of `--batch` and `--checkpoint`, checked at start and by `--explain`.
    pub requires: crate::settings::Requirements,
}

/// A positional argument of a job: one parameter of the job function.
#[derive(Debug, Clone, Copy)]
pub struct Param {
    /// The parameter's name.
    pub name: &'static str,
    /// Its name in usage messages (`HOST`).
    pub value_name: &'static str,
    /// Its type, as written.
    pub ty: &'static str,
    /// Whether a command-line value parses as the type ([`check`]).
    pub check: fn(&str) -> Result<(), String>,
}

/// Whether `s` parses as a `T` (the parse error's text if not).
pub fn check<T: FromStr>(s: &str) -> Result<(), String>
where
    T::Err: Display,
{
    s.parse::<T>().map(drop).map_err(|e| e.to_string())
}

/// The positional arguments of a job, as given on the command line.
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
