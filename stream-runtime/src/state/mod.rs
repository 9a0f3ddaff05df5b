//! Per-key state across batches: `update_state_by_key` (Spark's shape: the update function
//! sees every key every batch), `running_reduce_by_key` (incremental: only keys with new
//! data are touched) and `map_with_state` (Spark's `mapWithState`, with timeouts kept in a
//! timer so only keys with records or a due timeout are touched).
//!
//! The incremental operators return a [`StateStream`], which gives the per-batch output
//! ([`StateStream::mapped`]) and three views of the state after each batch: a copy as a stream
//! ([`StateStream::state_snapshots`], Spark's `stateSnapshots`, O(state) per batch), a
//! borrowed view handed to an output ([`StateStream::foreach_snapshot`], no copy) and
//! [`StateStream::print_state`], which formats the first records without copying the state.
//!
//! Every stateful operation needs a checkpoint directory (as in Spark); the state containers
//! are `serde`-serializable for checkpoints.

mod cell;
mod map_with_state;
mod running_reduce_by_key;
mod spec;
mod store;
mod table;
mod update_state_by_key;
mod value;
mod values;

pub use cell::StateStream;
pub use spec::{StateSpec, StateSpecFor};
pub use store::Snapshot;
pub use value::{State, StateError};

/// What the plan calls each stateful operator's per-batch output.
#[cfg(test)]
mod plan_tests {
    use crate::prelude::*;

    #[test]
    fn the_plan_names_the_state_and_the_mapped_outputs() {
        let mut ssc = StreamingContext::new(Duration::seconds(1));
        ssc.checkpoint("/nowhere");
        let pairs = ssc.socket_text_stream("localhost", 9999).map(|l: Str| (l, 1u64));
        pairs.clone().update_state_by_key(|v: Vec<u64>, s: Option<u64>| Some(s.unwrap_or(0) + v.len() as u64)).print();
        pairs.running_reduce_by_key(|a, b| a + b).mapped().print();
        let plan = ssc.explain();
        assert!(plan.contains("print(10) <- update_state_by_key (state)\n"), "{plan}");
        assert!(plan.contains("print(10) <- running_reduce_by_key (mapped)\n"), "{plan}");
    }
}

/// A state keeps its keys for ever, so it must not keep the input buffers they came in.
#[cfg(test)]
mod retention_tests {
    use std::sync::{Arc, Mutex, Weak};

    use crate::testing::Harness;
    use crate::{DStream, Duration, Str};

    /// Runs three batches through `op`; the first is long keys (and values) cut from one
    /// buffer. Returns whether that buffer was still alive while the last batch ran (its keys
    /// still in the state), and the keys the state held then.
    fn first_buffer_alive(
        op: impl for<'a> FnOnce(DStream<'a, (Str, Str)>, Arc<Mutex<Option<bool>>>, Weak<str>),
    ) -> bool {
        let buf: Arc<str> = Arc::from("a-key-longer-than-fifteen-bytes another-key-longer-than-fifteen");
        let words: Vec<(Str, Str)> = [(0, 31), (32, 63)]
            .into_iter()
            .map(|(a, b)| (Str::slice_of(&buf, a, b), Str::slice_of(&buf, a, b)))
            .collect();
        assert!(words.iter().all(|(k, _)| k.pins_more()));
        let weak = Arc::downgrade(&buf);
        drop(buf);
        let seen = Arc::new(Mutex::new(None));
        let errors = Harness::new(2).run(vec![words, vec![], vec![]], |s| op(s, Arc::clone(&seen), weak));
        assert!(errors.is_empty(), "{errors:?}");
        let seen = seen.lock().unwrap().expect("the last batch ran");
        seen
    }

    /// At the third batch: whether `weak`'s buffer is alive, and that the state still has
    /// both keys (so the test sees a state that kept them).
    fn check(seen: &Mutex<Option<bool>>, weak: &Weak<str>, t: crate::Time, keys: usize) {
        if t == crate::Time::from_millis(3000) {
            assert_eq!(keys, 2, "the state keeps both keys");
            *seen.lock().unwrap() = Some(weak.strong_count() > 0);
        }
    }

    #[test]
    fn update_state_by_key_keeps_no_input_buffer() {
        let alive = first_buffer_alive(|s, seen, weak| {
            s.update_state_by_key(|vs: Vec<Str>, old: Option<Str>| vs.into_iter().last().or(old))
                .foreach_batch(move |b, t| check(&seen, &weak, t, b.len()));
        });
        assert!(!alive);
    }

    #[test]
    fn update_state_by_key_iter_keeps_no_input_buffer() {
        let alive = first_buffer_alive(|s, seen, weak| {
            s.update_state_by_key_iter(
                |keys| keys.filter_map(|(k, vs, old)| vs.into_iter().last().or(old).map(|s| (k, s))).collect(),
                0,
                Vec::new(),
            )
            .foreach_batch(move |b, t| check(&seen, &weak, t, b.len()));
        });
        assert!(!alive);
    }

    #[test]
    fn running_reduce_by_key_keeps_no_input_buffer() {
        let alive = first_buffer_alive(|s, seen, weak| {
            s.running_reduce_by_key(|_, b| b).foreach_snapshot(move |snap, t| check(&seen, &weak, t, snap.len()));
        });
        assert!(!alive);
    }

    #[test]
    fn map_with_state_keeps_no_input_buffer() {
        let alive = first_buffer_alive(|s, seen, weak| {
            let spec = s.state_spec().function(|_k, v, state| {
                if let Some(v) = v {
                    state.update(v);
                }
            });
            s.map_with_state(spec).foreach_snapshot(move |snap, t| check(&seen, &weak, t, snap.len()));
        });
        assert!(!alive);
    }

    #[test]
    fn an_invertible_window_keeps_no_input_buffer_of_its_keys() {
        let alive = first_buffer_alive(|s, seen, weak| {
            s.map(|(k, _)| (k, 1u64))
                .reduce_by_key_and_window_inv(|a, b| a + b, |a, b| a - b, Duration::seconds(10), Duration::seconds(1))
                .foreach_batch(move |b, t| check(&seen, &weak, t, b.len()));
        });
        assert!(!alive);
    }

    #[test]
    fn a_window_keeps_no_input_buffer_of_its_keys() {
        let alive = first_buffer_alive(|s, seen, weak| {
            s.map(|(k, _)| (k, 1u64))
                .reduce_by_key_and_window(|a, b| a + b, Duration::seconds(10), Duration::seconds(1))
                .foreach_batch(move |b, t| check(&seen, &weak, t, b.len()));
        });
        assert!(!alive);
    }
}
