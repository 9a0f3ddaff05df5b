//! Two-Stacks sliding-window aggregation: a FIFO of values whose aggregate (in insertion
//! order) costs O(1) to query and amortized O(1) to maintain, for any associative function.

use serde::{Deserialize, Serialize};

/// A queue of values with their running aggregate.
///
/// `back` holds the newest values in order with their aggregate `back_agg`; `front` holds, for
/// the oldest values, the aggregate of each value and everything after it in `front` (top is
/// the oldest). Popping from an empty `front` moves `back` over ("flip"), which is the
/// amortized part.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct TwoStacks<V> {
    front: Vec<V>,
    back: Vec<V>,
    back_agg: Option<V>,
}

impl<V: Clone> TwoStacks<V> {
    pub(crate) fn new() -> Self {
        TwoStacks { front: Vec::new(), back: Vec::new(), back_agg: None }
    }

    pub(crate) fn len(&self) -> usize {
        self.front.len() + self.back.len()
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Appends the newest value.
    pub(crate) fn push(&mut self, v: V, f: &impl Fn(V, V) -> V) {
        self.back_agg = Some(match self.back_agg.take() {
            Some(a) => f(a, v.clone()),
            None => v.clone(),
        });
        self.back.push(v);
    }

    /// Drops the oldest value.
    pub(crate) fn pop(&mut self, f: &impl Fn(V, V) -> V) {
        if self.front.is_empty() {
            self.back_agg = None;
            while let Some(v) = self.back.pop() {
                let agg = match self.front.last() {
                    Some(later) => f(v, later.clone()),
                    None => v,
                };
                self.front.push(agg);
            }
        }
        self.front.pop();
    }

    /// The aggregate of all values, oldest first; `None` when empty.
    pub(crate) fn query(&self, f: &impl Fn(V, V) -> V) -> Option<V> {
        match (self.front.last(), &self.back_agg) {
            (Some(a), Some(b)) => Some(f(a.clone(), b.clone())),
            (Some(a), None) => Some(a.clone()),
            (None, b) => b.clone(),
        }
    }
}
