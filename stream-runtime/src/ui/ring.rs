//! [`Ring`]: the last completed batches, bounded, with running totals over all of them.

use std::collections::VecDeque;

use crate::metrics::BatchInfo;

/// The last `capacity` completed batches (oldest first) and totals since the job started.
/// Its slots are allocated as it fills; once full, a batch overwrites the oldest in place,
/// reusing its vectors, so recording a batch allocates nothing (but the text of an error or of
/// an input's files, when the batch has some).
#[derive(Debug)]
pub(crate) struct Ring {
    batches: VecDeque<BatchInfo>,
    capacity: usize,
    /// Batches completed since the start, retained or not.
    pub(crate) completed: u64,
    /// Records of every completed batch.
    pub(crate) records: u64,
    /// Records of each input over every completed batch.
    pub(crate) input_records: Vec<u64>,
}

impl Ring {
    /// An empty ring of `capacity` batches (at least one) for `inputs` inputs.
    pub(crate) fn new(capacity: usize, inputs: usize) -> Ring {
        let capacity = capacity.max(1);
        Ring {
            batches: VecDeque::with_capacity(capacity),
            capacity,
            completed: 0,
            records: 0,
            input_records: vec![0; inputs],
        }
    }

    /// Records a completed batch, in place of the oldest when full.
    pub(crate) fn push(&mut self, info: &BatchInfo) {
        let oldest = if self.batches.len() == self.capacity { self.batches.pop_front() } else { None };
        match oldest {
            Some(mut slot) => {
                overwrite(&mut slot, info);
                self.batches.push_back(slot);
            }
            None => self.batches.push_back(info.clone()),
        }
        self.completed += 1;
        self.records += info.num_records;
        for (total, n) in self.input_records.iter_mut().zip(&info.input_records) {
            *total += n;
        }
    }

    /// How many batches it keeps.
    pub(crate) fn capacity(&self) -> usize {
        self.capacity
    }

    /// The retained batches, oldest first.
    pub(crate) fn iter(&self) -> impl DoubleEndedIterator<Item = &BatchInfo> + ExactSizeIterator {
        self.batches.iter()
    }

    /// The retained batch at time `ms`.
    pub(crate) fn get(&self, ms: i64) -> Option<&BatchInfo> {
        let i = self.batches.binary_search_by_key(&ms, |b| b.batch_time.as_millis()).ok()?;
        self.batches.get(i)
    }
}

/// Makes `slot` a copy of `info`, field by field, reusing the slot's vectors and strings.
fn overwrite(slot: &mut BatchInfo, info: &BatchInfo) {
    // Every field, so that a new one cannot be forgotten.
    let BatchInfo {
        batch_time,
        num_records,
        input_records,
        scheduling_delay,
        processing_time,
        failed_outputs,
        first_failure,
        checkpoint_stall,
        output_ops,
        input_details,
        stage_times,
        fused_stage_times,
        replayed,
    } = info;
    slot.batch_time = *batch_time;
    slot.num_records = *num_records;
    slot.input_records.clone_from(input_records);
    slot.scheduling_delay = *scheduling_delay;
    slot.processing_time = *processing_time;
    slot.failed_outputs = *failed_outputs;
    slot.first_failure.clone_from(first_failure);
    slot.checkpoint_stall = *checkpoint_stall;
    slot.output_ops.clone_from(output_ops);
    slot.input_details.clone_from(input_details);
    slot.stage_times.clone_from(stage_times);
    slot.fused_stage_times.clone_from(fused_stage_times);
    slot.replayed = *replayed;
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::time::Time;

    pub(crate) fn info(ms: i64, per_input: &[u64]) -> BatchInfo {
        BatchInfo {
            batch_time: Time::from_millis(ms),
            num_records: per_input.iter().sum(),
            input_records: per_input.to_vec(),
            scheduling_delay: std::time::Duration::from_millis(3),
            processing_time: std::time::Duration::from_millis(40),
            failed_outputs: 0,
            first_failure: None,
            checkpoint_stall: std::time::Duration::ZERO,
            output_ops: vec![crate::metrics::OutputOpInfo {
                name: "print(10)".into(),
                duration: std::time::Duration::from_millis(30),
                error: None,
            }],
            input_details: Vec::new(),
            stage_times: Vec::new(),
            fused_stage_times: Vec::new(),
            replayed: false,
        }
    }

    #[test]
    fn keeps_the_newest_batches_and_totals_of_all() {
        let mut ring = Ring::new(3, 2);
        for k in 1..=5 {
            ring.push(&info(k * 1000, &[k as u64, 1]));
        }
        let times: Vec<i64> = ring.iter().map(|b| b.batch_time.as_millis()).collect();
        assert_eq!(times, [3000, 4000, 5000]);
        assert_eq!((ring.completed, ring.records), (5, 15 + 5));
        assert_eq!(ring.input_records, [15, 5]);
        assert_eq!(ring.get(4000).map(|b| b.num_records), Some(5));
        assert!(ring.get(2000).is_none(), "dropped from the ring");
        // Overwritten in place, each slot is the batch it now holds, field for field.
        let mut failed = info(6000, &[0, 9]);
        failed.first_failure = Some("disk full".into());
        failed.output_ops[0].error = Some("disk full".into());
        failed.input_details = vec![crate::metrics::InputDetail::Lines(9)];
        failed.fused_stage_times = vec![None, Some(std::time::Duration::from_micros(3))];
        failed.replayed = true;
        ring.push(&failed);
        assert_eq!(ring.get(6000), Some(&failed));
        for k in 7..=9 {
            ring.push(&info(k * 1000, &[k as u64, 1]));
        }
        assert_eq!(ring.get(9000), Some(&info(9000, &[9, 1])), "the failed batch's slot, overwritten");
        assert!(ring.get(4500).is_none());
    }

    #[test]
    fn a_replayed_batch_without_per_input_counts_adds_to_the_total_only() {
        let mut ring = Ring::new(0, 1);
        let mut replayed = info(1000, &[]);
        replayed.num_records = 7;
        ring.push(&replayed);
        assert_eq!((ring.records, ring.input_records.as_slice(), ring.iter().len()), (7, &[0][..], 1));
    }
}
