//! [`StateSpec`]: the mapping function and options of `map_with_state`, and
//! [`StateSpecFor`], the same built from a stream so the function's types are inferred.

use std::marker::PhantomData;

use super::value::State;
use crate::chain::Chain;
use crate::data::{Data, Key};
use crate::shuffle::{Partitioner, Route};
use crate::time::{Duration, Time};
use crate::DStream;

/// The function and options of [`map_with_state`](crate::DStream::map_with_state) (Spark's
/// `StateSpec`).
///
/// ```
/// use stream_runtime::{Duration, State, StateSpec};
/// // Simple form: the result is always emitted.
/// let count = StateSpec::function(|_word: &String, one: Option<u64>, state: &mut State<u64>| {
///     let n = state.get_option().copied().unwrap_or(0) + one.unwrap_or(0);
///     state.update(n);
///     n
/// })
/// .timeout(Duration::seconds(30))
/// .num_partitions(4);
/// # let _ = count;
/// ```
///
/// Built from the stream it maps ([`DStream::state_spec`]), the function's parameter types
/// come from the stream and need not be written.
pub struct StateSpec<K, V, S, M, F> {
    pub(crate) f: F,
    pub(crate) initial: Vec<(K, S)>,
    pub(crate) route: Option<Route<K>>,
    pub(crate) timeout: Option<Duration>,
    _types: PhantomData<fn(K, V) -> M>,
}

impl<K, V, S, M, F> std::fmt::Debug for StateSpec<K, V, S, M, F> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StateSpec")
            .field("initial_keys", &self.initial.len())
            .field("partitioned", &self.route.is_some())
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

/// The simple form as the full one: every result is emitted.
#[allow(clippy::type_complexity)]
fn simple<K, V, S, M, G>(
    f: G,
) -> StateSpec<K, V, S, M, impl Fn(Time, &K, Option<V>, &mut State<S>) -> Option<M> + Send + Sync + 'static>
where
    G: Fn(&K, Option<V>, &mut State<S>) -> M + Send + Sync + 'static,
{
    StateSpec::function_full(move |_: Time, k: &K, v: Option<V>, s: &mut State<S>| Some(f(k, v, s)))
}

impl<K, V, S, M> StateSpec<K, V, S, M, ()> {
    /// A spec from `f(key, value, state) -> output`, called once per record (Spark's
    /// `StateSpec.function` with three arguments); every result is emitted. On a timeout
    /// `value` is `None` and [`State::is_timing_out`] holds.
    #[allow(clippy::type_complexity)]
    pub fn function<G>(
        f: G,
    ) -> StateSpec<K, V, S, M, impl Fn(Time, &K, Option<V>, &mut State<S>) -> Option<M> + Send + Sync + 'static>
    where
        G: Fn(&K, Option<V>, &mut State<S>) -> M + Send + Sync + 'static,
    {
        simple(f)
    }

    /// A spec from `f(time, key, value, state) -> Option<output>` (Spark's four-argument
    /// `StateSpec.function`): `None` emits nothing.
    ///
    /// ```
    /// use stream_runtime::{testing, State, StateSpec, Time};
    /// // Emit the batch time of each key's first record only.
    /// let spec = StateSpec::function_full(|t: Time, _k: &&str, _v: Option<()>, s: &mut State<()>| {
    ///     if s.exists() {
    ///         return None;
    ///     }
    ///     s.update(());
    ///     Some(t.as_millis())
    /// });
    /// let out = testing::run(vec![vec![("a", ())], vec![("a", ()), ("b", ())]], 1, |s| s.map_with_state(spec).mapped());
    /// assert_eq!(out, vec![vec![1000], vec![2000]]);
    /// ```
    pub fn function_full<G>(f: G) -> StateSpec<K, V, S, M, G>
    where
        G: Fn(Time, &K, Option<V>, &mut State<S>) -> Option<M> + Send + Sync + 'static,
    {
        StateSpec { f, initial: Vec::new(), route: None, timeout: None, _types: PhantomData }
    }
}

impl<K, V, S, M, F> StateSpec<K, V, S, M, F> {
    /// State loaded at the first batch, with that batch's time as its update time; no
    /// function call, and it shows in the snapshots (Spark's `initialState`).
    pub fn initial_state(mut self, initial: Vec<(K, S)>) -> Self {
        self.initial = initial;
        self
    }

    /// Removes keys idle for longer than `idle`: at the first batch `t` with
    /// `t > last update + idle` the function is called once with `value = None` and
    /// [`State::is_timing_out`], its result is emitted, and the key is removed.
    ///
    /// Deliberately more timely than Spark, which checks timeouts only on checkpoint batches
    /// (every tenth batch by default): here a key times out at exactly the first eligible
    /// batch, found in a timer without scanning the state.
    pub fn timeout(mut self, idle: Duration) -> Self {
        self.timeout = Some(idle);
        self
    }
}

impl<K: Key, V, S, M, F> StateSpec<K, V, S, M, F> {
    /// Partitions of the state (Spark's `numPartitions`; 0, the default, is the thread count).
    pub fn num_partitions(self, n: usize) -> Self {
        self.partitioner(n)
    }

    /// Where the state's keys go (Spark's `StateSpec.partitioner`): a count, a
    /// [`HashPartitioner`](crate::HashPartitioner) or a [`Partitioner`] of yours. The records
    /// of each batch are routed the same way, so each key's calls stay in batch order.
    ///
    /// ```
    /// use stream_runtime::{testing, Partitioner, State, StateSpec};
    /// /// Every key in partition 0 of 2.
    /// struct First;
    /// impl Partitioner<&'static str> for First {
    ///     fn num_partitions(&self) -> usize {
    ///         2
    ///     }
    ///     fn partition(&self, _: &&'static str) -> usize {
    ///         0
    ///     }
    /// }
    /// let spec = StateSpec::function(|_k: &&str, v: Option<i32>, s: &mut State<i32>| {
    ///     s.update(s.get_option().copied().unwrap_or(0) + v.unwrap_or(0));
    /// })
    /// .partitioner(First);
    /// let out = testing::run(vec![vec![("a", 1), ("b", 2), ("a", 3)]], 2, |s| s.map_with_state(spec).state_snapshots().glom());
    /// let mut first = out[0][0].clone();
    /// first.sort();
    /// assert_eq!(first, vec![("a", 4), ("b", 2)]);
    /// assert!(out[0][1].is_empty());
    /// ```
    pub fn partitioner(mut self, p: impl Partitioner<K>) -> Self {
        self.route = Some(Route::of(p));
        self
    }
}

/// A [`StateSpec`] builder whose key and value types are a stream's, so the mapping
/// function's parameter types are inferred (see [`DStream::state_spec`]).
pub struct StateSpecFor<K, V>(PhantomData<fn(K, V)>);

impl<K, V> std::fmt::Debug for StateSpecFor<K, V> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("StateSpecFor")
    }
}

impl<K, V> StateSpecFor<K, V> {
    /// [`StateSpec::function`] for this stream's keys and values.
    ///
    /// ```
    /// use stream_runtime::testing;
    /// let out = testing::run(vec![vec![("ab", 1), ("ab", 1)], vec![("c", 1)]], 2, |pairs| {
    ///     let spec = pairs.state_spec().function(|word, one, state| {
    ///         let sum = one.unwrap_or(0) + state.get_option().copied().unwrap_or(0);
    ///         state.update(sum);
    ///         (word.len(), sum)
    ///     });
    ///     pairs.map_with_state(spec).mapped()
    /// });
    /// assert_eq!(out, vec![vec![(2, 1), (2, 2)], vec![(1, 1)]]);
    /// ```
    #[allow(clippy::type_complexity)]
    pub fn function<S, M, G>(
        self,
        f: G,
    ) -> StateSpec<K, V, S, M, impl Fn(Time, &K, Option<V>, &mut State<S>) -> Option<M> + Send + Sync + 'static>
    where
        G: Fn(&K, Option<V>, &mut State<S>) -> M + Send + Sync + 'static,
    {
        simple(f)
    }

    /// [`StateSpec::function_full`] for this stream's keys and values.
    ///
    /// ```
    /// use stream_runtime::testing;
    /// let out = testing::run(vec![vec![("a", 1)], vec![("a", 1), ("b", 1)]], 1, |pairs| {
    ///     let spec = pairs.state_spec().function_full(|t, word, _one, state| {
    ///         let first = !state.exists();
    ///         state.update(());
    ///         first.then(|| (*word, t.as_millis()))
    ///     });
    ///     pairs.map_with_state(spec).mapped()
    /// });
    /// assert_eq!(out, vec![vec![("a", 1000)], vec![("b", 2000)]]);
    /// ```
    pub fn function_full<S, M, G>(self, f: G) -> StateSpec<K, V, S, M, G>
    where
        G: Fn(Time, &K, Option<V>, &mut State<S>) -> Option<M> + Send + Sync + 'static,
    {
        StateSpec::function_full(f)
    }
}

impl<'a, K: Key, V: Data, C: Chain<Out = (K, V)>> DStream<'a, (K, V), C> {
    /// A [`StateSpec`] builder for this stream's keys and values, so that the mapping
    /// function of [`map_with_state`](Self::map_with_state) needs no type written out (Spark's
    /// `StateSpec.function(mappingFunc)`, whose types Scala infers the same way).
    ///
    /// ```
    /// use stream_runtime::{testing, Duration};
    /// let out = testing::run(vec![vec![("a", 1), ("a", 1)], vec![("a", 1)]], 2, |pairs| {
    ///     let spec = pairs
    ///         .state_spec()
    ///         .function(|_word, one, state| {
    ///             let sum = one.unwrap_or(0) + state.get_option().copied().unwrap_or(0);
    ///             state.update(sum);
    ///             sum
    ///         })
    ///         .timeout(Duration::seconds(30));
    ///     pairs.map_with_state(spec).mapped()
    /// });
    /// assert_eq!(out, vec![vec![1, 2], vec![3]]);
    /// ```
    pub fn state_spec(&self) -> StateSpecFor<K, V> {
        StateSpecFor(PhantomData)
    }
}
