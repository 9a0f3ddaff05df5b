use crate::chain::{Chain, Filter};
use crate::data::Data;
use crate::DStream;

impl<'a, T: Data, C: Chain<Out = T>> DStream<'a, T, C> {
    /// Keeps the records for which `f` returns true. Fused with its neighbours.
    ///
    /// ```
    /// let out = stream_runtime::testing::run(vec![vec![1, 2, 3, 4]], 1, |s| s.filter(|x| x % 2 == 0));
    /// assert_eq!(out, vec![vec![2, 4]]);
    /// ```
    pub fn filter<F>(self, f: F) -> DStream<'a, T, Filter<C, F>>
    where
        F: Fn(&T) -> bool + Send + Sync + 'static,
    {
        self.then(|inner| Filter { inner, f })
    }
}
