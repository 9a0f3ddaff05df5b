use crate::chain::{Chain, Map};
use crate::data::Data;
use crate::DStream;

impl<'a, T: Data, C: Chain<Out = T>> DStream<'a, T, C> {
    /// Applies `f` to every record. Fused with its neighbours: no pass of its own.
    ///
    /// ```
    /// let out = stream_runtime::testing::run(vec![vec![1, 2], vec![3]], 2, |s| s.map(|x| x * 10));
    /// assert_eq!(out, vec![vec![10, 20], vec![30]]);
    /// ```
    pub fn map<U: Data, F>(self, f: F) -> DStream<'a, U, Map<C, F>>
    where
        F: Fn(T) -> U + Send + Sync + 'static,
    {
        self.then(|inner| Map { inner, f })
    }
}
