//! Lowering: from the job IR to a plan of stages, the way the runtime will run it. Narrow
//! operators fuse into the loop of the stage they are in; shuffles, windows, state and
//! materializing operators end a stage.

use std::collections::BTreeMap;

use syn::Expr;

use crate::attrs::JobAttrs;
use crate::ir::{Chain, JobFn, Op, Root, StatementKind};
use crate::ops::OpKind;
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
pub fn lower(job: &JobFn, attrs: &JobAttrs) -> Plan {
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
            Root::Source { method, args } => {
                Open { ops: vec![format!("{method}({})", render_args(args.iter()))], ..Open::default() }
            }
            Root::Stream(name) => {
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
        let Some(kind) = op.kind else {
            open.ops.push(format!("{name} [opaque]"));
            open.exit = Some(Exit::Opaque);
            return open;
        };
        match kind {
            OpKind::Source | OpKind::Narrow => {
                open.ops.push(name);
                open.fused_ops += 1;
                open
            }
            OpKind::Passthrough => open,
            OpKind::Materialize => {
                open.ops.push(name);
                let id = self.close(open, Exit::Materialize);
                Open { inputs: vec![Input::Stage(id)], ..Open::default() }
            }
            OpKind::CombineShuffle => {
                open.ops.push(format!("{name} [map-side combine]"));
                open.fused_ops += 1;
                let by = if name == "count_by_value" { "hash by value" } else { "hash by key" };
                self.boundary(open, Exit::Shuffle(by.to_string()), format!("{name} [merge]"))
            }
            OpKind::Shuffle => {
                let (exit, first) = if name == "repartition" {
                    let n = op.args.first().map_or_else(|| "..".to_string(), render);
                    (Exit::Shuffle(format!("round robin into {n} partitions")), name)
                } else {
                    (Exit::Shuffle("hash by key".to_string()), format!("{name} [merge]"))
                };
                open.ops.push(format!("{} [map side]", op.method));
                self.boundary(open, exit, first)
            }
            OpKind::Gather => {
                open.ops.push(format!("{name} [partial]"));
                open.fused_ops += 1;
                self.boundary(open, Exit::Gather, format!("{name} [merge]"))
            }
            OpKind::BinaryShuffle | OpKind::Union => {
                let union = kind == OpKind::Union;
                let exit = if union { Exit::Union } else { Exit::Shuffle("hash by key".to_string()) };
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
            OpKind::Window | OpKind::StatefulWindow | OpKind::State => {
                let keyed = name.contains("by_key") || name.contains("by_value") || kind == OpKind::State;
                let mut what = Vec::new();
                if keyed {
                    let combines = name.contains("reduce") || name.contains("count");
                    open.ops.push(format!("{name} [{}]", if combines { "map-side combine" } else { "map side" }));
                    open.fused_ops += usize::from(combines);
                    what.push(if name.contains("by_value") { "hash by value" } else { "hash by key" }.to_string());
                }
                if kind == OpKind::State {
                    what.push("state kept across batches, checkpointed".to_string());
                } else {
                    what.push(window_text(&op.args));
                }
                if kind == OpKind::StatefulWindow {
                    what.push("kept incrementally with the inverse function, checkpointed".to_string());
                }
                let exit = if keyed { Exit::Shuffle(what.join("; ")) } else { Exit::Window(what.join("; ")) };
                let first = if keyed { format!("{name} [merge]") } else { name };
                self.boundary(open, exit, first)
            }
            OpKind::Output => {
                let label = match name.as_str() {
                    "print" => "print(10)".to_string(),
                    "foreach_batch" => name,
                    _ => format!("{name}({})", render_args(op.args.iter())),
                };
                open.ops.push(label);
                open.exit = Some(Exit::Output);
                open
            }
            OpKind::Accessor => {
                open.ops.push(name);
                open.exit = Some(Exit::Opaque);
                open
            }
        }
    }
}

/// "window 3000 ms, slide 1000 ms" from literal `Duration` arguments, else the arguments.
fn window_text(args: &[Expr]) -> String {
    let durations: Vec<String> = args
        .iter()
        .filter_map(|a| match a {
            Expr::Call(c) => match &*c.func {
                Expr::Path(p) if p.path.segments.iter().rev().nth(1).is_some_and(|s| s.ident == "Duration") => {
                    Some(duration_text(a))
                }
                _ => None,
            },
            _ => None,
        })
        .collect();
    match durations.as_slice() {
        [] => "window".to_string(),
        [w] => format!("window {w}"),
        [w, s, ..] => format!("window {w}, slide {s}"),
    }
}

fn duration_text(expr: &Expr) -> String {
    if let Expr::Call(c) = expr {
        if let (Expr::Path(p), Some(Expr::Lit(syn::ExprLit { lit: syn::Lit::Int(n), .. }))) = (&*c.func, c.args.first())
        {
            let scale = match p.path.segments.last().map(|s| s.ident.to_string()).as_deref() {
                Some("millis") => Some(1),
                Some("seconds") => Some(1000),
                Some("minutes") => Some(60_000),
                _ => None,
            };
            if let (Some(scale), Ok(v)) = (scale, n.base10_parse::<i64>()) {
                return format!("{} ms", v.saturating_mul(scale));
            }
        }
    }
    render(expr)
}
