//! The benchmark corpus: lines of space-separated words, Zipf-distributed like natural text,
//! generated deterministically from a seed.
//!
//! This is the project's own generator (the `sluice-gen-corpus` binary, and [`corpus`] for the
//! benches), a port of the `gen_corpus.py` script the corpora were first made with: the same
//! arguments give byte-for-byte the same files. It reproduces the script's use of Python's
//! `random` module exactly: a Mersenne Twister seeded as `random.Random(seed)` seeds it
//! ([`PyRandom`]), with `random()`, `choice`, `randint` and `expovariate` drawing the same
//! numbers in the same order.
//!
//! Word lengths follow a natural-language-like spread (1 to 14 letters, frequent words short);
//! ranks follow Zipf(s = 1.0), so a few words dominate and the long tail is large.
//!
//! ```
//! use sluice_benches::corpus::{in_memory, CorpusSpec};
//! let spec = CorpusSpec { bytes: 1000, vocab: 1000, seed: 7, files: 1 };
//! let text = String::from_utf8(in_memory(&spec).remove(0)).unwrap();
//! assert!(text.len() >= 1000 && text.ends_with('\n'));
//! assert!(text.lines().all(|l| (4..=16).contains(&l.split(' ').count())));
//! ```
//!
//! [`corpus`]: crate::corpus()

use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};

/// Python's `random.Random`: MT19937 seeded from an integer as CPython seeds it, and the
/// methods the generator draws with, each consuming the generator's outputs as CPython does.
///
/// ```
/// use sluice_benches::corpus::PyRandom;
/// // python3 -c 'import random; r = random.Random(7); print(r.random(), r.randint(4, 16))'
/// let mut r = PyRandom::new(7);
/// assert_eq!(r.random(), 0.32383276483316237);
/// assert_eq!(r.randint(4, 16), 6);
/// ```
#[derive(Clone)]
pub struct PyRandom {
    mt: Box<[u32; 624]>,
    index: usize,
}

impl std::fmt::Debug for PyRandom {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PyRandom").field("index", &self.index).finish_non_exhaustive()
    }
}

impl PyRandom {
    /// `random.Random(seed)`: the seed's 32-bit words, least significant first, through
    /// MT19937's `init_by_array`.
    pub fn new(seed: u64) -> PyRandom {
        let key: Vec<u32> = if seed >> 32 == 0 { vec![seed as u32] } else { vec![seed as u32, (seed >> 32) as u32] };
        let mut r = PyRandom { mt: Box::new([0; 624]), index: 624 };
        r.init_genrand(19_650_218);
        let mt = &mut r.mt;
        let (mut i, mut j) = (1usize, 0usize);
        for _ in 0..624.max(key.len()) {
            mt[i] = (mt[i] ^ (mt[i - 1] ^ (mt[i - 1] >> 30)).wrapping_mul(1_664_525))
                .wrapping_add(key[j])
                .wrapping_add(j as u32);
            i += 1;
            j += 1;
            if i >= 624 {
                mt[0] = mt[623];
                i = 1;
            }
            if j >= key.len() {
                j = 0;
            }
        }
        for _ in 0..623 {
            mt[i] = (mt[i] ^ (mt[i - 1] ^ (mt[i - 1] >> 30)).wrapping_mul(1_566_083_941)).wrapping_sub(i as u32);
            i += 1;
            if i >= 624 {
                mt[0] = mt[623];
                i = 1;
            }
        }
        mt[0] = 0x8000_0000;
        r
    }

    fn init_genrand(&mut self, s: u32) {
        self.mt[0] = s;
        for i in 1..624 {
            self.mt[i] = 1_812_433_253u32.wrapping_mul(self.mt[i - 1] ^ (self.mt[i - 1] >> 30)).wrapping_add(i as u32);
        }
        self.index = 624;
    }

    /// The next 32 bits of MT19937 (`genrand_uint32`).
    ///
    /// ```
    /// // python3 -c 'import random; print(random.Random(7).getrandbits(32))'
    /// assert_eq!(sluice_benches::corpus::PyRandom::new(7).next_u32(), 1390851128);
    /// ```
    pub fn next_u32(&mut self) -> u32 {
        const UPPER: u32 = 0x8000_0000;
        const LOWER: u32 = 0x7fff_ffff;
        const MATRIX_A: u32 = 0x9908_b0df;
        if self.index >= 624 {
            let mt = &mut self.mt;
            for k in 0..624 {
                let y = (mt[k] & UPPER) | (mt[(k + 1) % 624] & LOWER);
                mt[k] = mt[(k + 397) % 624] ^ (y >> 1) ^ if y & 1 == 1 { MATRIX_A } else { 0 };
            }
            self.index = 0;
        }
        let mut y = self.mt[self.index];
        self.index += 1;
        y ^= y >> 11;
        y ^= (y << 7) & 0x9d2c_5680;
        y ^= (y << 15) & 0xefc6_0000;
        y ^ (y >> 18)
    }

    /// `random()`: a float in [0, 1) from 53 random bits (two outputs).
    ///
    /// ```
    /// let x = sluice_benches::corpus::PyRandom::new(1).random();
    /// assert!((0.0..1.0).contains(&x));
    /// ```
    pub fn random(&mut self) -> f64 {
        let a = (self.next_u32() >> 5) as f64;
        let b = (self.next_u32() >> 6) as f64;
        (a * 67_108_864.0 + b) * (1.0 / 9_007_199_254_740_992.0)
    }

    /// `_randbelow(n)` for `0 < n < 2^32`: `getrandbits(n.bit_length())` until below `n`.
    fn below(&mut self, n: u32) -> u32 {
        let k = 32 - n.leading_zeros();
        loop {
            let r = self.next_u32() >> (32 - k);
            if r < n {
                return r;
            }
        }
    }

    /// `randint(a, b)`: an integer in `a..=b`.
    ///
    /// ```
    /// let mut r = sluice_benches::corpus::PyRandom::new(3);
    /// assert!((0..100).all(|_| (4..=16).contains(&r.randint(4, 16))));
    /// ```
    pub fn randint(&mut self, a: u32, b: u32) -> u32 {
        a + self.below(b - a + 1)
    }

    /// `choice(seq)`.
    ///
    /// ```
    /// let mut r = sluice_benches::corpus::PyRandom::new(3);
    /// assert!(["a", "b"].contains(r.choice(&["a", "b"])));
    /// ```
    pub fn choice<'s, T>(&mut self, seq: &'s [T]) -> &'s T {
        &seq[self.below(seq.len() as u32) as usize]
    }

    /// `expovariate(lambd)`: `-log(1 - random()) / lambd`.
    ///
    /// ```
    /// assert!(sluice_benches::corpus::PyRandom::new(3).expovariate(0.9) >= 0.0);
    /// ```
    pub fn expovariate(&mut self, lambd: f64) -> f64 {
        -(1.0 - self.random()).ln() / lambd
    }
}

/// What to generate: the script's `--mb`, `--vocab`, `--seed` and `--files`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CorpusSpec {
    /// Bytes in all (`int(mb * 1024 * 1024)`); each file gets `bytes / files`, rounded up to
    /// whole chunks of 512 lines.
    pub bytes: u64,
    /// Distinct words in the vocabulary.
    pub vocab: usize,
    /// The seed of the generator.
    pub seed: u64,
    /// Number of files the corpus is cut into (at line boundaries).
    pub files: usize,
}

impl CorpusSpec {
    /// The spec of `--mb mb` with the script's defaults (100,000 words, seed 7, one file).
    ///
    /// ```
    /// use sluice_benches::corpus::CorpusSpec;
    /// assert_eq!(CorpusSpec::mb(1.5).bytes, 1_572_864);
    /// ```
    pub fn mb(mb: f64) -> CorpusSpec {
        CorpusSpec { bytes: (mb * 1024.0 * 1024.0) as u64, vocab: 100_000, seed: 7, files: 1 }
    }
}

/// The syllables words are made of.
fn syllables() -> Vec<String> {
    let mut s: Vec<String> =
        "bcdfghjklmnprstvwz".chars().flat_map(|c| "aeiou".chars().map(move |v| format!("{c}{v}"))).collect();
    s.extend(["th", "st", "qu", "sh", "ch", "x", "y"].map(String::from));
    s
}

/// `n` distinct words, shortest first (then alphabetically): frequent words are short.
fn vocabulary(n: usize, rng: &mut PyRandom) -> Vec<String> {
    let syl = syllables();
    let mut seen = std::collections::HashSet::new();
    let mut words = Vec::with_capacity(n);
    while words.len() < n {
        let k = (1 + rng.expovariate(0.9) as u64).min(6);
        let mut w = String::new();
        for _ in 0..k {
            let s: &String = rng.choice(&syl);
            w.push_str(s);
        }
        w.truncate(14);
        if seen.insert(w.clone()) {
            words.push(w);
        }
    }
    words.sort_by(|a, b| (a.len(), a).cmp(&(b.len(), b)));
    words
}

/// Generates the corpus of `spec`, handing each chunk of 512 lines to `write(i, chunk)`,
/// where `i` is the (0-based) file it belongs to; files come in order.
///
/// # Errors
/// The first error of `write`.
///
/// ```
/// use sluice_benches::corpus::{generate, CorpusSpec};
/// let mut bytes = 0;
/// generate(&CorpusSpec { bytes: 5000, vocab: 50, seed: 7, files: 1 }, |_, chunk| {
///     bytes += chunk.len();
///     Ok(())
/// })
/// .unwrap();
/// assert!(bytes >= 5000);
/// ```
pub fn generate(spec: &CorpusSpec, mut write: impl FnMut(usize, &[u8]) -> io::Result<()>) -> io::Result<()> {
    let mut rng = PyRandom::new(spec.seed);
    let words = vocabulary(spec.vocab, &mut rng);
    let mut cum = Vec::with_capacity(spec.vocab);
    let mut total = 0.0f64;
    for r in 1..=spec.vocab {
        total += 1.0 / r as f64;
        cum.push(total);
    }
    let files = spec.files.max(1);
    let per_file = spec.bytes / files as u64;
    let mut chunk = Vec::new();
    for f in 0..files {
        let mut size = 0u64;
        while size < per_file {
            chunk.clear();
            for _ in 0..512 {
                let n = rng.randint(4, 16);
                for i in 0..n {
                    let x = rng.random() * total;
                    let w = &words[cum.partition_point(|&c| c < x)];
                    if i > 0 {
                        chunk.push(b' ');
                    }
                    chunk.extend_from_slice(w.as_bytes());
                }
                chunk.push(b'\n');
            }
            write(f, &chunk)?;
            size += chunk.len() as u64;
        }
    }
    Ok(())
}

/// The corpus of `spec` in memory, one buffer per file.
///
/// ```
/// use sluice_benches::corpus::{in_memory, CorpusSpec};
/// let files = in_memory(&CorpusSpec { bytes: 30_000, vocab: 100, seed: 1, files: 2 });
/// assert_eq!(files.len(), 2);
/// assert!(files.iter().all(|f| f.len() >= 15_000));
/// ```
pub fn in_memory(spec: &CorpusSpec) -> Vec<Vec<u8>> {
    let mut outs: Vec<Vec<u8>> = vec![Vec::new(); spec.files.max(1)];
    let filled = generate(spec, |i, chunk| {
        outs[i].extend_from_slice(chunk);
        Ok(())
    });
    debug_assert!(filled.is_ok(), "writing to memory does not fail");
    outs
}

/// The path of file `i` of a corpus written to `out`: `out` itself for one file, else
/// `out.000`, `out.001`, ...
///
/// ```
/// use sluice_benches::corpus::file_name;
/// assert_eq!(file_name("c.txt".as_ref(), 0, 1), std::path::Path::new("c.txt"));
/// assert_eq!(file_name("d/batch".as_ref(), 2, 8), std::path::Path::new("d/batch.002"));
/// ```
pub fn file_name(out: &Path, i: usize, files: usize) -> PathBuf {
    if files <= 1 {
        out.to_path_buf()
    } else {
        let mut name = out.as_os_str().to_owned();
        name.push(format!(".{i:03}"));
        PathBuf::from(name)
    }
}

/// Generates the corpus of `spec` into the file(s) named after `out` (see [`file_name`]).
///
/// # Errors
/// When a file cannot be created or written.
///
/// ```
/// use sluice_benches::corpus::{write_files, CorpusSpec};
/// let dir = std::env::temp_dir().join(format!("corpus-doc-{}", std::process::id()));
/// std::fs::create_dir_all(&dir).unwrap();
/// write_files(&CorpusSpec { bytes: 4000, vocab: 50, seed: 7, files: 2 }, &dir.join("c")).unwrap();
/// assert!(dir.join("c.000").exists() && dir.join("c.001").exists());
/// std::fs::remove_dir_all(&dir).unwrap();
/// ```
pub fn write_files(spec: &CorpusSpec, out: &Path) -> io::Result<()> {
    let mut file: Option<(usize, BufWriter<std::fs::File>)> = None;
    generate(spec, |i, chunk| {
        if file.as_ref().map(|(j, _)| *j) != Some(i) {
            if let Some((_, mut done)) = file.take() {
                done.flush()?;
            }
            file = Some((i, BufWriter::new(std::fs::File::create(file_name(out, i, spec.files))?)));
        }
        match &mut file {
            Some((_, w)) => w.write_all(chunk),
            None => Ok(()),
        }
    })?;
    match file {
        Some((_, mut w)) => w.flush(),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `random.Random(seed)` draws, from CPython 3.11:
    /// `python3 -c 'import random; r = random.Random(S); print([r.getrandbits(32) for _ in range(3)])'`
    #[test]
    fn mersenne_twister_matches_cpython() {
        let mut r = PyRandom::new(7);
        let first: Vec<u32> = (0..3).map(|_| r.next_u32()).collect();
        assert_eq!(first, PY_SEED7_U32);
        let mut r = PyRandom::new(1 << 40 | 5);
        assert_eq!(r.next_u32(), PY_SEED_2P40_5_U32);
    }

    const PY_SEED7_U32: [u32; 3] = [1390851128, 4071050724, 647892279];
    const PY_SEED_2P40_5_U32: u32 = 2166296868;

    /// The first lines of `gen_corpus.py --mb 0.001 --vocab 1000 --seed 3`.
    #[test]
    fn corpus_matches_the_script() {
        let spec = CorpusSpec { bytes: (0.001f64 * 1024.0 * 1024.0) as u64, vocab: 1000, seed: 3, files: 1 };
        let text = String::from_utf8(in_memory(&spec).remove(0)).unwrap();
        assert_eq!(text.lines().count(), 512);
        assert_eq!(text.lines().take(2).collect::<Vec<_>>(), PY_FIRST_LINES);
        assert_eq!(text.len(), PY_LEN);
    }

    const PY_FIRST_LINES: [&str; 2] = ["fo fula y juhi bo de mibo x bu gusi ci", "ywu ba fo ca ti ydo ga x lofa"];
    const PY_LEN: usize = 18191;

    #[test]
    fn files_split_the_bytes_at_line_ends() {
        let spec = CorpusSpec { bytes: 200_000, vocab: 500, seed: 9, files: 3 };
        let outs = in_memory(&spec);
        assert_eq!(outs.len(), 3);
        for out in &outs {
            assert!(out.len() as u64 >= 200_000 / 3);
            assert_eq!(out.last(), Some(&b'\n'));
        }
    }
}
