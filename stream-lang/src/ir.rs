//! The job IR: what `#[stream_job]` understood of a job function.

use std::collections::BTreeSet;

use proc_macro2::Span;
use syn::{Expr, Ident, Type};

use stream_spec::{Operator, Receiver};

/// A job function, parsed.
#[derive(Debug, Clone)]
pub struct JobFn {
    /// The function as written.
    pub item: syn::ItemFn,
    /// The context parameter (`ssc` in `ssc: &mut StreamingContext`), if the first parameter is
    /// one.
    pub ctx: Option<Ident>,
    /// The other parameters: the job's command-line arguments, in order.
    pub params: Vec<Param>,
    /// The body, statement by statement.
    pub statements: Vec<Statement>,
    /// Whether the body calls `<ctx>.checkpoint(..)` anywhere.
    pub checkpoint_call: bool,
    /// Whether the body calls an output operation anywhere, including inside code the macro
    /// cannot analyse.
    pub output_call: bool,
}

impl JobFn {
    /// The function's name.
    pub fn name(&self) -> &Ident {
        &self.item.sig.ident
    }
}

/// A parameter that becomes a command-line argument: positional, or a named option when
/// marked `#[opt]`.
#[derive(Debug, Clone)]
pub struct Param {
    /// Its name (the argument's name in `--help`).
    pub name: Ident,
    /// Its type, parsed from the command line with `FromStr`.
    pub ty: Type,
    /// `Some` for a named option (`#[opt(default = "6s")] window: Duration` is `--window`).
    pub option: Option<OptParam>,
}

/// A parameter marked `#[opt]` or `#[opt(default = "..")]`: a named option of the command line.
#[derive(Debug, Clone)]
pub struct OptParam {
    /// The long name: the parameter's, with `-` for `_` (`--batch-size`).
    pub long: String,
    /// The value used when the option is absent; without one the option is required.
    pub default: Option<syn::LitStr>,
}

/// One statement of the body.
#[derive(Debug, Clone)]
pub struct Statement {
    /// What the statement is.
    pub kind: StatementKind,
    /// Every identifier the statement mentions (to find where named streams are used).
    pub idents: BTreeSet<String>,
}

/// What a statement of the body is.
#[derive(Debug, Clone)]
pub enum StatementKind {
    /// `let name = <stream chain>;`
    Let {
        /// The binding.
        name: Ident,
        /// The chain it is bound to.
        chain: Chain,
    },
    /// `<stream chain>;`
    Expr(Chain),
    /// `<ctx>.checkpoint(dir);`
    Checkpoint,
    /// Code the macro does not analyse: it runs unchanged.
    Opaque {
        /// A short description for the plan.
        summary: String,
        /// Where it is.
        span: Span,
    },
}

/// A chain of method calls on a stream: `root.op1(..).op2(..)`.
///
/// ```
/// let expr: syn::Expr = syn::parse_quote!(ssc.socket_text_stream(&h, p).map(f).tap());
/// let ctx: syn::Ident = syn::parse_quote!(ssc);
/// let chain = stream_lang::parse::parse_chain(&expr, Some(&ctx), &Default::default()).unwrap();
/// assert!(chain.ops[0].op.is_some());
/// assert!(chain.ops[1].op.is_none(), "a user's extension method");
/// assert_eq!(chain.receiver(), None);
/// ```
#[derive(Debug, Clone)]
pub struct Chain {
    /// Where the stream comes from.
    pub root: Root,
    /// The operators applied to it, in order.
    pub ops: Vec<Op>,
}

impl Chain {
    /// The type at the chain's end when it is a stream of a known operator chain: `DStream` or
    /// `StateStream`; `None` after an unknown method, an output or an accessor, or from an
    /// opaque root.
    pub fn receiver(&self) -> Option<Receiver> {
        let mut receiver = match &self.root {
            Root::Source { op, .. } => op.returns.as_receiver(),
            Root::Stream(_, receiver) => Some(*receiver),
            Root::Opaque(_) => None,
        };
        for op in &self.ops {
            receiver = op.op.and_then(|o| o.returns.as_receiver());
        }
        receiver
    }
}

/// The start of a chain.
#[derive(Debug, Clone)]
pub enum Root {
    /// `<ctx>.source(args)`: a method of the context that starts a chain (a source, or a
    /// `union` / `transform` of streams).
    Source {
        /// The source method.
        method: Ident,
        /// Its arguments.
        args: Vec<Expr>,
        /// The operator.
        op: &'static Operator,
    },
    /// A stream bound earlier with `let`, and its type.
    Stream(Ident, Receiver),
    /// An expression the macro does not analyse (only as an operator's stream argument).
    Opaque(Box<Expr>),
}

/// One operator call in a chain.
#[derive(Debug, Clone)]
pub struct Op {
    /// The method name, with its span.
    pub method: Ident,
    /// The operator; `None` for a method the receiver does not have (an extension method):
    /// the chain is opaque from there on.
    pub op: Option<&'static Operator>,
    /// Whether the method is Spark's camelCase name for `op` (`reduceByKey`): an error.
    pub spark_name: bool,
    /// Its arguments.
    pub args: Vec<Expr>,
    /// The other stream of a binary operator (`join`, `union`, ...).
    pub other: Option<Box<Chain>>,
}
