//! Lowering: from the job IR to a plan of stages, the way the runtime will run it. Narrow
//! operators fuse into the loop of the stage they are in; shuffles, windows, state and
//! materializing operators end a stage.

use std::collections::BTreeMap;

use stream_spec::{Kind, Partitioning};

use crate::attrs::JobAttrs;
use crate::check::{duration_call, Requirements};
use crate::ir::{Chain, JobFn, Op, Root, StatementKind};
use crate::parse::{render, render_args};

/// The batch interval of a job whose attribute gives none, in milliseconds.
pub const DEFAULT_BATCH_MS: i64 = 1000;
/// The worker threads of a job whose attribute gives none.
pub const DEFAULT_THREADS: usize = 2;

/// A job's plan: what `--explain` prints.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    /// The job's name.
    pub name: String,
    /// The default batch interval in milliseconds.
    pub batch_ms: i64,
    /// The default number of worker threads.
    pub threads: usize,
    /// Where checkpoints go by default, if anywhere.
    pub checkpoint: Checkpointing,
    /// Stages and unanalysed code, in the order the job builds them.
    pub items: Vec<Item>,
    /// What the runtime checks against the effective settings (`--batch`, `--checkpoint`).
    pub requires: Requirements,
}

/// How a job checkpoints.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Checkpointing {
    /// Not configured (the command line's `--checkpoint` may still set it).
    None,
    /// To this directory, from the attribute.
    Dir(String),
    /// Set by a `checkpoint(..)` call in the body.
    InBody,
}

/// One entry of a plan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Item {
    /// A stage: one fused loop per partition.
    Stage(Stage),
    /// Code the macro does not analyse; it runs as written.
    Opaque(String),
}

/// A stage of the plan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stage {
    /// Its number, in creation order.
    pub id: usize,
    /// Where its input comes from (empty when it starts at a source).
    pub inputs: Vec<Input>,
    /// The operators it runs, in order (a source first when it starts at one).
    pub ops: Vec<String>,
    /// Whether two or more per-record operators are fused into its loop.
    pub fused: bool,
    /// What ends it.
    pub exit: Exit,
}

/// The input of a stage.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Input {
    /// The output of another stage.
    Stage(usize),
    /// A named stream (`let words = ...`), made by a stage.
    Named(String, usize),
    /// An expression the macro does not analyse.
    Opaque(String),
}

/// What ends a stage.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Exit {
    /// A shuffle, described.
    Shuffle(String),
    /// A gather of each batch into one result.
    Gather,
    /// A window, described.
    Window(String),
    /// A materializing operator (per-partition function, `boxed`, `transform`).
    Materialize,
    /// A union with another stream.
    Union,
    /// An output operation.
    Output,
    /// A `let` naming the stream.
    Named(String),
    /// Nothing: the stream is never used.
    Unused,
    /// Code the macro does not analyse takes over.
    Opaque,
}

/// Lowers a checked job to its plan.
pub fn lower(job: &JobFn, attrs: &JobAttrs, requires: Requirements) -> Plan {
    let checkpoint = match (&attrs.checkpoint, job.checkpoint_call) {
        (Some(dir), _) => Checkpointing::Dir(dir.clone()),
        (None, true) => Checkpointing::InBody,
        (None, false) => Checkpointing::None,
    };
    let mut lowerer = Lowerer { items: Vec::new(), stages: 0, named: BTreeMap::new() };
    for stmt in &job.statements {
        match &stmt.kind {
            StatementKind::Let { name, chain } => {
                let mut open = lowerer.chain(chain);
                if open.exit.is_some() {
                    let id = lowerer.close(open, Exit::Named(name.to_string()));
                    lowerer.named.insert(name.to_string(), Named::Stage(id));
                } else {
                    match open.ops.last_mut() {
                        Some(last) => last.push_str(&format!(" ({name})")),
                        None => open.ops.push(format!("({name})")),
                    }
                    lowerer.named.insert(name.to_string(), Named::Pending { open, used: false });
                }
            }
            StatementKind::Expr(chain) => {
                let open = lowerer.chain(chain);
                lowerer.close(open, Exit::Unused);
            }
            StatementKind::Checkpoint => {}
            StatementKind::Opaque { summary, .. } => lowerer.items.push(Item::Opaque(summary.clone())),
        }
    }
    let unused: Vec<(String, Open)> = std::mem::take(&mut lowerer.named)
        .into_iter()
        .filter_map(|(name, n)| match n {
            Named::Pending { open, used: false } => Some((name, open)),
            _ => None,
        })
        .collect();
    for (_, open) in unused {
        lowerer.close(open, Exit::Unused);
    }
    Plan {
        name: attrs.name.clone().unwrap_or_else(|| job.name().to_string()),
        batch_ms: attrs.batch_ms.unwrap_or(DEFAULT_BATCH_MS),
        threads: attrs.threads.unwrap_or(DEFAULT_THREADS),
        checkpoint,
        items: lowerer.items,
        requires,
    }
}

/// A stage being built.
#[derive(Default, Clone)]
struct Open {
    inputs: Vec<Input>,
    ops: Vec<String>,
    fused_ops: usize,
    /// Set once the stream is consumed (output) or lost to unanalysed code.
    exit: Option<Exit>,
}

/// A stream named by `let`.
enum Named {
    /// Its chain has not reached a boundary: each consumer continues it in its own loop, as
    /// the runtime runs a named stream's narrow operators once per consumer.
    Pending { open: Open, used: bool },
    /// It is the output of a stage.
    Stage(usize),
}

struct Lowerer {
    items: Vec<Item>,
    stages: usize,
    named: BTreeMap<String, Named>,
}

impl Lowerer {
    fn close(&mut self, open: Open, exit: Exit) -> usize {
        let id = self.stages;
        self.stages += 1;
        let exit = open.exit.unwrap_or(exit);
        self.items.push(Item::Stage(Stage {
            id,
            inputs: open.inputs,
            ops: open.ops,
            fused: open.fused_ops >= 2,
            exit,
        }));
        id
    }

    /// Ends `open` with `exit` and opens the stage after it, starting with `first`.
    fn boundary(&mut self, open: Open, exit: Exit, first: String) -> Open {
        let id = self.close(open, exit);
        Open { inputs: vec![Input::Stage(id)], ops: vec![first], ..Open::default() }
    }

    fn chain(&mut self, chain: &Chain) -> Open {
        let mut open = match &chain.root {
            Root::Source { method, args, .. } => {
                Open { ops: vec![format!("{method}({})", render_args(args.iter()))], ..Open::default() }
            }
            Root::Stream(name, _) => {
                let name = name.to_string();
                match self.named.get_mut(&name) {
                    Some(Named::Pending { open, used }) => {
                        *used = true;
                        open.clone()
                    }
                    Some(Named::Stage(id)) => Open { inputs: vec![Input::Named(name, *id)], ..Open::default() },
                    None => Open { inputs: vec![Input::Opaque(name)], ..Open::default() },
                }
            }
            Root::Opaque(e) => Open { inputs: vec![Input::Opaque(render(e))], ..Open::default() },
        };
        for op in &chain.ops {
            if open.exit.is_some() {
                open.ops.push(op.method.to_string());
                continue;
            }
            open = self.op(open, op);
        }
        open
    }

    fn op(&mut self, mut open: Open, op: &Op) -> Open {
        let name = op.method.to_string();
        let Some(operator) = op.op else {
            open.ops.push(format!("{name} [opaque]"));
            open.exit = Some(Exit::Opaque);
            return open;
        };
        let map_side =
            |name: &str, combine: bool| format!("{name} [{}]", if combine { "map-side combine" } else { "map side" });
        match operator.kind {
            Kind::Source { .. } | Kind::Narrow => {
                open.ops.push(name);
                open.fused_ops += 1;
                open
            }
            Kind::Passthrough => open,
            Kind::View => {
                open.ops.push(name);
                open
            }
            Kind::Merge | Kind::Materialize => {
                open.ops.push(name);
                let id = self.close(open, Exit::Materialize);
                Open { inputs: vec![Input::Stage(id)], ..Open::default() }
            }
            Kind::Shuffle { by: Partitioning::RoundRobin, .. } => {
                let n = op.args.first().map_or_else(|| "..".to_string(), render);
                open.ops.push(map_side(&name, false));
                self.boundary(open, Exit::Shuffle(format!("round robin into {n} partitions")), name)
            }
            Kind::Shuffle { by, combine } => {
                open.ops.push(map_side(&name, combine));
                open.fused_ops += usize::from(combine);
                self.boundary(open, Exit::Shuffle(by.describe().to_string()), format!("{name} [merge]"))
            }
            Kind::Gather => {
                open.ops.push(format!("{name} [partial]"));
                open.fused_ops += 1;
                self.boundary(open, Exit::Gather, format!("{name} [merge]"))
            }
            Kind::Join | Kind::Union => {
                let union = operator.kind == Kind::Union;
                let exit = if union { Exit::Union } else { Exit::Shuffle(Partitioning::ByKey.describe().to_string()) };
                let this = self.close(open, exit.clone());
                let other = match &op.other {
                    Some(chain) => {
                        let other = self.chain(chain);
                        Some(self.close(other, exit))
                    }
                    None => None,
                };
                let mut inputs = vec![Input::Stage(this)];
                inputs.extend(other.map(Input::Stage));
                let first = if union { name } else { format!("{name} [merge]") };
                Open { inputs, ops: vec![first], ..Open::default() }
            }
            Kind::Window { keyed, combine, inverse, .. } => {
                let mut what = Vec::new();
                if let Some(by) = keyed {
                    open.ops.push(map_side(&name, combine));
                    open.fused_ops += usize::from(combine);
                    what.push(by.describe().to_string());
                }
                what.push(window_text(op));
                if inverse {
                    what.push("kept incrementally with the inverse function, checkpointed".to_string());
                }
                let (exit, first) = match keyed {
                    Some(_) => (Exit::Shuffle(what.join("; ")), format!("{name} [merge]")),
                    None => (Exit::Window(what.join("; ")), name),
                };
                self.boundary(open, exit, first)
            }
            Kind::State { combine } => {
                open.ops.push(map_side(&name, combine));
                open.fused_ops += usize::from(combine);
                let what = format!("{}; state kept across batches, checkpointed", Partitioning::ByKey.describe());
                self.boundary(open, Exit::Shuffle(what), format!("{name} [merge]"))
            }
            Kind::Output { .. } => {
                let label = match name.as_str() {
                    "print" => "print(10)".to_string(),
                    "foreach_batch" | "foreach_batch_gathered" | "foreach_snapshot" => name,
                    _ => format!("{name}({})", render_args(op.args.iter())),
                };
                open.ops.push(label);
                open.exit = Some(Exit::Output);
                open
            }
            Kind::Accessor | Kind::Checkpoint | Kind::Setup => {
                open.ops.push(name);
                open.exit = Some(Exit::Opaque);
                open
            }
        }
    }
}

/// "window 3000 ms, slide 1000 ms" from the window and slide arguments: literal `Duration`s
/// in milliseconds, other expressions as written.
fn window_text(op: &Op) -> String {
    let Some((w, s)) = op.op.and_then(|o| o.duration_args()) else { return "window".to_string() };
    let text = |i: usize| {
        op.args.get(i).map(|a| match duration_call(a) {
            Some(Some(ms)) => format!("{ms} ms"),
            _ => render(a),
        })
    };
    match (text(w), text(s)) {
        (Some(w), Some(s)) => format!("window {w}, slide {s}"),
        (Some(w), None) => format!("window {w}"),
        _ => "window".to_string(),
    }
}
