//! `file_wordcount <dir>`: Spark's HdfsWordCount over a local directory.
#![forbid(unsafe_code)]
fn main() -> std::process::ExitCode {
    jobs::file_wordcount::FILE_WORDCOUNT.run()
}
