use crate::chain::{Chain, FlatMapValues, MapValues};
use crate::data::{Data, Key};
use crate::DStream;

impl<'a, K: Key, V: Data, C: Chain<Out = (K, V)>> DStream<'a, (K, V), C> {
    /// Applies `f` to the value of every pair, keeping the key. Fused with its neighbours.
    ///
    /// ```
    /// let out = stream_runtime::testing::run(vec![vec![("a", 1)]], 1, |s| s.map_values(|v| v + 10));
    /// assert_eq!(out, vec![vec![("a", 11)]]);
    /// ```
    pub fn map_values<U: Data, F>(self, f: F) -> DStream<'a, (K, U), MapValues<C, F>>
    where
        F: Fn(V) -> U + Send + Sync + 'static,
    {
        self.then(|inner| MapValues { inner, f })
    }

    /// Applies `f` to the value of every pair and emits one pair per produced value.
    ///
    /// ```
    /// let out = stream_runtime::testing::run(vec![vec![("a", 1)]], 1, |s| s.flat_map_values(|v| [v, v + 10]));
    /// assert_eq!(out, vec![vec![("a", 1), ("a", 11)]]);
    /// ```
    pub fn flat_map_values<I, F>(self, f: F) -> DStream<'a, (K, I::Item), FlatMapValues<C, F>>
    where
        I: IntoIterator,
        I::Item: Data,
        F: Fn(V) -> I + Send + Sync + 'static,
    {
        self.then(|inner| FlatMapValues { inner, f })
    }
}
