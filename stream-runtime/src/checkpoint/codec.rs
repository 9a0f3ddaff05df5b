//! The binary encoding of states in checkpoints (bincode, variable-length integers).
//!
//! Decoding targets `Deserialize<'static>`, so that `&'static str` keys (common in tests and
//! demos) are checkpointable too: a borrowed string is given a `'static` copy of its own. Owned
//! types (`String`, `Str`, numbers, ...) copy nothing more than they always do.

use std::io::Read;

use bincode::Options;
use serde::de::Visitor;
use serde::{Deserialize, Serialize};

use super::frames::FrameError;

/// Why a state could not be encoded for a checkpoint or decoded from one.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CodecError {
    /// A value could not be encoded (a `Serialize` implementation failed).
    #[error("cannot encode the state: {0}")]
    Encode(#[source] bincode::Error),
    /// Bytes could not be decoded into the state's type (truncated, or written for another
    /// type).
    #[error("cannot decode the state: {0}")]
    Decode(#[source] bincode::Error),
    /// The frames holding a state's parts are damaged.
    #[error(transparent)]
    Frames(#[from] FrameError),
    /// A state has another number of frames than its operation writes.
    #[error("{what} cannot hold {found} frames")]
    FrameCount {
        /// The kind of state.
        what: &'static str,
        /// Frames found.
        found: usize,
    },
}

fn options() -> impl Options {
    bincode::DefaultOptions::new()
}

/// `value` encoded.
pub(crate) fn to_bytes<T: Serialize + ?Sized>(value: &T) -> Result<Vec<u8>, CodecError> {
    options().serialize(value).map_err(CodecError::Encode)
}

/// A value decoded from `bytes`, made by [`to_bytes`].
pub(crate) fn from_bytes<T: Deserialize<'static>>(bytes: &[u8]) -> Result<T, CodecError> {
    options()
        .deserialize_from_custom_seed(std::marker::PhantomData::<T>, LeakingReader { slice: bytes })
        .map_err(CodecError::Decode)
}

/// A reader whose borrowed strings and byte slices live forever: each is leaked on its own.
struct LeakingReader<'b> {
    slice: &'b [u8],
}

impl LeakingReader<'_> {
    fn take(&mut self, n: usize) -> bincode::Result<&[u8]> {
        if n > self.slice.len() {
            return Err(Box::new(bincode::ErrorKind::Io(std::io::ErrorKind::UnexpectedEof.into())));
        }
        let (head, rest) = self.slice.split_at(n);
        self.slice = rest;
        Ok(head)
    }
}

impl Read for LeakingReader<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        self.slice.read(buf)
    }

    fn read_exact(&mut self, buf: &mut [u8]) -> std::io::Result<()> {
        self.slice.read_exact(buf)
    }
}

impl bincode::BincodeRead<'static> for LeakingReader<'_> {
    fn forward_read_str<V: Visitor<'static>>(&mut self, length: usize, visitor: V) -> bincode::Result<V::Value> {
        let s = std::str::from_utf8(self.take(length)?)
            .map_err(|e| Box::new(bincode::ErrorKind::InvalidUtf8Encoding(e)))?;
        visitor.visit_borrowed_str(Box::leak(s.to_owned().into_boxed_str()))
    }

    fn get_byte_buffer(&mut self, length: usize) -> bincode::Result<Vec<u8>> {
        Ok(self.take(length)?.to_vec())
    }

    fn forward_read_bytes<V: Visitor<'static>>(&mut self, length: usize, visitor: V) -> bincode::Result<V::Value> {
        let b = self.take(length)?;
        visitor.visit_borrowed_bytes(Box::leak(b.to_vec().into_boxed_slice()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn owned_and_static_borrowed_round_trip() {
        let v: Vec<(String, &'static str, u64)> = vec![("a".into(), "b", 3), ("ccc".into(), "", u64::MAX)];
        let bytes = to_bytes(&v).unwrap();
        let back: Vec<(String, &'static str, u64)> = from_bytes(&bytes).unwrap();
        assert_eq!(back, v);
        let err = from_bytes::<Vec<(String, &'static str, u64)>>(&bytes[..bytes.len() - 2]).unwrap_err();
        assert!(matches!(err, CodecError::Decode(_)));
        // The cause is bincode's error, reachable as the source.
        let source = std::error::Error::source(&err).expect("a source");
        assert!(source.downcast_ref::<bincode::Error>().is_some(), "{source:?}");
    }
}
