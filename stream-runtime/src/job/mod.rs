//! Jobs: [`StreamJob`], the entry `#[stream_job]` makes of a job function, with its command
//! line ([`JobArgs`], feature `cli`) and its [`Simulation`] on in-memory input.
//!
//! - `spec`: what the macro records of a job (`JobSpec`, `Param`) and the arguments its
//!   generated build function parses (`Args`); reached by generated code through
//!   `__private`;
//! - `stream_job`: [`StreamJob`];
//! - `cli`: the options every job binary accepts, logging, signals and exit codes;
//! - `simulation`: [`Simulation`], which runs the job function on the test kit's executor.

#[cfg(feature = "cli")]
mod cli;
pub(crate) mod simulation;
pub(crate) mod spec;
mod stream_job;

#[cfg(feature = "cli")]
pub use cli::{init_logging, report, run_until_stopped, JobArgs};
pub use simulation::{Printed, Simulated, Simulation};
pub use stream_job::StreamJob;
