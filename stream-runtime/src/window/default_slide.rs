//! The one-duration forms of Spark's windows (`window(w)`, `reduceByKeyAndWindow(f, w)`,
//! `groupByKeyAndWindow(w)`): the slide is the parent stream's slide (the batch interval for
//! a stream that is not windowed). Spark overloads the names; Sluice names them `..._of`.

use crate::chain::{Chain, Erased};
use crate::data::{Data, Key, Persist};
use crate::time::Duration;
use crate::DStream;

impl<'a, T: Data + Persist, C: Chain<Out = T>> DStream<'a, T, C> {
    /// Every batch of this stream, the records of its batches in the last `window` (Spark's
    /// `window(windowDuration)`): [`window`](Self::window) with this stream's slide, erased
    /// as it is.
    ///
    /// ```
    /// use stream_runtime::{testing, Duration};
    /// let input = vec![vec![0], vec![1], vec![2], vec![3]];
    /// let out = testing::run(input, 2, |s| s.window_of(Duration::seconds(2)));
    /// assert_eq!(out, vec![vec![0], vec![0, 1], vec![1, 2], vec![2, 3]]);
    /// ```
    pub fn window_of(self, window: Duration) -> DStream<'a, T, Erased<T>> {
        let slide = self.slide_duration();
        self.window(window, slide)
    }
}

impl<'a, K: Key + Persist, V: Data + Persist, C: Chain<Out = (K, V)>> DStream<'a, (K, V), C> {
    /// Every batch of this stream, the values of each key over the last `window` merged with
    /// `f` (Spark's `reduceByKeyAndWindow(func, windowDuration)`):
    /// [`reduce_by_key_and_window`](Self::reduce_by_key_and_window) with this stream's slide.
    ///
    /// ```
    /// use stream_runtime::{testing, Duration};
    /// let input = vec![vec![("a", 1)], vec![("a", 1)], vec![], vec![]];
    /// let out = testing::run(input, 2, |s| s.reduce_by_key_and_window_of(|a, b| a + b, Duration::seconds(2)));
    /// assert_eq!(out, vec![vec![("a", 1)], vec![("a", 2)], vec![("a", 1)], vec![]]);
    /// ```
    pub fn reduce_by_key_and_window_of<F>(self, f: F, window: Duration) -> DStream<'a, (K, V)>
    where
        F: Fn(V, V) -> V + Send + Sync + Clone + 'static,
    {
        let slide = self.slide_duration();
        self.reduce_by_key_and_window(f, window, slide)
    }

    /// Every batch of this stream, the values of each key over the last `window` (Spark's
    /// `groupByKeyAndWindow(windowDuration)`):
    /// [`group_by_key_and_window`](Self::group_by_key_and_window) with this stream's slide.
    ///
    /// ```
    /// use stream_runtime::{testing, Duration};
    /// let input = vec![vec![("a", 0)], vec![("a", 1)], vec![("a", 2)]];
    /// let out = testing::run(input, 2, |s| s.group_by_key_and_window_of(Duration::seconds(2)));
    /// assert_eq!(out, vec![vec![("a", vec![0])], vec![("a", vec![0, 1])], vec![("a", vec![1, 2])]]);
    /// ```
    pub fn group_by_key_and_window_of(self, window: Duration) -> DStream<'a, (K, Vec<V>)> {
        let slide = self.slide_duration();
        self.group_by_key_and_window(window, slide)
    }
}
