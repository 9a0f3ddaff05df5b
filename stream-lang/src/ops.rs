//! The operators `#[stream_job]` knows by name, what each does to a plan, and "did you mean"
//! suggestions for names it does not know.

/// What an operator does to the job's plan.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OpKind {
    /// A method of the context creating an input stream (`socket_text_stream`, ...).
    Source,
    /// A per-record transformation fused into the stage's loop (`map`, `filter`, ...).
    Narrow,
    /// Keeps the stream unchanged (`clone`).
    Passthrough,
    /// Runs per partition and materializes a new stream, without a shuffle (`map_partitions`).
    Materialize,
    /// A keyed shuffle that combines values on the map side first (`reduce_by_key`).
    CombineShuffle,
    /// A shuffle without map-side combining (`group_by_key`, `repartition`).
    Shuffle,
    /// Gathers each batch into one result (`reduce`, `count`).
    Gather,
    /// A keyed shuffle of two streams (`join`, `cogroup`).
    BinaryShuffle,
    /// Merges two streams without a shuffle (`union`).
    Union,
    /// A window over past batches (`window`, `reduce_by_key_and_window`).
    Window,
    /// A window kept incrementally with an inverse function: state that needs checkpointing.
    StatefulWindow,
    /// Per-key state across batches (`update_state_by_key`, `map_with_state`).
    State,
    /// An output operation (`print`, `foreach_batch`, ...).
    Output,
    /// Returns something other than a stream (`context`, `slide_duration`).
    Accessor,
}

impl OpKind {
    /// Whether the result of this operator is a stream.
    pub fn yields_stream(self) -> bool {
        !matches!(self, OpKind::Output | OpKind::Accessor)
    }

    /// Whether the operator keeps state across batches, so the job needs a checkpoint directory.
    pub fn is_stateful(self) -> bool {
        matches!(self, OpKind::StatefulWindow | OpKind::State)
    }

    /// Whether the operator reads a window of past batches (its duration arguments are checked
    /// against the batch interval).
    pub fn is_windowed(self) -> bool {
        matches!(self, OpKind::Window | OpKind::StatefulWindow)
    }
}

/// Methods of the context that create input streams.
pub const SOURCES: &[&str] = &[
    "socket_text_stream",
    "text_file_stream",
    "text_file_stream_with",
    "kafka_text_stream",
    "kafka_direct_stream",
    "queue_stream",
    "union",
    "transform",
];

/// Sources whose records are lines of text (`Str`): the ones a simulation feeds from memory.
pub const TEXT_SOURCES: &[&str] =
    &["socket_text_stream", "text_file_stream", "text_file_stream_with", "kafka_text_stream"];

/// The method of the context that enables checkpointing.
pub const CHECKPOINT: &str = "checkpoint";

/// Output operations that print (a simulation captures what they would print).
pub const PRINTS: &[&str] = &["print", "print_n"];

/// Stream operators by name.
const STREAM_OPS: &[(&str, OpKind)] = &[
    ("map", OpKind::Narrow),
    ("filter", OpKind::Narrow),
    ("flat_map", OpKind::Narrow),
    ("map_values", OpKind::Narrow),
    ("flat_map_values", OpKind::Narrow),
    ("clone", OpKind::Passthrough),
    ("map_partitions", OpKind::Materialize),
    ("glom", OpKind::Materialize),
    ("boxed", OpKind::Materialize),
    ("transform", OpKind::Materialize),
    ("transform_with", OpKind::Materialize),
    ("reduce_by_key", OpKind::CombineShuffle),
    ("reduce_by_key_with_partitions", OpKind::CombineShuffle),
    ("combine_by_key", OpKind::CombineShuffle),
    ("count_by_value", OpKind::CombineShuffle),
    ("group_by_key", OpKind::Shuffle),
    ("repartition", OpKind::Shuffle),
    ("reduce", OpKind::Gather),
    ("count", OpKind::Gather),
    ("join", OpKind::BinaryShuffle),
    ("left_outer_join", OpKind::BinaryShuffle),
    ("right_outer_join", OpKind::BinaryShuffle),
    ("full_outer_join", OpKind::BinaryShuffle),
    ("cogroup", OpKind::BinaryShuffle),
    ("union", OpKind::Union),
    ("window", OpKind::Window),
    ("reduce_by_window", OpKind::Window),
    ("count_by_window", OpKind::Window),
    ("reduce_by_key_and_window", OpKind::Window),
    ("count_by_value_and_window", OpKind::Window),
    ("group_by_key_and_window", OpKind::Window),
    ("reduce_by_window_inv", OpKind::StatefulWindow),
    ("reduce_by_key_and_window_inv", OpKind::StatefulWindow),
    ("reduce_by_key_and_window_inv_with", OpKind::StatefulWindow),
    ("update_state_by_key", OpKind::State),
    ("map_with_state", OpKind::State),
    ("print", OpKind::Output),
    ("print_n", OpKind::Output),
    ("foreach_batch", OpKind::Output),
    ("save_as_text_files", OpKind::Output),
    ("context", OpKind::Accessor),
    ("slide_duration", OpKind::Accessor),
];

/// The kind of the stream operator `name`, or `None` for a name Sluice does not know (an
/// extension method, or a typo).
///
/// Variants of known families are recognised by prefix, so operators added to the runtime
/// later (`update_state_by_key_with_partitions`, `reduce_by_key_and_window_inv_with`) are
/// classified without a table change.
///
/// ```
/// use stream_lang::ops::{classify, OpKind};
/// assert_eq!(classify("reduce_by_key"), Some(OpKind::CombineShuffle));
/// assert_eq!(classify("update_state_by_key_with_initial"), Some(OpKind::State));
/// assert_eq!(classify("frobnicate"), None);
/// ```
pub fn classify(name: &str) -> Option<OpKind> {
    if let Some((_, kind)) = STREAM_OPS.iter().find(|(n, _)| *n == name) {
        return Some(*kind);
    }
    if name.starts_with("update_state_by_key") || name.starts_with("map_with_state") || name.starts_with("running_") {
        return Some(OpKind::State);
    }
    if name.contains("window_inv") {
        return Some(OpKind::StatefulWindow);
    }
    if name.contains("_by_window") || name.contains("_and_window") {
        return Some(OpKind::Window);
    }
    None
}

/// The known operator closest to `name`, if close enough to be a likely typo. Spark's
/// camelCase names are matched against their snake_case form (`reduceByKey` suggests
/// `reduce_by_key`).
///
/// ```
/// use stream_lang::ops::suggest;
/// assert_eq!(suggest("flatmap"), Some("flat_map"));
/// assert_eq!(suggest("reduceByKey"), Some("reduce_by_key"));
/// assert_eq!(suggest("frobnicate"), None);
/// ```
pub fn suggest(name: &str) -> Option<&'static str> {
    let snake = to_snake_case(name);
    let limit = (snake.len() / 3).max(2);
    STREAM_OPS
        .iter()
        .map(|(n, _)| (levenshtein(&snake, n), *n))
        .filter(|(d, _)| *d <= limit)
        .min_by_key(|(d, n)| (*d, *n))
        .map(|(_, n)| n)
}

fn to_snake_case(name: &str) -> String {
    let mut out = String::with_capacity(name.len() + 4);
    for (i, c) in name.chars().enumerate() {
        if c.is_ascii_uppercase() {
            if i > 0 {
                out.push('_');
            }
            out.push(c.to_ascii_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}

/// The edit distance between `a` and `b` (insertions, deletions, substitutions).
pub fn levenshtein(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    let mut cur = vec![0; b.len() + 1];
    for (i, ca) in a.chars().enumerate() {
        cur[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let sub = prev[j] + usize::from(ca != *cb);
            cur[j + 1] = sub.min(prev[j + 1] + 1).min(cur[j] + 1);
        }
        std::mem::swap(&mut prev, &mut cur);
    }
    prev[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn levenshtein_counts_edits() {
        assert_eq!(levenshtein("", "abc"), 3);
        assert_eq!(levenshtein("kitten", "sitting"), 3);
        assert_eq!(levenshtein("map", "map"), 0);
    }

    #[test]
    fn suggestions_pick_the_closest_name() {
        assert_eq!(suggest("reduce_by_kye"), Some("reduce_by_key"));
        assert_eq!(suggest("prnt"), Some("print"));
        assert_eq!(suggest("updateStateByKey"), Some("update_state_by_key"));
        assert_eq!(suggest("xyzzy_plugh"), None);
    }

    #[test]
    fn families_are_classified_by_prefix() {
        assert_eq!(classify("reduce_by_key_and_window_inv_with"), Some(OpKind::StatefulWindow));
        assert_eq!(classify("count_by_value_and_window"), Some(OpKind::Window));
        assert!(classify("map_with_state").is_some_and(OpKind::is_stateful));
        assert!(!OpKind::Output.yields_stream());
    }
}
