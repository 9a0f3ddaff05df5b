use std::collections::VecDeque;

use super::sliding::{check, records_bytes, windowed, Kind, Sliding};
use crate::batch::Batch;
use crate::chain::{Chain, Erased};
use crate::checkpoint::codec::{from_bytes, to_bytes, CodecError};
use crate::checkpoint::Saved;
use crate::data::{Data, Persist};
use crate::metrics::{StateView, WindowBatch};
use crate::node::Env;
use crate::time::{Duration, Time};
use crate::DStream;

/// The parent batches of the window, oldest first.
struct Window<T> {
    ring: VecDeque<(Time, Batch<T>)>,
}

impl<T: Data + Persist> Sliding for Window<T> {
    type In = T;
    type Out = T;
    fn ingest(&mut self, t: Time, batch: Batch<T>) {
        self.ring.push_back((t, batch));
    }
    fn evict(&mut self, cutoff: Time) {
        while self.ring.front().is_some_and(|(t, _)| *t <= cutoff) {
            self.ring.pop_front();
        }
    }
    fn emit(&mut self) -> Batch<T> {
        self.ring.iter().fold(Batch::empty(), |acc, (_, b)| acc.union(b.clone()))
    }
    fn save(&self) -> Result<Vec<u8>, CodecError> {
        to_bytes(&self.ring)
    }
    /// Records are not keyed: each old process's window goes to one new process
    /// ([`Saved::unkeyed`]), batches of the same time united.
    fn restore(&mut self, saved: Saved<'_>, env: &Env) -> Result<(), CodecError> {
        let mut rings = saved.unkeyed(env).into_iter().map(from_bytes::<VecDeque<(Time, Batch<T>)>>);
        let mut ring = rings.next().transpose()?.unwrap_or_default();
        for other in rings {
            for ((_, mine), (_, theirs)) in ring.iter_mut().zip(other?) {
                *mine = std::mem::replace(mine, Batch::empty()).union(theirs);
            }
        }
        self.ring = ring;
        Ok(())
    }
    fn view(&self) -> StateView {
        let records: u64 = self.ring.iter().map(|(_, b)| b.len() as u64).sum();
        let newest = self.ring.back().map(|(_, b)| b.iter());
        StateView {
            bytes: Some(records_bytes(records, newest.into_iter().flatten())),
            window: Some(
                self.ring
                    .iter()
                    .map(|(t, b)| WindowBatch { time: *t, records: Some(b.len() as u64), keys: None })
                    .collect(),
            ),
            ..StateView::default()
        }
    }
}

impl<'a, T: Data + Persist, C: Chain<Out = T>> DStream<'a, T, C> {
    /// Every `slide`, the records of the parent batches in the last `window`: the batches at
    /// times in `(t - window, t]` (Spark's `window(windowDuration, slideDuration)`). Early
    /// windows are partial; `slide` may exceed `window` (batches in between are skipped).
    /// Both durations must be multiples of this stream's slide, else `start` fails with
    /// Spark's message. Use `window(w, s.slide_duration())` for Spark's `window(w)`.
    ///
    /// Cost: each parent batch is kept (not copied) while in the window; emitting copies the
    /// window's records.
    ///
    /// The stream is [erased](Self::erased) (`DStream<'a, T, Erased<T>>`), the type of any
    /// stream after `.erased()`, so a window and its parent can be the two branches of one
    /// `if`, at no cost: nothing is copied, and operations that take the window as a node
    /// (`union`, `transform`, another window) read it directly.
    ///
    /// ```
    /// use stream_runtime::{testing, Duration};
    /// let input = vec![vec![("a", 1), ("b", -1)], vec![("a", 2)]];
    /// for w in [0, 2] {
    ///     let out = testing::run(input.clone(), 2, |pairs| {
    ///         let p = pairs.filter(|(_, n)| *n > 0);
    ///         let s = if w > 0 { p.window(Duration::seconds(w), Duration::seconds(1)) } else { p.erased() };
    ///         s.reduce_by_key(|a, b| a + b)
    ///     });
    ///     let second = if w > 0 { 3 } else { 2 };
    ///     assert_eq!(out, vec![vec![("a", 1)], vec![("a", second)]]);
    /// }
    /// ```
    ///
    /// ```
    /// use stream_runtime::{testing, Duration};
    /// let input = vec![vec![0], vec![1], vec![2], vec![3], vec![4], vec![5]];
    /// let out = testing::run(input, 2, |s| s.window(Duration::seconds(2), Duration::seconds(1)));
    /// assert_eq!(out, vec![vec![0], vec![0, 1], vec![1, 2], vec![2, 3], vec![3, 4], vec![4, 5]]);
    /// ```
    ///
    /// A window that is not a multiple of the batch interval is refused:
    ///
    /// ```
    /// use stream_runtime::{testing::Harness, Duration};
    /// let outcome = Harness::new(1).batch(Duration::seconds(2)).collect(vec![Some(vec![1])], |s| {
    ///     s.window(Duration::seconds(3), Duration::seconds(2))
    /// });
    /// assert_eq!(
    ///     outcome.errors[0].to_string(),
    ///     "The window duration of windowed DStream (3000 ms) must be a multiple of the slide duration of parent DStream (2000 ms)"
    /// );
    /// ```
    pub fn window(self, window: Duration, slide: Duration) -> DStream<'a, T, Erased<T>> {
        let ctx = self.ctx;
        check(ctx, Kind::Windowed, window, slide, self.slide_duration());
        windowed(ctx, "window", self.into_node("window"), window, slide, Window { ring: VecDeque::new() }).erased()
    }
}
