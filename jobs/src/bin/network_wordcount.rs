//! `network_wordcount <host> <port>`: Spark's NetworkWordCount.
fn main() -> std::process::ExitCode {
    jobs::network_wordcount::NETWORK_WORDCOUNT.run()
}
