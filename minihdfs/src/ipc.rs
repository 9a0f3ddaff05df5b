//! Hadoop IPC framing: the `hrpc` connection preamble, 4-byte length-prefixed frames holding
//! varint-delimited protobufs, and response frames.

use std::io;

use prost::Message;
use tokio::io::{AsyncRead, AsyncReadExt};

use crate::proto::common::{
    rpc_response_header_proto::{RpcErrorCodeProto, RpcStatusProto},
    RpcRequestHeaderProto, RpcResponseHeaderProto,
};

/// IPC version spoken by Hadoop 2.x and 3.x.
const IPC_VERSION: u8 = 9;
/// Upper bound on one request frame (HDFS's default `ipc.maximum.data.length`).
const MAX_FRAME_LEN: usize = 128 << 20;
/// `authProtocol` byte announcing SASL.
pub(crate) const AUTH_SASL: u8 = 0xDF;
/// Call id of the connection context message.
pub(crate) const CONNECTION_CONTEXT_CALL_ID: i32 = -3;
/// Call id of SASL messages.
pub(crate) const SASL_CALL_ID: i32 = -33;

/// The 7-byte preamble a client sends first.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Preamble {
    pub auth_protocol: u8,
}

fn invalid(msg: impl Into<String>) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, msg.into())
}

/// Reads and checks `"hrpc"`, version, service class and auth protocol.
pub(crate) async fn read_preamble<R: AsyncRead + Unpin>(r: &mut R) -> io::Result<Preamble> {
    let mut buf = [0u8; 7];
    r.read_exact(&mut buf).await?;
    if &buf[..4] != b"hrpc" {
        return Err(invalid("connection does not start with hrpc"));
    }
    if buf[4] != IPC_VERSION {
        return Err(invalid(format!("unsupported IPC version {}", buf[4])));
    }
    Ok(Preamble { auth_protocol: buf[6] })
}

/// Reads one length-prefixed frame; `None` on a clean end of stream between frames.
pub(crate) async fn read_frame<R: AsyncRead + Unpin>(r: &mut R) -> io::Result<Option<Vec<u8>>> {
    let mut len = [0u8; 4];
    match r.read_exact(&mut len).await {
        Ok(_) => {}
        Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => return Ok(None),
        Err(e) => return Err(e),
    }
    let len = u32::from_be_bytes(len) as usize;
    if len > MAX_FRAME_LEN {
        return Err(invalid(format!("RPC frame of {len} bytes is too large")));
    }
    let mut frame = vec![0u8; len];
    r.read_exact(&mut frame).await?;
    Ok(Some(frame))
}

/// Decodes one varint-delimited message from the front of `buf`, advancing it.
pub(crate) fn take_delimited<M: Message + Default>(buf: &mut &[u8]) -> Result<M, prost::DecodeError> {
    M::decode_length_delimited(buf)
}

fn frame(parts: &[Vec<u8>]) -> Vec<u8> {
    let len: usize = parts.iter().map(Vec::len).sum();
    let mut out = Vec::with_capacity(len + 4);
    out.extend_from_slice(&(len as u32).to_be_bytes());
    parts.iter().for_each(|p| out.extend_from_slice(p));
    out
}

fn response_header(req: &RpcRequestHeaderProto, status: RpcStatusProto) -> RpcResponseHeaderProto {
    RpcResponseHeaderProto {
        call_id: req.call_id as u32,
        status: status as i32,
        server_ipc_version_num: Some(u32::from(IPC_VERSION)),
        client_id: Some(req.client_id.clone()),
        retry_count: Some(req.retry_count.unwrap_or(-1)),
        ..Default::default()
    }
}

/// A successful response carrying the already delimited-encoded `body`.
pub(crate) fn success_frame(req: &RpcRequestHeaderProto, body: Vec<u8>) -> Vec<u8> {
    let header = response_header(req, RpcStatusProto::Success).encode_length_delimited_to_vec();
    frame(&[header, body])
}

/// An error response: the header only, naming the Java exception class.
pub(crate) fn error_frame(
    req: &RpcRequestHeaderProto,
    class: &str,
    msg: &str,
    code: RpcErrorCodeProto,
    fatal: bool,
) -> Vec<u8> {
    let status = if fatal { RpcStatusProto::Fatal } else { RpcStatusProto::Error };
    let mut header = response_header(req, status);
    header.exception_class_name = Some(class.to_string());
    header.error_msg = Some(msg.to_string());
    header.error_detail = Some(code as i32);
    frame(&[header.encode_length_delimited_to_vec()])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proto::common::RequestHeaderProto;

    #[tokio::test]
    async fn frames_round_trip() {
        let req = RpcRequestHeaderProto { call_id: 7, client_id: vec![1; 16], ..Default::default() };
        let method = RequestHeaderProto {
            method_name: "getFileInfo".into(),
            declaring_class_protocol_name: "x".into(),
            client_protocol_version: 1,
        };
        let bytes = frame(&[req.encode_length_delimited_to_vec(), method.encode_length_delimited_to_vec()]);
        let got = read_frame(&mut &bytes[..]).await.unwrap().unwrap();
        let mut rest = &got[..];
        let h: RpcRequestHeaderProto = take_delimited(&mut rest).unwrap();
        let m: RequestHeaderProto = take_delimited(&mut rest).unwrap();
        assert_eq!(h.call_id, 7);
        assert_eq!(m.method_name, "getFileInfo");
        assert!(rest.is_empty());
        assert!(read_frame(&mut &[][..]).await.unwrap().is_none());
    }

    #[tokio::test]
    async fn oversized_frame_is_rejected() {
        let bytes = u32::MAX.to_be_bytes();
        assert!(read_frame(&mut &bytes[..]).await.is_err());
    }
}
