//! Output operations: one file each, adding methods to [`DStream`](crate::DStream).

mod foreach;
mod print;
mod save;

pub use print::format_batch;
pub(crate) use print::{assemble, format_records, to_stdout, PrintSink};
