use rayon::prelude::*;

use super::cell::{state_stream, StateStream, Step};
use super::store::{Part, Slot};
use crate::chain::Chain;
use crate::data::{detach, hash_of, Data, Key, Persist};
use crate::error::BatchError;
use crate::node::{Env, NodeRef};
use crate::shuffle::{hash_partitions, Route};
use crate::time::Time;
use crate::DStream;

/// Folds each batch's per-key partials into the state; keys without data are not touched.
struct RunningReduce<K, V, F> {
    partials: NodeRef<(K, V)>,
    f: F,
}

impl<K: Key, V: Data, F: Fn(V, V) -> V + Send + Sync + 'static> Step<K, V, (K, V)> for RunningReduce<K, V, F> {
    fn step(
        &self,
        t: Time,
        env: &Env,
        parts: &mut [Part<K, V>],
        want: bool,
    ) -> Result<Option<Vec<Vec<(K, V)>>>, BatchError> {
        let Some(batch) = self.partials.get(t, env)? else {
            return Ok(Some(Vec::new()));
        };
        let input = hash_partitions(batch, parts.len());
        let f = &self.f;
        let mapped = parts
            .par_iter_mut()
            .zip(input)
            .map(|(p, partials)| {
                let mut out = Vec::with_capacity(if want { partials.len() } else { 0 });
                p.map.reserve(partials.len());
                for (k, v) in partials {
                    let h = hash_of(&k);
                    let pos = match p.map.find(h, &k) {
                        Ok((at, pos)) => p.map.replace_with(at, pos, |_, old| {
                            let mut state = f(old.state, v);
                            detach(&mut state);
                            Some(Slot { state, updated: t })
                        }),
                        // A key new to the state is copied out of a larger input buffer it
                        // shares (`detach`), as the state keeps it; its value too.
                        Err(at) => {
                            let (mut k, mut state) = (k, v);
                            detach(&mut k);
                            detach(&mut state);
                            Some(p.map.insert_at(at, h, k, Slot { state, updated: t }))
                        }
                    };
                    if let (true, Some(pos)) = (want, pos) {
                        let (k, slot) = p.map.at(pos);
                        out.push((k.clone(), slot.state.clone()));
                    }
                }
                out
            })
            .collect();
        Ok(Some(mapped))
    }
}

impl<'a, K: Key + Persist, V: Data + Persist, C: Chain<Out = (K, V)>> DStream<'a, (K, V), C> {
    /// A running reduction per key over all batches so far: each batch is reduced per key
    /// with `f` (map-side combine), then folded into the state with `f`. It is the
    /// incremental form of `update_state_by_key(|vs, s| fold of f)`: only keys with new data
    /// are touched, so a batch costs O(its keys), however many idle keys the state holds.
    ///
    /// Returns a [`StateStream`]: [`mapped`](StateStream::mapped) gives the keys this batch
    /// updated with their new totals, [`state_snapshots`](StateStream::state_snapshots) the
    /// full state (a copy per batch), [`foreach_snapshot`](StateStream::foreach_snapshot) and
    /// [`print_state`](StateStream::print_state) a borrowed view. Keys are never removed.
    /// Needs a checkpoint directory.
    ///
    /// ```
    /// let input = vec![vec![("a", 1), ("b", 1)], vec![("a", 1)], vec![]];
    /// let mut out = stream_runtime::testing::run(input, 2, |s| s.running_reduce_by_key(|x, y| x + y).state_snapshots());
    /// out.iter_mut().for_each(|b| b.sort());
    /// assert_eq!(out, vec![vec![("a", 1), ("b", 1)], vec![("a", 2), ("b", 1)], vec![("a", 2), ("b", 1)]]);
    /// ```
    pub fn running_reduce_by_key<F>(self, f: F) -> StateStream<'a, K, V, (K, V)>
    where
        F: Fn(V, V) -> V + Send + Sync + Clone + 'static,
    {
        let ctx = self.ctx;
        let slide = self.slide_duration();
        let n = ctx.default_parallelism();
        let partials = self.reduce_by_key_with_partitions(f.clone(), n).into_node("running_reduce_by_key");
        let from = partials.label();
        state_stream(
            ctx,
            ("running_reduce_by_key", "mapped"),
            from,
            RunningReduce { partials, f },
            slide,
            (n, Route::default()),
        )
    }
}
