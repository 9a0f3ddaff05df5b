//! `kafka_wordcount <brokers> <topic>`: Spark's DirectKafkaWordCount.
fn main() -> std::process::ExitCode {
    jobs::kafka_wordcount::KAFKA_WORDCOUNT.run()
}
