//! Output operations: one file each, adding methods to [`DStream`](crate::DStream).

mod foreach;
mod objects;
mod print;
mod save;

pub use objects::{read_object_files, ObjectFileError, OBJECT_FILE_MAGIC};
pub use print::format_batch;
pub(crate) use print::{assemble, format_records, to_stdout, PrintSink};
