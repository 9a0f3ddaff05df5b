//! `windowed_network_wordcount <host> <port> <window> <slide>`: word counts over a sliding window.
fn main() -> std::process::ExitCode {
    jobs::windowed_network_wordcount::WINDOWED_NETWORK_WORDCOUNT.run()
}
