//! [`Str`]: a cheap, shared slice of a text buffer.

use std::borrow::Borrow;
use std::fmt;
use std::hash::{Hash, Hasher};
use std::ops::Deref;
use std::sync::Arc;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// An immutable UTF-8 string that shares its bytes with the buffer it was cut from.
///
/// Text sources hand out lines as `Str`, and [`Str::split`] hands out words as `Str`, so a word
/// count copies no text: cloning a `Str` bumps a reference count. It dereferences to `&str`, so
/// every `str` method works, and it hashes and compares like the text it holds.
///
/// Strings of up to 15 bytes (most words) are held inline instead: cutting, cloning and
/// dropping them touches no reference count, and comparing two of them reads no buffer, which
/// is what a hash table of words does all the time.
///
/// ```
/// use stream_runtime::Str;
/// let line = Str::from("to be or not");
/// let words: Vec<Str> = line.clone().split(' ').collect();
/// assert_eq!(words, ["to", "be", "or", "not"]);
/// assert_eq!(words[1].to_uppercase(), "BE");
/// ```
#[derive(Clone)]
pub struct Str(Repr);

/// Longest string held inline. With it `Str` stays 24 bytes: the inline variant fits beside
/// the pointer of the shared one, whose non-null niche tells them apart.
const INLINE: usize = 15;

#[derive(Clone)]
enum Repr {
    /// `bytes[..len]` is the text (valid UTF-8); the rest is zero.
    Inline { len: u8, bytes: [u8; INLINE] },
    /// `buf[start..end]`, on character boundaries.
    Shared { buf: Arc<str>, start: u32, end: u32 },
}

impl Str {
    /// The empty string.
    pub fn empty() -> Str {
        Str(Repr::Inline { len: 0, bytes: [0; INLINE] })
    }

    /// Shares `buf[range]` (copies it inline when it is short); the range must lie on
    /// character boundaries.
    ///
    /// # Panics
    /// When the range is out of bounds or not on character boundaries, or the buffer is 4 GiB or larger.
    pub fn slice_of(buf: &Arc<str>, start: usize, end: usize) -> Str {
        assert!(buf.is_char_boundary(start) && buf.is_char_boundary(end) && start <= end);
        let to_u32 = |x: usize| u32::try_from(x).expect("text buffers are smaller than 4 GiB");
        if end - start <= INLINE {
            return Str::inline(&buf.as_bytes()[start..end]);
        }
        Str(Repr::Shared { buf: Arc::clone(buf), start: to_u32(start), end: to_u32(end) })
    }

    /// `text` (at most [`INLINE`] bytes of valid UTF-8) held inline.
    #[inline]
    fn inline(text: &[u8]) -> Str {
        let mut bytes = [0; INLINE];
        bytes[..text.len()].copy_from_slice(text);
        Str(Repr::Inline { len: text.len() as u8, bytes })
    }

    /// `buf[start..end]` (at most [`INLINE`] bytes of valid UTF-8) held inline: one 16-byte
    /// load and a mask where the buffer has 16 bytes from `start`, instead of a copy of
    /// variable length.
    #[inline(always)]
    fn inline_from(buf: &[u8], start: usize, end: usize) -> Str {
        let len = end - start;
        let Some(wide) = buf.get(start..start + 16) else {
            return Str::inline(&buf[start..end]);
        };
        // MASKS[n] keeps the low n bytes of a little-endian word.
        const MASKS: [u64; 9] = {
            let mut m = [0; 9];
            let mut n = 1;
            while n < 8 {
                m[n] = (1 << (8 * n)) - 1;
                n += 1;
            }
            m[8] = u64::MAX;
            m
        };
        let word = |at: usize| {
            let mut w = [0; 8];
            w.copy_from_slice(&wide[at..at + 8]);
            u64::from_le_bytes(w)
        };
        let lo = (word(0) & MASKS[len.min(8)]).to_le_bytes();
        let hi = (word(8) & MASKS[len.saturating_sub(8)]).to_le_bytes();
        let mut bytes = [0; INLINE];
        bytes[..8].copy_from_slice(&lo);
        bytes[8..].copy_from_slice(&hi[..INLINE - 8]);
        Str(Repr::Inline { len: len as u8, bytes })
    }

    /// The text.
    #[inline]
    pub fn as_str(&self) -> &str {
        match &self.0 {
            // SAFETY: inline bytes are copied from a `str` on character boundaries.
            Repr::Inline { len, bytes } => unsafe { std::str::from_utf8_unchecked(&bytes[..*len as usize]) },
            // SAFETY: the constructors check that start..end lies on char boundaries of `buf`.
            Repr::Shared { buf, start, end } => unsafe { buf.get_unchecked(*start as usize..*end as usize) },
        }
    }

    /// `self[start..end]` (offsets on character boundaries of `self`), sharing the buffer when
    /// the piece is too long to hold inline.
    #[inline(always)]
    fn piece(&self, start: usize, end: usize) -> Str {
        match &self.0 {
            Repr::Shared { buf, start: base, .. } if end - start > INLINE => {
                Str(Repr::Shared { buf: Arc::clone(buf), start: base + start as u32, end: base + end as u32 })
            }
            Repr::Shared { buf, start: base, .. } => {
                let base = *base as usize;
                Str::inline_from(buf.as_bytes(), base + start, base + end)
            }
            Repr::Inline { .. } => Str::inline(&self.as_bytes()[start..end]),
        }
    }

    /// A sub-slice sharing the same buffer: `sub` must be a slice of `self.as_str()`.
    #[inline]
    pub fn sub(&self, sub: &str) -> Str {
        let start = sub.as_ptr() as usize - self.as_str().as_ptr() as usize;
        debug_assert!(start + sub.len() <= self.len());
        self.piece(start, start + sub.len())
    }

    /// Splits on `sep`, yielding shared pieces (empty pieces included, like `str::split`).
    ///
    /// Takes `self` by value so that a closure such as `|line| line.split(' ')` can return the
    /// iterator.
    ///
    /// ```
    /// use stream_runtime::Str;
    /// let parts: Vec<Str> = Str::from("a  b").split(' ').collect();
    /// assert_eq!(parts, ["a", "", "b"]);
    /// ```
    pub fn split(self, sep: char) -> Split {
        Split { pos: 0, s: self, sep, done: false }
    }

    /// Splits on runs of ASCII/Unicode whitespace, skipping empty pieces.
    ///
    /// ```
    /// use stream_runtime::Str;
    /// let words: Vec<Str> = Str::from(" a\tb  c ").split_whitespace().collect();
    /// assert_eq!(words, ["a", "b", "c"]);
    /// ```
    pub fn split_whitespace(self) -> SplitWhitespace {
        SplitWhitespace { pos: 0, s: self }
    }
}

/// Iterator returned by [`Str::split`].
#[derive(Debug, Clone)]
pub struct Split {
    s: Str,
    /// Offset in `s` of the next piece.
    pos: usize,
    sep: char,
    done: bool,
}

impl Iterator for Split {
    type Item = Str;
    #[inline(always)]
    fn next(&mut self) -> Option<Str> {
        if self.done {
            return None;
        }
        let start = self.pos;
        let rest = &self.s.as_bytes()[start..];
        let found = if self.sep.is_ascii() { find_byte(self.sep as u8, rest) } else { self.s[start..].find(self.sep) };
        match found {
            Some(i) => {
                self.pos = start + i + self.sep.len_utf8();
                Some(self.s.piece(start, start + i))
            }
            None => {
                self.done = true;
                Some(self.s.piece(start, self.s.len()))
            }
        }
    }
}

/// The first `b` in `hay`. Most pieces are words, so the first 16 bytes are searched eight at
/// a time in a register, which finds a word's end sooner than a call to `memchr` does.
#[inline(always)]
fn find_byte(b: u8, hay: &[u8]) -> Option<usize> {
    const ONES: u64 = u64::from_ne_bytes([1; 8]);
    const HIGHS: u64 = u64::from_ne_bytes([0x80; 8]);
    let pattern = ONES * b as u64;
    let mut i = 0;
    while i < 16 && i + 8 <= hay.len() {
        let mut word = [0; 8];
        word.copy_from_slice(&hay[i..i + 8]);
        let x = u64::from_le_bytes(word) ^ pattern;
        // The lowest set high bit marks the first zero byte of `x` (higher ones may be false).
        let zero = x.wrapping_sub(ONES) & !x & HIGHS;
        if zero != 0 {
            return Some(i + zero.trailing_zeros() as usize / 8);
        }
        i += 8;
    }
    let tail = &hay[i..];
    let found = if tail.len() < 16 { tail.iter().position(|&c| c == b) } else { memchr::memchr(b, tail) };
    found.map(|j| i + j)
}

/// Iterator returned by [`Str::split_whitespace`].
#[derive(Debug, Clone)]
pub struct SplitWhitespace {
    s: Str,
    /// Offset in `s` where the search for the next piece starts.
    pos: usize,
}

impl Iterator for SplitWhitespace {
    type Item = Str;
    #[inline]
    fn next(&mut self) -> Option<Str> {
        let rest = &self.s[self.pos..];
        let skip = rest.find(|c: char| !c.is_whitespace())?;
        let start = self.pos + skip;
        let len = self.s[start..].find(char::is_whitespace).unwrap_or(self.s.len() - start);
        self.pos = start + len;
        Some(self.s.piece(start, start + len))
    }
}

impl Deref for Str {
    type Target = str;
    #[inline]
    fn deref(&self) -> &str {
        self.as_str()
    }
}
impl AsRef<str> for Str {
    fn as_ref(&self) -> &str {
        self.as_str()
    }
}
impl Borrow<str> for Str {
    fn borrow(&self) -> &str {
        self.as_str()
    }
}
impl PartialEq for Str {
    #[inline]
    fn eq(&self, o: &Str) -> bool {
        match (&self.0, &o.0) {
            // Zero-padded, so the whole arrays compare, as two overlapping words: no call, no
            // buffer read.
            (Repr::Inline { len: a, bytes: x }, Repr::Inline { len: b, bytes: y }) => {
                let word = |b: &[u8; INLINE], at: usize| {
                    let mut w = [0; 8];
                    w.copy_from_slice(&b[at..at + 8]);
                    u64::from_ne_bytes(w)
                };
                a == b && word(x, 0) == word(y, 0) && word(x, INLINE - 8) == word(y, INLINE - 8)
            }
            _ => self.as_str() == o.as_str(),
        }
    }
}
impl Eq for Str {}
impl PartialEq<str> for Str {
    fn eq(&self, o: &str) -> bool {
        self.as_str() == o
    }
}
impl PartialEq<&str> for Str {
    fn eq(&self, o: &&str) -> bool {
        self.as_str() == *o
    }
}
impl PartialOrd for Str {
    fn partial_cmp(&self, o: &Str) -> Option<std::cmp::Ordering> {
        Some(self.cmp(o))
    }
}
impl Ord for Str {
    fn cmp(&self, o: &Str) -> std::cmp::Ordering {
        self.as_str().cmp(o.as_str())
    }
}
impl Hash for Str {
    #[inline]
    fn hash<H: Hasher>(&self, h: &mut H) {
        self.as_str().hash(h)
    }
}
impl fmt::Debug for Str {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_str(), f)
    }
}
impl fmt::Display for Str {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}
impl From<&str> for Str {
    fn from(s: &str) -> Str {
        if s.len() <= INLINE {
            return Str::inline(s.as_bytes());
        }
        Str::from(Arc::<str>::from(s))
    }
}
impl From<String> for Str {
    fn from(s: String) -> Str {
        Str::from(Arc::<str>::from(s))
    }
}
impl From<Arc<str>> for Str {
    fn from(buf: Arc<str>) -> Str {
        let end = buf.len();
        Str::slice_of(&buf, 0, end)
    }
}
impl From<Str> for String {
    fn from(s: Str) -> String {
        s.as_str().to_owned()
    }
}
impl Serialize for Str {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}
impl<'de> Deserialize<'de> for Str {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Str, D::Error> {
        String::deserialize(d).map(Str::from)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn split_matches_std_split() {
        for text in ["", "a", "a b", " a  b ", "ünï cödé  x", "trailing "] {
            let ours: Vec<String> = Str::from(text).split(' ').map(String::from).collect();
            let std: Vec<String> = text.split(' ').map(String::from).collect();
            assert_eq!(ours, std, "{text:?}");
            let ours: Vec<String> = Str::from(text).split_whitespace().map(String::from).collect();
            let std: Vec<String> = text.split_whitespace().map(String::from).collect();
            assert_eq!(ours, std, "{text:?}");
        }
    }

    #[test]
    fn short_pieces_are_inline_and_long_ones_shared() {
        let long = "x".repeat(INLINE + 1);
        let line = Str::from(format!("{} {long} ü", "y".repeat(INLINE)));
        let words: Vec<Str> = line.clone().split(' ').collect();
        assert!(matches!(words[0].0, Repr::Inline { len: 15, .. }));
        assert!(matches!(words[1].0, Repr::Shared { .. }));
        assert!(matches!(words[2].0, Repr::Inline { len: 2, .. }));
        assert_eq!(words[1], long.as_str());
        assert_eq!(words[2], "ü");
        // A long piece of a long piece still shares the line's buffer.
        let again: Vec<Str> = words[1].clone().split('-').collect();
        assert_eq!(again, [long.as_str()]);
        assert!(matches!(again[0].0, Repr::Shared { .. }));
        assert_eq!(std::mem::size_of::<Str>(), 24);
    }

    #[test]
    fn inline_and_shared_compare_and_hash_alike() {
        use std::hash::BuildHasher;
        let h = crate::data::FastHasher::default();
        let buf: Arc<str> = Arc::from("abcdefghijklmnopqrstuvwxyz");
        let shared = Str::slice_of(&buf, 0, 20);
        let inline = Str::slice_of(&buf, 0, 10);
        assert_eq!(inline, Str::from("abcdefghij"));
        assert_eq!(shared, Str::from("abcdefghijklmnopqrst"));
        assert_ne!(inline, shared);
        assert_eq!(h.hash_one(&inline), h.hash_one("abcdefghij"));
        assert_eq!(h.hash_one(&shared), h.hash_one("abcdefghijklmnopqrst"));
        assert_eq!(shared.sub(&shared[2..5]), "cde");
        assert_eq!(inline.sub(&inline[9..]), "j");
        assert_eq!(Str::empty(), "");
        let (short, long) = (Str::from("b"), Str::from("abcdefghijklmnopqrst"));
        assert!(short > long);
    }

    #[test]
    fn find_byte_finds_the_first_at_every_position() {
        for len in 0..40 {
            for at in 0..len {
                let mut hay = vec![b'a'; len];
                hay[at] = b' ';
                if at + 3 < len {
                    hay[at + 3] = b' ';
                }
                assert_eq!(find_byte(b' ', &hay), Some(at), "len {len} at {at}");
            }
            assert_eq!(find_byte(b' ', &vec![b'a'; len]), None);
            // Bytes just above and below the separator are not it.
            assert_eq!(find_byte(b' ', &vec![b' ' + 1; len]), None);
            assert_eq!(find_byte(b' ', &vec![b' ' - 1; len]), None);
            assert_eq!(find_byte(b' ', &vec![0x80 | b' '; len]), None);
        }
    }

    #[test]
    fn sub_slices_share_the_buffer() {
        let line = Str::from("hello world");
        let w = line.sub(&line[6..]);
        assert_eq!(w, "world");
        let again: Vec<Str> = w.split('o').collect();
        assert_eq!(again, ["w", "rld"]);
    }
}
