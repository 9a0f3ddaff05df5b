use super::combine_by_key::Aggregator;
use crate::chain::Chain;
use crate::data::{Data, Key, Persist};
use crate::shuffle::{Partitioner, Route};
use crate::DStream;

impl<'a, K: Key, V: Data, C: Chain<Out = (K, V)>> DStream<'a, (K, V), C> {
    /// Per batch, gathers the values of each key (Spark's `groupByKey`). Keys and values are
    /// [`Persist`]: in a cluster, the values of the keys other processes own cross to them.
    ///
    /// ```
    /// let input = vec![vec!["a", "a", "b"], vec!["", ""], vec![]];
    /// let mut out = stream_runtime::testing::run(input, 2, |s| s.map(|w| (w, 1)).group_by_key());
    /// out[0].sort();
    /// assert_eq!(out, vec![vec![("a", vec![1, 1]), ("b", vec![1])], vec![("", vec![1, 1])], vec![]]);
    /// ```
    pub fn group_by_key(self) -> DStream<'a, (K, Vec<V>)>
    where
        K: Persist,
        V: Persist,
    {
        self.group_by_key_into(Route::default())
    }

    /// As [`group_by_key`](Self::group_by_key), into `partitions`: a count or a
    /// [`Partitioner`] (Spark's `groupByKey(numPartitions)` and `groupByKey(partitioner)`).
    ///
    /// ```
    /// let input = vec![vec![("a", 1), ("b", 2), ("a", 3)]];
    /// let out = stream_runtime::testing::run(input, 2, |s| s.group_by_key_with_partitions(5).glom());
    /// assert_eq!(out[0].len(), 5);
    /// let mut all = out[0].concat();
    /// all.iter_mut().for_each(|(_, vs)| vs.sort());
    /// all.sort();
    /// assert_eq!(all, vec![("a", vec![1, 3]), ("b", vec![2])]);
    /// ```
    pub fn group_by_key_with_partitions(self, partitions: impl Partitioner<K>) -> DStream<'a, (K, Vec<V>)>
    where
        K: Persist,
        V: Persist,
    {
        self.group_by_key_into(Route::of(partitions))
    }

    pub(crate) fn group_by_key_into(self, route: Route<K>) -> DStream<'a, (K, Vec<V>)>
    where
        K: Persist,
        V: Persist,
    {
        let agg = Aggregator {
            create: |v| vec![v],
            merge_value: |c: &mut Vec<V>, v| c.push(v),
            merge_combiners: |c: &mut Vec<V>, o: Vec<V>| c.extend(o),
            finish: Some,
        };
        self.combine_into("group_by_key", agg, route)
    }
}
