use std::sync::Arc;

use crate::chain::Chain;
use crate::data::Data;
use crate::error::BatchError;
use crate::fs::{self, FileSystem, FsError};
use crate::show::Show;
use crate::time::Time;
use crate::DStream;

/// The directory name of batch `t` (Spark's `rddToFileName`): `prefix-<ms>[.suffix]`.
pub(crate) fn batch_dir_name(prefix: &str, suffix: &str, t: Time) -> String {
    let mut name = if prefix.is_empty() { t.as_millis().to_string() } else { format!("{prefix}-{}", t.as_millis()) };
    if !suffix.is_empty() {
        name.push('.');
        name.push_str(suffix);
    }
    name
}

/// Writes one batch directory: part files and `_SUCCESS` under a temporary name, then one
/// rename, so a reader sees the whole batch or nothing. A directory already committed for the
/// same batch (a batch run again after recovery) is left as it is. When a write fails (disk
/// full, permission), the temporary directory is removed and the error returned.
pub(crate) fn commit_batch_dir<P: AsRef<[u8]>>(fs: &dyn FileSystem, dir: &str, parts: Vec<P>) -> Result<(), FsError> {
    if fs.status(dir)?.is_some() {
        tracing::debug!(dir, "batch output already committed");
        return Ok(());
    }
    let (parent, name) = fs::split_parent(dir);
    let tmp = fs::join(parent, &format!("_temporary-{name}"));
    let _ = fs.delete(&tmp, true);
    let written = write_parts(fs, &tmp, parts).and_then(|()| fs.rename(&tmp, dir));
    if written.is_err() {
        let _ = fs.delete(&tmp, true);
    }
    written
}

/// The part files and `_SUCCESS` of a batch in directory `tmp`.
fn write_parts<P: AsRef<[u8]>>(fs: &dyn FileSystem, tmp: &str, parts: Vec<P>) -> Result<(), FsError> {
    fs.mkdirs(tmp)?;
    for (i, text) in parts.into_iter().enumerate() {
        fs.write(&fs::join(tmp, &format!("part-{i:05}")), text.as_ref())?;
    }
    fs.write(&fs::join(tmp, "_SUCCESS"), b"")
}

impl<'a, T: Data + Show, C: Chain<Out = T>> DStream<'a, T, C> {
    /// Saves every batch as a directory `prefix-<ms>[.suffix]` of text part files (one record
    /// per line, in [`Show`] format) plus `_SUCCESS`, even for an empty batch. `prefix` may be
    /// a local path or an `hdfs://` URL.
    ///
    /// ```
    /// let dir = tempfile::tempdir().unwrap();
    /// let prefix = dir.path().join("pre").to_string_lossy().into_owned();
    /// let p = prefix.clone();
    /// stream_runtime::testing::Harness::new(2).run(vec![vec![("a", 1)], vec![]], move |s| s.save_as_text_files(&p, "txt"));
    /// // Test input comes in two partitions; the record is in the second.
    /// let first = std::fs::read_to_string(format!("{prefix}-1000.txt/part-00001")).unwrap();
    /// assert_eq!(first, "(a,1)\n");
    /// assert!(std::path::Path::new(&format!("{prefix}-2000.txt/_SUCCESS")).exists());
    /// ```
    pub fn save_as_text_files(self, prefix: &str, suffix: &str) {
        let name = format!("save_as_text_files({prefix})");
        let target = fs::resolve(prefix).map_err(Arc::new);
        if let Err(e) = &target {
            self.context().record_error(crate::StreamingError::refused("save_as_text_files", Arc::clone(e)));
        }
        let (prefix, suffix) = (prefix.to_string(), suffix.to_string());
        self.output(name, move |batch, t| {
            let (fs, path): &(Arc<dyn FileSystem>, String) = target
                .as_ref()
                .map_err(|e| BatchError::Location { location: prefix.clone(), source: Arc::clone(e) })?;
            let dir = batch_dir_name(path, &suffix, t);
            let parts = batch
                .into_partitions()
                .into_iter()
                .map(|p| {
                    let mut s = String::new();
                    for r in &p {
                        let _ = r.fmt_show(&mut s);
                        s.push('\n');
                    }
                    s
                })
                .collect();
            Ok(commit_batch_dir(fs.as_ref(), &dir, parts)?)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_follow_spark() {
        assert_eq!(batch_dir_name("pre", "txt", Time::from_millis(1000)), "pre-1000.txt");
        assert_eq!(batch_dir_name("nosuffix", "", Time::from_millis(1000)), "nosuffix-1000");
        assert_eq!(batch_dir_name("", "", Time::from_millis(5)), "5");
    }
}
