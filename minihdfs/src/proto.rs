//! Protobuf messages of the Hadoop wire protocols.
//!
//! The two files are the `prost-build` output for Hadoop's `.proto` files (RpcHeader, IpcConnectionContext,
//! ProtobufRpcEngine, ClientNamenodeProtocol, datatransfer and their imports) as shipped, pre-generated, in
//! the Apache-2.0 `hdfs-native` 0.14 crate. Checking in generated code keeps the build free of `protoc`.

/// `hadoop.common` package: IPC headers and SASL.
#[allow(clippy::all, dead_code, missing_docs, missing_debug_implementations, rust_2018_idioms)]
pub(crate) mod common {
    include!("proto/hadoop.common.rs");
}

/// `hadoop.hdfs` package: namenode RPC and data transfer messages.
#[allow(clippy::all, dead_code, missing_docs, missing_debug_implementations, rust_2018_idioms)]
pub(crate) mod hdfs {
    include!("proto/hadoop.hdfs.rs");
}
