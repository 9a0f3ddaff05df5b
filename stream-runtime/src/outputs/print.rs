use std::io::Write;

use crate::chain::Chain;
use crate::data::Data;
use crate::error::BatchError;
use crate::show::Show;
use crate::time::Time;
use crate::DStream;

const RULE: &str = "-------------------------------------------";

/// Formats what `print(num)` shows for one batch, exactly as Spark does: a rule of 43 dashes,
/// `Time: <ms> ms`, another rule, up to `num` records, `...` when there are more, then an
/// empty line.
///
/// ```
/// let text = stream_runtime::format_batch(stream_runtime::Time::from_millis(1000), ["a", "b", "c", "d"].iter(), 3);
/// assert_eq!(text, "-------------------------------------------\nTime: 1000 ms\n-------------------------------------------\na\nb\nc\n...\n\n");
/// ```
pub fn format_batch<'x, T: Show + 'x>(time: Time, records: impl Iterator<Item = &'x T>, num: usize) -> String {
    let mut s = format!("{RULE}\nTime: {time}\n{RULE}\n");
    for (i, r) in records.take(num + 1).enumerate() {
        if i == num {
            s.push_str("...\n");
            break;
        }
        let _ = r.fmt_show(&mut s);
        s.push('\n');
    }
    s.push('\n');
    s
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
