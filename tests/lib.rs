//! Sluice's integration tests live in `it/` (one test binary, a module per area); the tests
//! against a Kafka broker in `kafka/`, a binary of their own.
#![forbid(unsafe_code)]
