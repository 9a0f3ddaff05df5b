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
/// ```
/// use stream_runtime::Str;
/// let line = Str::from("to be or not");
/// let words: Vec<Str> = line.clone().split(' ').collect();
/// assert_eq!(words, ["to", "be", "or", "not"]);
/// assert_eq!(words[1].to_uppercase(), "BE");
/// ```
#[derive(Clone)]
pub struct Str {
    buf: Arc<str>,
    start: u32,
    end: u32,
}

impl Str {
    /// The empty string.
    pub fn empty() -> Str {
        Str::from("")
    }

    /// Shares `buf[range]`; the range must lie on character boundaries.
    ///
    /// # Panics
    /// When the range is out of bounds or not on character boundaries, or the buffer is 4 GiB or larger.
    pub fn slice_of(buf: &Arc<str>, start: usize, end: usize) -> Str {
        assert!(buf.is_char_boundary(start) && buf.is_char_boundary(end) && start <= end);
        let to_u32 = |x: usize| u32::try_from(x).expect("text buffers are smaller than 4 GiB");
        Str { buf: Arc::clone(buf), start: to_u32(start), end: to_u32(end) }
    }

    /// The text.
    #[inline]
    pub fn as_str(&self) -> &str {
        // SAFETY: the constructors check that start..end lies on char boundaries of `buf`.
        unsafe { self.buf.get_unchecked(self.start as usize..self.end as usize) }
    }

    /// A sub-slice sharing the same buffer: `sub` must be a slice of `self.as_str()`.
    #[inline]
    pub fn sub(&self, sub: &str) -> Str {
        let base = self.buf.as_ptr() as usize;
        let start = sub.as_ptr() as usize - base;
        debug_assert!(start >= self.start as usize && start + sub.len() <= self.end as usize);
        Str { buf: Arc::clone(&self.buf), start: start as u32, end: (start + sub.len()) as u32 }
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
        Split { pos: self.start as usize, s: self, sep, done: false }
    }

    /// Splits on runs of ASCII/Unicode whitespace, skipping empty pieces.
    ///
    /// ```
    /// use stream_runtime::Str;
    /// let words: Vec<Str> = Str::from(" a\tb  c ").split_whitespace().collect();
    /// assert_eq!(words, ["a", "b", "c"]);
    /// ```
    pub fn split_whitespace(self) -> SplitWhitespace {
        SplitWhitespace { pos: self.start as usize, s: self }
    }
}

/// Iterator returned by [`Str::split`].
#[derive(Debug, Clone)]
pub struct Split {
    s: Str,
    pos: usize,
    sep: char,
    done: bool,
}

impl Iterator for Split {
    type Item = Str;
    #[inline]
    fn next(&mut self) -> Option<Str> {
        if self.done {
            return None;
        }
        let end = self.s.end as usize;
        let start = self.pos;
        let found = if self.sep.is_ascii() {
            memchr::memchr(self.sep as u8, &self.s.buf.as_bytes()[start..end])
        } else {
            self.s.buf[start..end].find(self.sep)
        };
        match found {
            Some(i) => {
                self.pos = start + i + self.sep.len_utf8();
                Some(Str { buf: Arc::clone(&self.s.buf), start: start as u32, end: (start + i) as u32 })
            }
            None => {
                self.done = true;
                Some(Str { buf: Arc::clone(&self.s.buf), start: start as u32, end: end as u32 })
            }
        }
    }
}

/// Iterator returned by [`Str::split_whitespace`].
#[derive(Debug, Clone)]
pub struct SplitWhitespace {
    s: Str,
    pos: usize,
}

impl Iterator for SplitWhitespace {
    type Item = Str;
    #[inline]
    fn next(&mut self) -> Option<Str> {
        let end = self.s.end as usize;
        let rest = &self.s.buf[self.pos..end];
        let skip = rest.find(|c: char| !c.is_whitespace())?;
        let start = self.pos + skip;
        let len = self.s.buf[start..end].find(char::is_whitespace).unwrap_or(end - start);
        self.pos = start + len;
        Some(Str { buf: Arc::clone(&self.s.buf), start: start as u32, end: (start + len) as u32 })
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
    fn eq(&self, o: &Str) -> bool {
        self.as_str() == o.as_str()
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
    fn sub_slices_share_the_buffer() {
        let line = Str::from("hello world");
        let w = line.sub(&line[6..]);
        assert_eq!(w, "world");
        let again: Vec<Str> = w.split('o').collect();
        assert_eq!(again, ["w", "rld"]);
    }
}
