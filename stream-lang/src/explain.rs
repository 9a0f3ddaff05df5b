//! The `--explain` printer: a plan as text, like Spark's `toDebugString` but showing stages
//! and fusion.
//!
//! The format is stable (tests snapshot it):
//!
//! ```text
//! job network_wordcount (batch 1000 ms, 2 threads)
//! stage 0: socket_text_stream(&host, port) -> flat_map -> map -> reduce_by_key [map-side combine]   (fused)
//!   shuffle: hash by key
//! stage 1 <- stage 0: reduce_by_key [merge] -> print(10)
//! ```
//!
//! One line per stage: its number, where its input comes from, and the operators it runs in
//! one loop per partition (`(fused)` when two or more per-record operators share it); under
//! it, what ends it (a shuffle, a window, a name). Code the macro does not analyse is listed
//! as `opaque:` where the job runs it.

use std::fmt::{self, Display, Write};

use crate::lower::{Checkpointing, Exit, Input, Item, Plan};

impl Display for Plan {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "job {} (batch {} ms, {} threads)", self.name, self.batch_ms, self.threads)?;
        match &self.checkpoint {
            Checkpointing::None => {}
            Checkpointing::Dir(d) => writeln!(f, "checkpoint: {d}")?,
            Checkpointing::InBody => writeln!(f, "checkpoint: set by the job")?,
        }
        for item in &self.items {
            match item {
                Item::Opaque(s) => writeln!(f, "opaque: {s}")?,
                Item::Stage(st) => {
                    let mut line = format!("stage {}", st.id);
                    if !st.inputs.is_empty() {
                        let inputs: Vec<String> = st
                            .inputs
                            .iter()
                            .map(|i| match i {
                                Input::Stage(id) => format!("stage {id}"),
                                Input::Named(n, id) => format!("{n} (stage {id})"),
                                Input::Opaque(e) => format!("{e} (opaque)"),
                            })
                            .collect();
                        let _ = write!(line, " <- {}", inputs.join(", "));
                    }
                    let ops = if st.ops.is_empty() { "(no operators)".to_string() } else { st.ops.join(" -> ") };
                    let _ = write!(line, ": {ops}");
                    if st.fused {
                        line.push_str("   (fused)");
                    }
                    writeln!(f, "{line}")?;
                    match &st.exit {
                        Exit::Shuffle(d) => writeln!(f, "  shuffle: {d}")?,
                        Exit::Gather => writeln!(f, "  gather: one partition")?,
                        Exit::Window(d) => writeln!(f, "  {d}")?,
                        Exit::Materialize => writeln!(f, "  materialize")?,
                        Exit::Union => writeln!(f, "  union")?,
                        Exit::Output => {}
                        Exit::Named(n) => writeln!(f, "  as {n}")?,
                        Exit::Unused => writeln!(f, "  (never used)")?,
                        Exit::Opaque => writeln!(f, "  (continues in code the macro does not analyse)")?,
                    }
                }
            }
        }
        Ok(())
    }
}
