//! `kafka_wordcount <brokers> <topic>`: Spark's DirectKafkaWordCount.
#![forbid(unsafe_code)]
fn main() -> std::process::ExitCode {
    jobs::kafka_wordcount::KAFKA_WORDCOUNT.run()
}
