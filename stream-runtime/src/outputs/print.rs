use std::fmt::Write as _;
use std::io::Write;
use std::sync::Arc;

use crate::chain::Chain;
use crate::data::Data;
use crate::error::BatchError;
use crate::show::Show;
use crate::shuffle::{gather, Exchanges};
use crate::time::Time;
use crate::DStream;

const RULE: &str = "-------------------------------------------";

/// Formats what `print(num)` shows for one batch, as Spark does: a rule of 43 dashes,
/// `Time: <ms> ms`, another rule, up to `num` records, `...` when there are more, then an
/// empty line. Unlike Spark, control characters of the data are escaped (`\n`, `\r`, `\t`,
/// others as `\x1b`), so a record is one line and cannot drive the terminal.
///
/// ```
/// let text = stream_runtime::format_batch(stream_runtime::Time::from_millis(1000), ["a", "b", "c", "d"].iter(), 3);
/// assert_eq!(text, "-------------------------------------------\nTime: 1000 ms\n-------------------------------------------\na\nb\nc\n...\n\n");
/// let text = stream_runtime::format_batch(stream_runtime::Time::from_millis(1000), ["\x1b[2Jx\ny"].iter(), 3);
/// assert!(text.ends_with("\n\\x1b[2Jx\\ny\n\n"));
/// ```
pub fn format_batch<'x, T: Show + 'x>(time: Time, records: impl Iterator<Item = &'x T>, num: usize) -> String {
    assemble(time, format_records(records, num + 1), num)
}

/// The first `limit` records formatted as `print` shows them, one line each (escaped).
pub(crate) fn format_records<'x, T: Show + 'x>(records: impl Iterator<Item = &'x T>, limit: usize) -> Vec<String> {
    let mut lines = Vec::new();
    let mut record = String::new();
    for r in records.take(limit) {
        record.clear();
        let _ = r.fmt_show(&mut record);
        let mut line = String::with_capacity(record.len());
        push_escaped(&mut line, &record);
        lines.push(line);
    }
    lines
}

/// What `print(num)` shows for a batch whose first records are `lines`: the header, up to
/// `num` lines, and `...` when there are more.
pub(crate) fn assemble(time: Time, lines: impl IntoIterator<Item = String>, num: usize) -> String {
    let mut s = format!("{RULE}\nTime: {time}\n{RULE}\n");
    for (i, line) in lines.into_iter().take(num + 1).enumerate() {
        if i == num {
            s.push_str("...\n");
            break;
        }
        s.push_str(&line);
        s.push('\n');
    }
    s.push('\n');
    s
}

/// Writes `text` to standard output.
pub(crate) fn to_stdout(text: &str) -> Result<(), BatchError> {
    let mut out = std::io::stdout().lock();
    out.write_all(text.as_bytes()).and_then(|_| out.flush()).map_err(BatchError::Stdout)
}

/// Where a `print` writes its text: standard output, or a test's capture.
pub(crate) type PrintSink = Arc<dyn Fn(&str) -> Result<(), BatchError> + Send + Sync>;

/// Appends `text` with its control characters (Unicode's `Cc`: C0, DEL and C1) escaped.
fn push_escaped(out: &mut String, text: &str) {
    for c in text.chars() {
        match c {
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c.is_control() => {
                let _ = write!(out, "\\x{:02x}", u32::from(c));
            }
            c => out.push(c),
        }
    }
}

impl<'a, T: Data + Show, C: Chain<Out = T>> DStream<'a, T, C> {
    /// Prints the first ten records of every batch to standard output in Spark's format
    /// (see [`format_batch`](crate::format_batch)); tuples print as `(a,1)`.
    ///
    /// In a cluster, each process formats at most `num + 1` records of its partitions and
    /// sends the text to process 0, which prints what one process would print (its first
    /// records in partition order); the other processes print nothing.
    pub fn print(self) {
        self.print_n(10)
    }

    /// Prints the first `num` records of every batch (Spark's `print(num)`); in a cluster, at
    /// process 0, as [`print`](Self::print) says.
    pub fn print_n(self, num: usize) {
        self.print_to(num, Arc::new(|text: &str| to_stdout(text)))
    }

    /// `print_n(num)` writing its text to `sink`.
    pub(crate) fn print_to(self, num: usize, sink: PrintSink) {
        let ex = Exchanges::new(self.ctx);
        self.output_env(format!("print({num})"), move |batch, t, env| {
            if env.peers.is_none() {
                return sink(&format_batch(t, batch.iter(), num));
            }
            let lines = format_records(batch.iter(), num + 1);
            if let Some(all) = gather(lines, &ex, t, env)? {
                sink(&assemble(t, all.into_iter().flatten(), num))?;
            }
            Ok(())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_characters_of_the_data_are_escaped() {
        let mut s = String::new();
        push_escaped(&mut s, "a\u{1b}]0;owned\u{7}b\r\t\u{7f}\u{9b}é€");
        assert_eq!(s, "a\\x1b]0;owned\\x07b\\r\\t\\x7f\\x9bé€");
        let text = format_batch(Time::from_millis(1), [("k\nv", 1)].iter(), 10);
        assert_eq!(text.lines().nth(3), Some("(k\\nv,1)"));
        assert!(!text.chars().any(|c| c.is_control() && c != '\n'));
    }
}
