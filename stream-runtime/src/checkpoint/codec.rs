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
    /// The parts of a decoded state contradict each other.
    #[error("inconsistent state: {0}")]
    Inconsistent(&'static str),
}

/// The encoding of columns: integers at fixed width (no branch per byte as varints take),
/// otherwise as [`to_bytes`].
type ColumnOptions = bincode::config::WithOtherIntEncoding<bincode::DefaultOptions, bincode::config::FixintEncoding>;

fn column_options() -> ColumnOptions {
    bincode::DefaultOptions::new().with_fixint_encoding()
}

fn options() -> bincode::DefaultOptions {
    bincode::DefaultOptions::new()
}

/// `value` encoded.
pub(crate) fn to_bytes<T: Serialize + ?Sized>(value: &T) -> Result<Vec<u8>, CodecError> {
    options().serialize(value).map_err(CodecError::Encode)
}

/// A value decoded from `bytes`, made by [`to_bytes`].
pub(crate) fn from_bytes<T: Deserialize<'static>>(bytes: &[u8]) -> Result<T, CodecError> {
    options()
        .deserialize_from_custom_seed(std::marker::PhantomData::<T>, LeakingReader { slice: &mut { bytes } })
        .map_err(CodecError::Decode)
}

/// Values written one after another into one buffer, with no length or tag per value: the
/// columns of a checkpointed table (see `state::store`), integers at fixed width.
pub(crate) struct ColumnWriter {
    buf: Vec<u8>,
}

impl ColumnWriter {
    /// A writer whose buffer starts with room for `capacity` bytes.
    pub(crate) fn with_capacity(capacity: usize) -> Self {
        ColumnWriter { buf: Vec::with_capacity(capacity) }
    }

    /// Appends `value`.
    pub(crate) fn put<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), CodecError> {
        value.serialize(&mut bincode::Serializer::new(&mut self.buf, column_options())).map_err(CodecError::Encode)
    }

    /// Appends `n` as 8 little-endian bytes, and returns where, for [`patch_u64`](Self::patch_u64).
    pub(crate) fn put_u64(&mut self, n: u64) -> usize {
        let at = self.buf.len();
        self.buf.extend_from_slice(&n.to_le_bytes());
        at
    }

    /// Overwrites the 8 bytes [`put_u64`](Self::put_u64) wrote at `at`.
    pub(crate) fn patch_u64(&mut self, at: usize, n: u64) {
        self.buf[at..at + 8].copy_from_slice(&n.to_le_bytes());
    }

    /// Bytes written so far.
    pub(crate) fn len(&self) -> usize {
        self.buf.len()
    }

    /// The bytes written.
    pub(crate) fn finish(self) -> Vec<u8> {
        self.buf
    }
}

/// Reads back, value by value, what a [`ColumnWriter`] wrote.
pub(crate) struct ColumnReader<'b> {
    rest: &'b [u8],
}

impl<'b> ColumnReader<'b> {
    /// A reader at the start of `bytes`.
    pub(crate) fn new(bytes: &'b [u8]) -> Self {
        ColumnReader { rest: bytes }
    }

    /// The next value.
    pub(crate) fn get<T: Deserialize<'static>>(&mut self) -> Result<T, CodecError> {
        let reader = LeakingReader { slice: &mut self.rest };
        T::deserialize(&mut bincode::Deserializer::with_bincode_read(reader, column_options()))
            .map_err(CodecError::Decode)
    }

    /// The next 8 little-endian bytes written by [`ColumnWriter::put_u64`].
    pub(crate) fn get_u64(&mut self) -> Result<u64, CodecError> {
        let b = LeakingReader { slice: &mut self.rest }.take_bytes(8).map_err(CodecError::Decode)?;
        Ok(u64::from_le_bytes(b.try_into().unwrap_or_default()))
    }

    /// The next `n` bytes, as a reader of their own; this one continues after them.
    pub(crate) fn split(&mut self, n: usize) -> Result<ColumnReader<'b>, CodecError> {
        let head = LeakingReader { slice: &mut self.rest }.take_bytes(n).map_err(CodecError::Decode)?;
        Ok(ColumnReader { rest: head })
    }

    /// Whether every byte was read.
    pub(crate) fn is_empty(&self) -> bool {
        self.rest.is_empty()
    }
}

/// A reader whose borrowed strings and byte slices live forever: each is leaked on its own.
struct LeakingReader<'s, 'b> {
    /// What is left to read; advanced as it is read.
    slice: &'s mut &'b [u8],
}

impl<'b> LeakingReader<'_, 'b> {
    fn take_bytes(&mut self, n: usize) -> bincode::Result<&'b [u8]> {
        if n > self.slice.len() {
            return Err(Box::new(bincode::ErrorKind::Io(std::io::ErrorKind::UnexpectedEof.into())));
        }
        let (head, rest) = self.slice.split_at(n);
        *self.slice = rest;
        Ok(head)
    }
}

impl Read for LeakingReader<'_, '_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        self.slice.read(buf)
    }

    fn read_exact(&mut self, buf: &mut [u8]) -> std::io::Result<()> {
        self.slice.read_exact(buf)
    }
}

impl bincode::BincodeRead<'static> for LeakingReader<'_, '_> {
    fn forward_read_str<V: Visitor<'static>>(&mut self, length: usize, visitor: V) -> bincode::Result<V::Value> {
        let s = std::str::from_utf8(self.take_bytes(length)?)
            .map_err(|e| Box::new(bincode::ErrorKind::InvalidUtf8Encoding(e)))?;
        visitor.visit_borrowed_str(Box::leak(s.to_owned().into_boxed_str()))
    }

    fn get_byte_buffer(&mut self, length: usize) -> bincode::Result<Vec<u8>> {
        Ok(self.take_bytes(length)?.to_vec())
    }

    fn forward_read_bytes<V: Visitor<'static>>(&mut self, length: usize, visitor: V) -> bincode::Result<V::Value> {
        let b = self.take_bytes(length)?;
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
