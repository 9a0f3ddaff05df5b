use std::fmt::Write as _;
use std::io::Write;

use crate::chain::Chain;
use crate::data::Data;
use crate::error::BatchError;
use crate::show::Show;
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
    let mut s = format!("{RULE}\nTime: {time}\n{RULE}\n");
    let mut record = String::new();
    for (i, r) in records.take(num + 1).enumerate() {
        if i == num {
            s.push_str("...\n");
            break;
        }
        record.clear();
        let _ = r.fmt_show(&mut record);
        push_escaped(&mut s, &record);
        s.push('\n');
    }
    s.push('\n');
    s
}

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
    pub fn print(self) {
        self.print_n(10)
    }

    /// Prints the first `num` records of every batch (Spark's `print(num)`).
    pub fn print_n(self, num: usize) {
        self.output(format!("print({num})"), move |batch, t| {
            let text = format_batch(t, batch.iter(), num);
            let mut out = std::io::stdout().lock();
            out.write_all(text.as_bytes()).and_then(|_| out.flush()).map_err(BatchError::Stdout)
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
