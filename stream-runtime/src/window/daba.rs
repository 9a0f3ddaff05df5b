//! DABA Lite (De-Amortized Banker's Aggregator, Tangwongsan, Hirzel and Schneider, "In-order
//! sliding-window aggregation in worst-case constant time", VLDB Journal 2021): a FIFO of
//! values whose aggregate (in insertion order) costs at most three calls of the associative
//! function per push, pop or query, **in the worst case**, and one value slot per element.
//!
//! Two-Stacks, which it replaces, is amortized O(1): once per window length it "flips" every
//! value from one stack to the other, an O(window) spike on the slide that triggers it. DABA
//! Lite does the same work one step per push or pop.
//!
//! The queue `q` is cut by four indices `0 <= l <= r <= a <= b <= q.len()`:
//!
//! * front, `[0, b)`: the older values, being turned into suffix aggregates
//!   (`q[i] = v[i] ⊕ … ⊕ v[b-1]`) for the pops to come:
//!   * `[0, l)`: done, each holds `v[i] ⊕ … ⊕ v[b-1]` (so `q[0]` is the whole front);
//!   * `[l, r)`: each holds `v[i] ⊕ … ⊕ v[r-1]`, still missing `mid = v[r] ⊕ … ⊕ v[b-1]`;
//!   * `[r, a)`: plain values, not yet folded;
//!   * `[a, b)`: each holds `v[i] ⊕ … ⊕ v[b-1]`, built right to left;
//! * back, `[b, len)`: the newest values as pushed, with their aggregate `back`.
//!
//! Every push or pop does one step: `a` moves left folding one value, `l` moves right
//! completing one suffix (so `|[l, r)| == |[r, a)|` throughout), and when `l` reaches `b` the
//! back becomes the front ("flip", O(1): only indices change). Between operations
//! `len(back) == l - 1`, so the front is done before the back outgrows it.

use std::collections::VecDeque;

use serde::{Deserialize, Serialize};

use crate::shuffle::prefetch;

/// A queue of values with their running aggregate; see the module documentation.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Daba<V> {
    q: VecDeque<V>,
    l: usize,
    r: usize,
    a: usize,
    b: usize,
    /// `v[r] ⊕ … ⊕ v[b-1]` while `[l, r)` is not empty.
    mid: Option<V>,
    /// `v[b] ⊕ … ⊕ v[len-1]`; `None` when the back is empty.
    back: Option<V>,
}

/// `x ⊕ y`, where `None` is the identity.
pub(super) fn join<V>(x: V, y: Option<V>, f: &impl Fn(V, V) -> V) -> V {
    match y {
        Some(y) => f(x, y),
        None => x,
    }
}

impl<V: Clone> Daba<V> {
    pub(crate) fn new() -> Self {
        Daba { q: VecDeque::new(), l: 0, r: 0, a: 0, b: 0, mid: None, back: None }
    }

    pub(crate) fn len(&self) -> usize {
        self.q.len()
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.q.is_empty()
    }

    /// Appends the newest value: at most three calls of `f`.
    pub(crate) fn push(&mut self, v: V, f: &impl Fn(V, V) -> V) {
        self.back = Some(match self.back.take() {
            Some(s) => f(s, v.clone()),
            None => v.clone(),
        });
        self.q.push_back(v);
        self.step(f);
    }

    /// Drops the oldest value (nothing when empty): at most two calls of `f`.
    pub(crate) fn pop(&mut self, f: &impl Fn(V, V) -> V) {
        if self.q.pop_front().is_none() {
            return;
        }
        // A non-empty queue has `l >= 1` between operations (every step advances `l`), so
        // the popped value was a finished suffix of the front and every index shifts by one.
        self.l -= 1;
        self.r -= 1;
        self.a -= 1;
        self.b -= 1;
        self.step(f);
    }

    /// One unit of the deferred work.
    fn step(&mut self, f: &impl Fn(V, V) -> V) {
        if self.l == self.b {
            // Flip: the finished front needs `mid`, the back becomes plain values to fold.
            self.l = 0;
            self.r = self.b;
            self.a = self.q.len();
            self.b = self.q.len();
            self.mid = self.back.take();
        }
        if self.b == 0 {
            self.mid = None;
            self.back = None;
            return;
        }
        if self.a != self.r {
            // `a` moves left: q[a-1] = v[a-1] ⊕ (q[a] if a < b).
            let delta = (self.a < self.b).then(|| self.q[self.a].clone());
            self.a -= 1;
            let i = self.a;
            self.q[i] = join(self.q[i].clone(), delta, f);
        }
        if self.l != self.r {
            let i = self.l;
            self.q[i] = join(self.q[i].clone(), self.mid.clone(), f);
            self.l += 1;
        } else {
            // Nothing left to complete: `l`, `r` and `a` meet and move on together over
            // finished suffixes.
            self.l += 1;
            self.r += 1;
            self.a += 1;
            self.mid = None;
        }
    }

    /// Asks the CPU to bring in the cache lines of the queue that the next [`push`](Self::push)
    /// or [`pop`](Self::pop) reads or writes: the oldest value, `q[l]`, `q[a - 1]` (and
    /// `q[a]`, next to it) and the slot after the newest. A pop shifts every index by one, so
    /// these are the same elements either way. A hint only: nothing changes.
    #[inline]
    pub(crate) fn prefetch(&self) {
        let n = self.q.len();
        if n == 0 {
            return;
        }
        let at = |i: usize| std::ptr::from_ref(&self.q[i]);
        prefetch(at(0));
        if self.l < n {
            prefetch(at(self.l));
        }
        if self.a > 0 {
            prefetch(at(self.a - 1));
        }
        // The next push's slot; when the newest value ends the buffer this points past it,
        // which a prefetch allows (it never faults).
        prefetch(at(n - 1).wrapping_add(1));
    }

    /// The aggregate of all values, oldest first (one call of `f`); `None` when empty.
    pub(crate) fn query(&self, f: &impl Fn(V, V) -> V) -> Option<V> {
        let front = self.q.front()?;
        Some(join(front.clone(), self.back.clone(), f))
    }
}
