//! DABA Lite (De-Amortized Banker's Aggregator, Tangwongsan, Hirzel and Schneider, "In-order
//! sliding-window aggregation in worst-case constant time", VLDB Journal 2021) over
//! [`Column`]s: a FIFO of columns whose aggregate (in insertion order, slot by slot) costs at
//! most three column passes per push, pop or query, **in the worst case**.
//!
//! Two-Stacks, which it replaces, is amortized O(1): once per window length it "flips" every
//! value from one stack to the other, an O(window) spike on the slide that triggers it. DABA
//! Lite does the same work one step per push or pop. Each step here combines whole columns in
//! place (`dst = dst ⊕ src`, one sequential pass), so a step reads and writes a few columns
//! front to back, which the hardware prefetcher streams whatever the queue's length.
//!
//! The queue `q` is cut by four indices `0 <= l <= r <= a <= b <= q.len()`:
//!
//! * front, `[0, b)`: the older columns, being turned into suffix aggregates
//!   (`q[i] = v[i] ⊕ … ⊕ v[b-1]`) for the pops to come:
//!   * `[0, l)`: done, each holds `v[i] ⊕ … ⊕ v[b-1]` (so `q[0]` is the whole front);
//!   * `[l, r)`: each holds `v[i] ⊕ … ⊕ v[r-1]`, still missing `mid = v[r] ⊕ … ⊕ v[b-1]`;
//!   * `[r, a)`: plain columns, not yet folded;
//!   * `[a, b)`: each holds `v[i] ⊕ … ⊕ v[b-1]`, built right to left;
//! * back, `[b, len)`: the newest columns as pushed, with their aggregate `back`.
//!
//! Every push or pop does one step: `a` moves left folding one column, `l` moves right
//! completing one suffix (so `|[l, r)| == |[r, a)|` throughout), and when `l` reaches `b` the
//! back becomes the front ("flip", O(1): only indices change). Between operations
//! `len(back) == l - 1`, so the front is done before the back outgrows it.

use std::collections::VecDeque;

use super::column::{append, Column, Pool};

/// A queue of columns with their running aggregate; see the module documentation.
#[derive(Debug)]
pub(crate) struct Daba<V> {
    q: VecDeque<Column<V>>,
    l: usize,
    r: usize,
    a: usize,
    b: usize,
    /// `v[r] ⊕ … ⊕ v[b-1]` while `[l, r)` is not empty.
    mid: Option<Column<V>>,
    /// `v[b] ⊕ … ⊕ v[len-1]`; `None` when the back is empty.
    back: Option<Column<V>>,
}

impl<V: Clone> Daba<V> {
    pub(crate) fn new() -> Self {
        Daba { q: VecDeque::new(), l: 0, r: 0, a: 0, b: 0, mid: None, back: None }
    }

    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.q.len()
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.q.is_empty()
    }

    /// Appends the newest column: at most three column passes.
    pub(crate) fn push(&mut self, v: Column<V>, f: &impl Fn(V, V) -> V, pool: &mut Pool<V>) {
        match &mut self.back {
            Some(back) => append(back, &v, f),
            None => self.back = Some(pool.copy(&v)),
        }
        self.q.push_back(v);
        self.step(f, pool);
    }

    /// Drops the oldest column (nothing when empty): at most two column passes.
    pub(crate) fn pop(&mut self, f: &impl Fn(V, V) -> V, pool: &mut Pool<V>) {
        let Some(oldest) = self.q.pop_front() else { return };
        pool.give(oldest);
        // A non-empty queue has `l >= 1` between operations (every step advances `l`), so
        // the popped column was a finished suffix of the front and every index shifts by one.
        self.l -= 1;
        self.r -= 1;
        self.a -= 1;
        self.b -= 1;
        self.step(f, pool);
    }

    /// One unit of the deferred work.
    fn step(&mut self, f: &impl Fn(V, V) -> V, pool: &mut Pool<V>) {
        if self.l == self.b {
            // Flip: the finished front needs `mid`, the back becomes plain columns to fold.
            self.l = 0;
            self.r = self.b;
            self.a = self.q.len();
            self.b = self.q.len();
            pool.give_opt(std::mem::replace(&mut self.mid, self.back.take()));
        }
        if self.b == 0 {
            pool.give_opt(self.mid.take());
            pool.give_opt(self.back.take());
            return;
        }
        if self.a != self.r {
            // `a` moves left: q[a-1] = v[a-1] ⊕ (q[a] if a < b).
            self.a -= 1;
            let i = self.a;
            if i + 1 < self.b {
                let after = std::mem::take(&mut self.q[i + 1]);
                append(&mut self.q[i], &after, f);
                self.q[i + 1] = after;
            }
        }
        if self.l != self.r {
            if let Some(mid) = &self.mid {
                append(&mut self.q[self.l], mid, f);
            }
            self.l += 1;
        } else {
            // Nothing left to complete: `l`, `r` and `a` meet and move on together over
            // finished suffixes.
            self.l += 1;
            self.r += 1;
            self.a += 1;
            pool.give_opt(self.mid.take());
        }
    }

    /// The aggregate of all columns, oldest first (a copy and one pass); `None` when empty.
    pub(crate) fn query(&self, f: &impl Fn(V, V) -> V, pool: &mut Pool<V>) -> Option<Column<V>> {
        let mut out = pool.copy(self.q.front()?);
        if let Some(back) = &self.back {
            append(&mut out, back, f);
        }
        Some(out)
    }

    /// The columns, oldest first (for the bytes estimate).
    pub(crate) fn columns(&self) -> impl Iterator<Item = &Column<V>> {
        self.q.iter().chain(&self.mid).chain(&self.back)
    }
}
