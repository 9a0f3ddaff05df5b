//! Integration tests: real HDFS clients (`hdfs-native`, the Go `hdfs` CLI) against a [`minihdfs::MiniHdfs`].
#![forbid(unsafe_code)]

mod cli;
mod common;
mod native;
mod restart;
