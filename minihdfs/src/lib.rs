//! An in-process HDFS cluster (one namenode, one datanode) speaking the real Hadoop wire protocols.
//!
//! Real HDFS clients — the Rust `hdfs-native` crate, the Go `hdfs` command line tool, Java's
//! `DistributedFileSystem` for the calls they share — talk to it over TCP:
//!
//! * the namenode serves `ClientNamenodeProtocol` over Hadoop IPC (`hrpc` preamble, connection context,
//!   length-prefixed frames of varint-delimited protobufs, simple authentication);
//! * the datanode serves `DataTransferProtocol` `OP_READ_BLOCK` / `OP_WRITE_BLOCK` with packets, CRC32C
//!   (or CRC32) checksums per 512-byte chunk and pipeline acks.
//!
//! Namespace metadata is persisted in `data_dir` on every mutation and block data is kept as files, so a
//! cluster restarted on the same directory serves the same files.
//!
//! ```no_run
//! use minihdfs::{Config, MiniHdfs};
//!
//! let mut config = Config::new("/tmp/minihdfs-doc");
//! config.block_size = 1 << 20;
//! let hdfs = MiniHdfs::start(config).unwrap();
//! println!("namenode at {}", hdfs.url()); // hdfs://127.0.0.1:PORT
//! hdfs.shutdown();
//! ```
//!
//! Not implemented: security (Kerberos, SASL-protected data transfer, encryption zones), replication (one
//! datanode; replication factors are recorded but every block has a single replica), snapshots, ACLs,
//! symlinks, erasure coding, `truncate`, `concat` and `OP_BLOCK_CHECKSUM`. Unsupported RPC methods get a
//! `RpcNoSuchMethodException` error response.

#![deny(missing_docs)]

mod cluster;
mod datanode;
mod error;
mod ipc;
mod namenode;
mod namespace;
mod proto;

pub use cluster::{Config, MiniHdfs};
pub use error::Error;
