//! Turning bytes into lines: lossy UTF-8 decoding (counted), a line-length limit (reported
//! with source and position), `\n` and `\r\n` endings.

use std::io::{self, Read};
use std::sync::Arc;

use crate::metrics::SourceCounters;
use crate::str::Str;

/// Decodes whole lines and enforces the limit for one source.
pub(crate) struct Decoder<'s> {
    pub(crate) source: &'s str,
    pub(crate) limit: usize,
    pub(crate) counters: &'s SourceCounters,
}

impl Decoder<'_> {
    /// Splits `chunk` (whole lines; the last may lack its `\n`) into lines sharing one buffer.
    /// `offset` is the chunk's byte position in its source, for error reports.
    pub(crate) fn lines(&self, chunk: &[u8], offset: u64) -> Vec<Str> {
        let mut out = Vec::new();
        self.lines_into(chunk, offset, &mut out);
        out
    }

    /// As [`lines`](Self::lines), appending to `out`. The chunk is validated as UTF-8 once and
    /// copied once, into the buffer its lines share.
    pub(crate) fn lines_into(&self, chunk: &[u8], offset: u64, out: &mut Vec<Str>) {
        let text: Arc<str> = match std::str::from_utf8(chunk) {
            Ok(s) => Arc::from(s),
            Err(_) => Arc::from(self.lossy(chunk).as_str()),
        };
        self.cut(&text, 0..text.len(), offset, out);
    }

    /// The lines of a file split, sharing the buffer the split was read into when they are
    /// valid UTF-8 (no copy); decoded lossily into a new one otherwise.
    pub(crate) fn lines_of_split(&self, split: crate::fs::Split) -> Vec<Str> {
        let mut out = Vec::new();
        self.lines_of_split_into(split, &mut out);
        out
    }

    /// As [`lines_of_split`](Self::lines_of_split), appending to `out`.
    pub(crate) fn lines_of_split_into(&self, split: crate::fs::Split, out: &mut Vec<Str>) {
        let offset = split.offset;
        match split.into_text() {
            Ok((text, range)) => self.cut(&text, range, offset, out),
            Err(split) => self.lines_into(split.bytes(), offset, out),
        }
    }

    /// Appends to `out` the lines of `text[range]` (whole lines; the last may lack its `\n`),
    /// whose first byte is at `offset` in the source. One pass finds the line ends (`memchr`'s
    /// vectorised search over the whole range, not a call per line).
    fn cut(&self, text: &Arc<str>, range: std::ops::Range<usize>, offset: u64, out: &mut Vec<Str>) {
        let bytes = &text.as_bytes()[..range.end];
        // About one line per 48 bytes of text; the vector grows if there are more.
        out.reserve((range.end - range.start) / 48 + 1);
        let before = out.len();
        let mut start = range.start;
        for_each_newline(&bytes[range.start..], |end| {
            let end = range.start + end;
            self.line(text, (start, end), offset + (start - range.start) as u64, out);
            start = end + 1;
        });
        if start < range.end {
            self.line(text, (start, range.end), offset + (start - range.start) as u64, out);
        }
        self.counters.lines.add((out.len() - before) as u64);
    }

    /// Line `text[start..end]` (its `\r` ending dropped) into `out`, or reported as longer
    /// than the limit; `position` is its start in the file.
    #[inline(always)]
    fn line(&self, text: &Arc<str>, (start, end): (usize, usize), position: u64, out: &mut Vec<Str>) {
        let stripped = if end > start && text.as_bytes()[end - 1] == b'\r' { end - 1 } else { end };
        if stripped - start > self.limit {
            self.oversized(position, stripped - start);
        } else {
            out.push(Str::slice_of(text, start, stripped));
        }
    }

    /// Decodes line by line, replacing invalid sequences with U+FFFD and counting the lines
    /// that had any.
    fn lossy(&self, chunk: &[u8]) -> String {
        let mut s = String::with_capacity(chunk.len());
        let mut bad = 0;
        for (i, line) in chunk.split(|&b| b == b'\n').enumerate() {
            if i > 0 {
                s.push('\n');
            }
            match String::from_utf8_lossy(line) {
                std::borrow::Cow::Borrowed(l) => s.push_str(l),
                std::borrow::Cow::Owned(l) => {
                    bad += 1;
                    s.push_str(&l);
                }
            }
        }
        if bad > 0 {
            tracing::warn!(
                source = self.source,
                lines = bad,
                "invalid UTF-8 decoded lossily (invalid bytes became U+FFFD)"
            );
            self.counters.invalid_utf8_lines.add(bad);
        }
        s
    }

    pub(crate) fn oversized(&self, position: u64, len: usize) {
        tracing::warn!(
            source = self.source,
            position,
            len,
            limit = self.limit,
            "line longer than the limit kept out of the batch"
        );
        self.counters.oversized_lines.add(1);
    }
}

/// Calls `f` with the position of every `\n` in `bytes`, in order.
///
/// Lines of text are short (tens of bytes), and `memchr_iter` pays a call and its set-up for
/// each: about 100 instructions a line of 48 bytes. This takes 64 bytes at a time into a bit
/// mask of their newlines ([`newline_mask`]) and walks the mask's bits; the last, partial
/// block is copied into a block of zeros first, so `f` is called from one place and inlined.
#[inline(always)]
pub(crate) fn for_each_newline(bytes: &[u8], mut f: impl FnMut(usize)) {
    let mut base = 0;
    while base < bytes.len() {
        let mut m = match bytes.get(base..base + 64) {
            Some(block) => newline_mask(block.try_into().expect("64 bytes")),
            None => {
                let mut last = [0u8; 64];
                last[..bytes.len() - base].copy_from_slice(&bytes[base..]);
                newline_mask(&last)
            }
        };
        while m != 0 {
            f(base + m.trailing_zeros() as usize);
            m &= m - 1;
        }
        base += 64;
    }
}

/// Bit `i` set when `block[i]` is `\n`. On x86-64 four SSE2 compares and mask moves (every
/// x86-64 processor has SSE2); elsewhere a loop the compiler may vectorise.
#[inline(always)]
#[allow(unsafe_code)]
fn newline_mask(block: &[u8; 64]) -> u64 {
    #[cfg(target_arch = "x86_64")]
    {
        use std::arch::x86_64::{__m128i, _mm_cmpeq_epi8, _mm_loadu_si128, _mm_movemask_epi8, _mm_set1_epi8};
        let mask16 = |at: usize| -> u64 {
            // SAFETY: SSE2, which these intrinsics need, is part of x86-64, so every processor
            // this code is built for has it. `_mm_loadu_si128` reads 16 bytes from the pointer
            // with no alignment required: `at` is 0, 16, 32 or 48 of a 64-byte array, so the
            // read stays inside it.
            let m = unsafe {
                let v = _mm_loadu_si128(block.as_ptr().add(at).cast::<__m128i>());
                _mm_movemask_epi8(_mm_cmpeq_epi8(v, _mm_set1_epi8(b'\n' as i8)))
            };
            u64::from(m as u16)
        };
        mask16(0) | mask16(16) << 16 | mask16(32) << 32 | mask16(48) << 48
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        block.iter().enumerate().fold(0u64, |m, (i, &b)| m | u64::from(b == b'\n') << i)
    }
}

/// What [`LineReader::next_line`] read.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Line {
    /// A complete line, without its ending.
    Text(Str),
    /// A line longer than the limit was skipped (its length so far).
    Oversized(usize),
}

/// Reads lines from a byte stream with a length limit, without losing a partial line when a
/// read times out.
pub(crate) struct LineReader<R> {
    inner: R,
    buf: Vec<u8>,
    pos: usize,
    limit: usize,
    skipping: Option<usize>,
    position: u64,
}

impl<R: Read> LineReader<R> {
    pub(crate) fn new(inner: R, limit: usize) -> Self {
        LineReader { inner, buf: Vec::with_capacity(64 * 1024), pos: 0, limit, skipping: None, position: 0 }
    }

    /// Lines read so far (the 0-based number of the next line).
    pub(crate) fn lines_read(&self) -> u64 {
        self.position
    }

    /// The next line; `Ok(None)` at end of stream (a last line without `\n` is returned first).
    /// A read error (including a time-out) is returned as is; calling again resumes.
    pub(crate) fn next_line(&mut self, decoder: &Decoder<'_>) -> io::Result<Option<Line>> {
        loop {
            if let Some(i) = memchr::memchr(b'\n', &self.buf[self.pos..]) {
                let end = self.pos + i;
                let line = self.finish(end, decoder);
                self.pos = end + 1;
                self.position += 1;
                self.compact();
                return Ok(Some(line));
            }
            if let Some(skipped) = self.skipping.as_mut() {
                *skipped += self.buf.len() - self.pos;
                self.buf.clear();
                self.pos = 0;
            } else if self.buf.len() - self.pos > self.limit {
                self.skipping = Some(self.buf.len() - self.pos);
                self.buf.clear();
                self.pos = 0;
            }
            self.compact();
            let len = self.buf.len();
            self.buf.resize(len + 64 * 1024, 0);
            let n = match self.inner.read(&mut self.buf[len..]) {
                Ok(n) => n,
                Err(e) => {
                    self.buf.truncate(len);
                    return Err(e);
                }
            };
            self.buf.truncate(len + n);
            if n == 0 {
                if self.pos < self.buf.len() || self.skipping.is_some() {
                    let end = self.buf.len();
                    let line = self.finish(end, decoder);
                    self.pos = end;
                    self.position += 1;
                    return Ok(Some(line));
                }
                return Ok(None);
            }
        }
    }

    fn finish(&mut self, end: usize, decoder: &Decoder<'_>) -> Line {
        let start = self.pos;
        let content_end = if end > start && self.buf[end - 1] == b'\r' { end - 1 } else { end };
        let len = content_end - start;
        if let Some(skipped) = self.skipping.take() {
            return Line::Oversized(skipped + len);
        }
        if len > self.limit {
            return Line::Oversized(len);
        }
        let bytes = &self.buf[start..content_end];
        let text = match std::str::from_utf8(bytes) {
            Ok(s) => Str::from(s),
            Err(_) => {
                decoder.counters.invalid_utf8_lines.add(1);
                tracing::warn!(source = decoder.source, "invalid UTF-8 decoded lossily (invalid bytes became U+FFFD)");
                Str::from(String::from_utf8_lossy(bytes).into_owned())
            }
        };
        Line::Text(text)
    }

    fn compact(&mut self) {
        if self.pos > 0 && self.pos == self.buf.len() {
            self.buf.clear();
            self.pos = 0;
        } else if self.pos > 32 * 1024 {
            self.buf.drain(..self.pos);
            self.pos = 0;
        }
    }
}

/// Bytes of short lines for property tests: `a`, `\n`, `\r`, the two bytes of `é` (either
/// alone is invalid UTF-8) and `0xff`, fewer than `max`.
#[cfg(test)]
pub(crate) fn line_bytes(max: usize) -> impl proptest::strategy::Strategy<Value = Vec<u8>> {
    use proptest::prelude::Just;
    let byte = proptest::prop_oneof![6 => Just(b'a'), 2 => Just(b'\n'), 1 => Just(b'\r'), 1 => Just(0xc3), 1 => Just(0xa9), 1 => Just(0xff)];
    proptest::collection::vec(byte, 0..max)
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    proptest! {
        /// The block scan finds the newlines `memchr` finds, in order, wherever they fall
        /// in or across 64-byte blocks, in slices starting at any alignment.
        #[test]
        fn newlines_are_those_memchr_finds(
            bytes in proptest::collection::vec(prop_oneof![Just(b'\n'), Just(b'a'), Just(0xffu8), any::<u8>()], 0..400),
            skip in 0usize..16,
        ) {
            let bytes = &bytes[skip.min(bytes.len())..];
            let mut found = Vec::new();
            for_each_newline(bytes, |i| found.push(i));
            prop_assert_eq!(found, memchr::memchr_iter(b'\n', bytes).collect::<Vec<_>>());
        }
    }

    fn decoder(counters: &SourceCounters) -> Decoder<'_> {
        Decoder { source: "test", limit: 10, counters }
    }

    #[test]
    fn chunk_lines_handle_crlf_limit_and_bad_utf8() {
        let c = SourceCounters::default();
        let d = decoder(&c);
        let lines = d.lines(b"a b\r\nthis line is too long\n\xff\xfeok\nlast", 0);
        assert_eq!(lines, ["a b", "\u{fffd}\u{fffd}ok", "last"]);
        let s = c.snapshot();
        assert_eq!((s.lines, s.invalid_utf8_lines, s.oversized_lines), (3, 1, 1));
    }

    /// The obvious decoding, line by line: split at `\n` (no line after a last `\n`),
    /// decode lossily, drop one `\r` ending, keep lines up to the limit. Returns the lines
    /// and the counts of lines, invalid lines and oversized lines.
    fn obvious(chunk: &[u8], limit: usize) -> (Vec<String>, (u64, u64, u64)) {
        let mut pieces: Vec<&[u8]> = chunk.split(|&b| b == b'\n').collect();
        if chunk.is_empty() || chunk.ends_with(b"\n") {
            pieces.pop();
        }
        let (mut lines, mut invalid, mut oversized) = (Vec::new(), 0, 0);
        for piece in pieces {
            let mut text = String::from_utf8_lossy(piece).into_owned();
            invalid += u64::from(std::str::from_utf8(piece).is_err());
            if text.ends_with('\r') {
                text.pop();
            }
            if text.len() > limit {
                oversized += 1;
            } else {
                lines.push(text);
            }
        }
        let n = lines.len() as u64;
        (lines, (n, invalid, oversized))
    }

    proptest::proptest! {
        /// The decoder (one vectorised pass for the line ends, one validation, one copy) gives
        /// what decoding line by line gives, counts included, in one chunk or in pieces.
        #[test]
        fn lines_are_the_obvious_lines(
            bytes in line_bytes(300),
            limit in 0usize..20,
            cut in 0usize..300,
        ) {
            let (want, counts) = obvious(&bytes, limit);
            let c = SourceCounters::default();
            let d = Decoder { source: "test", limit, counters: &c };
            let got: Vec<String> = d.lines(&bytes, 0).into_iter().map(String::from).collect();
            proptest::prop_assert_eq!(&got, &want);
            let s = c.snapshot();
            proptest::prop_assert_eq!((s.lines, s.invalid_utf8_lines, s.oversized_lines), counts);
            // Cut after a line end, as file splits hand them on: the same lines.
            let cut = bytes[..cut.min(bytes.len())].iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1);
            let mut pieces = Vec::new();
            d.lines_into(&bytes[..cut], 0, &mut pieces);
            d.lines_into(&bytes[cut..], cut as u64, &mut pieces);
            proptest::prop_assert_eq!(pieces.into_iter().map(String::from).collect::<Vec<_>>(), want);
        }
    }

    #[test]
    fn reader_skips_long_lines_and_keeps_going() {
        let c = SourceCounters::default();
        let d = decoder(&c);
        let data = format!("short\n{}\nafter\ntail", "x".repeat(200_000));
        let mut r = LineReader::new(data.as_bytes(), 10);
        let mut got = Vec::new();
        while let Some(l) = r.next_line(&d).unwrap() {
            got.push(l);
        }
        assert_eq!(
            got,
            vec![
                Line::Text(Str::from("short")),
                Line::Oversized(200_000),
                Line::Text(Str::from("after")),
                Line::Text(Str::from("tail"))
            ]
        );
    }
}
