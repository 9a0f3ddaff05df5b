use std::collections::VecDeque;

use rayon::prelude::*;

use super::sliding::{check, records_bytes, ring_batches, windowed, Kind, Sliding};
use crate::batch::Batch;
use crate::chain::Chain;
use crate::checkpoint::codec::{from_bytes, to_bytes, CodecError};
use crate::checkpoint::Saved;
use crate::data::{fast_map, Data, FastMap, Key, Persist};
use crate::metrics::StateView;
use crate::node::Env;
use crate::shuffle::{reroute_rings, restore_parts, route_partitions, save_parts, Partitioner, Placement, Route};
use crate::time::{Duration, Time};
use crate::DStream;

/// Per hash partition, the grouped values of each parent batch in the window.
struct Groups<K, V> {
    parts: Vec<VecDeque<(Time, Vec<(K, Vec<V>)>)>>,
    route: Route<K>,
}

impl<K: Key + Persist, V: Data + Persist> Sliding for Groups<K, V> {
    type In = (K, Vec<V>);
    type Out = (K, Vec<V>);

    fn ingest(&mut self, t: Time, batch: Batch<(K, Vec<V>)>) {
        let input = route_partitions(batch, self.parts.len(), &self.route);
        for (ring, groups) in self.parts.iter_mut().zip(input) {
            ring.push_back((t, groups));
        }
    }

    fn evict(&mut self, cutoff: Time) {
        for ring in &mut self.parts {
            while ring.front().is_some_and(|(t, _)| *t <= cutoff) {
                ring.pop_front();
            }
        }
    }

    fn emit(&mut self) -> Batch<(K, Vec<V>)> {
        let parts = self
            .parts
            .par_iter()
            .map(|ring| {
                let mut all: FastMap<K, Vec<V>> = fast_map();
                for (_, groups) in ring {
                    for (k, vs) in groups {
                        match all.get_mut(k) {
                            Some(acc) => acc.extend(vs.iter().cloned()),
                            None => {
                                all.insert(k.clone(), vs.clone());
                            }
                        }
                    }
                }
                all.into_iter().collect()
            })
            .collect();
        Batch::from_partitions(parts)
    }

    fn save(&self) -> Result<Vec<u8>, CodecError> {
        save_parts(&self.parts, to_bytes)
    }

    fn restore(&mut self, saved: Saved<'_>, env: &Env) -> Result<(), CodecError> {
        let (place, route) = (Placement::of(env, self.parts.len()), &self.route);
        self.parts = restore_parts(saved, place, route, from_bytes, |parts, place| {
            Ok(reroute_rings(parts, place, |(k, _)| k, route))
        })?;
        Ok(())
    }

    /// Per batch, the keys and values it holds; bytes: each group in line, and what groups
    /// own (their values, keys' strings) sampled from the newest batch.
    fn view(&self) -> StateView {
        let rings: Vec<_> = self.parts.iter().collect();
        let window = ring_batches(&rings, |groups: &Vec<(K, Vec<V>)>| {
            (Some(groups.iter().map(|(_, vs)| vs.len() as u64).sum()), Some(groups.len() as u64))
        });
        let groups: u64 = window.iter().filter_map(|b| b.keys).sum();
        let sample = self.parts.iter().filter_map(|r| r.back()).flat_map(|(_, g)| g.iter());
        StateView { bytes: Some(records_bytes(groups, sample)), window: Some(window), ..StateView::default() }
    }
}

impl<'a, K: Key + Persist, V: Data + Persist, C: Chain<Out = (K, V)>> DStream<'a, (K, V), C> {
    /// Every `slide`, the values of each key over the last `window`, oldest batch first
    /// (Spark's `groupByKeyAndWindow`; the order within a batch is unspecified).
    ///
    /// Cost: each batch is grouped once and kept while in the window; emitting copies the
    /// window's values.
    ///
    /// ```
    /// use stream_runtime::{testing, Duration};
    /// let input = vec![vec![("a", 0)], vec![("a", 1)], vec![("a", 2)], vec![("a", 3)]];
    /// let out = testing::run(input, 2, |s| s.group_by_key_and_window(Duration::seconds(2), Duration::seconds(1)));
    /// assert_eq!(out, vec![vec![("a", vec![0])], vec![("a", vec![0, 1])], vec![("a", vec![1, 2])], vec![("a", vec![2, 3])]]);
    /// ```
    pub fn group_by_key_and_window(self, window: Duration, slide: Duration) -> DStream<'a, (K, Vec<V>)> {
        self.group_by_key_and_window_with_partitions(window, slide, 0)
    }

    /// As [`group_by_key_and_window`](Self::group_by_key_and_window), into `partitions`
    /// (Spark's `groupByKeyAndWindow(w, s, numPartitions)` and `(w, s, partitioner)`): a
    /// count (0: the thread count) or a [`Partitioner`].
    ///
    /// ```
    /// use stream_runtime::{testing, Duration};
    /// let input = vec![vec![("a", 0)], vec![("a", 1), ("b", 2)]];
    /// let out = testing::run(input, 2, |s| {
    ///     s.group_by_key_and_window_with_partitions(Duration::seconds(2), Duration::seconds(1), 4).glom()
    /// });
    /// assert_eq!(out[1].len(), 4);
    /// let mut last = out[1].concat();
    /// last.sort();
    /// assert_eq!(last, vec![("a", vec![0, 1]), ("b", vec![2])]);
    /// ```
    pub fn group_by_key_and_window_with_partitions(
        self,
        window: Duration,
        slide: Duration,
        partitions: impl Partitioner<K>,
    ) -> DStream<'a, (K, Vec<V>)> {
        let ctx = self.ctx;
        check(ctx, Kind::Windowed, window, slide, self.slide_duration());
        let route = Route::of(partitions);
        let n = route.count(ctx.default_parallelism());
        let groups = self.group_by_key_into(route.fixed(n)).into_node("group_by_key_and_window");
        let parts = (0..n).map(|_| VecDeque::new()).collect();
        windowed(ctx, "group_by_key_and_window", groups, window, slide, Groups { parts, route })
    }
}
