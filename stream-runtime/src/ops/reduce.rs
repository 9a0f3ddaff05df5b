use crate::batch::Batch;
use crate::chain::Chain;
use crate::data::{Data, Persist};
use crate::shuffle::{gather, Exchanges};
use crate::DStream;

impl<'a, T: Data, C: Chain<Out = T>> DStream<'a, T, C> {
    /// Reduces each batch to one element with the associative function `f`; an empty batch
    /// gives no element. In a cluster the partial results of every process are reduced at
    /// process 0 (so they are [`Persist`]), whose batch holds the element; the other
    /// processes' batches are empty.
    ///
    /// ```
    /// let out = stream_runtime::testing::run(vec![vec![1, 2, 3, 4], vec![]], 2, |s| s.reduce(|a, b| a + b));
    /// assert_eq!(out, vec![vec![10], vec![]]);
    /// ```
    pub fn reduce<F>(self, f: F) -> DStream<'a, T>
    where
        T: Persist,
        F: Fn(T, T) -> T + Send + Sync + 'static,
    {
        let ex = Exchanges::new(self.ctx);
        self.unary("reduce", move |up, t, env| {
            let Some(partials) = up.pass(t, env, |c, p| {
                let mut acc: Option<T> = None;
                c.push_all(p, &mut |x| {
                    acc = Some(match acc.take() {
                        Some(a) => f(a, x),
                        None => x,
                    })
                });
                acc
            })?
            else {
                return Ok(None);
            };
            let mine = partials.into_iter().flatten().reduce(&f);
            if env.peers.is_none() {
                return Ok(Some(Batch::from(mine.into_iter().collect::<Vec<_>>())));
            }
            let total = gather(mine, &ex, t, env)?.and_then(|all| all.into_iter().flatten().reduce(&f));
            Ok(Some(Batch::from(total.into_iter().collect::<Vec<_>>())))
        })
    }
}
