//! [`StateSpec`]: the mapping function and options of `map_with_state`.

use std::marker::PhantomData;

use super::value::State;
use crate::time::{Duration, Time};

/// The function and options of [`map_with_state`](crate::DStream::map_with_state) (Spark's
/// `StateSpec`).
///
/// ```
/// use stream_runtime::{Duration, State, StateSpec};
/// // Simple form: the result is always emitted.
/// let count = StateSpec::function(|_word: &String, one: Option<u64>, state: &mut State<u64>| {
///     let n = state.get_option().copied().unwrap_or(0) + one.unwrap_or(0);
///     let _ = state.update(n);
///     n
/// })
/// .timeout(Duration::seconds(30))
/// .num_partitions(4);
/// # let _ = count;
/// ```
pub struct StateSpec<K, V, S, M, F> {
    pub(crate) f: F,
    pub(crate) initial: Vec<(K, S)>,
    pub(crate) partitions: Option<usize>,
    pub(crate) timeout: Option<Duration>,
    _types: PhantomData<fn(K, V) -> M>,
}

impl<K, V, S, M, F> std::fmt::Debug for StateSpec<K, V, S, M, F> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StateSpec")
            .field("initial_keys", &self.initial.len())
            .field("partitions", &self.partitions)
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
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
        StateSpec::function_full(move |_: Time, k: &K, v: Option<V>, s: &mut State<S>| Some(f(k, v, s)))
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
    ///     let _ = s.update(());
    ///     Some(t.as_millis())
    /// });
    /// let out = testing::run(vec![vec![("a", ())], vec![("a", ()), ("b", ())]], 1, |s| s.map_with_state(spec).mapped());
    /// assert_eq!(out, vec![vec![1000], vec![2000]]);
    /// ```
    pub fn function_full<G>(f: G) -> StateSpec<K, V, S, M, G>
    where
        G: Fn(Time, &K, Option<V>, &mut State<S>) -> Option<M> + Send + Sync + 'static,
    {
        StateSpec { f, initial: Vec::new(), partitions: None, timeout: None, _types: PhantomData }
    }
}

impl<K, V, S, M, F> StateSpec<K, V, S, M, F> {
    /// State loaded at the first batch, with that batch's time as its update time; no
    /// function call, and it shows in the snapshots (Spark's `initialState`).
    pub fn initial_state(mut self, initial: Vec<(K, S)>) -> Self {
        self.initial = initial;
        self
    }

    /// Partitions of the state (default: the thread count).
    pub fn num_partitions(mut self, n: usize) -> Self {
        self.partitions = Some(n.max(1));
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
