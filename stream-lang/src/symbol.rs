//! Names of the `#[stream_job(...)]` arguments.

/// `batch = "1s"`: the default batch interval.
pub const BATCH: &str = "batch";
/// `threads = 4`: the default number of worker threads.
pub const THREADS: &str = "threads";
/// `name = "..."`: the job's name (default: the function's name).
pub const NAME: &str = "name";
/// `checkpoint = "dir"`: the default checkpoint directory.
pub const CHECKPOINT: &str = "checkpoint";

/// Every argument, in the order the error for an unknown one lists them.
pub const ALL: &[&str] = &[BATCH, THREADS, NAME, CHECKPOINT];

/// `#[opt]` / `#[opt(default = "6s")]` on a job parameter: a named option of the command line.
pub const OPT: &str = "opt";
/// `default = ".."` in `#[opt(..)]`: the value used when the option is absent.
pub const DEFAULT: &str = "default";
