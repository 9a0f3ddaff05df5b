//! The checkpoint file envelope: a magic line, a format version, the payload's length and
//! CRC-32, then the payload: a sequence of length-prefixed frames.

use super::CheckpointError;

const MAGIC: &[u8; 8] = b"SLUICECK";
/// 2 since keyed states are written in columns and windows without an inverse keep DABA Lite
/// queues (version 1 files are refused with [`Damage::Version`]).
const VERSION: u32 = 2;
const HEADER: usize = 8 + 4 + 8 + 4;

/// Why a sequence of frames cannot be read back.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum FrameError {
    /// The bytes end inside a count or a length.
    #[error("truncated frame header")]
    TruncatedHeader,
    /// A frame's length runs past the end of the bytes.
    #[error("a frame of {0} bytes runs past the end")]
    PastEnd(usize),
}

/// What is wrong with a checkpoint file.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Damage {
    /// The file does not start with Sluice's magic bytes.
    #[error("not a Sluice checkpoint (bad magic or too short)")]
    BadMagic,
    /// The file was written in another format version.
    #[error(
        "format version {found}, written by another Sluice release; this build reads format {VERSION} only. \
         Finish the job with the release that wrote it, or start with a fresh checkpoint directory"
    )]
    Version {
        /// The file's version.
        found: u32,
    },
    /// The payload is shorter or longer than the header says.
    #[error("truncated: {found} of {expected} payload bytes")]
    Truncated {
        /// Payload bytes present.
        found: usize,
        /// Payload bytes the header announces.
        expected: usize,
    },
    /// The payload's CRC-32 differs from the header's.
    #[error("checksum mismatch")]
    ChecksumMismatch,
    /// The payload's frames are damaged.
    #[error(transparent)]
    Frames(#[from] FrameError),
    /// The payload has no frame.
    #[error("no metadata frame")]
    NoMetadata,
    /// The metadata frame is not the JSON a checkpoint holds.
    #[error("metadata: {0}")]
    Metadata(#[source] serde_json::Error),
}

/// Frames `parts` into one payload: a count, then each part's length and bytes.
pub(crate) fn encode_frames(parts: &[Vec<u8>]) -> Vec<u8> {
    let total: usize = parts.iter().map(|p| p.len() + 8).sum::<usize>() + 4;
    let mut out = Vec::with_capacity(total);
    out.extend_from_slice(&(parts.len() as u32).to_le_bytes());
    for p in parts {
        out.extend_from_slice(&(p.len() as u64).to_le_bytes());
        out.extend_from_slice(p);
    }
    out
}

/// The frames of a payload made by [`encode_frames`].
pub(crate) fn decode_frames(mut bytes: &[u8]) -> Result<Vec<&[u8]>, FrameError> {
    let count = take_u32(&mut bytes)? as usize;
    let mut parts = Vec::with_capacity(count.min(1 << 16));
    for _ in 0..count {
        let len = take_u64(&mut bytes)? as usize;
        if bytes.len() < len {
            return Err(FrameError::PastEnd(len));
        }
        let (part, rest) = bytes.split_at(len);
        parts.push(part);
        bytes = rest;
    }
    Ok(parts)
}

fn take_u32(bytes: &mut &[u8]) -> Result<u32, FrameError> {
    let (head, rest) = bytes.split_first_chunk::<4>().ok_or(FrameError::TruncatedHeader)?;
    *bytes = rest;
    Ok(u32::from_le_bytes(*head))
}

fn take_u64(bytes: &mut &[u8]) -> Result<u64, FrameError> {
    let (head, rest) = bytes.split_first_chunk::<8>().ok_or(FrameError::TruncatedHeader)?;
    *bytes = rest;
    Ok(u64::from_le_bytes(*head))
}

/// A whole checkpoint file around `payload`.
#[cfg(test)]
pub(crate) fn seal(payload: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(HEADER + payload.len());
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&VERSION.to_le_bytes());
    out.extend_from_slice(&(payload.len() as u64).to_le_bytes());
    out.extend_from_slice(&crc32fast::hash(payload).to_le_bytes());
    out.extend_from_slice(payload);
    out
}

/// The bytes of one frame, kept in pieces until the file is assembled: plain bytes, or
/// frames whose encoding ([`encode_frames`]) is the frame's bytes. A state saved as nested
/// pieces (one per partition) is copied once, into the file, not first into one buffer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Framed {
    /// The frame's bytes.
    Bytes(Vec<u8>),
    /// Frames encoded as [`encode_frames`] encodes them.
    Nested(Vec<Framed>),
}

impl Framed {
    /// The frame's length in bytes.
    pub(crate) fn len(&self) -> usize {
        match self {
            Framed::Bytes(b) => b.len(),
            Framed::Nested(parts) => parts.iter().map(|p| p.len() + 8).sum::<usize>() + 4,
        }
    }

    /// Moves the frame's bytes into `out`, in order: small ones copied into the piece being
    /// filled, large ones moved in as pieces of their own (no copy).
    fn into_pieces(self, out: &mut Pieces) {
        match self {
            Framed::Bytes(b) => out.push(b),
            Framed::Nested(parts) => {
                out.small(&(parts.len() as u32).to_le_bytes());
                for p in parts {
                    out.small(&(p.len() as u64).to_le_bytes());
                    p.into_pieces(out);
                }
            }
        }
    }

    /// The frame's bytes in one buffer.
    #[cfg(test)]
    pub(crate) fn to_vec(&self) -> Vec<u8> {
        let mut out = Pieces::default();
        self.clone().into_pieces(&mut out);
        out.finish().concat()
    }
}

/// Pieces smaller than this are copied into one buffer with their neighbours; larger ones are
/// kept as they are.
const SMALL_PIECE: usize = 64 << 10;

/// The bytes of a file as a list of buffers, built from [`Framed`] frames.
#[derive(Default)]
struct Pieces {
    done: Vec<Vec<u8>>,
    /// Small bytes gathered since the last large piece.
    filling: Vec<u8>,
}

impl Pieces {
    fn small(&mut self, bytes: &[u8]) {
        self.filling.extend_from_slice(bytes);
    }

    fn push(&mut self, bytes: Vec<u8>) {
        if bytes.len() < SMALL_PIECE {
            self.small(&bytes);
        } else {
            self.cut();
            self.done.push(bytes);
        }
    }

    fn cut(&mut self) {
        if !self.filling.is_empty() {
            self.done.push(std::mem::take(&mut self.filling));
        }
    }

    fn finish(mut self) -> Vec<Vec<u8>> {
        self.cut();
        self.done
    }
}

/// A whole checkpoint file, kept in the pieces its states were encoded in: writing it
/// ([`pieces`](Self::pieces) one after another) copies each byte once, into the file, with no
/// buffer holding the whole file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SealedFile {
    /// The header, then the payload's pieces.
    pieces: Vec<Vec<u8>>,
}

impl SealedFile {
    /// The file's length in bytes.
    pub(crate) fn len(&self) -> usize {
        self.pieces.iter().map(Vec::len).sum()
    }

    /// The file's bytes, piece by piece, in order.
    pub(crate) fn pieces(&self) -> Vec<&[u8]> {
        self.pieces.iter().map(Vec::as_slice).collect()
    }

    /// The file's bytes in one buffer (a copy).
    pub(crate) fn to_vec(&self) -> Vec<u8> {
        self.pieces.concat()
    }

    /// A file already whole in one buffer.
    #[cfg(test)]
    pub(crate) fn whole(file: Vec<u8>) -> SealedFile {
        SealedFile { pieces: vec![file] }
    }
}

/// A whole checkpoint file whose payload is `parts` framed (as [`encode_frames`] would),
/// without copying the large parts: the payload's CRC-32 is computed piece by piece in
/// parallel and the pieces' checksums combined.
pub(crate) fn seal_frames(parts: Vec<Framed>) -> SealedFile {
    use rayon::prelude::*;
    let mut pieces = Pieces::default();
    Framed::Nested(parts).into_pieces(&mut pieces);
    let mut payload = pieces.finish();
    let crc = payload
        .par_iter()
        .map(|p| {
            let mut h = crc32fast::Hasher::new();
            h.update(p);
            h
        })
        .collect::<Vec<_>>()
        .into_iter()
        .fold(crc32fast::Hasher::new(), |mut all, h| {
            all.combine(&h);
            all
        })
        .finalize();
    let len: usize = payload.iter().map(Vec::len).sum();
    let mut header = Vec::with_capacity(HEADER);
    header.extend_from_slice(MAGIC);
    header.extend_from_slice(&VERSION.to_le_bytes());
    header.extend_from_slice(&(len as u64).to_le_bytes());
    header.extend_from_slice(&crc.to_le_bytes());
    payload.insert(0, header);
    SealedFile { pieces: payload }
}

/// The payload of checkpoint file `path`, checked: magic, version, length and checksum.
pub(crate) fn open<'b>(path: &str, bytes: &'b [u8]) -> Result<&'b [u8], CheckpointError> {
    let corrupt = |why: Damage| CheckpointError::Corrupt { path: path.to_string(), why };
    if bytes.len() < HEADER || &bytes[..8] != MAGIC {
        return Err(corrupt(Damage::BadMagic));
    }
    let version = u32::from_le_bytes(bytes[8..12].try_into().unwrap_or_default());
    if version != VERSION {
        return Err(corrupt(Damage::Version { found: version }));
    }
    let len = u64::from_le_bytes(bytes[12..20].try_into().unwrap_or_default()) as usize;
    let crc = u32::from_le_bytes(bytes[20..24].try_into().unwrap_or_default());
    let payload = &bytes[HEADER..];
    if payload.len() != len {
        return Err(corrupt(Damage::Truncated { found: payload.len(), expected: len }));
    }
    if crc32fast::hash(payload) != crc {
        return Err(corrupt(Damage::ChecksumMismatch));
    }
    Ok(payload)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_round_trip() {
        let parts = vec![b"meta".to_vec(), Vec::new(), vec![7; 1000]];
        let payload = encode_frames(&parts);
        let back = decode_frames(&payload).unwrap();
        assert_eq!(back, parts.iter().map(|p| p.as_slice()).collect::<Vec<_>>());
        assert_eq!(decode_frames(&payload[..payload.len() - 1]), Err(FrameError::PastEnd(1000)));
        assert_eq!(decode_frames(&payload[..2]), Err(FrameError::TruncatedHeader));
    }

    #[test]
    fn sealed_frames_are_the_framed_payload_sealed() {
        // Small parts are gathered into one piece; parts of 64 KiB and more stay pieces of
        // their own, whose checksums are combined.
        let big = |n: usize, seed: u8| (0..n).map(|i| (i as u8).wrapping_mul(31) ^ seed).collect::<Vec<u8>>();
        let parts = vec![b"meta".to_vec(), Vec::new(), vec![7; 1000], big(SMALL_PIECE, 1), big(3 << 20, 2)];
        let nested = vec![b"x".to_vec(), vec![1; 10], big(SMALL_PIECE + 1, 3), big(100, 4), big(200_000, 5)];
        let pieces = vec![
            Framed::Bytes(parts[0].clone()),
            Framed::Bytes(parts[1].clone()),
            Framed::Bytes(parts[2].clone()),
            Framed::Bytes(parts[3].clone()),
            Framed::Bytes(parts[4].clone()),
            Framed::Nested(nested.iter().cloned().map(Framed::Bytes).collect()),
        ];
        let mut flat = parts.clone();
        flat.push(encode_frames(&nested));
        assert_eq!(pieces[5].to_vec(), flat[5]);
        let sealed = seal_frames(pieces);
        assert!(sealed.pieces().len() >= 6, "{} pieces", sealed.pieces().len());
        let file = sealed.to_vec();
        assert_eq!(sealed.len(), file.len());
        assert_eq!(file, seal(&encode_frames(&flat)));
        assert_eq!(decode_frames(open("c", &file).unwrap()).unwrap().len(), 6);
    }

    #[test]
    fn a_file_of_another_format_version_is_refused_with_one_clear_error() {
        let mut file = seal(b"state");
        file[8..12].copy_from_slice(&1u32.to_le_bytes());
        let err = open("dir/checkpoint-1000", &file).unwrap_err();
        assert!(matches!(err, CheckpointError::Corrupt { why: Damage::Version { found: 1 }, .. }), "{err:?}");
        let text = err.to_string();
        assert!(text.contains("format version 1") && text.contains("reads format 2"), "{text}");
        assert!(text.contains("fresh checkpoint directory"), "{text}");
    }

    #[test]
    fn damage_is_detected() {
        let file = seal(b"hello state");
        assert_eq!(open("c", &file).unwrap(), b"hello state");
        let mut flipped = file.clone();
        *flipped.last_mut().unwrap() ^= 0x40;
        assert!(open("c", &flipped).unwrap_err().to_string().contains("checksum mismatch"));
        assert!(open("c", &file[..file.len() - 3]).unwrap_err().to_string().contains("truncated"));
        assert!(open("c", b"garbage").unwrap_err().to_string().contains("bad magic"));
    }
}
