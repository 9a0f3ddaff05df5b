//! [`ReadBuf`]: the buffer a file read fills in place and which then becomes, with no copy, the
//! shared text that the read's lines ([`Str`](crate::Str)s) point into.
//!
//! A line of a file source is a slice of one `Arc<str>` per split. Reading into a `Vec<u8>`
//! and then building that `Arc<str>` copies every byte once more (an `Arc` keeps its counts in
//! front of the data, so a `Vec`'s allocation cannot become one). A `ReadBuf` is that `Arc`
//! from the start: reads write into it, and [`ReadBuf::into_text`] checks the bytes and hands
//! the same allocation on as text.

use std::mem::MaybeUninit;
use std::ops::Range;
use std::sync::Arc;

/// A growable byte buffer inside an `Arc` allocation, filled by reads: what
/// [`FileSystem::read_range_into`](super::FileSystem::read_range_into) appends to.
///
/// ```
/// let mut buf = stream_runtime::fs::ReadBuf::with_capacity(8);
/// buf.extend_from_slice(b"to be");
/// let room = buf.spare(3); // zeroed, for a read that needs an initialized slice
/// room[..2].copy_from_slice(b"\nb");
/// buf.advance(2);
/// assert_eq!(buf.filled(), b"to be\nb");
/// ```
///
/// Invariants (what the `unsafe` blocks below rely on; the fields are private and every method
/// keeps them):
/// - `buf` has no other owner: it is made here, never cloned, and only given away by
///   [`into_text`](ReadBuf::into_text), which consumes the `ReadBuf`;
/// - `filled <= init <= buf.len()`, and bytes `..init` are initialized (`..filled` hold data,
///   `filled..init` zeros handed out by [`spare`](ReadBuf::spare)).
pub struct ReadBuf {
    buf: Arc<[MaybeUninit<u8>]>,
    filled: usize,
    init: usize,
}

impl Default for ReadBuf {
    fn default() -> Self {
        ReadBuf::with_capacity(0)
    }
}

impl std::fmt::Debug for ReadBuf {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ReadBuf").field("filled", &self.filled).field("capacity", &self.buf.len()).finish()
    }
}

#[allow(unsafe_code)]
impl ReadBuf {
    /// An empty buffer with room for `capacity` bytes (it grows when more are appended).
    ///
    /// ```
    /// let buf = stream_runtime::fs::ReadBuf::with_capacity(1 << 20);
    /// assert!(buf.filled().is_empty());
    /// ```
    pub fn with_capacity(capacity: usize) -> ReadBuf {
        ReadBuf { buf: Arc::new_uninit_slice(capacity), filled: 0, init: 0 }
    }

    /// The bytes read so far.
    ///
    /// ```
    /// let mut buf = stream_runtime::fs::ReadBuf::with_capacity(0);
    /// buf.extend_from_slice(b"abc");
    /// assert_eq!(buf.filled(), b"abc");
    /// ```
    pub fn filled(&self) -> &[u8] {
        // SAFETY: bytes `..filled` are initialized (invariant), and `MaybeUninit<u8>` has the
        // layout of `u8`.
        unsafe { std::slice::from_raw_parts(self.buf.as_ptr().cast::<u8>(), self.filled) }
    }

    /// The uniquely owned allocation.
    fn slots(&mut self) -> &mut [MaybeUninit<u8>] {
        Arc::get_mut(&mut self.buf).expect("a ReadBuf's allocation has one owner (it is never cloned)")
    }

    /// Makes room for `more` bytes after the filled ones: a new allocation when there is not
    /// enough, at least twice the old one (the filled bytes are copied; file sources size the
    /// buffer from the start, so this is the rare case of a line running past the look-ahead).
    fn reserve(&mut self, more: usize) {
        let need = self.filled.checked_add(more).expect("a buffer larger than memory");
        if need <= self.buf.len() {
            return;
        }
        let mut grown = ReadBuf::with_capacity(need.max(self.buf.len().saturating_mul(2)));
        grown.extend_from_slice(self.filled());
        *self = grown;
    }

    /// Appends `bytes`.
    ///
    /// ```
    /// let mut buf = stream_runtime::fs::ReadBuf::with_capacity(2);
    /// buf.extend_from_slice(b"abc"); // more than the capacity: the buffer grows
    /// assert_eq!(buf.filled(), b"abc");
    /// ```
    pub fn extend_from_slice(&mut self, bytes: &[u8]) {
        self.reserve(bytes.len());
        let at = self.filled;
        let dst = &mut self.slots()[at..at + bytes.len()];
        // SAFETY: `dst` is `bytes.len()` writable slots of our own allocation (bounds checked
        // by the slicing above), which cannot overlap `bytes` (we own it uniquely and lend
        // none of it out while it is `&mut`); `MaybeUninit<u8>` has the layout of `u8`.
        unsafe { std::ptr::copy_nonoverlapping(bytes.as_ptr(), dst.as_mut_ptr().cast::<u8>(), bytes.len()) };
        self.filled += bytes.len();
        self.init = self.init.max(self.filled);
    }

    /// `n` writable bytes after the filled ones, zeroed where they were never written before,
    /// for a read that needs an initialized slice; [`advance`](Self::advance) then counts what
    /// the read filled.
    ///
    /// ```
    /// use std::io::Read;
    /// let mut buf = stream_runtime::fs::ReadBuf::with_capacity(16);
    /// let n = std::io::Cursor::new(b"lines\n").read(buf.spare(16)).unwrap();
    /// buf.advance(n);
    /// assert_eq!(buf.filled(), b"lines\n");
    /// ```
    pub fn spare(&mut self, n: usize) -> &mut [u8] {
        self.reserve(n);
        let (filled, init) = (self.filled, self.init);
        let end = filled + n;
        if init < end {
            for slot in &mut self.slots()[init..end] {
                slot.write(0);
            }
            self.init = end;
        }
        let slots = &mut self.slots()[filled..end];
        // SAFETY: every byte of `filled..end` is initialized (it lies below `init`, just raised
        // to at least `end`), and `MaybeUninit<u8>` has the layout of `u8`.
        unsafe { std::slice::from_raw_parts_mut(slots.as_mut_ptr().cast::<u8>(), n) }
    }

    /// Counts `n` more bytes as read, after a read into [`spare`](Self::spare).
    ///
    /// # Panics
    /// When fewer than `n` bytes were handed out by `spare` (a bug of the caller).
    ///
    /// ```
    /// let mut buf = stream_runtime::fs::ReadBuf::with_capacity(4);
    /// buf.spare(4)[0] = b'x';
    /// buf.advance(1);
    /// assert_eq!(buf.filled(), b"x");
    /// ```
    pub fn advance(&mut self, n: usize) {
        assert!(self.filled + n <= self.init, "advance past the bytes handed out by spare");
        self.filled += n;
    }

    /// The buffer as text, when bytes `keep` of it are valid UTF-8: the same allocation, every
    /// byte outside `keep` replaced by a space (so that the whole is valid UTF-8 too), with
    /// `keep` as the range of the text that matters. Otherwise the buffer back.
    pub(crate) fn into_text(mut self, keep: Range<usize>) -> Result<(Arc<str>, Range<usize>), ReadBuf> {
        if keep.start > keep.end || keep.end > self.filled || std::str::from_utf8(&self.filled()[keep.clone()]).is_err()
        {
            return Err(self);
        }
        let (head, rest) = self.slots().split_at_mut(keep.start);
        for slot in head.iter_mut().chain(&mut rest[keep.end - keep.start..]) {
            slot.write(b' ');
        }
        // SAFETY: every byte is now initialized: those of `keep` were filled (it lies below
        // `filled`), all others were just written.
        let bytes: Arc<[u8]> = unsafe { self.buf.assume_init() };
        // SAFETY: `str` has the layout of `[u8]`, and these bytes are valid UTF-8: `keep` was
        // checked above and the rest is ASCII spaces, and valid UTF-8 pieces put end to end
        // are valid UTF-8. The pointer comes from `Arc::into_raw` of the same allocation, as
        // `Arc::from_raw` requires, and nothing else owns it.
        let text: Arc<str> = unsafe { Arc::from_raw(Arc::into_raw(bytes) as *const str) };
        Ok((text, keep))
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    #[test]
    fn reads_fill_spare_room_and_text_keeps_its_range() {
        let mut b = ReadBuf::with_capacity(4);
        b.extend_from_slice(b"ab");
        let room = b.spare(6);
        assert_eq!(room, [0; 6], "spare room is zeroed");
        room[..3].copy_from_slice(b"\ncd");
        b.advance(3);
        assert_eq!(b.filled(), b"ab\ncd");
        let (text, keep) = b.into_text(3..5).unwrap();
        assert_eq!(&text[keep], "cd");
        assert!(text.len() >= 5);
        assert!(text.starts_with("   cd"), "bytes outside the range are spaces: {text:?}");
    }

    #[test]
    fn invalid_utf8_in_the_range_gives_the_buffer_back() {
        let mut b = ReadBuf::with_capacity(8);
        b.extend_from_slice(b"a\xff\nok");
        let b = b.into_text(0..3).unwrap_err();
        assert_eq!(b.filled(), b"a\xff\nok");
        assert!(b.into_text(3..5).is_ok(), "outside the range, invalid bytes do not matter");
    }

    #[test]
    #[should_panic(expected = "advance past")]
    fn advancing_past_the_spare_room_is_refused() {
        let mut b = ReadBuf::with_capacity(8);
        let _ = b.spare(2);
        b.advance(3);
    }

    proptest! {
        /// Any sequence of appends and partial reads into spare room gives the bytes a `Vec`
        /// would hold, and the text of any UTF-8 range of them is that range.
        #[test]
        fn the_buffer_holds_what_a_vec_would(
            steps in proptest::collection::vec((proptest::collection::vec(any::<u8>(), 0..40), any::<bool>(), 0usize..50), 0..12),
            cap in 0usize..64,
            cut in any::<proptest::sample::Index>(),
        ) {
            let (mut b, mut want) = (ReadBuf::with_capacity(cap), Vec::new());
            for (bytes, as_read, room) in steps {
                if as_read {
                    let room = room.max(bytes.len());
                    let spare = b.spare(room);
                    spare[..bytes.len()].copy_from_slice(&bytes);
                    b.advance(bytes.len());
                } else {
                    b.extend_from_slice(&bytes);
                }
                want.extend_from_slice(&bytes);
                prop_assert_eq!(b.filled(), &want[..]);
            }
            let start = if want.is_empty() { 0 } else { cut.index(want.len() + 1) };
            match std::str::from_utf8(&want[start..]) {
                Ok(s) => {
                    let (text, keep) = b.into_text(start..want.len()).unwrap();
                    prop_assert_eq!(&text[keep], s);
                }
                Err(_) => prop_assert!(b.into_text(start..want.len()).is_err()),
            }
        }
    }
}
