//! The operator registry: every public method of `StreamingContext`, `DStream` and
//! `StateStream`, with what it does to a job's plan.
//!
//! `#[stream_job]` reads a job's method chains with it (which calls start a stream, which
//! end a stage, which need a checkpoint directory, which are outputs); the workspace test
//! `tests/it/registry.rs` parses the engine's sources and fails when a public method of those
//! types is missing here, is listed here but gone, or is classed differently from what its
//! code does (a stateful operator reaches the engine's require-checkpoint path, a window
//! registers a windowed node, a source registers an input, an output registers an output,
//! a combining shuffle combines on the map side, the return type is the one listed). So an
//! operator cannot be added to the engine without the macro knowing it.

/// The type whose method an operator is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Receiver {
    /// `StreamingContext`: sources and settings.
    Context,
    /// `DStream`: transformations and outputs.
    DStream,
    /// `StateStream`: the views of a per-key state (`map_with_state`, `running_reduce_by_key`).
    StateStream,
}

impl Receiver {
    /// The type's name, as in the engine's source.
    pub const fn type_name(self) -> &'static str {
        match self {
            Receiver::Context => "StreamingContext",
            Receiver::DStream => "DStream",
            Receiver::StateStream => "StateStream",
        }
    }
}

/// What an operator returns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Returns {
    /// A `DStream`: the chain goes on.
    DStream,
    /// A `StateStream`: the chain goes on with the state's views.
    StateStream,
    /// Nothing (`()`): an output operation or a setting ends the chain.
    Nothing,
    /// Something else (a duration, the settings, a running job): the chain leaves the streams.
    Other,
}

impl Returns {
    /// The receiver of the next call in a chain, if the result is a stream.
    pub const fn as_receiver(self) -> Option<Receiver> {
        match self {
            Returns::DStream => Some(Receiver::DStream),
            Returns::StateStream => Some(Receiver::StateStream),
            Returns::Nothing | Returns::Other => None,
        }
    }
}

/// How a shuffle routes records to partitions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Partitioning {
    /// By the hash of the key of `(key, value)` records.
    ByKey,
    /// By the hash of the whole record (`count_by_value`).
    ByValue,
    /// Round robin into a given number of partitions (`repartition`).
    RoundRobin,
}

impl Partitioning {
    /// How `--explain` names it.
    pub const fn describe(self) -> &'static str {
        match self {
            Partitioning::ByKey => "hash by key",
            Partitioning::ByValue => "hash by value",
            Partitioning::RoundRobin => "round robin",
        }
    }
}

/// What an operator does to a job's plan.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A method of the context creating an input stream. `text`: its records are lines of
    /// text (`DStream<Str>`), which a simulation feeds from memory.
    Source {
        /// Whether the records are lines of text.
        text: bool,
    },
    /// A method of the context combining a list of streams into one (`union`, `transform`).
    Merge,
    /// A per-record transformation fused into the stage's loop (`map`, `filter`, ...).
    Narrow,
    /// Keeps the stream unchanged (`clone`).
    Passthrough,
    /// Runs per partition or per batch and materializes a new stream, without a shuffle
    /// (`map_partitions`, `transform`, `boxed`).
    Materialize,
    /// A shuffle by `by`; `combine`: values are combined on the map side first, in the
    /// stage's loop (`reduce_by_key`, `group_by_key`).
    Shuffle {
        /// How records are routed.
        by: Partitioning,
        /// Whether the map side combines before the shuffle.
        combine: bool,
    },
    /// Gathers each batch into one result (`reduce`, `count`).
    Gather,
    /// A keyed shuffle of two streams (`join`, `cogroup`).
    Join,
    /// Merges two streams without a shuffle (`union`).
    Union,
    /// A window over past batches; its window and slide durations (arguments `durations_at`
    /// and the next) must be multiples of the parent's slide. `keyed`: shuffled first;
    /// `combine`: each batch is combined on the map side; `inverse`: kept incrementally with
    /// an inverse function, state that needs a checkpoint directory.
    Window {
        /// The position of the `window` argument; `slide` follows it.
        durations_at: usize,
        /// The shuffle before the window, if keyed.
        keyed: Option<Partitioning>,
        /// Whether each batch is combined on the map side.
        combine: bool,
        /// Whether the window is kept with an inverse function (needs a checkpoint).
        inverse: bool,
    },
    /// Per-key state across batches (`update_state_by_key`, `map_with_state`): shuffled by
    /// key, needs a checkpoint directory. `combine`: each batch is combined per key on the
    /// map side first (`running_reduce_by_key` reduces, `update_state_by_key` groups).
    State {
        /// Whether each batch is combined on the map side.
        combine: bool,
    },
    /// A view of a per-key state as a stream (`mapped`, `state_snapshots`).
    View,
    /// An output operation. `print`: prints the stream (a simulation captures it).
    Output {
        /// Whether it is `DStream`'s `print` / `print_n`.
        print: bool,
    },
    /// `StreamingContext::checkpoint`: sets the checkpoint directory.
    Checkpoint,
    /// Returns something other than a stream (`context`, `slide_duration`, `conf`).
    Accessor,
    /// Creates, configures or starts the context (`new`, `with_threads`, `start`): not part
    /// of a job's graph.
    Setup,
}

/// One public operator of the engine.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Operator {
    /// The method's name.
    pub name: &'static str,
    /// Whose method it is.
    pub receiver: Receiver,
    /// What it does to the plan.
    pub kind: Kind,
    /// What it returns.
    pub returns: Returns,
    /// Spark's name for it when that is camelCase (`reduceByKey`), else `""`: the macro
    /// answers Spark's spelling with "did you mean `reduce_by_key`?".
    pub spark: &'static str,
    /// The trait it comes from, when it is not an inherent method (`Clone`).
    pub from_trait: Option<&'static str>,
}

impl Operator {
    /// Whether it keeps state across batches, so the job needs a checkpoint directory.
    pub const fn needs_checkpoint(&self) -> bool {
        matches!(self.kind, Kind::State { .. } | Kind::Window { inverse: true, .. })
    }

    /// Whether it reads a window of past batches: its duration arguments (window, then slide)
    /// must be multiples of the parent's slide.
    pub const fn is_window(&self) -> bool {
        matches!(self.kind, Kind::Window { .. })
    }

    /// Whether it is an output operation.
    pub const fn is_output(&self) -> bool {
        matches!(self.kind, Kind::Output { .. })
    }

    /// Whether it creates an input stream.
    pub const fn is_source(&self) -> bool {
        matches!(self.kind, Kind::Source { .. })
    }

    /// Whether it starts a chain of stream operators on the context (a source or a merge).
    pub const fn starts_chain(&self) -> bool {
        matches!(self.kind, Kind::Source { .. } | Kind::Merge)
    }

    /// The positions of the window and slide duration arguments, for a window.
    pub const fn duration_args(&self) -> Option<(usize, usize)> {
        match self.kind {
            Kind::Window { durations_at, .. } => Some((durations_at, durations_at + 1)),
            _ => None,
        }
    }

    /// Whether each batch is combined on the map side, in the stage's loop, before a shuffle.
    pub const fn combines(&self) -> bool {
        matches!(
            self.kind,
            Kind::Shuffle { combine: true, .. } | Kind::Window { combine: true, .. } | Kind::State { combine: true }
        )
    }
}

const fn op(receiver: Receiver, name: &'static str, kind: Kind, returns: Returns, spark: &'static str) -> Operator {
    Operator { name, receiver, kind, returns, spark, from_trait: None }
}

const fn ctx(name: &'static str, kind: Kind, returns: Returns, spark: &'static str) -> Operator {
    op(Receiver::Context, name, kind, returns, spark)
}

const fn ds(name: &'static str, kind: Kind, spark: &'static str) -> Operator {
    op(Receiver::DStream, name, kind, Returns::DStream, spark)
}

const fn out(receiver: Receiver, name: &'static str, print: bool, spark: &'static str) -> Operator {
    op(receiver, name, Kind::Output { print }, Returns::Nothing, spark)
}

const fn shuffle(name: &'static str, by: Partitioning, combine: bool, spark: &'static str) -> Operator {
    ds(name, Kind::Shuffle { by, combine }, spark)
}

const fn window(
    name: &'static str,
    durations_at: usize,
    keyed: Option<Partitioning>,
    (combine, inverse): (bool, bool),
    spark: &'static str,
) -> Operator {
    ds(name, Kind::Window { durations_at, keyed, combine, inverse }, spark)
}

/// `(combine, inverse)` of windows.
const PLAIN: (bool, bool) = (false, false);
const COMBINED: (bool, bool) = (true, false);
const INVERTIBLE: (bool, bool) = (true, true);

const SOURCE: Kind = Kind::Source { text: false };
const TEXT_SOURCE: Kind = Kind::Source { text: true };
const GROUPED_STATE: Kind = Kind::State { combine: true };
const BY_KEY: Option<Partitioning> = Some(Partitioning::ByKey);

/// Every public operator, by receiver.
pub const OPERATORS: &[Operator] = &[
    // StreamingContext: sources.
    ctx("socket_text_stream", TEXT_SOURCE, Returns::DStream, "socketTextStream"),
    ctx("socket_text_stream_with", TEXT_SOURCE, Returns::DStream, ""),
    ctx("text_file_stream", TEXT_SOURCE, Returns::DStream, "textFileStream"),
    ctx("text_file_stream_with", TEXT_SOURCE, Returns::DStream, ""),
    ctx("kafka_text_stream", TEXT_SOURCE, Returns::DStream, ""),
    ctx("kafka_direct_stream", SOURCE, Returns::DStream, "createDirectStream"),
    ctx("queue_stream", SOURCE, Returns::DStream, "queueStream"),
    ctx("file_stream", SOURCE, Returns::DStream, "fileStream"),
    ctx("binary_records_stream", SOURCE, Returns::DStream, "binaryRecordsStream"),
    ctx("receiver_stream", SOURCE, Returns::DStream, "receiverStream"),
    ctx("union", Kind::Merge, Returns::DStream, ""),
    ctx("transform", Kind::Merge, Returns::DStream, ""),
    // StreamingContext: settings.
    ctx("checkpoint", Kind::Checkpoint, Returns::Nothing, ""),
    ctx("new", Kind::Setup, Returns::Other, ""),
    ctx("get_or_create", Kind::Setup, Returns::Other, "getOrCreate"),
    ctx("with_threads", Kind::Setup, Returns::Other, ""),
    ctx("with_name", Kind::Setup, Returns::Other, ""),
    ctx("with_clock", Kind::Setup, Returns::Other, ""),
    ctx("with_max_line_bytes", Kind::Setup, Returns::Other, ""),
    ctx("with_checkpoint_interval", Kind::Setup, Returns::Other, ""),
    ctx("with_write_ahead_log", Kind::Setup, Returns::Other, ""),
    ctx("with_receiver_max_rate", Kind::Setup, Returns::Other, ""),
    ctx("with_backpressure", Kind::Setup, Returns::Other, ""),
    ctx("with_receiver_buffer", Kind::Setup, Returns::Other, ""),
    ctx("with_ui", Kind::Setup, Returns::Other, ""),
    ctx("with_cluster", Kind::Setup, Returns::Other, ""),
    ctx("with_batches_in_flight", Kind::Setup, Returns::Other, ""),
    ctx("on_batch_completed", Kind::Setup, Returns::Nothing, ""),
    ctx("start", Kind::Setup, Returns::Other, ""),
    ctx("conf", Kind::Accessor, Returns::Other, ""),
    ctx("batch_duration", Kind::Accessor, Returns::Other, ""),
    ctx("default_parallelism", Kind::Accessor, Returns::Other, "defaultParallelism"),
    ctx("clock", Kind::Accessor, Returns::Other, ""),
    ctx("explain", Kind::Accessor, Returns::Other, ""),
    // StreamingContext: static datasets, for `transform` and `foreach_batch`.
    ctx("parallelize", Kind::Accessor, Returns::Other, ""),
    ctx("text_file", Kind::Accessor, Returns::Other, ""),
    // DStream: per record, fused.
    ds("map", Kind::Narrow, ""),
    ds("filter", Kind::Narrow, ""),
    ds("flat_map", Kind::Narrow, "flatMap"),
    ds("map_values", Kind::Narrow, "mapValues"),
    ds("flat_map_values", Kind::Narrow, "flatMapValues"),
    Operator { from_trait: Some("Clone"), ..ds("clone", Kind::Passthrough, "") },
    ds("checkpoint", Kind::Passthrough, ""),
    // DStream: materializing.
    ds("map_partitions", Kind::Materialize, "mapPartitions"),
    ds("glom", Kind::Materialize, ""),
    ds("boxed", Kind::Materialize, ""),
    ds("erased", Kind::Narrow, ""),
    ds("transform", Kind::Materialize, ""),
    ds("transform_with", Kind::Materialize, "transformWith"),
    // DStream: shuffles and gathers.
    shuffle("reduce_by_key", Partitioning::ByKey, true, "reduceByKey"),
    shuffle("reduce_by_key_with_partitions", Partitioning::ByKey, true, ""),
    shuffle("combine_by_key", Partitioning::ByKey, true, "combineByKey"),
    shuffle("combine_by_key_with_partitions", Partitioning::ByKey, true, ""),
    shuffle("group_by_key", Partitioning::ByKey, true, "groupByKey"),
    shuffle("group_by_key_with_partitions", Partitioning::ByKey, true, ""),
    shuffle("count_by_value", Partitioning::ByValue, true, "countByValue"),
    shuffle("count_by_value_with_partitions", Partitioning::ByValue, true, ""),
    shuffle("repartition", Partitioning::RoundRobin, false, ""),
    ds("reduce", Kind::Gather, ""),
    ds("count", Kind::Gather, ""),
    ds("join", Kind::Join, ""),
    ds("left_outer_join", Kind::Join, "leftOuterJoin"),
    ds("right_outer_join", Kind::Join, "rightOuterJoin"),
    ds("full_outer_join", Kind::Join, "fullOuterJoin"),
    ds("cogroup", Kind::Join, ""),
    ds("join_with_partitions", Kind::Join, ""),
    ds("left_outer_join_with_partitions", Kind::Join, ""),
    ds("right_outer_join_with_partitions", Kind::Join, ""),
    ds("full_outer_join_with_partitions", Kind::Join, ""),
    ds("cogroup_with_partitions", Kind::Join, ""),
    ds("union", Kind::Union, ""),
    // DStream: windows.
    window("window", 0, None, PLAIN, ""),
    window("reduce_by_window", 1, None, COMBINED, "reduceByWindow"),
    window("reduce_by_window_inv", 2, None, INVERTIBLE, ""),
    window("count_by_window", 0, None, INVERTIBLE, "countByWindow"),
    window("reduce_by_key_and_window", 1, BY_KEY, COMBINED, "reduceByKeyAndWindow"),
    window("reduce_by_key_and_window_with_partitions", 1, BY_KEY, COMBINED, ""),
    window("reduce_by_key_and_window_inv", 2, BY_KEY, INVERTIBLE, ""),
    window("reduce_by_key_and_window_inv_with", 2, BY_KEY, INVERTIBLE, ""),
    window("group_by_key_and_window", 0, BY_KEY, COMBINED, "groupByKeyAndWindow"),
    window("group_by_key_and_window_with_partitions", 0, BY_KEY, COMBINED, ""),
    // The one-duration forms: the slide is the parent's.
    window("window_of", 0, None, PLAIN, ""),
    window("reduce_by_key_and_window_of", 1, BY_KEY, COMBINED, ""),
    window("group_by_key_and_window_of", 0, BY_KEY, COMBINED, ""),
    window("count_by_value_and_window", 0, Some(Partitioning::ByValue), INVERTIBLE, "countByValueAndWindow"),
    window("count_by_value_and_window_with_partitions", 0, Some(Partitioning::ByValue), INVERTIBLE, ""),
    // DStream: state.
    ds("update_state_by_key", GROUPED_STATE, "updateStateByKey"),
    ds("update_state_by_key_with_initial", GROUPED_STATE, ""),
    ds("update_state_by_key_with_time", GROUPED_STATE, ""),
    ds("update_state_by_key_with_partitions", GROUPED_STATE, ""),
    ds("update_state_by_key_iter", GROUPED_STATE, ""),
    op(Receiver::DStream, "map_with_state", Kind::State { combine: false }, Returns::StateStream, "mapWithState"),
    op(Receiver::DStream, "state_spec", Kind::Accessor, Returns::Other, ""),
    op(Receiver::DStream, "running_reduce_by_key", GROUPED_STATE, Returns::StateStream, ""),
    // DStream: outputs and accessors.
    out(Receiver::DStream, "print", true, ""),
    out(Receiver::DStream, "print_n", true, ""),
    out(Receiver::DStream, "foreach_batch", false, "foreachRDD"),
    out(Receiver::DStream, "foreach_batch_gathered", false, ""),
    out(Receiver::DStream, "save_as_text_files", false, "saveAsTextFiles"),
    out(Receiver::DStream, "save_as_text_files_with", false, ""),
    out(Receiver::DStream, "save_as_object_files", false, "saveAsObjectFiles"),
    op(Receiver::DStream, "context", Kind::Accessor, Returns::Other, ""),
    op(Receiver::DStream, "slide_duration", Kind::Accessor, Returns::Other, "slideDuration"),
    op(Receiver::DStream, "remember", Kind::Accessor, Returns::Other, ""),
    // StateStream.
    op(Receiver::StateStream, "mapped", Kind::View, Returns::DStream, ""),
    op(Receiver::StateStream, "state_snapshots", Kind::View, Returns::DStream, "stateSnapshots"),
    out(Receiver::StateStream, "foreach_snapshot", false, ""),
    out(Receiver::StateStream, "print_state", false, ""),
    op(Receiver::StateStream, "slide_duration", Kind::Accessor, Returns::Other, "slideDuration"),
    Operator {
        from_trait: Some("Clone"),
        ..op(Receiver::StateStream, "clone", Kind::Passthrough, Returns::StateStream, "")
    },
];

/// The operator `name` of `receiver`, or `None` for a method the engine does not have (a
/// user's extension method).
///
/// ```
/// use stream_spec::{lookup, Kind, Receiver};
/// assert!(lookup(Receiver::DStream, "count_by_window").unwrap().needs_checkpoint());
/// assert_eq!(lookup(Receiver::StateStream, "mapped").unwrap().kind, Kind::View);
/// assert!(lookup(Receiver::DStream, "mapped").is_none());
/// ```
pub fn lookup(receiver: Receiver, name: &str) -> Option<&'static Operator> {
    OPERATORS.iter().find(|o| o.receiver == receiver && o.name == name)
}

/// The operator of `receiver` whose Spark name is `name` (`reduceByKey`), for "did you mean"
/// errors. Only Spark's camelCase names match: other unknown methods are the user's own.
///
/// ```
/// use stream_spec::{from_spark_name, Receiver};
/// assert_eq!(from_spark_name(Receiver::DStream, "reduceByKey").unwrap().name, "reduce_by_key");
/// assert_eq!(from_spark_name(Receiver::DStream, "foreachRDD").unwrap().name, "foreach_batch");
/// assert!(from_spark_name(Receiver::DStream, "tap").is_none());
/// ```
pub fn from_spark_name(receiver: Receiver, name: &str) -> Option<&'static Operator> {
    OPERATORS.iter().find(|o| o.receiver == receiver && !o.spark.is_empty() && o.spark == name)
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::*;

    #[test]
    fn each_operator_is_listed_once() {
        let mut seen = BTreeSet::new();
        for o in OPERATORS {
            assert!(seen.insert((o.receiver, o.name)), "{:?} {} is listed twice", o.receiver, o.name);
        }
    }

    #[test]
    fn spark_names_are_camel_case_and_unique() {
        let mut seen = BTreeSet::new();
        for o in OPERATORS.iter().filter(|o| !o.spark.is_empty()) {
            assert!(o.spark.chars().any(|c| c.is_ascii_uppercase()), "{}: {}", o.name, o.spark);
            assert!(seen.insert((o.receiver, o.spark)), "{} is listed twice", o.spark);
        }
    }

    #[test]
    fn classes_agree_with_return_types() {
        for o in OPERATORS {
            match o.kind {
                Kind::Output { .. } | Kind::Checkpoint => assert_eq!(o.returns, Returns::Nothing, "{}", o.name),
                Kind::Source { .. } | Kind::Merge => assert_eq!(o.receiver, Receiver::Context, "{}", o.name),
                Kind::Accessor => assert_eq!(o.returns, Returns::Other, "{}", o.name),
                _ => {}
            }
        }
        assert!(lookup(Receiver::DStream, "count_by_value_and_window").is_some_and(Operator::needs_checkpoint));
        assert!(!lookup(Receiver::DStream, "reduce_by_key_and_window").is_some_and(Operator::needs_checkpoint));
        assert!(lookup(Receiver::DStream, "group_by_key").is_some_and(Operator::combines));
    }
}
