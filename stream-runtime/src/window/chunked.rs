//! A FIFO of values with their running aggregate (in insertion order) whose every push or pop
//! works in two small buffers of its own, kept for its life: the per-key queue of the
//! non-invertible keyed window.
//!
//! [`Daba`] Lite alone does O(1) work per operation, but in four places of its queue (the
//! oldest value, `q[l]`, `q[a - 1]`, the slot after the newest), which in a long window are
//! four cache lines far apart (and as many pages), each moving on to a fresh line every 8
//! operations. Here the values are cut into chunks of [`CHUNK`] (one 64-byte line of 8-byte
//! values), and only whole chunks live in the long queue:
//!
//! * **front**, a buffer of at most [`CHUNK`]: what is left of the oldest chunk, as suffix
//!   aggregates, newest last-but-one… oldest last (`front[j]` is the fold from the value it
//!   stands for to the end of its chunk), so a pop drops `front`'s last entry;
//! * **middle**, the long queue `q`: whole chunks of plain values, each chunk's aggregate in
//!   the DABA Lite queue `chunks` (8 times shorter), whose aggregate is kept in `middle`;
//! * **back**, a buffer of fewer than [`CHUNK`] values as pushed, with their aggregate
//!   `back_agg`.
//!
//! The aggregate is `front.last() ⊕ middle ⊕ back_agg`. A push folds the value into
//! `back_agg` and appends it to `back`; when `back` is a whole chunk it moves to the end of
//! `q` and its aggregate to `chunks`: at most 5 calls of `f` (1, 1 for `middle`, 3 for DABA's
//! push). A pop drops `front`'s last entry; when that empties `front`, the oldest chunk of `q`
//! (or, with none, `back`) is folded into it right to left: DABA's pop (2 calls), its new
//! aggregate (1) and the fold (`CHUNK - 1`), so at most `CHUNK + 2` calls, **in the worst
//! case**: bounded by the chunk, not the window. Averaged over a chunk, a push calls `f` about
//! 1.5 times and a pop 1.4 times (DABA Lite alone: up to 3 and 2 each time).
//!
//! What each operation touches: the two buffers, which every operation of the queue reuses
//! (so they stay in the cache and on a few pages, whatever the window length), and once per
//! chunk one line at an end of `q` and the lines of `chunks`
//! ([`prefetch`](Chunked::prefetch) names them all).

use std::collections::VecDeque;

use serde::{Deserialize, Serialize};

use super::daba::{join, Daba};
use crate::shuffle::prefetch;

/// Values per chunk: one 64-byte cache line of 8-byte values.
pub(crate) const CHUNK: usize = 8;

/// A queue of values with their running aggregate; see the module documentation. The fields
/// every operation reads come first.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[repr(C)]
pub(crate) struct Chunked<V> {
    /// What is left of the oldest chunk, as suffix aggregates, the oldest value's last; not
    /// empty whenever the queue is not.
    front: Vec<V>,
    /// The newest values (fewer than [`CHUNK`]), as pushed.
    back: Vec<V>,
    /// The aggregate of `back`; `None` when it is empty.
    back_agg: Option<V>,
    /// The aggregate of the whole chunks in `q` (`chunks`' aggregate); `None` when none.
    middle: Option<V>,
    /// Whole chunks of plain values, oldest first.
    q: VecDeque<V>,
    /// Each chunk of `q`'s aggregate, oldest first.
    chunks: Daba<V>,
}

impl<V: Clone> Chunked<V> {
    /// An empty queue (its two buffers allocated, for its life).
    pub(crate) fn new() -> Self {
        Chunked {
            front: Vec::with_capacity(CHUNK),
            back: Vec::with_capacity(CHUNK),
            back_agg: None,
            middle: None,
            q: VecDeque::new(),
            chunks: Daba::new(),
        }
    }

    pub(crate) fn len(&self) -> usize {
        self.front.len() + self.q.len() + self.back.len()
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.front.is_empty()
    }

    /// Whether the parts agree with each other (a decoded queue may be damaged): what
    /// [`push`](Self::push) and [`pop`](Self::pop) rely on.
    pub(crate) fn is_consistent(&self) -> bool {
        let empty = self.front.is_empty();
        self.front.len() <= CHUNK
            && self.back.len() < CHUNK
            && Some(self.q.len()) == self.chunks.len().checked_mul(CHUNK)
            && (!empty || (self.q.is_empty() && self.back.is_empty()))
            && self.back_agg.is_some() != self.back.is_empty()
            && self.middle.is_some() != self.chunks.is_empty()
    }

    /// Appends the newest value: at most 5 calls of `f`.
    pub(crate) fn push(&mut self, v: V, f: &impl Fn(V, V) -> V) {
        if self.front.is_empty() {
            // The only value is its own suffix: the front.
            self.front.push(v);
            return;
        }
        let agg = match self.back_agg.take() {
            Some(s) => f(s, v.clone()),
            None => v.clone(),
        };
        self.back.push(v);
        if self.back.len() < CHUNK {
            self.back_agg = Some(agg);
            return;
        }
        // The back is a whole chunk: it joins the middle.
        self.middle = Some(match self.middle.take() {
            Some(m) => f(m, agg.clone()),
            None => agg.clone(),
        });
        self.chunks.push(agg, f);
        self.q.extend(self.back.drain(..));
    }

    /// Drops the oldest value (nothing when empty): at most `CHUNK + 2` calls of `f`, on the
    /// pop that ends a chunk; none on the others.
    pub(crate) fn pop(&mut self, f: &impl Fn(V, V) -> V) {
        if self.front.pop().is_none() || !self.front.is_empty() {
            return;
        }
        // The front is used up: the oldest whole chunk, or else the back, becomes the front.
        let front = &mut self.front;
        let mut fold = |v: V| {
            let s = match front.last() {
                Some(after) => f(v, after.clone()),
                None => v,
            };
            front.push(s);
        };
        if self.chunks.is_empty() {
            self.back_agg = None;
            self.back.drain(..).rev().for_each(&mut fold);
        } else {
            self.q.drain(..CHUNK).rev().for_each(&mut fold);
            self.chunks.pop(f);
            self.middle = self.chunks.query(f);
        }
    }

    /// The aggregate of all values, oldest first (at most two calls of `f`); `None` when
    /// empty.
    pub(crate) fn query(&self, f: &impl Fn(V, V) -> V) -> Option<V> {
        let front = self.front.last()?.clone();
        Some(join(join(front, self.middle.clone(), f), self.back_agg.clone(), f))
    }

    /// Asks the CPU to bring in the cache lines the next [`push`](Self::push) or
    /// [`pop`](Self::pop) reads or writes: the oldest value and the slot after the newest in
    /// the buffers, and when the operation may end a chunk, the end of `q` it reads or writes
    /// and the lines of `chunks`. A hint only: nothing changes.
    #[inline]
    pub(crate) fn prefetch(&self) {
        let Some(oldest) = self.front.last() else { return };
        prefetch(std::ptr::from_ref(oldest));
        // The next push's slot (within the buffer's capacity, or past it: a prefetch never
        // faults).
        prefetch(self.back.as_ptr().wrapping_add(self.back.len()));
        if self.front.len() == 1 && !self.q.is_empty() {
            prefetch(std::ptr::from_ref(&self.q[0]));
            prefetch(std::ptr::from_ref(&self.q[CHUNK - 1]));
            self.chunks.prefetch();
        } else if self.back.len() == CHUNK - 1 {
            if let Some(last) = self.q.back() {
                prefetch(std::ptr::from_ref(last).wrapping_add(1));
                prefetch(std::ptr::from_ref(last).wrapping_add(CHUNK));
            }
            self.chunks.prefetch();
        }
    }

    /// Asks the CPU to bring in the line [`query`](Self::query) reads: the oldest value.
    #[inline]
    pub(crate) fn prefetch_front(&self) {
        if let Some(front) = self.front.last() {
            prefetch(std::ptr::from_ref(front));
        }
    }
}
