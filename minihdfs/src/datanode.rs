//! The datanode: serves `DataTransferProtocol` (`OP_READ_BLOCK`, `OP_WRITE_BLOCK`) and stores each block
//! as a plain file `blk_<id>` in the block directory. Checksums are verified on write and recomputed on
//! read, so no `.meta` files are kept.

use std::fs::{File, OpenOptions};
use std::io;
use std::os::unix::fs::FileExt;
use std::path::PathBuf;
use std::sync::Arc;

use prost::Message;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt, BufReader, BufWriter};
use tokio::net::TcpStream;

use crate::cluster::Context;
use crate::proto::hdfs::{
    op_write_block_proto::BlockConstructionStage, BlockOpResponseProto, ChecksumProto, ChecksumTypeProto,
    ClientReadStatusProto, OpReadBlockProto, OpWriteBlockProto, PacketHeaderProto, PipelineAckProto,
    ReadOpChecksumInfoProto, Status,
};

/// Bytes covered by one checksum.
pub(crate) const BYTES_PER_CHECKSUM: u32 = 512;
/// The block pool of the single namespace.
pub(crate) const BLOCK_POOL_ID: &str = "BP-minihdfs-127.0.0.1";
/// The id of the datanode's only storage.
pub(crate) const STORAGE_ID: &str = "DS-minihdfs-1";
const DATA_TRANSFER_VERSION: u16 = 28;
const OP_WRITE_BLOCK: u8 = 80;
const OP_READ_BLOCK: u8 = 81;
const HEARTBEAT_SEQNO: i64 = -1;
/// Data bytes per packet sent to readers (HDFS's default 64 KiB packets).
const READ_PACKET_DATA: usize = 64 * 1024;
/// Bound on one delimited op message.
const MAX_MESSAGE_LEN: u64 = 1 << 20;
/// Bound on one packet received from a writer.
const MAX_PACKET_LEN: usize = 16 << 20;

/// File name of a block in the block directory.
pub(crate) fn block_file_name(id: u64) -> String {
    format!("blk_{id}")
}

/// Where block files live.
#[derive(Debug)]
pub(crate) struct BlockStore {
    dir: PathBuf,
}

impl BlockStore {
    pub(crate) fn new(dir: PathBuf) -> BlockStore {
        BlockStore { dir }
    }

    fn path(&self, id: u64) -> PathBuf {
        self.dir.join(block_file_name(id))
    }

    /// Cuts a block file to `len` bytes.
    pub(crate) fn truncate(&self, id: u64, len: u64) -> io::Result<()> {
        OpenOptions::new().write(true).open(self.path(id))?.set_len(len)
    }

    /// Removes the files of deleted blocks; a missing file is not an error.
    pub(crate) fn delete(&self, ids: &[u64]) {
        for id in ids {
            if let Err(e) = std::fs::remove_file(self.path(*id)) {
                if e.kind() != io::ErrorKind::NotFound {
                    tracing::warn!(block = id, "cannot delete block file: {e}");
                }
            }
        }
    }
}

fn invalid(msg: impl Into<String>) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, msg.into())
}

/// Reads a varint-delimited message; `None` at a clean end of stream.
async fn read_delimited<M: Message + Default, R: AsyncRead + Unpin>(r: &mut R) -> io::Result<Option<M>> {
    let mut len: u64 = 0;
    for i in 0..10 {
        let byte = match r.read_u8().await {
            Ok(b) => b,
            Err(e) if i == 0 && e.kind() == io::ErrorKind::UnexpectedEof => return Ok(None),
            Err(e) => return Err(e),
        };
        len |= u64::from(byte & 0x7f) << (7 * i);
        if byte & 0x80 == 0 {
            if len > MAX_MESSAGE_LEN {
                return Err(invalid(format!("message of {len} bytes is too large")));
            }
            let mut buf = vec![0u8; len as usize];
            r.read_exact(&mut buf).await?;
            return M::decode(&buf[..]).map(Some).map_err(|e| invalid(e.to_string()));
        }
    }
    Err(invalid("malformed varint"))
}

/// Checksum of one chunk with the given algorithm.
fn chunk_checksum(kind: ChecksumTypeProto, chunk: &[u8]) -> u32 {
    match kind {
        ChecksumTypeProto::ChecksumCrc32c => crc32c::crc32c(chunk),
        ChecksumTypeProto::ChecksumCrc32 => crc32fast::hash(chunk),
        ChecksumTypeProto::ChecksumNull => 0,
    }
}

/// Serves one connection: a sequence of ops, as clients reuse connections after a finished read.
pub(crate) async fn serve(stream: TcpStream, ctx: Arc<Context>) {
    let (r, w) = stream.into_split();
    let mut conn = Conn { r: BufReader::new(r), w: BufWriter::new(w), ctx };
    if let Err(e) = conn.run().await {
        tracing::debug!("datanode connection closed: {e}");
    }
}

struct Conn {
    r: BufReader<tokio::net::tcp::OwnedReadHalf>,
    w: BufWriter<tokio::net::tcp::OwnedWriteHalf>,
    ctx: Arc<Context>,
}

impl Conn {
    async fn run(&mut self) -> io::Result<()> {
        loop {
            let mut version = [0u8; 2];
            match self.r.read_exact(&mut version).await {
                Ok(_) => {}
                Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => return Ok(()),
                Err(e) => return Err(e),
            }
            let version = u16::from_be_bytes(version);
            if version != DATA_TRANSFER_VERSION {
                return Err(invalid(format!("unsupported data transfer version {version}")));
            }
            let op = self.r.read_u8().await?;
            tracing::debug!(op, "datanode op");
            match op {
                OP_READ_BLOCK => {
                    let req = read_delimited::<OpReadBlockProto, _>(&mut self.r)
                        .await?
                        .ok_or_else(|| invalid("missing read request"))?;
                    if !self.read_block(req).await? {
                        return Ok(());
                    }
                }
                OP_WRITE_BLOCK => {
                    let req = read_delimited::<OpWriteBlockProto, _>(&mut self.r)
                        .await?
                        .ok_or_else(|| invalid("missing write request"))?;
                    if !self.write_block(req).await? {
                        return Ok(());
                    }
                }
                other => {
                    tracing::warn!(op = other, "unsupported data transfer op");
                    self.respond(Status::ErrorUnsupported, Some(format!("unsupported op {other}")), None).await?;
                    return Ok(());
                }
            }
        }
    }

    async fn respond(
        &mut self,
        status: Status,
        message: Option<String>,
        checksum: Option<ReadOpChecksumInfoProto>,
    ) -> io::Result<()> {
        let resp = BlockOpResponseProto {
            status: status as i32,
            first_bad_link: Some(String::new()),
            read_op_checksum_info: checksum,
            message,
            ..Default::default()
        };
        self.w.write_all(&resp.encode_length_delimited_to_vec()).await?;
        self.w.flush().await
    }

    async fn write_packet(&mut self, header: &PacketHeaderProto, sums: &[u8], data: &[u8]) -> io::Result<()> {
        let header = header.encode_to_vec();
        self.w.write_all(&((4 + sums.len() + data.len()) as u32).to_be_bytes()).await?;
        self.w.write_all(&(header.len() as u16).to_be_bytes()).await?;
        self.w.write_all(&header).await?;
        self.w.write_all(sums).await?;
        self.w.write_all(data).await
    }

    /// Streams `[offset, offset + len)` of a block; returns whether the connection may be reused.
    async fn read_block(&mut self, req: OpReadBlockProto) -> io::Result<bool> {
        let id = req.header.base_header.block.block_id;
        let file = match self.ctx.ns.block_gen(id).and_then(|_| File::open(self.ctx.blocks.path(id)).ok()) {
            Some(f) => f,
            None => {
                self.respond(Status::Error, Some(format!("block {id} not found")), None).await?;
                return Ok(false);
            }
        };
        let block_len = file.metadata()?.len();
        if req.offset > block_len {
            let msg = format!("offset {} is beyond the {block_len} bytes of block {id}", req.offset);
            self.respond(Status::ErrorInvalid, Some(msg), None).await?;
            return Ok(false);
        }
        let end = req.offset.saturating_add(req.len).min(block_len);
        let bpc = u64::from(BYTES_PER_CHECKSUM);
        let start = req.offset - req.offset % bpc;
        let kind = if req.send_checksums.unwrap_or(true) {
            ChecksumTypeProto::ChecksumCrc32c
        } else {
            ChecksumTypeProto::ChecksumNull
        };
        let info = ReadOpChecksumInfoProto {
            checksum: ChecksumProto { r#type: kind as i32, bytes_per_checksum: BYTES_PER_CHECKSUM },
            chunk_offset: start,
        };
        self.respond(Status::Success, None, Some(info)).await?;
        let mut pos = start;
        let mut seqno = 0;
        let mut data = vec![0u8; READ_PACKET_DATA];
        while pos < end {
            let n = (end - pos).min(READ_PACKET_DATA as u64) as usize;
            file.read_exact_at(&mut data[..n], pos)?;
            let sums: Vec<u8> = if kind == ChecksumTypeProto::ChecksumNull {
                Vec::new()
            } else {
                data[..n]
                    .chunks(BYTES_PER_CHECKSUM as usize)
                    .flat_map(|c| chunk_checksum(kind, c).to_be_bytes())
                    .collect()
            };
            let header = PacketHeaderProto {
                offset_in_block: pos as i64,
                seqno,
                last_packet_in_block: false,
                data_len: n as i32,
                sync_block: Some(false),
            };
            self.write_packet(&header, &sums, &data[..n]).await?;
            pos += n as u64;
            seqno += 1;
        }
        let last = PacketHeaderProto {
            offset_in_block: end as i64,
            seqno,
            last_packet_in_block: true,
            data_len: 0,
            sync_block: Some(false),
        };
        self.write_packet(&last, &[], &[]).await?;
        self.w.flush().await?;
        // A client that read everything answers with its checksum verdict and may reuse the connection.
        Ok(read_delimited::<ClientReadStatusProto, _>(&mut self.r).await.ok().flatten().is_some())
    }

    /// Receives the packets of a block; returns whether the connection may be reused.
    async fn write_block(&mut self, req: OpWriteBlockProto) -> io::Result<bool> {
        let id = req.header.base_header.block.block_id;
        if self.ctx.ns.block_gen(id).is_none() {
            self.respond(Status::Error, Some(format!("block {id} is not allocated")), None).await?;
            return Ok(false);
        }
        let create = req.stage == BlockConstructionStage::PipelineSetupCreate as i32;
        let file = OpenOptions::new().create(true).write(true).truncate(create).open(self.ctx.blocks.path(id))?;
        let kind =
            ChecksumTypeProto::try_from(req.requested_checksum.r#type).unwrap_or(ChecksumTypeProto::ChecksumCrc32c);
        let bpc = req.requested_checksum.bytes_per_checksum.max(1) as usize;
        let mut len = file.metadata()?.len();
        self.respond(Status::Success, None, None).await?;
        loop {
            let payload_len = self.r.read_u32().await? as usize;
            let header_len = self.r.read_u16().await? as usize;
            if !(4..=MAX_PACKET_LEN).contains(&payload_len) {
                return Err(invalid(format!("bad packet length {payload_len}")));
            }
            let mut buf = vec![0u8; header_len + payload_len - 4];
            self.r.read_exact(&mut buf).await?;
            let header = PacketHeaderProto::decode(&buf[..header_len]).map_err(|e| invalid(e.to_string()))?;
            let body = &buf[header_len..];
            let data_len = usize::try_from(header.data_len).map_err(|_| invalid("negative data length"))?;
            if data_len > body.len() || header.offset_in_block < 0 {
                return Err(invalid("packet header does not match its payload"));
            }
            let (sums, data) = body.split_at(body.len() - data_len);
            if header.seqno == HEARTBEAT_SEQNO && data_len == 0 {
                self.ack(header.seqno, Status::Success).await?;
                continue;
            }
            let offset = header.offset_in_block as u64;
            if !checksums_match(kind, bpc, offset, sums, data) {
                tracing::warn!(block = id, offset, "checksum mismatch in received packet");
                self.ack(header.seqno, Status::ErrorChecksum).await?;
                return Ok(false);
            }
            if !data.is_empty() {
                file.write_all_at(data, offset)?;
                len = len.max(offset + data.len() as u64);
            }
            let last = header.last_packet_in_block;
            if last || header.sync_block == Some(true) {
                file.sync_data()?;
            }
            if let Err(e) = self.ctx.ns.block_received(id, len, last) {
                tracing::warn!(block = id, "block write rejected: {e}");
                self.ack(header.seqno, Status::Error).await?;
                return Ok(false);
            }
            self.ack(header.seqno, Status::Success).await?;
            if last {
                return Ok(true);
            }
        }
    }

    async fn ack(&mut self, seqno: i64, status: Status) -> io::Result<()> {
        let ack = PipelineAckProto {
            seqno,
            reply: vec![status as i32],
            downstream_ack_time_nanos: Some(0),
            flag: vec![status as u32],
        };
        self.w.write_all(&ack.encode_length_delimited_to_vec()).await?;
        self.w.flush().await
    }
}

/// Checks the packet's checksums; chunks follow block-aligned boundaries, so the first chunk of a packet
/// starting mid-chunk (appends) is short.
fn checksums_match(kind: ChecksumTypeProto, bpc: usize, offset: u64, sums: &[u8], data: &[u8]) -> bool {
    if kind == ChecksumTypeProto::ChecksumNull || data.is_empty() {
        return true;
    }
    let mut rest = data;
    let mut sums = sums.chunks_exact(4);
    let mut first = bpc - (offset % bpc as u64) as usize;
    while !rest.is_empty() {
        let n = first.min(rest.len());
        first = bpc;
        let (chunk, tail) = rest.split_at(n);
        rest = tail;
        match sums.next() {
            Some(s) if u32::from_be_bytes([s[0], s[1], s[2], s[3]]) == chunk_checksum(kind, chunk) => {}
            _ => return false,
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sums(kind: ChecksumTypeProto, chunks: &[&[u8]]) -> Vec<u8> {
        chunks.iter().flat_map(|c| chunk_checksum(kind, c).to_be_bytes()).collect()
    }

    #[test]
    fn checksums_follow_chunk_boundaries() {
        let data = vec![7u8; 1000];
        let kind = ChecksumTypeProto::ChecksumCrc32c;
        assert!(checksums_match(kind, 512, 0, &sums(kind, &[&data[..512], &data[512..]]), &data));
        // A packet starting at offset 100 first completes the chunk [100, 512).
        assert!(checksums_match(kind, 512, 100, &sums(kind, &[&data[..412], &data[412..924], &data[924..]]), &data));
        assert!(!checksums_match(kind, 512, 0, &sums(kind, &[&data[..512]]), &data));
        let crc32 = ChecksumTypeProto::ChecksumCrc32;
        assert!(checksums_match(crc32, 512, 0, &sums(crc32, &[&data[..512], &data[512..]]), &data));
    }

    #[tokio::test]
    async fn delimited_reader_handles_eof_and_garbage() {
        let mut empty: &[u8] = &[];
        assert!(read_delimited::<PipelineAckProto, _>(&mut empty).await.unwrap().is_none());
        let mut garbage: &[u8] = &[0xff; 12];
        assert!(read_delimited::<PipelineAckProto, _>(&mut garbage).await.is_err());
    }
}
