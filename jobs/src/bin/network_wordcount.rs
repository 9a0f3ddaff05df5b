//! `network_wordcount <host> <port>`: Spark's NetworkWordCount.
#![forbid(unsafe_code)]
fn main() -> std::process::ExitCode {
    jobs::network_wordcount::NETWORK_WORDCOUNT.run()
}
