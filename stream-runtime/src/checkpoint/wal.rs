//! Receivers' write-ahead log: the records of each batch, encoded with the checkpoint codec,
//! in `received/<stream>/log-<ms>` of the checkpoint directory, written before the batch log
//! entry that points at them.

use super::codec::{from_bytes, to_bytes};
use super::{CheckpointError, CheckpointStore};
use crate::data::Persist;
use crate::str::Str;
use crate::time::Time;

/// Logs the records of batch `t` of receiver `stream`; returns the file's path.
pub(crate) fn write_batch<T: Persist>(
    store: &CheckpointStore,
    stream: &str,
    t: Time,
    records: &[T],
) -> Result<String, CheckpointError> {
    let path = store.wal_path(stream, t);
    let bytes = to_bytes(records).map_err(|source| CheckpointError::Records { path: path.clone(), source })?;
    store.write_wal(&path, &bytes)?;
    Ok(path)
}

/// The `n` records logged at `path`.
pub(crate) fn read_batch<T: Persist>(store: &CheckpointStore, path: &str, n: usize) -> Result<Vec<T>, CheckpointError> {
    let bytes = store.read_wal(path)?;
    let mut records: Vec<T> =
        from_bytes(&bytes).map_err(|source| CheckpointError::Records { path: path.to_string(), source })?;
    records.truncate(n);
    Ok(records)
}

/// A receiver's write-ahead log on its own, for benchmarks of what it adds per batch.
#[doc(hidden)]
#[derive(Debug)]
pub struct WriteAheadLog {
    store: CheckpointStore,
}

impl WriteAheadLog {
    /// The log in checkpoint directory `dir`.
    pub fn open(dir: &str) -> Result<WriteAheadLog, CheckpointError> {
        Ok(WriteAheadLog { store: CheckpointStore::open(dir)? })
    }

    /// Logs a batch as a receiver does before the batch may run.
    pub fn write(&self, stream: &str, t: Time, lines: &[Str]) -> Result<(), CheckpointError> {
        write_batch(&self.store, stream, t, lines).map(|_| ())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batches_round_trip_with_empty_lines() {
        let dir = tempfile::tempdir().unwrap();
        let store = CheckpointStore::open(&dir.path().to_string_lossy()).unwrap();
        let lines: Vec<Str> = ["a b", "", "ü"].into_iter().map(Str::from).collect();
        let path = write_batch(&store, "host_1", Time::from_millis(5), &lines).unwrap();
        assert_eq!(read_batch::<Str>(&store, &path, 3).unwrap(), lines);
        assert_eq!(read_batch::<Str>(&store, &path, 0).unwrap(), Vec::<Str>::new());
    }
}
