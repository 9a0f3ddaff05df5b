//! `remember` and [`Remembered::slice`]: the batches of a time range that a stream kept
//! (Spark's `DStream.remember(duration)` and `DStream.slice(fromTime, toTime)`).

use std::collections::VecDeque;
use std::sync::Arc;

use parking_lot::Mutex;

use crate::batch::Batch;
use crate::chain::Chain;
use crate::context::Tick;
use crate::data::Data;
use crate::error::BatchError;
use crate::node::{Env, NodeRef};
use crate::time::{Duration, Time};
use crate::DStream;

/// The batches a stream generated in the last `duration`, kept for [`slice`](Self::slice):
/// made by [`DStream::remember`]. A cheap handle (an `Arc`) that outlives the context, so
/// the code driving a running job can read it.
#[derive(Debug)]
pub struct Remembered<T> {
    kept: Arc<Mutex<VecDeque<(Time, Batch<T>)>>>,
}

impl<T> Clone for Remembered<T> {
    fn clone(&self) -> Self {
        Remembered { kept: Arc::clone(&self.kept) }
    }
}

impl<T: Data> Remembered<T> {
    /// The batches at times in `[from, to]` that are still remembered, oldest first (Spark's
    /// `slice(fromTime, toTime)`, which fails on times the stream forgot; here they are
    /// simply absent).
    ///
    /// ```
    /// use std::sync::{Arc, Mutex};
    /// use stream_runtime::{testing::Harness, Duration, Time};
    /// let handle = Arc::new(Mutex::new(None));
    /// let keep = Arc::clone(&handle);
    /// Harness::new(2).run(vec![vec![1], vec![2], vec![3]], move |s| {
    ///     *keep.lock().unwrap() = Some(s.clone().remember(Duration::seconds(2)));
    ///     s.print();
    /// });
    /// let remembered = handle.lock().unwrap().take().unwrap();
    /// let slice = remembered.slice(Time::from_millis(1000), Time::from_millis(3000));
    /// let batches: Vec<(i64, Vec<i32>)> = slice.into_iter().map(|(t, b)| (t.as_millis(), b.collect())).collect();
    /// // Batch 1000 is older than two seconds at 3000: forgotten.
    /// assert_eq!(batches, vec![(2000, vec![2]), (3000, vec![3])]);
    /// ```
    pub fn slice(&self, from: Time, to: Time) -> Vec<(Time, Batch<T>)> {
        self.kept.lock().iter().filter(|(t, _)| *t >= from && *t <= to).cloned().collect()
    }

    /// The times of the remembered batches, oldest first.
    ///
    /// ```
    /// use std::sync::{Arc, Mutex};
    /// use stream_runtime::{testing::Harness, Duration};
    /// let handle = Arc::new(Mutex::new(None));
    /// let keep = Arc::clone(&handle);
    /// Harness::new(1).run(vec![vec![1], vec![2]], move |s| {
    ///     *keep.lock().unwrap() = Some(s.clone().remember(Duration::seconds(10)));
    ///     s.print();
    /// });
    /// let times: Vec<i64> = handle.lock().unwrap().take().unwrap().times().iter().map(|t| t.as_millis()).collect();
    /// assert_eq!(times, vec![1000, 2000]);
    /// ```
    pub fn times(&self) -> Vec<Time> {
        self.kept.lock().iter().map(|(t, _)| *t).collect()
    }
}

/// Computes the stream every batch and keeps what is younger than `keep`.
struct Keeper<T> {
    node: NodeRef<T>,
    keep: Duration,
    kept: Arc<Mutex<VecDeque<(Time, Batch<T>)>>>,
}

impl<T: Data> Tick for Keeper<T> {
    fn name(&self) -> String {
        format!("remember({})", self.keep)
    }

    fn tick(&self, t: Time, env: &Env) -> Result<(), BatchError> {
        let batch = self.node.get(t, env)?;
        let mut kept = self.kept.lock();
        if let Some(b) = batch {
            kept.push_back((t, b));
        }
        while kept.front().is_some_and(|(old, _)| *old <= t - self.keep) {
            kept.pop_front();
        }
        Ok(())
    }
}

impl<'a, T: Data, C: Chain<Out = T>> DStream<'a, T, C> {
    /// Keeps the batches this stream generates in the last `duration` (Spark's
    /// `remember(duration)`), and returns the handle whose [`slice`](Remembered::slice)
    /// reads them. The stream is computed every batch from then on (once, shared with the
    /// other consumers of the same stream); clone the stream first to use it further.
    ///
    /// ```
    /// use std::sync::{Arc, Mutex};
    /// use stream_runtime::{testing::Harness, Duration, Time};
    /// let handle = Arc::new(Mutex::new(None));
    /// let keep = Arc::clone(&handle);
    /// Harness::new(1).run(vec![vec![1, 2], vec![3]], move |s| {
    ///     let doubled = s.map(|x| x * 2);
    ///     *keep.lock().unwrap() = Some(doubled.clone().remember(Duration::seconds(60)));
    ///     doubled.print();
    /// });
    /// let all = handle.lock().unwrap().take().unwrap().slice(Time::from_millis(0), Time::from_millis(5000));
    /// assert_eq!(all.into_iter().map(|(_, b)| b.collect()).collect::<Vec<_>>(), vec![vec![2, 4], vec![6]]);
    /// ```
    pub fn remember(self, duration: Duration) -> Remembered<T> {
        let ctx = self.ctx;
        let kept = Arc::new(Mutex::new(VecDeque::new()));
        let node = self.into_node("remember");
        let from = node.label();
        ctx.add_tick(Box::new(Keeper { node, keep: duration, kept: Arc::clone(&kept) }), from);
        Remembered { kept }
    }
}
