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
//! Namespace metadata is persisted in `data_dir` as HDFS's namenode persists it, a snapshot and an edit
//! log appended to by every mutation before it answers (so a mutation costs the same however big the
//! namespace is), and block data is kept as files, so a cluster restarted on the same directory serves
//! the same files. A file left open by a writer that died can be overwritten by a `create` with
//! overwrite, or closed with `recoverLease` (lease recovery: it keeps the bytes the datanode received).
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
//! Supported namenode methods: `getServerDefaults`, `getFileInfo`, `getListing` (paged by
//! [`Config::listing_page_size`]), `mkdirs`, `create`, `append`, `addBlock`, `abandonBlock`, `complete`,
//! `fsync`, `renewLease`, `recoverLease`, `updateBlockForPipeline`, `updatePipeline`, `getBlockLocations`,
//! `rename`, `rename2`, `delete`, `truncate`, `setPermission`, `setOwner`, `setTimes`, `setReplication`,
//! `getContentSummary` and `getFsStats`. Any other method gets an `RpcNoSuchMethodException` error
//! response; the connection stays usable.
//!
//! Not implemented: security (Kerberos, SASL-protected data transfer, encryption zones), replication (one
//! datanode; replication factors are recorded but every block has a single replica), snapshots, ACLs,
//! symlinks, erasure coding, `concat` and the datanode's `OP_BLOCK_CHECKSUM` (so `hdfs checksum` of the
//! Go client does not give HDFS's answer).

#![deny(missing_docs)]
#![forbid(unsafe_code)]

pub mod cli;
mod cluster;
mod datanode;
mod error;
mod ipc;
mod namenode;
mod namespace;
mod proto;

pub use cluster::{Config, MiniHdfs};
pub use error::Error;
