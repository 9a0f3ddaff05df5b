//! The namenode: serves `ClientNamenodeProtocol` over Hadoop IPC, translating between protobuf messages
//! and the [`Namesystem`](crate::namespace::Namesystem).

use std::sync::Arc;

use prost::Message;
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;

use crate::cluster::Context;
use crate::error::NsError;
use crate::ipc;
use crate::namespace::{BlockLoc, CreateArgs, Status};
use crate::proto::common::{
    rpc_response_header_proto::RpcErrorCodeProto, rpc_sasl_proto::SaslState, IpcConnectionContextProto,
    RequestHeaderProto, RpcRequestHeaderProto, RpcSaslProto, TokenProto,
};
use crate::proto::hdfs as pb;

/// Why a call failed, as sent back in the RPC response header.
#[derive(Debug)]
struct Failure {
    class: &'static str,
    msg: String,
    code: RpcErrorCodeProto,
}

impl From<NsError> for Failure {
    fn from(e: NsError) -> Self {
        Failure { class: e.java_class(), msg: e.to_string(), code: RpcErrorCodeProto::ErrorApplication }
    }
}

impl From<prost::DecodeError> for Failure {
    fn from(e: prost::DecodeError) -> Self {
        Failure {
            class: "org.apache.hadoop.ipc.RpcServerException",
            msg: format!("cannot decode request: {e}"),
            code: RpcErrorCodeProto::ErrorRpcServer,
        }
    }
}

type CallResult = Result<Vec<u8>, Failure>;

/// Serves one client connection until it closes or sends garbage.
pub(crate) async fn serve(mut stream: TcpStream, ctx: Arc<Context>) {
    let peer = stream.peer_addr().ok();
    if let Err(e) = serve_inner(&mut stream, &ctx).await {
        tracing::debug!(?peer, "namenode connection closed: {e}");
    }
}

async fn serve_inner(stream: &mut TcpStream, ctx: &Context) -> std::io::Result<()> {
    let (mut reader, mut writer) = stream.split();
    let preamble = ipc::read_preamble(&mut reader).await?;
    let mut user = ctx.config.user.clone();
    while let Some(frame) = ipc::read_frame(&mut reader).await? {
        let mut rest = &frame[..];
        let header: RpcRequestHeaderProto = ipc::take_delimited(&mut rest).map_err(std::io::Error::other)?;
        match header.call_id {
            ipc::CONNECTION_CONTEXT_CALL_ID => {
                let context: IpcConnectionContextProto =
                    ipc::take_delimited(&mut rest).map_err(std::io::Error::other)?;
                if let Some(u) = context.user_info.and_then(|u| u.effective_user.or(u.real_user)) {
                    user = u;
                }
            }
            ipc::SASL_CALL_ID if preamble.auth_protocol == ipc::AUTH_SASL => {
                let msg: RpcSaslProto = ipc::take_delimited(&mut rest).map_err(std::io::Error::other)?;
                // Simple authentication: whatever the client proposes, the answer is SUCCESS.
                if msg.state == SaslState::Negotiate as i32 || msg.state == SaslState::Initiate as i32 {
                    let reply = RpcSaslProto { state: SaslState::Success as i32, ..Default::default() };
                    writer.write_all(&ipc::success_frame(&header, reply.encode_length_delimited_to_vec())).await?;
                }
            }
            id if id < 0 => {} // pings and other control messages need no answer
            _ => {
                let response = match ipc::take_delimited::<RequestHeaderProto>(&mut rest) {
                    Ok(method) => {
                        tracing::debug!(method = %method.method_name, call_id = header.call_id, "namenode call");
                        match dispatch(ctx, &method.method_name, rest, &user) {
                            Ok(body) => ipc::success_frame(&header, body),
                            Err(f) => {
                                tracing::debug!(method = %method.method_name, "call failed: {} {}", f.class, f.msg);
                                ipc::error_frame(&header, f.class, &f.msg, f.code, false)
                            }
                        }
                    }
                    Err(e) => {
                        let f = Failure::from(e);
                        ipc::error_frame(&header, f.class, &f.msg, f.code, false)
                    }
                };
                writer.write_all(&response).await?;
            }
        }
    }
    Ok(())
}

fn decode<M: Message + Default>(mut payload: &[u8]) -> Result<M, Failure> {
    Ok(ipc::take_delimited(&mut payload)?)
}

fn encode(m: impl Message) -> CallResult {
    Ok(m.encode_length_delimited_to_vec())
}

fn dispatch(ctx: &Context, method: &str, payload: &[u8], user: &str) -> CallResult {
    let ns = &ctx.ns;
    match method {
        "getServerDefaults" => encode(pb::GetServerDefaultsResponseProto { server_defaults: server_defaults(ctx) }),
        "getFileInfo" => {
            let req: pb::GetFileInfoRequestProto = decode(payload)?;
            let fs = ns.file_info(&req.src)?.map(|s| file_status(ctx, &s, false));
            encode(pb::GetFileInfoResponseProto { fs })
        }
        "getListing" => {
            let req: pb::GetListingRequestProto = decode(payload)?;
            let page = ns.list(&req.src, &req.start_after, ctx.config.listing_page_size)?;
            let dir_list = page.map(|(entries, remaining)| pb::DirectoryListingProto {
                partial_listing: entries.iter().map(|s| file_status(ctx, s, req.need_location)).collect(),
                remaining_entries: remaining,
            });
            encode(pb::GetListingResponseProto { dir_list })
        }
        "mkdirs" => {
            let req: pb::MkdirsRequestProto = decode(payload)?;
            ns.mkdirs(&req.src, req.masked.perm & 0o7777, req.create_parent, user)?;
            encode(pb::MkdirsResponseProto { result: true })
        }
        "create" => {
            let req: pb::CreateRequestProto = decode(payload)?;
            let block_size = if req.block_size == 0 { ctx.config.block_size } else { req.block_size };
            let (status, removed) = ns.create(&CreateArgs {
                path: &req.src,
                perm: req.masked.perm & 0o7777,
                overwrite: req.create_flag & pb::CreateFlagProto::Overwrite as u32 != 0,
                create_parent: req.create_parent,
                replication: req.replication,
                block_size,
                client: &req.client_name,
                user,
            })?;
            ctx.blocks.delete(&removed);
            encode(pb::CreateResponseProto { fs: Some(file_status(ctx, &status, false)) })
        }
        "append" => {
            let req: pb::AppendRequestProto = decode(payload)?;
            let (status, last) = ns.append(&req.src, &req.client_name)?;
            encode(pb::AppendResponseProto {
                block: last.map(|b| located_block(ctx, &b)),
                stat: Some(file_status(ctx, &status, false)),
            })
        }
        "addBlock" => {
            let req: pb::AddBlockRequestProto = decode(payload)?;
            let previous = req.previous.map(|b| (b.block_id, b.num_bytes.unwrap_or(0)));
            let block = ns.add_block(&req.src, req.file_id, previous)?;
            encode(pb::AddBlockResponseProto { block: located_block(ctx, &block) })
        }
        "complete" => {
            let req: pb::CompleteRequestProto = decode(payload)?;
            let last = req.last.map(|b| (b.block_id, b.num_bytes.unwrap_or(0)));
            let result = ns.complete(&req.src, req.file_id, last)?;
            encode(pb::CompleteResponseProto { result })
        }
        "updateBlockForPipeline" => {
            // The Go client calls this after each block to report its final length.
            let req: pb::UpdateBlockForPipelineRequestProto = decode(payload)?;
            let block = ns.update_block(req.block.block_id, req.block.num_bytes, None)?;
            encode(pb::UpdateBlockForPipelineResponseProto { block: located_block(ctx, &block) })
        }
        "updatePipeline" => {
            let req: pb::UpdatePipelineRequestProto = decode(payload)?;
            let b = &req.new_block;
            ns.update_block(b.block_id, b.num_bytes, Some(b.generation_stamp))?;
            encode(pb::UpdatePipelineResponseProto {})
        }
        "abandonBlock" => {
            let req: pb::AbandonBlockRequestProto = decode(payload)?;
            ns.abandon_block(&req.src, req.file_id, req.b.block_id)?;
            ctx.blocks.delete(&[req.b.block_id]);
            encode(pb::AbandonBlockResponseProto {})
        }
        "truncate" => {
            let req: pb::TruncateRequestProto = decode(payload)?;
            let crate::namespace::Truncation { cut, removed } = ns.truncate(&req.src, req.new_length)?;
            if let Some((id, len)) = cut {
                ctx.blocks.truncate(id, len).map_err(|e| Failure::from(NsError::Persist(e)))?;
            }
            ctx.blocks.delete(&removed);
            // The truncation is already complete, so no block recovery is pending.
            encode(pb::TruncateResponseProto { result: true })
        }
        "fsync" => {
            let req: pb::FsyncRequestProto = decode(payload)?;
            let len = req.last_block_length.and_then(|l| u64::try_from(l).ok());
            ns.fsync(&req.src, req.file_id, len)?;
            encode(pb::FsyncResponseProto {})
        }
        "renewLease" => encode(pb::RenewLeaseResponseProto {}),
        "recoverLease" => {
            let req: pb::RecoverLeaseRequestProto = decode(payload)?;
            let result = ns.recover_lease(&req.src)?;
            encode(pb::RecoverLeaseResponseProto { result })
        }
        "getBlockLocations" => {
            let req: pb::GetBlockLocationsRequestProto = decode(payload)?;
            let (len, blocks, _uc) = ns.block_locations(&req.src, req.offset, req.length)?;
            encode(pb::GetBlockLocationsResponseProto { locations: Some(located_blocks(ctx, len, &blocks)) })
        }
        "rename" => {
            let req: pb::RenameRequestProto = decode(payload)?;
            let result = ns.rename(&req.src, &req.dst)?;
            encode(pb::RenameResponseProto { result })
        }
        "rename2" => {
            let req: pb::Rename2RequestProto = decode(payload)?;
            let removed = ns.rename2(&req.src, &req.dst, req.overwrite_dest)?;
            ctx.blocks.delete(&removed);
            encode(pb::Rename2ResponseProto {})
        }
        "delete" => {
            let req: pb::DeleteRequestProto = decode(payload)?;
            let (result, removed) = ns.delete(&req.src, req.recursive)?;
            ctx.blocks.delete(&removed);
            encode(pb::DeleteResponseProto { result })
        }
        "setPermission" => {
            let req: pb::SetPermissionRequestProto = decode(payload)?;
            ns.set_permission(&req.src, req.permission.perm)?;
            encode(pb::SetPermissionResponseProto {})
        }
        "setOwner" => {
            let req: pb::SetOwnerRequestProto = decode(payload)?;
            ns.set_owner(&req.src, req.username, req.groupname)?;
            encode(pb::SetOwnerResponseProto {})
        }
        "setTimes" => {
            let req: pb::SetTimesRequestProto = decode(payload)?;
            ns.set_times(&req.src, req.mtime, req.atime)?;
            encode(pb::SetTimesResponseProto {})
        }
        "setReplication" => {
            let req: pb::SetReplicationRequestProto = decode(payload)?;
            let exists = ns.file_info(&req.src)?.is_some_and(|s| !s.is_dir);
            encode(pb::SetReplicationResponseProto { result: exists })
        }
        "getContentSummary" => {
            let req: pb::GetContentSummaryRequestProto = decode(payload)?;
            let s = ns.content_summary(&req.path)?;
            encode(pb::GetContentSummaryResponseProto {
                summary: pb::ContentSummaryProto {
                    length: s.length,
                    file_count: s.files,
                    directory_count: s.dirs,
                    quota: u64::MAX,
                    space_consumed: s.length,
                    space_quota: u64::MAX,
                    ..Default::default()
                },
            })
        }
        "getFsStats" => {
            let (used, _blocks) = ns.used();
            let capacity = ctx.config.capacity.max(used);
            encode(pb::GetFsStatsResponseProto {
                capacity,
                used,
                remaining: capacity - used,
                under_replicated: 0,
                corrupt_blocks: 0,
                missing_blocks: 0,
                ..Default::default()
            })
        }
        other => {
            tracing::warn!(method = other, "unsupported namenode method");
            Err(Failure {
                class: "org.apache.hadoop.ipc.RpcNoSuchMethodException",
                msg: format!(
                    "Unknown method {other} called on org.apache.hadoop.hdfs.protocol.ClientProtocol protocol."
                ),
                code: RpcErrorCodeProto::ErrorNoSuchMethod,
            })
        }
    }
}

fn server_defaults(ctx: &Context) -> pb::FsServerDefaultsProto {
    pb::FsServerDefaultsProto {
        block_size: ctx.config.block_size,
        bytes_per_checksum: crate::datanode::BYTES_PER_CHECKSUM,
        write_packet_size: 64 * 1024,
        replication: 1,
        file_buffer_size: 4096,
        encrypt_data_transfer: Some(false),
        trash_interval: Some(0),
        checksum_type: Some(pb::ChecksumTypeProto::ChecksumCrc32c as i32),
        ..Default::default()
    }
}

fn file_status(ctx: &Context, s: &Status, with_locations: bool) -> pb::HdfsFileStatusProto {
    use pb::hdfs_file_status_proto::FileType;
    pb::HdfsFileStatusProto {
        file_type: if s.is_dir { FileType::IsDir } else { FileType::IsFile } as i32,
        path: s.name.clone(),
        length: s.length,
        permission: pb::FsPermissionProto { perm: s.perm },
        owner: s.owner.clone(),
        group: s.group.clone(),
        modification_time: s.mtime,
        access_time: s.atime,
        block_replication: Some(s.replication),
        blocksize: Some(s.block_size),
        locations: (with_locations && !s.is_dir).then(|| located_blocks(ctx, s.length, &s.blocks)),
        file_id: Some(s.file_id),
        children_num: Some(if s.is_dir { s.children } else { -1 }),
        storage_policy: Some(0),
        ..Default::default()
    }
}

/// Readers see every byte written so far, so files are always reported complete; this spares clients the
/// datanode round trip HDFS needs to learn the visible length of a block under construction.
fn located_blocks(ctx: &Context, file_len: u64, blocks: &[BlockLoc]) -> pb::LocatedBlocksProto {
    let located: Vec<pb::LocatedBlockProto> = blocks.iter().map(|b| located_block(ctx, b)).collect();
    pb::LocatedBlocksProto {
        file_length: file_len,
        last_block: located.last().cloned(),
        blocks: located,
        under_construction: false,
        is_last_block_complete: true,
        ..Default::default()
    }
}

fn located_block(ctx: &Context, b: &BlockLoc) -> pb::LocatedBlockProto {
    pb::LocatedBlockProto {
        b: pb::ExtendedBlockProto {
            pool_id: crate::datanode::BLOCK_POOL_ID.to_string(),
            block_id: b.id,
            generation_stamp: b.gen,
            num_bytes: Some(b.len),
        },
        offset: b.offset,
        locs: vec![ctx.datanode_info()],
        corrupt: false,
        block_token: TokenProto::default(),
        is_cached: vec![false],
        storage_types: vec![pb::StorageTypeProto::Disk as i32],
        storage_i_ds: vec![crate::datanode::STORAGE_ID.to_string()],
        ..Default::default()
    }
}

#[cfg(test)]
mod tests {
    use std::io::{Read, Write};
    use std::net::TcpStream;
    use std::time::Duration;

    use prost::Message;

    use crate::proto::common::{
        rpc_response_header_proto::RpcStatusProto, IpcConnectionContextProto, RequestHeaderProto,
        RpcRequestHeaderProto, RpcResponseHeaderProto, UserInformationProto,
    };
    use crate::proto::hdfs as pb;
    use crate::{Config, MiniHdfs};

    fn frame(parts: &[Vec<u8>]) -> Vec<u8> {
        let body: Vec<u8> = parts.concat();
        let mut out = (body.len() as u32).to_be_bytes().to_vec();
        out.extend_from_slice(&body);
        out
    }

    fn call(
        stream: &mut TcpStream,
        call_id: i32,
        method: &str,
        param: &impl Message,
    ) -> (RpcResponseHeaderProto, Vec<u8>) {
        let header = RpcRequestHeaderProto { call_id, client_id: vec![7; 16], ..Default::default() };
        let method = RequestHeaderProto {
            method_name: method.into(),
            declaring_class_protocol_name: "org.apache.hadoop.hdfs.protocol.ClientProtocol".into(),
            client_protocol_version: 1,
        };
        stream
            .write_all(&frame(&[
                header.encode_length_delimited_to_vec(),
                method.encode_length_delimited_to_vec(),
                param.encode_length_delimited_to_vec(),
            ]))
            .unwrap();
        let mut len = [0u8; 4];
        stream.read_exact(&mut len).unwrap();
        let mut buf = vec![0u8; u32::from_be_bytes(len) as usize];
        stream.read_exact(&mut buf).unwrap();
        let mut rest = &buf[..];
        let header = RpcResponseHeaderProto::decode_length_delimited(&mut rest).unwrap();
        (header, rest.to_vec())
    }

    fn connect(hdfs: &MiniHdfs) -> TcpStream {
        let mut s = TcpStream::connect(hdfs.namenode_addr()).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        s.write_all(b"hrpc\x09\x00\x00").unwrap();
        let header = RpcRequestHeaderProto { call_id: -3, client_id: vec![7; 16], ..Default::default() };
        let context = IpcConnectionContextProto {
            user_info: Some(UserInformationProto { effective_user: Some("raw".into()), real_user: None }),
            protocol: Some("org.apache.hadoop.hdfs.protocol.ClientProtocol".into()),
        };
        s.write_all(&frame(&[header.encode_length_delimited_to_vec(), context.encode_length_delimited_to_vec()]))
            .unwrap();
        s
    }

    #[test]
    fn unknown_method_gets_an_error_response_and_the_connection_stays_usable() {
        let dir = tempfile::tempdir().unwrap();
        let hdfs = MiniHdfs::start(Config::new(dir.path())).unwrap();
        let mut s = connect(&hdfs);
        let (header, body) = call(&mut s, 0, "noSuchMethod", &pb::GetServerDefaultsRequestProto {});
        assert_eq!(header.status, RpcStatusProto::Error as i32);
        assert_eq!(header.call_id, 0);
        assert_eq!(header.exception_class_name.as_deref(), Some("org.apache.hadoop.ipc.RpcNoSuchMethodException"));
        assert!(body.is_empty());

        let mkdirs = pb::MkdirsRequestProto {
            src: "/raw".into(),
            masked: pb::FsPermissionProto { perm: 0o755 },
            create_parent: true,
            unmasked: None,
        };
        let (header, body) = call(&mut s, 1, "mkdirs", &mkdirs);
        assert_eq!(header.status, RpcStatusProto::Success as i32);
        assert!(pb::MkdirsResponseProto::decode_length_delimited(&body[..]).unwrap().result);

        let (header, body) = call(&mut s, 2, "getFileInfo", &pb::GetFileInfoRequestProto { src: "/raw".into() });
        assert_eq!(header.status, RpcStatusProto::Success as i32);
        let fs = pb::GetFileInfoResponseProto::decode_length_delimited(&body[..]).unwrap().fs.unwrap();
        assert_eq!(fs.owner, "raw");

        let (header, _) = call(&mut s, 3, "getFileInfo", &pb::GetFileInfoRequestProto { src: "relative".into() });
        assert_eq!(header.exception_class_name.as_deref(), Some("org.apache.hadoop.fs.InvalidPathException"));
    }

    #[test]
    fn garbage_connections_do_not_disturb_the_server() {
        let dir = tempfile::tempdir().unwrap();
        let hdfs = MiniHdfs::start(Config::new(dir.path())).unwrap();
        for junk in [
            &b"GET / HTTP/1.1\r\n\r\n"[..],
            b"hrpc\x09\x00\x00\xff\xff\xff\xff",
            b"hrpc\x09\x00\x00\x00\x00\x00\x03\xff\xff\xff",
        ] {
            let mut s = TcpStream::connect(hdfs.namenode_addr()).unwrap();
            s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
            s.write_all(junk).unwrap();
            let _ = s.shutdown(std::net::Shutdown::Write);
            let mut sink = Vec::new();
            let _ = s.read_to_end(&mut sink);
        }
        let mut d = TcpStream::connect(hdfs.datanode_addr()).unwrap();
        d.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        d.write_all(&[0, 28, 81, 0x7f]).unwrap();
        let _ = d.shutdown(std::net::Shutdown::Write);
        let _ = d.read_to_end(&mut Vec::new());

        let mut s = connect(&hdfs);
        let (header, _) = call(&mut s, 0, "getServerDefaults", &pb::GetServerDefaultsRequestProto {});
        assert_eq!(header.status, RpcStatusProto::Success as i32);
    }
}
