//! `stateful_network_wordcount <host> <port>`: running word counts (Spark's StatefulNetworkWordCount).
#![forbid(unsafe_code)]
fn main() -> std::process::ExitCode {
    jobs::stateful_network_wordcount::STATEFUL_NETWORK_WORDCOUNT.run()
}
