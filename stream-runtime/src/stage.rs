//! The fused stages of a job's graph, as the runtime runs them: every operator that reads a
//! stream runs the stream's chain of narrow operations (`map`, `filter`, `flat_map`, ...) in
//! one loop per partition over its parent's batch; that loop and the operator's own
//! per-partition work is one stage. [`StreamingContext::explain`](crate::StreamingContext::explain)
//! lists them (`stage 1 <- input 1: flat_map -> map -> reduce_by_key`) and the Streaming page
//! shows the time each took in the last batches.
//!
//! A stage's clock is read twice per batch it runs (around its whole pass over the
//! partitions, after its parent's batch is computed), never per record nor per partition, and
//! only while someone watches the job (the Streaming page, or in a cluster the driver's page):
//! otherwise the pass checks one flag per batch and reads no clock.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// One fused stage, as the plan describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Stage {
    /// What it reads: `input 1`, `reduce_by_key (stage 2)`, `union of ...`.
    pub(crate) from: String,
    /// Its narrow operations, fused into one loop per partition, in order.
    pub(crate) ops: Vec<&'static str>,
    /// The operator whose pass it is (`reduce_by_key`, `print(10)`, `window`).
    pub(crate) into: String,
}

impl std::fmt::Display for Stage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "<- {}: ", self.from)?;
        for op in &self.ops {
            write!(f, "{op} -> ")?;
        }
        f.write_str(&self.into)?;
        if self.ops.len() > 1 {
            f.write_str("   (fused)")?;
        }
        Ok(())
    }
}

/// The clock of one stage: the time of its passes since the last [`Stages::take`].
#[derive(Debug)]
pub(crate) struct StageClock {
    on: Arc<AtomicBool>,
    nanos: AtomicU64,
    runs: AtomicU64,
}

impl StageClock {
    /// A pass starts: the time, when the clocks are on.
    #[inline]
    pub(crate) fn start(&self) -> Option<Instant> {
        self.on.load(Ordering::Relaxed).then(Instant::now)
    }

    /// The pass started at `began` ended.
    #[inline]
    pub(crate) fn stop(&self, began: Option<Instant>) {
        if let Some(began) = began {
            let nanos = u64::try_from(began.elapsed().as_nanos()).unwrap_or(u64::MAX);
            self.nanos.fetch_add(nanos, Ordering::Relaxed);
            self.runs.fetch_add(1, Ordering::Relaxed);
        }
    }
}

/// The stages of a graph, numbered from 1 in the order the job built them, with their clocks.
#[derive(Debug, Default)]
pub(crate) struct Stages {
    list: Vec<Stage>,
    clocks: Vec<Arc<StageClock>>,
    on: Arc<AtomicBool>,
}

impl Stages {
    /// Adds stage `stage`; returns its number and its clock.
    pub(crate) fn register(&mut self, stage: Stage) -> (usize, Arc<StageClock>) {
        let clock =
            Arc::new(StageClock { on: Arc::clone(&self.on), nanos: AtomicU64::new(0), runs: AtomicU64::new(0) });
        self.list.push(stage);
        self.clocks.push(Arc::clone(&clock));
        (self.list.len(), clock)
    }

    /// The stages, stage 1 first.
    pub(crate) fn list(&self) -> &[Stage] {
        &self.list
    }

    /// Turns the clocks on (someone watches) or off.
    #[cfg_attr(not(feature = "ui"), allow(dead_code))]
    pub(crate) fn set_on(&self, on: bool) {
        self.on.store(on, Ordering::Relaxed);
    }

    /// Whether the clocks are on.
    pub(crate) fn is_on(&self) -> bool {
        self.on.load(Ordering::Relaxed)
    }

    /// Each stage's time since the last call (`None`: it did not run), resetting the clocks;
    /// empty when the clocks are off.
    pub(crate) fn take(&self) -> Vec<Option<Duration>> {
        if !self.is_on() {
            return Vec::new();
        }
        self.clocks
            .iter()
            .map(|c| {
                let runs = c.runs.swap(0, Ordering::Relaxed);
                let nanos = c.nanos.swap(0, Ordering::Relaxed);
                (runs > 0).then(|| Duration::from_nanos(nanos))
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stage(ops: &[&'static str]) -> Stage {
        Stage { from: "input 1".into(), ops: ops.to_vec(), into: "reduce_by_key".into() }
    }

    #[test]
    fn a_stage_prints_its_source_its_fused_operations_and_its_operator() {
        assert_eq!(stage(&["flat_map", "map"]).to_string(), "<- input 1: flat_map -> map -> reduce_by_key   (fused)");
        assert_eq!(stage(&[]).to_string(), "<- input 1: reduce_by_key");
    }

    #[test]
    fn clocks_count_only_while_on_and_reset_when_taken() {
        let mut stages = Stages::default();
        let (one, first) = stages.register(stage(&["map"]));
        let (two, _) = stages.register(stage(&[]));
        assert_eq!((one, two), (1, 2));
        let began = first.start();
        assert!(began.is_none(), "off: no clock read");
        first.stop(began);
        assert!(stages.take().is_empty());
        stages.set_on(true);
        let began = first.start();
        assert!(began.is_some());
        first.stop(began);
        let times = stages.take();
        assert_eq!(times.len(), 2);
        assert!(times[0].is_some() && times[1].is_none(), "{times:?}");
        assert_eq!(stages.take(), vec![None, None], "taken: reset");
    }
}
