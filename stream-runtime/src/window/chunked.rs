//! A FIFO of values with their running aggregate (in insertion order) that touches, per push
//! or pop, the one cache line at its end and little else: the per-key queue of the
//! non-invertible keyed window.
//!
//! [`Daba`] Lite alone does O(1) work per operation, but in four places of its queue (the
//! oldest value, `q[l]`, `q[a - 1]`, the slot after the newest), which in a long window are
//! four cache lines far apart, each moving on to a fresh line every 8 operations. Here the
//! values are cut into chunks of [`CHUNK`] (one 64-byte line of 8-byte values) and only the
//! chunks' aggregates go through a DABA Lite queue, 8 times shorter and touched once per
//! chunk:
//!
//! * **front**, `q[0..front)`: what is left of the oldest chunk, as suffix aggregates
//!   (`q[i] = v[i] ⊕ … ⊕ v[front-1]`, folded in place, right to left, when the chunk became the
//!   front), so a pop only drops `q[0]`;
//! * **middle**: whole chunks of plain values, each chunk's aggregate in the DABA queue
//!   `chunks`, whose aggregate is kept in `middle`;
//! * **back**, the last `len - front - CHUNK * chunks.len()` (fewer than [`CHUNK`]) values as
//!   pushed, with their aggregate `back`.
//!
//! The aggregate is `q[0] ⊕ middle ⊕ back`. A push folds the value into `back`, and when the
//! back is a whole chunk, hands its aggregate to `chunks`: at most 5 calls of `f` (1 + 1 for
//! `middle` + 3 for DABA's push). A pop drops `q[0]`; when that ends the front, the oldest
//! chunk (or, with no whole chunk, the back) becomes the front: DABA's pop (2 calls), its new
//! aggregate (1) and the fold of the new front's suffixes (`CHUNK - 1`), so at most
//! `CHUNK + 2` calls, **in the worst case**: bounded by the chunk, not the window. Averaged
//! over a chunk, a push calls `f` about 1.5 times and a pop 1.4 times (DABA Lite alone: up to
//! 3 and 2 each time).
//!
//! What each operation reads or writes: a push the line of the slot after the newest value, a
//! pop the line of the oldest one (the line the query reads too), and once per chunk the
//! DABA queue of chunk aggregates ([`prefetch`](Chunked::prefetch) names all of them).

use std::collections::VecDeque;

use serde::{Deserialize, Serialize};

use super::daba::{join, Daba};
use crate::shuffle::prefetch;

/// Values per chunk: one 64-byte cache line of 8-byte values.
pub(crate) const CHUNK: usize = 8;

/// A queue of values with their running aggregate; see the module documentation.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Chunked<V> {
    /// The values, oldest first: the front's suffix aggregates, then plain values.
    q: VecDeque<V>,
    /// How many of the oldest entries of `q` are the front's suffix aggregates; more than 0
    /// whenever `q` is not empty.
    front: usize,
    /// The aggregate of the back; `None` when the back is empty.
    back: Option<V>,
    /// The aggregate of the whole chunks (`chunks`' aggregate); `None` when there are none.
    middle: Option<V>,
    /// Each whole chunk's aggregate, oldest first.
    chunks: Daba<V>,
}

impl<V: Clone> Chunked<V> {
    /// An empty queue.
    pub(crate) fn new() -> Self {
        Chunked { q: VecDeque::new(), front: 0, back: None, middle: None, chunks: Daba::new() }
    }

    pub(crate) fn len(&self) -> usize {
        self.q.len()
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.q.is_empty()
    }

    /// How many values the back holds (after the front and the whole chunks).
    fn back_len(&self) -> usize {
        self.q.len() - self.front - CHUNK * self.chunks.len()
    }

    /// Whether the parts agree with each other (a decoded queue may be damaged): what
    /// [`push`](Self::push) and [`pop`](Self::pop) rely on.
    pub(crate) fn is_consistent(&self) -> bool {
        let (n, whole) = (self.q.len(), CHUNK * self.chunks.len());
        let fits = self.front <= CHUNK && self.front.checked_add(whole).is_some_and(|used| used <= n);
        fits && (n == 0) == (self.front == 0)
            && self.back.is_some() == (n - self.front - whole > 0)
            && self.middle.is_some() == !self.chunks.is_empty()
            && n - self.front - whole < CHUNK
    }

    /// Appends the newest value: at most 5 calls of `f`.
    pub(crate) fn push(&mut self, v: V, f: &impl Fn(V, V) -> V) {
        if self.q.is_empty() {
            // The only value is its own suffix: the front.
            self.q.push_back(v);
            self.front = 1;
            return;
        }
        let back = match self.back.take() {
            Some(s) => f(s, v.clone()),
            None => v.clone(),
        };
        self.q.push_back(v);
        if self.back_len() == CHUNK {
            // The back is a whole chunk: its aggregate joins the middle.
            self.middle = Some(match self.middle.take() {
                Some(m) => f(m, back.clone()),
                None => back.clone(),
            });
            self.chunks.push(back, f);
        } else {
            self.back = Some(back);
        }
    }

    /// Drops the oldest value (nothing when empty): at most `CHUNK + 2` calls of `f`, on the
    /// pop that ends a chunk; none on the others.
    pub(crate) fn pop(&mut self, f: &impl Fn(V, V) -> V) {
        if self.q.pop_front().is_none() {
            return;
        }
        self.front -= 1;
        if self.front > 0 || self.q.is_empty() {
            return;
        }
        // The front is used up: the oldest whole chunk, or else the back, becomes the front.
        let n = if self.chunks.is_empty() {
            self.back = None;
            self.q.len()
        } else {
            self.chunks.pop(f);
            self.middle = self.chunks.query(f);
            CHUNK
        };
        for i in (0..n - 1).rev() {
            let next = self.q[i + 1].clone();
            self.q[i] = f(self.q[i].clone(), next);
        }
        self.front = n;
    }

    /// The aggregate of all values, oldest first (at most two calls of `f`); `None` when
    /// empty.
    pub(crate) fn query(&self, f: &impl Fn(V, V) -> V) -> Option<V> {
        let front = self.q.front()?.clone();
        Some(join(join(front, self.middle.clone(), f), self.back.clone(), f))
    }

    /// Asks the CPU to bring in the cache lines the next [`push`](Self::push) or
    /// [`pop`](Self::pop) reads or writes: the oldest value, the slot after the newest, and
    /// when the operation may end a chunk, the rest of the next front and the lines of the
    /// chunk aggregates' queue. A hint only: nothing changes.
    #[inline]
    pub(crate) fn prefetch(&self) {
        let n = self.q.len();
        if n == 0 {
            return;
        }
        let at = |i: usize| std::ptr::from_ref(&self.q[i]);
        prefetch(at(0));
        // The next push's slot; when the newest value ends the buffer this points past it,
        // which a prefetch allows (it never faults).
        prefetch(at(n - 1).wrapping_add(1));
        if self.front == 1 {
            // A pop makes the next chunk the front: its last value may be on the next line.
            prefetch(at((CHUNK).min(n - 1)));
            self.chunks.prefetch();
        } else if self.back_len() == CHUNK - 1 {
            self.chunks.prefetch();
        }
    }

    /// Asks the CPU to bring in the line [`query`](Self::query) reads: the oldest value.
    #[inline]
    pub(crate) fn prefetch_front(&self) {
        if let Some(front) = self.q.front() {
            prefetch(std::ptr::from_ref(front));
        }
    }
}
