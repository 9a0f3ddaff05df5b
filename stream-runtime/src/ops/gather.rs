use crate::batch::Batch;
use crate::chain::Chain;
use crate::data::{Data, Persist};
use crate::error::BatchError;
use crate::node::Env;
use crate::shuffle::{gather, Exchanges};
use crate::time::Time;
use crate::DStream;

/// The whole batch at process 0, in process order (one partition per process that sent
/// records); `None` on the other processes. In one process, the batch as it is.
pub(crate) fn gather_batch<T: Data + Persist>(
    batch: Batch<T>,
    ex: &Exchanges,
    t: Time,
    env: &Env,
) -> Result<Option<Batch<T>>, BatchError> {
    if env.peers.is_none() {
        return Ok(Some(batch));
    }
    let all = gather(batch.into_vec(), ex, t, env)?;
    Ok(all.map(|all| Batch::from_partitions(all.into_iter().filter(|p| !p.is_empty()).collect())))
}

impl<'a, T: Data + Persist, C: Chain<Out = T>> DStream<'a, T, C> {
    /// Every batch gathered at process 0 (the results of global aggregations); the other
    /// processes' batches are empty. In one process, the stream as it is.
    pub(crate) fn gathered(self) -> DStream<'a, T> {
        let ex = Exchanges::new(self.ctx);
        self.unary("gather", move |up, t, env| {
            let Some(batch) = up.collect(t, env)? else {
                return Ok(None);
            };
            Ok(Some(gather_batch(batch, &ex, t, env)?.unwrap_or_default()))
        })
    }
}
