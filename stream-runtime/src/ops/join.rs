use crate::chain::Chain;
use crate::data::{Data, Key, Persist};
use crate::shuffle::Partitioner;
use crate::DStream;

/// Every `(k, (a(v), b(w)))` of one key's values on both sides, into `out`.
fn cross<K: Clone, V: Clone, W: Clone, A, B>(
    k: K,
    vs: &[V],
    ws: &[W],
    a: impl Fn(V) -> A,
    b: impl Fn(W) -> B,
    out: &mut Vec<(K, (A, B))>,
) {
    out.reserve(vs.len() * ws.len());
    for v in vs {
        for w in ws {
            out.push((k.clone(), (a(v.clone()), b(w.clone()))));
        }
    }
}

/// Inner join of one key's values.
fn inner<K: Clone, V: Clone, W: Clone>(k: K, vs: Vec<V>, ws: Vec<W>, out: &mut Vec<(K, (V, W))>) {
    cross(k, &vs, &ws, |v| v, |w| w, out)
}

/// Left outer join of one key's values: `None` when the right side has none.
fn left<K: Clone, V: Clone, W: Clone>(k: K, vs: Vec<V>, ws: Vec<W>, out: &mut Vec<(K, (V, Option<W>))>) {
    if ws.is_empty() {
        out.extend(vs.into_iter().map(|v| (k.clone(), (v, None))));
    } else {
        cross(k, &vs, &ws, |v| v, Some, out)
    }
}

/// Right outer join of one key's values: `None` when the left side has none.
fn right<K: Clone, V: Clone, W: Clone>(k: K, vs: Vec<V>, ws: Vec<W>, out: &mut Vec<(K, (Option<V>, W))>) {
    if vs.is_empty() {
        out.extend(ws.into_iter().map(|w| (k.clone(), (None, w))));
    } else {
        cross(k, &vs, &ws, Some, |w| w, out)
    }
}

/// Full outer join of one key's values: `None` for a side with none.
#[allow(clippy::type_complexity)]
fn full<K: Clone, V: Clone, W: Clone>(k: K, vs: Vec<V>, ws: Vec<W>, out: &mut Vec<(K, (Option<V>, Option<W>))>) {
    match (vs.is_empty(), ws.is_empty()) {
        (true, _) => out.extend(ws.into_iter().map(|w| (k.clone(), (None, Some(w))))),
        (_, true) => out.extend(vs.into_iter().map(|v| (k.clone(), (Some(v), None)))),
        _ => cross(k, &vs, &ws, Some, Some, out),
    }
}

/// Joins are built on [`cogroup`](DStream::cogroup)'s shuffle and grouping: the joined pairs of
/// each key are made in the grouping loop, with no batch of groups in between. Keys and values
/// are [`Persist`], since in a cluster the records of the keys other processes own cross to
/// them.
impl<'a, K: Key, V: Data, C: Chain<Out = (K, V)>> DStream<'a, (K, V), C> {
    /// Per batch inner join: one `(k, (v, w))` for every pair of values of a key present on
    /// both sides.
    ///
    /// ```
    /// let a = vec![vec![("a", 1), ("b", 2)]];
    /// let b = vec![vec![("b", 3), ("c", 4)]];
    /// let out = stream_runtime::testing::run2(a, b, 2, |x, y| x.join(y));
    /// assert_eq!(out, vec![vec![("b", (2, 3))]]);
    /// ```
    pub fn join<W: Data + Persist, C2: Chain<Out = (K, W)>>(
        self,
        other: DStream<'a, (K, W), C2>,
    ) -> DStream<'a, (K, (V, W))>
    where
        K: Persist,
        V: Persist,
    {
        self.join_with_partitions(other, 0)
    }

    /// As [`join`](Self::join), into `partitions` (Spark's `join(other,
    /// numPartitions)` and `join(other, partitioner)`): a count (0: the thread count) or a
    /// [`Partitioner`].
    ///
    /// ```
    /// let a = vec![vec![("a", 1), ("b", 2)]];
    /// let b = vec![vec![("b", 3), ("c", 4)]];
    /// let mut out = stream_runtime::testing::run2(a, b, 2, |x, y| x.join_with_partitions(y, 1));
    /// out[0].sort();
    /// assert_eq!(out, vec![vec![("b", (2, 3))]]);
    /// ```
    pub fn join_with_partitions<W: Data + Persist, C2: Chain<Out = (K, W)>>(
        self,
        other: DStream<'a, (K, W), C2>,
        partitions: impl Partitioner<K>,
    ) -> DStream<'a, (K, (V, W))>
    where
        K: Persist,
        V: Persist,
    {
        self.cogroup_emit("join", other, partitions, inner)
    }

    /// Per batch left outer join: `(k, (v, Some(w)))`, or `(k, (v, None))` when the right side
    /// lacks `k`.
    ///
    /// ```
    /// let a = vec![vec![("a", 1), ("b", 2)]];
    /// let b = vec![vec![("b", 3), ("c", 4)]];
    /// let mut out = stream_runtime::testing::run2(a, b, 2, |x, y| x.left_outer_join(y));
    /// out[0].sort();
    /// assert_eq!(out, vec![vec![("a", (1, None)), ("b", (2, Some(3)))]]);
    /// ```
    pub fn left_outer_join<W: Data + Persist, C2: Chain<Out = (K, W)>>(
        self,
        other: DStream<'a, (K, W), C2>,
    ) -> DStream<'a, (K, (V, Option<W>))>
    where
        K: Persist,
        V: Persist,
    {
        self.left_outer_join_with_partitions(other, 0)
    }

    /// As [`left_outer_join`](Self::left_outer_join), into `partitions` (Spark's `leftOuterJoin(other,
    /// numPartitions)` and `leftOuterJoin(other, partitioner)`): a count (0: the thread count) or a
    /// [`Partitioner`].
    ///
    /// ```
    /// let a = vec![vec![("a", 1), ("b", 2)]];
    /// let b = vec![vec![("b", 3), ("c", 4)]];
    /// let mut out = stream_runtime::testing::run2(a, b, 2, |x, y| x.left_outer_join_with_partitions(y, 1));
    /// out[0].sort();
    /// assert_eq!(out, vec![vec![("a", (1, None)), ("b", (2, Some(3)))]]);
    /// ```
    pub fn left_outer_join_with_partitions<W: Data + Persist, C2: Chain<Out = (K, W)>>(
        self,
        other: DStream<'a, (K, W), C2>,
        partitions: impl Partitioner<K>,
    ) -> DStream<'a, (K, (V, Option<W>))>
    where
        K: Persist,
        V: Persist,
    {
        self.cogroup_emit("left_outer_join", other, partitions, left)
    }

    /// Per batch right outer join: `(k, (Some(v), w))`, or `(k, (None, w))`.
    ///
    /// ```
    /// let a = vec![vec![("a", 1), ("b", 2)]];
    /// let b = vec![vec![("b", 3), ("c", 4)]];
    /// let mut out = stream_runtime::testing::run2(a, b, 2, |x, y| x.right_outer_join(y));
    /// out[0].sort();
    /// assert_eq!(out, vec![vec![("b", (Some(2), 3)), ("c", (None, 4))]]);
    /// ```
    pub fn right_outer_join<W: Data + Persist, C2: Chain<Out = (K, W)>>(
        self,
        other: DStream<'a, (K, W), C2>,
    ) -> DStream<'a, (K, (Option<V>, W))>
    where
        K: Persist,
        V: Persist,
    {
        self.right_outer_join_with_partitions(other, 0)
    }

    /// As [`right_outer_join`](Self::right_outer_join), into `partitions` (Spark's `rightOuterJoin(other,
    /// numPartitions)` and `rightOuterJoin(other, partitioner)`): a count (0: the thread count) or a
    /// [`Partitioner`].
    ///
    /// ```
    /// let a = vec![vec![("a", 1), ("b", 2)]];
    /// let b = vec![vec![("b", 3), ("c", 4)]];
    /// let mut out = stream_runtime::testing::run2(a, b, 2, |x, y| x.right_outer_join_with_partitions(y, 1));
    /// out[0].sort();
    /// assert_eq!(out, vec![vec![("b", (Some(2), 3)), ("c", (None, 4))]]);
    /// ```
    pub fn right_outer_join_with_partitions<W: Data + Persist, C2: Chain<Out = (K, W)>>(
        self,
        other: DStream<'a, (K, W), C2>,
        partitions: impl Partitioner<K>,
    ) -> DStream<'a, (K, (Option<V>, W))>
    where
        K: Persist,
        V: Persist,
    {
        self.cogroup_emit("right_outer_join", other, partitions, right)
    }

    /// Per batch full outer join: `(k, (Option<v>, Option<w>))` for every key on either side.
    ///
    /// ```
    /// let a = vec![vec![("a", 1), ("b", 2)]];
    /// let b = vec![vec![("b", 3), ("c", 4)]];
    /// let mut out = stream_runtime::testing::run2(a, b, 2, |x, y| x.full_outer_join(y));
    /// out[0].sort();
    /// assert_eq!(out, vec![vec![("a", (Some(1), None)), ("b", (Some(2), Some(3))), ("c", (None, Some(4)))]]);
    /// ```
    pub fn full_outer_join<W: Data + Persist, C2: Chain<Out = (K, W)>>(
        self,
        other: DStream<'a, (K, W), C2>,
    ) -> DStream<'a, (K, (Option<V>, Option<W>))>
    where
        K: Persist,
        V: Persist,
    {
        self.full_outer_join_with_partitions(other, 0)
    }

    /// As [`full_outer_join`](Self::full_outer_join), into `partitions` (Spark's `fullOuterJoin(other,
    /// numPartitions)` and `fullOuterJoin(other, partitioner)`): a count (0: the thread count) or a
    /// [`Partitioner`].
    ///
    /// ```
    /// let a = vec![vec![("a", 1), ("b", 2)]];
    /// let b = vec![vec![("b", 3), ("c", 4)]];
    /// let mut out = stream_runtime::testing::run2(a, b, 2, |x, y| x.full_outer_join_with_partitions(y, 1));
    /// out[0].sort();
    /// assert_eq!(out, vec![vec![("a", (Some(1), None)), ("b", (Some(2), Some(3))), ("c", (None, Some(4)))]]);
    /// ```
    pub fn full_outer_join_with_partitions<W: Data + Persist, C2: Chain<Out = (K, W)>>(
        self,
        other: DStream<'a, (K, W), C2>,
        partitions: impl Partitioner<K>,
    ) -> DStream<'a, (K, (Option<V>, Option<W>))>
    where
        K: Persist,
        V: Persist,
    {
        self.cogroup_emit("full_outer_join", other, partitions, full)
    }
}
