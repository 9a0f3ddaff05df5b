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

    /// Appends the frame's bytes to `out`.
    fn put(&self, out: &mut Vec<u8>) {
        match self {
            Framed::Bytes(b) => out.extend_from_slice(b),
            Framed::Nested(parts) => {
                out.extend_from_slice(&(parts.len() as u32).to_le_bytes());
                for p in parts {
                    out.extend_from_slice(&(p.len() as u64).to_le_bytes());
                    p.put(out);
                }
            }
        }
    }

    /// The frame's bytes in one buffer.
    #[cfg(test)]
    pub(crate) fn to_vec(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.len());
        self.put(&mut out);
        out
    }
}

/// A whole checkpoint file whose payload is `parts` framed (as [`encode_frames`] would),
/// built in place: the file is the only copy of the parts made.
pub(crate) fn seal_frames(parts: Vec<Framed>) -> Vec<u8> {
    let payload = Framed::Nested(parts);
    let len = payload.len();
    let mut out = Vec::with_capacity(HEADER + len);
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&VERSION.to_le_bytes());
    out.extend_from_slice(&(len as u64).to_le_bytes());
    out.extend_from_slice(&[0; 4]);
    payload.put(&mut out);
    let crc = crc32fast::hash(&out[HEADER..]);
    out[HEADER - 4..HEADER].copy_from_slice(&crc.to_le_bytes());
    out
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
        let parts = vec![b"meta".to_vec(), Vec::new(), vec![7; 1000]];
        let nested = vec![b"x".to_vec(), vec![1; 10]];
        let pieces = vec![
            Framed::Bytes(parts[0].clone()),
            Framed::Bytes(parts[1].clone()),
            Framed::Bytes(parts[2].clone()),
            Framed::Nested(nested.iter().cloned().map(Framed::Bytes).collect()),
        ];
        let mut flat = parts.clone();
        flat.push(encode_frames(&nested));
        assert_eq!(pieces[3].to_vec(), flat[3]);
        let file = seal_frames(pieces);
        assert_eq!(file, seal(&encode_frames(&flat)));
        assert_eq!(decode_frames(open("c", &file).unwrap()).unwrap().len(), 4);
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
