//! `windowed_network_wordcount <host> <port> [--window 6s] [--slide 4s]`: word counts over a sliding window.
#![forbid(unsafe_code)]
fn main() -> std::process::ExitCode {
    jobs::windowed_network_wordcount::WINDOWED_NETWORK_WORDCOUNT.run()
}
