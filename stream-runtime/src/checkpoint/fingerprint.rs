//! The fingerprint of a job's plan (what a checkpoint's state depends on), kept in every
//! checkpoint so that a recovery by a changed job is refused with what changed, instead of
//! running old state through new code.

use serde::{Deserialize, Serialize};

use crate::time::Duration;

/// What a checkpoint must agree with to be recovered: the batch interval, the inputs, the
/// stateful operations (windows and state, in registration order) and the outputs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Fingerprint {
    pub(crate) batch: Duration,
    pub(crate) inputs: Vec<String>,
    pub(crate) stateful: Vec<String>,
    pub(crate) outputs: Vec<String>,
}

impl Fingerprint {
    /// How `self` (the checkpointed plan) differs from `now`, one line per change.
    pub(crate) fn changes(&self, now: &Fingerprint) -> Vec<String> {
        let mut out = Vec::new();
        if self.batch != now.batch {
            out.push(format!("batch interval {} -> {}", self.batch, now.batch));
        }
        for (what, was, is) in [
            ("input", &self.inputs, &now.inputs),
            ("stateful operation", &self.stateful, &now.stateful),
            ("output", &self.outputs, &now.outputs),
        ] {
            for i in 0..was.len().max(is.len()) {
                match (was.get(i), is.get(i)) {
                    (Some(a), Some(b)) if a != b => out.push(format!("{what} {}: {a} -> {b}", i + 1)),
                    (Some(a), None) => out.push(format!("{what} {} removed: {a}", i + 1)),
                    (None, Some(b)) => out.push(format!("{what} {} added: {b}", i + 1)),
                    _ => {}
                }
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fingerprint(batch: i64, outputs: &[&str]) -> Fingerprint {
        Fingerprint {
            batch: Duration::millis(batch),
            inputs: vec!["text_file_stream(in)".into()],
            stateful: vec!["running_reduce_by_key".into()],
            outputs: outputs.iter().map(|s| s.to_string()).collect(),
        }
    }

    #[test]
    fn changes_name_what_moved() {
        let old = fingerprint(1000, &["print"]);
        assert!(old.changes(&old.clone()).is_empty());
        let new = fingerprint(2000, &["print", "save_as_text_files(out)"]);
        assert_eq!(
            old.changes(&new),
            vec!["batch interval 1000 ms -> 2000 ms", "output 2 added: save_as_text_files(out)"]
        );
    }
}
