//! The test kit's input: a fixed list of batches, split like Spark's `TestInputStream`.

use parking_lot::Mutex;

use super::{Allocated, Source};
use crate::batch::Batch;
use crate::context::Input;
use crate::data::Data;
use crate::error::BatchError;
use crate::node::Env;
use crate::time::Time;

/// Batch `i` (0-based) is the data at time `(i + 1) * batch`; `None` entries give "no batch".
pub(crate) struct VecSource<T> {
    batches: Mutex<std::vec::IntoIter<Option<Vec<T>>>>,
    partitions: usize,
    allocated: Allocated<Option<Vec<T>>>,
}

impl<T> VecSource<T> {
    pub(crate) fn new(batches: Vec<Option<Vec<T>>>, partitions: usize) -> Self {
        VecSource { batches: Mutex::new(batches.into_iter()), partitions, allocated: Allocated::default() }
    }
}

impl<T: Data> Input for VecSource<T> {
    fn name(&self) -> String {
        "test input".into()
    }
    fn allocate(&self, t: Time) -> u64 {
        let next = self.batches.lock().next().unwrap_or(Some(Vec::new()));
        let n = next.as_ref().map_or(0, |v| v.len() as u64);
        self.allocated.put(t, next);
        n
    }
}

impl<T: Data> Source<T> for VecSource<T> {
    fn take(&self, t: Time, _env: &Env) -> Result<Option<Batch<T>>, BatchError> {
        Ok(self.allocated.take(t).flatten().map(|v| Batch::from_vec(v, self.partitions)))
    }
}
