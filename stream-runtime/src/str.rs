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
/// Strings of up to 15 bytes (most words) are held inline instead, as 16 bytes: the text,
/// zero-padded, and its length in the 16th byte. Cutting, cloning and dropping them touches no
/// reference count, and comparing two of them is comparing two pairs of 8-byte words (the
/// length included), reading no buffer: which is what a hash table of words does all the time.
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

/// Longest string held inline: 16 bytes, less the one holding the length. With it `Str` stays
/// 24 bytes: the inline variant fits beside the pointer of the shared one, whose non-null
/// niche tells them apart.
const INLINE: usize = 15;

/// The two representations. Their invariants are what [`Str::as_str`]'s unsafe code relies on;
/// the fields are private to this module, and every function here that builds a `Repr` keeps
/// them:
/// - `Inline`: `len = bytes[INLINE] <= INLINE`, `bytes[..len]` is valid UTF-8, and
///   `bytes[len..INLINE]` is zero (equality and order compare the whole 16 bytes, see
///   [`Str::words`]);
/// - `Shared`: `start <= end <= buf.len()`, both character boundaries of `buf`, and
///   `end - start > INLINE` (every constructor holds a short piece inline, so an inline and a
///   shared string are never equal).
#[derive(Clone)]
enum Repr {
    /// `bytes[..bytes[INLINE]]` is the text.
    Inline([u8; INLINE + 1]),
    /// `buf[start..end]`.
    Shared { buf: Arc<str>, start: u32, end: u32 },
}

impl Str {
    /// The empty string.
    pub fn empty() -> Str {
        Str(Repr::Inline([0; INLINE + 1]))
    }

    /// Shares `buf[start..end]` (copies it inline when it is short); the range must lie on
    /// character boundaries.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use stream_runtime::Str;
    /// let buf: Arc<str> = Arc::from("one line\nanother line");
    /// assert_eq!(Str::slice_of(&buf, 9, 21), "another line");
    /// ```
    ///
    /// # Panics
    /// When the range is out of bounds or not on character boundaries (as `&buf[start..end]`
    /// does), or the buffer is 4 GiB or larger and the piece longer than 15 bytes.
    #[inline]
    pub fn slice_of(buf: &Arc<str>, start: usize, end: usize) -> Str {
        // `Repr::Shared`'s invariant, checked: `is_char_boundary` is false past the end.
        assert!(
            start <= end && buf.is_char_boundary(start) && buf.is_char_boundary(end),
            "Str::slice_of: {start}..{end} is not a range of character boundaries of a {}-byte buffer",
            buf.len()
        );
        let to_u32 = |x: usize| u32::try_from(x).expect("text buffers are smaller than 4 GiB");
        if end - start <= INLINE {
            return Str::inline_from(buf.as_bytes(), start, end);
        }
        Str(Repr::Shared { buf: Arc::clone(buf), start: to_u32(start), end: to_u32(end) })
    }

    /// Whether this string shares a buffer larger than itself: keeping it keeps that whole
    /// buffer (a line, a file split, a Kafka fetch) in memory.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use stream_runtime::Str;
    /// let buf: Arc<str> = Arc::from("a line with a word longer than fifteen bytes");
    /// let word = Str::slice_of(&buf, 14, 44);
    /// assert!(word.pins_more());
    /// assert!(!Str::from("short").pins_more());
    /// ```
    pub fn pins_more(&self) -> bool {
        matches!(&self.0, Repr::Shared { buf, start, end } if (end - start) as usize != buf.len())
    }

    /// Copies the text into a buffer of its own when it shares a larger one
    /// ([`pins_more`](Self::pins_more)), so that keeping this string no longer keeps that
    /// buffer in memory. The engine does it for the `Str` keys and states its stateful
    /// operators keep across batches; call it on a `Str` you keep inside your own types.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use stream_runtime::Str;
    /// let buf: Arc<str> = Arc::from("a line with a word longer than fifteen bytes");
    /// let mut word = Str::slice_of(&buf, 14, 44);
    /// word.detach();
    /// assert_eq!(word, "word longer than fifteen bytes");
    /// assert_eq!(Arc::strong_count(&buf), 1);
    /// ```
    pub fn detach(&mut self) {
        if self.pins_more() {
            // The text is more than 15 bytes (it is shared), so `from` shares a new buffer
            // holding exactly it.
            *self = Str::from(Arc::<str>::from(self.as_str()));
        }
    }

    /// `text` held inline. `text` must be at most [`INLINE`] bytes of valid UTF-8 (a `str`'s
    /// bytes between two of its character boundaries): `Repr::Inline`'s invariant.
    #[inline]
    fn inline(text: &[u8]) -> Str {
        debug_assert!(text.len() <= INLINE && std::str::from_utf8(text).is_ok());
        let mut bytes = [0; INLINE + 1];
        bytes[..text.len()].copy_from_slice(text);
        bytes[INLINE] = text.len() as u8;
        Str(Repr::Inline(bytes))
    }

    /// `buf[start..end]` held inline: one 16-byte load and a mask where the buffer has 16 bytes
    /// from `start`, instead of a copy of variable length. `buf` must be a `str`'s bytes,
    /// `start..end` at most [`INLINE`] bytes between two of its character boundaries (so the
    /// kept bytes are valid UTF-8, and the mask zeroes the rest): `Repr::Inline`'s invariant.
    #[inline(always)]
    fn inline_from(buf: &[u8], start: usize, end: usize) -> Str {
        let len = end - start;
        debug_assert!(len <= INLINE && std::str::from_utf8(&buf[start..end]).is_ok());
        let Some(wide) = buf.get(start..start + 16) else {
            return Str::inline(&buf[start..end]);
        };
        Str::inline_words(le_word(&wide[..8]), le_word(&wide[8..]), len)
    }

    /// The inline string of the first `len` bytes of the 16 little-endian bytes `lo`, `hi`.
    /// Those `len` bytes (at most [`INLINE`]) must be a `str`'s bytes between two of its
    /// character boundaries (so they are valid UTF-8, and the masks zero the rest):
    /// `Repr::Inline`'s invariant.
    #[inline(always)]
    fn inline_words(lo: u64, hi: u64, len: usize) -> Str {
        debug_assert!(len <= INLINE);
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
        // `len <= 15`, so the mask of `hi` clears its top byte, where the length goes.
        let lo = lo & MASKS[len.min(8)];
        let hi = (hi & MASKS[len.saturating_sub(8)]) | ((len as u64) << 56);
        let mut bytes = [0; INLINE + 1];
        bytes[..8].copy_from_slice(&lo.to_le_bytes());
        bytes[8..].copy_from_slice(&hi.to_le_bytes());
        Str(Repr::Inline(bytes))
    }

    /// The text.
    #[inline]
    #[allow(unsafe_code)]
    pub fn as_str(&self) -> &str {
        match &self.0 {
            // SAFETY: `from_utf8_unchecked` needs valid UTF-8. `Repr::Inline`'s invariant says
            // `bytes[..bytes[INLINE]]` is: `empty` (no text), `inline`, `inline_from` and
            // `inline_words`, the only functions that build the variant, copy it from a `str`
            // between two of its character boundaries (`Split::next` hands `inline_words` the
            // bytes of a piece that starts at 0 or just past an ASCII separator and ends just
            // before one) and write its length in `bytes[INLINE]`. (The slice itself is
            // bounds-checked: a length above 16 would panic, never read past the array.)
            Repr::Inline(bytes) => unsafe { std::str::from_utf8_unchecked(&bytes[..bytes[INLINE] as usize]) },
            // SAFETY: `str::get_unchecked` needs `start <= end <= buf.len()`, both on character
            // boundaries of `buf`: `Repr::Shared`'s invariant. `slice_of` asserts it; `piece`,
            // the only other function that builds the variant, narrows an existing `Shared`
            // to offsets its callers found on character boundaries of `self` (`split`,
            // `split_whitespace`) or checked (`sub`).
            Repr::Shared { buf, start, end } => unsafe { buf.get_unchecked(*start as usize..*end as usize) },
        }
    }

    /// `self[start..end]`, sharing the buffer when the piece is too long to hold inline.
    ///
    /// `start <= end <= self.len()` must both be character boundaries of `self`: the
    /// representations' invariants depend on it. This is private and on the word-count path,
    /// so it does not check; each caller establishes it (see the `SAFETY` comments in
    /// [`as_str`](Self::as_str)).
    #[inline(always)]
    fn piece(&self, start: usize, end: usize) -> Str {
        debug_assert!(start <= end && self.is_char_boundary(start) && self.is_char_boundary(end));
        match &self.0 {
            Repr::Shared { buf, start: base, .. } if end - start > INLINE => {
                Str(Repr::Shared { buf: Arc::clone(buf), start: base + start as u32, end: base + end as u32 })
            }
            Repr::Shared { buf, start: base, .. } => {
                let base = *base as usize;
                Str::inline_from(buf.as_bytes(), base + start, base + end)
            }
            Repr::Inline(_) => Str::inline(&self.as_bytes()[start..end]),
        }
    }

    /// `sub` as a `Str` sharing `self`'s buffer, when `sub` is a slice of `self.as_str()` (as
    /// the results of `str` methods such as `trim` or `split` called on `self` are); `None`
    /// when it is any other string, even one with the same text.
    ///
    /// The check compares addresses and looks at the two bytes where the piece starts and
    /// ends: constant time, not a search.
    ///
    /// ```
    /// use stream_runtime::Str;
    /// let line = Str::from("  padded line  ");
    /// assert_eq!(line.sub(line.trim()).unwrap(), "padded line");
    /// assert_eq!(line.sub("padded line"), None);
    /// ```
    #[inline]
    pub fn sub(&self, sub: &str) -> Option<Str> {
        let whole = self.as_str();
        let start = (sub.as_ptr() as usize).checked_sub(whole.as_ptr() as usize)?;
        let end = start.checked_add(sub.len())?;
        // `sub` lies inside `whole`, so it is `whole[start..end]`: a valid `str` inside a valid
        // `str` begins and ends on character boundaries, unless it is empty, when `start` may
        // fall inside a character; checking both boundaries covers every case.
        (end <= whole.len() && whole.is_char_boundary(start) && whole.is_char_boundary(end))
            .then(|| self.piece(start, end))
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
        // A byte of 0xFF never occurs in UTF-8: a separator that is not ASCII gets a pattern
        // that the word-at-a-time search never finds, so it takes the general path.
        let pattern = if sep.is_ascii() { ONES * sep as u64 } else { u64::MAX };
        Split { pos: 0, s: self, sep, pattern }
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
    /// Offset in `s` of the next piece; past the end ([`DONE`]) once the last piece is out.
    pos: usize,
    sep: char,
    /// `sep` in every byte when it is ASCII, else 0xFF in every byte (a byte UTF-8 never
    /// holds): decided once, not for every piece.
    pattern: u64,
}

/// [`Split::pos`] once the last piece was handed out: past the end of every string.
const DONE: usize = usize::MAX;

impl Iterator for Split {
    type Item = Str;
    #[inline(always)]
    fn next(&mut self) -> Option<Str> {
        let start = self.pos;
        // `None` once done: `DONE` is past the end.
        let rest = self.s.as_bytes().get(start..)?;
        // Most pieces are words shorter than 16 bytes: one pair of loads finds the word's end
        // and is the word, masked, held inline (no second read, no reference count).
        if let Some(wide) = rest.get(..16) {
            let (lo, hi) = (le_word(&wide[..8]), le_word(&wide[8..]));
            let found = match first_zero_byte(lo ^ self.pattern) {
                Some(i) => Some(i),
                None => first_zero_byte(hi ^ self.pattern).map(|j| 8 + j),
            };
            if let Some(i) = found {
                // `inline_words`' contract: `start` is 0 or just past an ASCII separator,
                // `start + i` is one (a byte found is the separator's: a separator that is not
                // ASCII has a pattern of 0xFF bytes, which no `str` holds), so the `i <= 15`
                // bytes are whole characters.
                self.pos = start + i + 1;
                return Some(Str::inline_words(lo, hi, i));
            }
        }
        let found = if self.sep.is_ascii() { find_byte(self.sep as u8, rest) } else { self.s[start..].find(self.sep) };
        // `piece`'s contract: `start` is 0 or just past a separator, `start + i` is where one
        // begins, and the end is `len()`; all are character boundaries (an ASCII byte is
        // always a whole character in UTF-8).
        match found {
            Some(i) => {
                self.pos = start + i + self.sep.len_utf8();
                Some(self.s.piece(start, start + i))
            }
            None => {
                self.pos = DONE;
                Some(self.s.piece(start, self.s.len()))
            }
        }
    }
}

const ONES: u64 = u64::from_ne_bytes([1; 8]);
const HIGHS: u64 = u64::from_ne_bytes([0x80; 8]);

/// The little-endian word of 8 bytes.
#[inline(always)]
fn le_word(b: &[u8]) -> u64 {
    let mut w = [0; 8];
    w.copy_from_slice(&b[..8]);
    u64::from_le_bytes(w)
}

/// The index of the first zero byte of the little-endian word `x`.
#[inline(always)]
fn first_zero_byte(x: u64) -> Option<usize> {
    // The lowest set high bit marks the first zero byte of `x` (higher ones may be false).
    let zero = x.wrapping_sub(ONES) & !x & HIGHS;
    (zero != 0).then(|| zero.trailing_zeros() as usize / 8)
}

/// The first `b` in `hay`. Most pieces are words, so the first 16 bytes are searched eight at
/// a time in a register, which finds a word's end sooner than a call to `memchr` does.
#[inline(always)]
fn find_byte(b: u8, hay: &[u8]) -> Option<usize> {
    let pattern = ONES * b as u64;
    let mut i = 0;
    while i < 16 && i + 8 <= hay.len() {
        if let Some(j) = first_zero_byte(le_word(&hay[i..]) ^ pattern) {
            return Some(i + j);
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
        // `piece`'s contract: `str::find` returns character boundaries.
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
impl Str {
    /// An inline string's 16 bytes as two big-endian words, `None` for a shared one. Two
    /// inline strings are equal exactly when their words are (the padding is zero and the
    /// length is in the last byte), and they order as their words do: where the texts differ
    /// within both, the first differing byte decides, as in `str`; where one is a prefix of
    /// the other, the shorter one has a zero where the longer one has a byte that is not (or,
    /// when the longer one goes on with zeros, the smaller length in the last byte), so the
    /// shorter one is less, as in `str`.
    #[inline(always)]
    fn words(&self) -> Option<(u64, u64)> {
        match &self.0 {
            Repr::Inline(b) => Some((be_word(&b[..8]), be_word(&b[8..]))),
            Repr::Shared { .. } => None,
        }
    }
}

/// The big-endian word of 8 bytes.
#[inline(always)]
fn be_word(b: &[u8]) -> u64 {
    let mut w = [0; 8];
    w.copy_from_slice(&b[..8]);
    u64::from_be_bytes(w)
}

impl PartialEq for Str {
    #[inline]
    fn eq(&self, o: &Str) -> bool {
        match (self.words(), o.words()) {
            // Two pairs of words: no call, no buffer read.
            (Some(a), Some(b)) => a == b,
            // An inline string (15 bytes at most) never equals a shared one (16 at least).
            (Some(_), None) | (None, Some(_)) => false,
            (None, None) => self.as_str() == o.as_str(),
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
    #[inline]
    fn cmp(&self, o: &Str) -> std::cmp::Ordering {
        match (self.words(), o.words()) {
            (Some(a), Some(b)) => a.cmp(&b),
            _ => self.as_str().cmp(o.as_str()),
        }
    }
}
impl Hash for Str {
    #[inline(always)]
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
    fn a_split_stays_done() {
        for (text, sep) in [("a b", ' '), ("", ' '), ("the longest word in this line", ' '), ("aüb", 'ü')] {
            let mut it = Str::from(text).split(sep);
            assert_eq!(it.by_ref().count(), text.split(sep).count());
            assert_eq!(it.next(), None);
            assert_eq!(it.next(), None);
        }
    }

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
        assert!(matches!(words[0].0, Repr::Inline(b) if b[INLINE] == 15));
        assert!(matches!(words[1].0, Repr::Shared { .. }));
        assert!(matches!(words[2].0, Repr::Inline(b) if b[INLINE] == 2));
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
        assert_eq!(shared.sub(&shared[2..5]).unwrap(), "cde");
        assert_eq!(inline.sub(&inline[9..]).unwrap(), "j");
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
    fn sub_refuses_a_str_from_elsewhere() {
        let buf: Arc<str> = Arc::from("0123456789 a line long enough to be shared, ünïcödé tail");
        let long = Str::slice_of(&buf, 11, buf.len() - 5);
        let short = Str::from("ünï");
        let other = String::from(&buf[..]);
        for s in [&long, &short] {
            // The same text in another allocation, a piece of it, a static string.
            assert_eq!(s.sub(&other), None);
            assert_eq!(s.sub(&other[11..20]), None);
            assert_eq!(s.sub("ü"), None);
        }
        // Slices of the same buffer that start before `long` or run past its end.
        assert_eq!(long.sub(&buf[5..20]), None);
        assert_eq!(long.sub(&buf[20..]), None);
        assert_eq!(long.sub(&buf[..]), None);
        assert_eq!(long.sub(&buf[20..30]).unwrap(), &buf[20..30]);
        // Empty slices at a position inside a character are refused; at a boundary, taken.
        // (`&short[1..1]` would panic: 1 is inside "ü".)
        #[allow(clippy::string_from_utf8_as_bytes)]
        let inside = std::str::from_utf8(&short.as_bytes()[1..1]).unwrap();
        assert_eq!(short.sub(inside), None);
        assert_eq!(short.sub(&short[2..2]).unwrap(), "");
        assert_eq!(long.sub(&long[long.len()..]).unwrap(), "");
    }

    #[test]
    fn sub_slices_share_the_buffer() {
        let line = Str::from("hello world");
        let w = line.sub(&line[6..]).unwrap();
        assert_eq!(w, "world");
        let again: Vec<Str> = w.split('o').collect();
        assert_eq!(again, ["w", "rld"]);
    }

    /// `Str` against `str` on arbitrary UTF-8: every piece `Str` hands out must be the piece
    /// `str` hands out, whichever representation holds it.
    mod props {
        use super::*;
        use proptest::prelude::*;
        use std::hash::BuildHasher;

        /// Text from a small alphabet (separators, whitespace, multi-byte characters: many
        /// pieces, of every length around [`INLINE`]) or any UTF-8 at all.
        fn text() -> impl Strategy<Value = String> {
            prop_oneof![r"[ab ,\t\nü\u{3000}€😀]{0,60}", r"([a-z]{0,20}[ ,])*", any::<String>()]
        }

        fn sep() -> impl Strategy<Value = char> {
            prop_oneof![Just(' '), Just(','), Just('ü'), Just('😀'), any::<char>()]
        }

        /// `text` as a `Str` shared from a larger buffer at an offset (`Repr::Shared`, or inline
        /// when short), so offsets into the buffer and into the `Str` differ.
        fn embedded(text: &str, prefix: &str) -> Str {
            let buf: Arc<str> = Arc::from(format!("{prefix}{text}|"));
            Str::slice_of(&buf, prefix.len(), prefix.len() + text.len())
        }

        fn strings(ours: impl Iterator<Item = Str>) -> Vec<String> {
            ours.map(String::from).collect()
        }

        /// A character boundary of `s` near `at` (a fraction of its length).
        fn boundary(s: &str, at: f64) -> usize {
            let mut i = (s.len() as f64 * at) as usize;
            while !s.is_char_boundary(i) {
                i -= 1;
            }
            i
        }

        proptest! {
            #[test]
            fn split_is_str_split(text in text(), sep in sep(), prefix in "[xé]{0,3}") {
                let std: Vec<String> = text.split(sep).map(String::from).collect();
                prop_assert_eq!(strings(Str::from(text.as_str()).split(sep)), std.clone());
                prop_assert_eq!(strings(embedded(&text, &prefix).split(sep)), std);
            }

            /// The split's fast path (a word found and held inline from one pair of loads)
            /// against `str::split`, on lines of words around the inline length.
            #[test]
            fn words_of_a_line_are_str_split_and_short_ones_inline(
                words in proptest::collection::vec("[a-zü]{0,18}", 0..40),
                sep in prop_oneof![Just(' '), Just(','), Just('\n')],
                prefix in "[xé ]{0,3}",
            ) {
                let line = words.join(&sep.to_string());
                let ours: Vec<Str> = embedded(&line, &prefix).split(sep).collect();
                let std: Vec<&str> = line.split(sep).collect();
                prop_assert_eq!(ours.len(), std.len());
                for (o, w) in ours.iter().zip(&std) {
                    prop_assert_eq!(o.as_str(), *w);
                    prop_assert_eq!(matches!(o.0, Repr::Inline(_)), w.len() <= INLINE);
                }
            }

            #[test]
            fn split_of_a_piece_is_str_split(text in text(), a in sep(), b in sep()) {
                let ours: Vec<Vec<String>> =
                    Str::from(text.as_str()).split(a).map(|p| strings(p.split(b))).collect();
                let std: Vec<Vec<String>> =
                    text.split(a).map(|p| p.split(b).map(String::from).collect()).collect();
                prop_assert_eq!(ours, std);
            }

            #[test]
            fn split_whitespace_is_str_split_whitespace(text in text(), prefix in "[xé ]{0,3}") {
                let std: Vec<String> = text.split_whitespace().map(String::from).collect();
                prop_assert_eq!(strings(Str::from(text.as_str()).split_whitespace()), std.clone());
                prop_assert_eq!(strings(embedded(&text, &prefix).split_whitespace()), std);
            }

            #[test]
            fn sub_is_slicing(text in text(), from in 0.0..=1.0f64, len in 0.0..=1.0f64) {
                let (i, j) = (boundary(&text, from), boundary(&text, from + (1.0 - from) * len));
                for s in [Str::from(text.as_str()), embedded(&text, "é")] {
                    let piece = s.sub(&s[i..j]);
                    prop_assert_eq!(piece.as_deref(), Some(&text[i..j]));
                    // The same text elsewhere is refused (an empty string may sit anywhere).
                    let copy = text[i..j].to_string();
                    if !copy.is_empty() {
                        prop_assert_eq!(s.sub(&copy), None);
                    }
                    // A long piece shares `s`'s buffer, so its text is a slice of `s`; a short
                    // one is a copy held inline, so it is not.
                    let piece = piece.unwrap();
                    prop_assert_eq!(s.sub(&piece).is_some(), j - i > INLINE);
                }
            }

            /// Short strings with NULs and shared prefixes: the inline words' order and equality
            /// (padding, length byte) against `String`'s, and the other traits a key uses.
            #[test]
            fn eq_ord_hash_clone_and_conversions_are_those_of_string(
                a in r"[a\x00ü]{0,17}",
                b in r"[a\x00ü]{0,17}",
            ) {
                let h = crate::data::FastHasher::default();
                let (x, y) = (Str::from(a.clone()), Str::from(b.as_str()));
                prop_assert_eq!(x == y, a == b);
                prop_assert_eq!(x.cmp(&y), a.cmp(&b));
                prop_assert_eq!(x.partial_cmp(&y), a.partial_cmp(&b));
                prop_assert_eq!(h.hash_one(&x) == h.hash_one(&y), h.hash_one(&a) == h.hash_one(&b));
                prop_assert_eq!(h.hash_one(&x), h.hash_one(a.as_str()));
                // `Borrow<str>` promises the hash and equality of `str`: a map keyed by `Str`
                // finds a key by its `&str`.
                let map: std::collections::HashMap<Str, usize> = [(x.clone(), 1)].into_iter().collect();
                prop_assert_eq!(map.get(a.as_str()), Some(&1));
                prop_assert_eq!(map.contains_key(b.as_str()), a == b);
                // Clones, conversions and the serialized form keep the text.
                let c = x.clone();
                prop_assert_eq!(&c, &x);
                prop_assert_eq!(h.hash_one(&c), h.hash_one(&x));
                prop_assert_eq!(String::from(c), a.clone());
                prop_assert_eq!(Str::from(Arc::<str>::from(a.as_str())), x.clone());
                prop_assert_eq!(x.to_string(), a.clone());
                prop_assert_eq!(format!("{x:?}"), format!("{a:?}"));
                let bytes = bincode::serialize(&x).unwrap();
                prop_assert_eq!(&bytes, &bincode::serialize(&a).unwrap());
                prop_assert_eq!(bincode::deserialize::<Str>(&bytes).unwrap(), x);
            }

            #[test]
            fn eq_hash_and_ord_are_those_of_str(a in text(), b in text(), split in 0.0..=1.0f64) {
                let h = crate::data::FastHasher::default();
                // Both representations of each text, and `b` as a piece of `a + b`.
                let joined = format!("{a}{b}");
                let whole = Str::from(joined.as_str());
                let cut = boundary(&joined, split);
                let (x, y) = (whole.sub(&whole[..a.len()]).unwrap(), whole.sub(&whole[a.len()..]).unwrap());
                let xs = [Str::from(a.as_str()), embedded(&a, "é"), x];
                let ys = [Str::from(b.as_str()), embedded(&b, "x"), y];
                for x in &xs {
                    prop_assert_eq!(h.hash_one(x), h.hash_one(a.as_str()));
                    for y in &ys {
                        prop_assert_eq!(x == y, a == b);
                        prop_assert_eq!(x.cmp(y), a.cmp(&b));
                        prop_assert_eq!(x.partial_cmp(y), a.partial_cmp(&b));
                    }
                    for x2 in &xs {
                        prop_assert_eq!(x, x2);
                    }
                }
                let left = whole.sub(&whole[..cut]).unwrap();
                let expected = Str::from(&joined[..cut]);
                prop_assert_eq!(&left, &expected);
                prop_assert_eq!(h.hash_one(&left), h.hash_one(&joined[..cut]));
            }
        }
    }
}
