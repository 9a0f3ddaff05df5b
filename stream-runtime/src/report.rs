//! What a process says of each batch it ran, for the Streaming page: the state of each
//! stateful operation, and in a cluster a [`ProcessReport`] that every process sends the
//! driver (which serves the page) with the next batch's plan.

use std::sync::Arc;

use crate::context::{Graph, Input};
use crate::metrics::{BatchInfo, ProcessReport, StateView};

/// Each stateful operation's state now (this process's), named as the plan names it.
pub(crate) fn state_views(graph: &Graph) -> Vec<StateView> {
    graph
        .ticks
        .iter()
        .filter_map(|tick| {
            tick.view().map(|mut v| {
                v.operation = tick.name();
                v
            })
        })
        .collect()
}

/// Makes one process's reports, batch after batch: the records each input read in a batch
/// are the growth of its `lines` counter since the last report.
#[derive(Debug)]
pub(crate) struct Reporter {
    process: usize,
    lines: Vec<u64>,
}

impl Reporter {
    /// The reporter of process `process`.
    pub(crate) fn new(process: usize) -> Reporter {
        Reporter { process, lines: Vec::new() }
    }

    /// The report of batch `info` run here, with the state after it.
    pub(crate) fn report(
        &mut self,
        inputs: &[Arc<dyn Input>],
        info: &BatchInfo,
        state: Vec<StateView>,
    ) -> ProcessReport {
        let micros = |d: &std::time::Duration| d.as_micros() as u64;
        let total: Vec<u64> = inputs.iter().map(|i| i.stats().lines).collect();
        self.lines.resize(total.len(), 0);
        let read = total.iter().zip(&self.lines).map(|(now, before)| now.saturating_sub(*before)).collect();
        self.lines.clone_from(&total);
        ProcessReport {
            process: self.process,
            time: info.batch_time,
            processing_micros: micros(&info.processing_time),
            stage_micros: info.stage_times.iter().map(micros).collect(),
            output_micros: info.output_ops.iter().map(|o| micros(&o.duration)).collect(),
            fused_micros: info.fused_stage_times.iter().map(|d| d.as_ref().map(micros)).collect(),
            failures: info.failed_outputs,
            records_read: read,
            records_read_total: total,
            records_here_total: inputs.iter().map(|i| i.records_here()).collect(),
            inputs: inputs.iter().map(|i| i.status()).collect(),
            state,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_report_names_each_stateful_operation_and_counts_its_keys() {
        let ssc = crate::executor::Stepped::context(crate::time::Duration::seconds(1), 2);
        let queue = crate::sources::BatchQueue::new();
        queue.push(vec![("a".to_string(), 1u64), ("b".to_string(), 2), ("a".to_string(), 3)]);
        let s = ssc.queue_stream(queue, true, None);
        s.clone().running_reduce_by_key(|a, b| a + b).mapped().foreach_batch(|_, _| {});
        s.clone().window(crate::time::Duration::seconds(2), crate::time::Duration::seconds(1)).foreach_batch(|_, _| {});
        let s = s.map(|(w, n)| (w, n * 2));
        s.reduce_by_key(|a, b| a + b).foreach_batch(|_, _| {});
        let plan = ssc.explain();
        assert!(plan.contains("\nstage 1 <- input 1: reduce_by_key\n"), "{plan}");
        assert!(plan.contains("\nstage 2 <- input 1: map -> reduce_by_key\n"), "{plan}");
        assert!(plan.contains("\nstateful 1: running_reduce_by_key <- reduce_by_key (stage 1)\n"), "{plan}");
        assert!(plan.contains("\noutput 3: foreach_batch <- reduce_by_key (stage 2)\n"), "{plan}");
        let mut stepped = crate::executor::Stepped::new(ssc).unwrap();
        let (off, _) = stepped.next_batch_reported(None);
        assert!(off.fused_stage_times.is_empty(), "nobody watches: nothing timed");
        stepped.executor().graph().stages.set_on(true);
        let (info, errors) = stepped.next_batch_reported(None);
        assert!(errors.is_empty(), "{errors:?}");
        assert_eq!(info.stage_times.len(), 2, "one time per stateful operation");
        assert_eq!(info.fused_stage_times.len(), 2, "one time per fused stage");
        assert!(info.fused_stage_times.iter().all(Option::is_some), "{info:?}");
        let views = state_views(stepped.executor().graph());
        let names: Vec<&str> = views.iter().map(|v| v.operation.as_str()).collect();
        assert_eq!(names, ["running_reduce_by_key", "window(window 2000 ms, slide 1000 ms)"]);
        assert_eq!(views[0].keys, Some(2));
        // Two strings of one byte, and two table slots at least of a (String, Slot<u64>).
        assert!(views[0].bytes.unwrap() >= 2 + 2 * 40, "{views:?}");
        let window = views[1].window.as_ref().unwrap();
        assert_eq!(window.len(), 2);
        assert_eq!((window[0].time.as_millis(), window[0].records), (1000, Some(3)));
        let report = Reporter::new(3).report(&stepped.executor().graph().inputs, &info, views);
        assert_eq!((report.process, report.time.as_millis(), report.stage_micros.len()), (3, 2000, 2));
        assert_eq!(report.fused_micros.len(), 2);
    }
}
