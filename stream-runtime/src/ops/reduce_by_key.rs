use super::combine_by_key::Aggregator;
use crate::chain::Chain;
use crate::data::{Data, Key, Persist};
use crate::shuffle::{Partitioner, Route};
use crate::DStream;

/// Applies a reduce function in place, as `combine_by_key` wants it. The accumulator is an
/// `Option` so the old value can be moved into `f` without a clone; it is `None` only while
/// `f` runs.
fn fold_in<V, W>(f: impl Fn(V, V) -> V, unwrap: impl Fn(W) -> Option<V>) -> impl Fn(&mut Option<V>, W) {
    move |acc: &mut Option<V>, v: W| {
        if let (Some(a), Some(v)) = (acc.take(), unwrap(v)) {
            *acc = Some(f(a, v));
        }
    }
}

impl<'a, K: Key, V: Data, C: Chain<Out = (K, V)>> DStream<'a, (K, V), C> {
    /// Per batch, merges the values of each key with the associative function `f`, combining on
    /// the map side in the same pass as the preceding narrow operations, into as many partitions
    /// as threads. Keys and values are [`Persist`]: in a cluster, the partial sums of the keys
    /// other processes own cross to them.
    ///
    /// ```
    /// let input = vec![vec!["a", "a", "b"], vec![], vec![]];
    /// let mut out = stream_runtime::testing::run(input, 2, |s| s.map(|w| (w, 1)).reduce_by_key(|a, b| a + b));
    /// out[0].sort();
    /// assert_eq!(out, vec![vec![("a", 2), ("b", 1)], vec![], vec![]]);
    /// ```
    pub fn reduce_by_key<F>(self, f: F) -> DStream<'a, (K, V)>
    where
        K: Persist,
        V: Persist,
        F: Fn(V, V) -> V + Send + Sync + Clone + 'static,
    {
        self.reduce_by_key_into(f, Route::default())
    }

    /// As [`reduce_by_key`](Self::reduce_by_key), into `partitions`: a count (per process, in
    /// a cluster) or a [`Partitioner`] (Spark's `reduceByKey(func, numPartitions)` and
    /// `reduceByKey(func, partitioner)`).
    ///
    /// ```
    /// let input = vec![vec![("a", 1), ("b", 1), ("a", 1)]];
    /// let out = stream_runtime::testing::run(input, 2, |s| s.reduce_by_key_with_partitions(|a, b| a + b, 3).glom());
    /// assert_eq!(out[0].len(), 3);
    /// let mut all = out[0].concat();
    /// all.sort();
    /// assert_eq!(all, vec![("a", 2), ("b", 1)]);
    /// ```
    pub fn reduce_by_key_with_partitions<F>(self, f: F, partitions: impl Partitioner<K>) -> DStream<'a, (K, V)>
    where
        K: Persist,
        V: Persist,
        F: Fn(V, V) -> V + Send + Sync + Clone + 'static,
    {
        self.reduce_by_key_into(f, Route::of(partitions))
    }

    pub(crate) fn reduce_by_key_into<F>(self, f: F, route: Route<K>) -> DStream<'a, (K, V)>
    where
        K: Persist,
        V: Persist,
        F: Fn(V, V) -> V + Send + Sync + Clone + 'static,
    {
        let agg = Aggregator {
            create: Some,
            merge_value: fold_in(f.clone(), Some),
            merge_combiners: fold_in(f, |o: Option<V>| o),
            finish: |a: Option<V>| a,
        };
        self.combine_into("reduce_by_key", agg, route)
    }
}
