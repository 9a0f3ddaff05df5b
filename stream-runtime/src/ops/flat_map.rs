use crate::chain::{Chain, FlatMap};
use crate::data::Data;
use crate::DStream;

impl<'a, T: Data, C: Chain<Out = T>> DStream<'a, T, C> {
    /// Applies `f` to every record and flattens the results. Fused with its neighbours.
    ///
    /// On text streams records are [`Str`](crate::Str)s, whose `split` hands out shared pieces,
    /// so splitting lines into words copies no text:
    ///
    /// ```
    /// use stream_runtime::Str;
    /// let lines = vec![vec![Str::from("to be or"), Str::from("not")]];
    /// let out = stream_runtime::testing::run(lines, 2, |s| s.flat_map(|line| line.split(' ')));
    /// assert_eq!(out, vec![vec!["to", "be", "or", "not"]]);
    /// ```
    pub fn flat_map<I, F>(self, f: F) -> DStream<'a, I::Item, FlatMap<C, F>>
    where
        I: IntoIterator,
        I::Item: Data,
        F: Fn(T) -> I + Send + Sync + 'static,
    {
        self.then(|inner| FlatMap { inner, f })
    }
}
