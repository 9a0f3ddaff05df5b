use crate::chain::Chain;
use crate::data::{Key, Persist};
use crate::DStream;

impl<'a, T: Key + Persist, C: Chain<Out = T>> DStream<'a, T, C> {
    /// Per batch, counts the occurrences of each distinct record.
    ///
    /// ```
    /// let mut out = stream_runtime::testing::run(vec![vec![1, 1, 2, 2, 2]], 2, |s| s.count_by_value());
    /// out[0].sort();
    /// assert_eq!(out, vec![vec![(1, 2), (2, 3)]]);
    /// ```
    pub fn count_by_value(self) -> crate::DStream<'a, (T, u64)> {
        self.map(|x| (x, 1u64)).reduce_by_key(|a, b| a + b)
    }
}
