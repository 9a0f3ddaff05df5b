//! The operator registry (`stream-spec`) against the engine's source: every public method of
//! `StreamingContext`, `DStream` and `StateStream` is in it, everything in it exists, and each
//! is classed as its code behaves. This is what keeps `#[stream_job]` from drifting from the
//! engine: an operator added, renamed or changed without the registry fails here.
//!
//! The engine's files are parsed with `syn`. What a method does is read from the functions it
//! reaches: a call graph over the methods of the three builder types and the crate's free
//! functions, by name (method calls resolve to builder methods, `f(..)` to free functions,
//! `DStream::f(..)` and `Self::f(..)` to builder methods; other types' methods are not
//! followed). A stateful operator reaches `require_checkpoint`, a window `windowed`, a source
//! `add_input`, an output `add_output`, a combining shuffle `combine_into`.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use stream_spec::{Kind, Operator, Receiver, Returns, OPERATORS};
use syn::visit::Visit;

/// A public method of one of the three types, as the engine's source declares it.
#[derive(Debug)]
struct Method {
    returns: Returns,
    /// Whether it returns `DStream<'_, Str>`.
    returns_text: bool,
    /// Its parameters' names, without `self`.
    params: Vec<String>,
    /// What its body calls.
    calls: Calls,
}

#[derive(Default)]
struct Engine {
    /// Inherent public methods by receiver and name.
    methods: BTreeMap<(Receiver, String), Method>,
    /// Methods of trait impls (`impl Clone for DStream`) by receiver, trait and name.
    trait_methods: BTreeSet<(Receiver, String, String)>,
    /// What each method of the builder types calls (same-named methods merged).
    builder: BTreeMap<String, Calls>,
    /// What each free function of the crate calls (same-named functions merged).
    free: BTreeMap<String, Calls>,
}

fn receiver_of(ty: &syn::Type) -> Option<Receiver> {
    let syn::Type::Path(p) = ty else { return None };
    match p.path.segments.last()?.ident.to_string().as_str() {
        "StreamingContext" => Some(Receiver::Context),
        "DStream" => Some(Receiver::DStream),
        "StateStream" => Some(Receiver::StateStream),
        _ => None,
    }
}

fn is_cfg_test(attrs: &[syn::Attribute]) -> bool {
    attrs
        .iter()
        .any(|a| a.path().is_ident("cfg") && a.meta.require_list().is_ok_and(|l| l.tokens.to_string() == "test"))
}

/// What a body calls: method names, and called paths with their qualifier (`Self` in
/// `Self::f`), if any.
#[derive(Debug, Default)]
struct Calls {
    methods: BTreeSet<String>,
    paths: BTreeSet<(Option<String>, String)>,
}

impl<'ast> Visit<'ast> for Calls {
    fn visit_expr_method_call(&mut self, m: &'ast syn::ExprMethodCall) {
        self.methods.insert(m.method.to_string());
        syn::visit::visit_expr_method_call(self, m);
    }
    fn visit_expr_call(&mut self, c: &'ast syn::ExprCall) {
        if let syn::Expr::Path(p) = &*c.func {
            let segs: Vec<String> = p.path.segments.iter().map(|s| s.ident.to_string()).collect();
            if let [.., last] = segs.as_slice() {
                let qualifier = segs.len().checked_sub(2).map(|i| segs[i].clone());
                self.paths.insert((qualifier, last.clone()));
            }
        }
        syn::visit::visit_expr_call(self, c);
    }
}

impl Calls {
    fn of(block: &syn::Block) -> Calls {
        let mut calls = Calls::default();
        calls.visit_block(block);
        calls
    }

    fn extend(&mut self, other: Calls) {
        self.methods.extend(other.methods);
        self.paths.extend(other.paths);
    }

    fn names(&self) -> impl Iterator<Item = &String> {
        self.methods.iter().chain(self.paths.iter().map(|(_, f)| f))
    }
}

fn returns_of(sig: &syn::Signature) -> (Returns, bool) {
    let syn::ReturnType::Type(_, ty) = &sig.output else { return (Returns::Nothing, false) };
    let syn::Type::Path(p) = &**ty else { return (Returns::Other, false) };
    let Some(last) = p.path.segments.last() else { return (Returns::Other, false) };
    let text = match &last.arguments {
        syn::PathArguments::AngleBracketed(a) => {
            a.args.iter().any(|g| matches!(g, syn::GenericArgument::Type(syn::Type::Path(t)) if t.path.is_ident("Str")))
        }
        _ => false,
    };
    match last.ident.to_string().as_str() {
        "DStream" => (Returns::DStream, text),
        "StateStream" => (Returns::StateStream, false),
        _ => (Returns::Other, false),
    }
}

impl Engine {
    fn read(dir: &Path) -> Engine {
        let mut engine = Engine::default();
        let mut files = vec![dir.to_path_buf()];
        while let Some(path) = files.pop() {
            if path.is_dir() {
                files.extend(std::fs::read_dir(&path).unwrap().map(|e| e.unwrap().path()));
            } else if path.extension().is_some_and(|e| e == "rs") {
                let text = std::fs::read_to_string(&path).unwrap();
                let file = syn::parse_file(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
                engine.items(&file.items);
            }
        }
        engine
    }

    fn items(&mut self, items: &[syn::Item]) {
        for item in items {
            match item {
                syn::Item::Fn(f) if !is_cfg_test(&f.attrs) => {
                    self.free.entry(f.sig.ident.to_string()).or_default().extend(Calls::of(&f.block))
                }
                syn::Item::Mod(m) if !is_cfg_test(&m.attrs) => {
                    if let Some((_, items)) = &m.content {
                        self.items(items);
                    }
                }
                syn::Item::Impl(imp) if !is_cfg_test(&imp.attrs) => self.impl_block(imp),
                _ => {}
            }
        }
    }

    fn impl_block(&mut self, imp: &syn::ItemImpl) {
        let Some(receiver) = receiver_of(&imp.self_ty) else { return };
        for item in &imp.items {
            let syn::ImplItem::Fn(f) = item else { continue };
            let name = f.sig.ident.to_string();
            match &imp.trait_ {
                Some((_, path, _)) => {
                    let tr = path.segments.last().map(|s| s.ident.to_string()).unwrap_or_default();
                    self.trait_methods.insert((receiver, tr, name));
                }
                None => {
                    self.builder.entry(name.clone()).or_default().extend(Calls::of(&f.block));
                    if matches!(f.vis, syn::Visibility::Public(_)) {
                        let (returns, returns_text) = returns_of(&f.sig);
                        let params = f
                            .sig
                            .inputs
                            .iter()
                            .filter_map(|a| match a {
                                syn::FnArg::Typed(t) => Some(quote::ToTokens::to_token_stream(&t.pat).to_string()),
                                syn::FnArg::Receiver(_) => None,
                            })
                            .collect();
                        let method = Method { returns, returns_text, params, calls: Calls::of(&f.block) };
                        assert!(self.methods.insert((receiver, name.clone()), method).is_none(), "{name} twice");
                    }
                }
            }
        }
    }

    /// Whether `method` reaches a call named `marker`.
    fn reaches(&self, method: &Method, marker: &str) -> bool {
        const BUILDERS: [&str; 4] = ["Self", "StreamingContext", "DStream", "StateStream"];
        let mut seen = BTreeSet::new();
        let mut todo = vec![&method.calls];
        while let Some(calls) = todo.pop() {
            if calls.names().any(|n| n == marker) {
                return true;
            }
            let methods = calls.methods.iter().map(|m| (true, m));
            let paths = calls.paths.iter().map(|(q, f)| (q.as_deref().is_some_and(|q| BUILDERS.contains(&q)), f));
            let free = calls.paths.iter().filter(|(q, _)| q.is_none()).map(|(_, f)| (false, f));
            for (builder, name) in methods.chain(paths.filter(|(b, _)| *b)).chain(free) {
                if seen.insert((builder, name)) {
                    let table = if builder { &self.builder } else { &self.free };
                    todo.extend(table.get(name));
                }
            }
        }
        false
    }
}

fn engine() -> Engine {
    Engine::read(&Path::new(env!("CARGO_MANIFEST_DIR")).join("../stream-runtime/src"))
}

/// Public methods the registry `ops` lacks, and operators it lists that the engine lacks.
fn unmatched(engine: &Engine, ops: &[Operator]) -> (Vec<String>, Vec<String>) {
    let registered: BTreeSet<(Receiver, String)> =
        ops.iter().filter(|o| o.from_trait.is_none()).map(|o| (o.receiver, o.name.to_string())).collect();
    let public: BTreeSet<(Receiver, String)> = engine.methods.keys().cloned().collect();
    let name = |(r, n): &(Receiver, String)| format!("{}::{n}", r.type_name());
    let mut gone: Vec<String> = registered.difference(&public).map(name).collect();
    for o in ops {
        if let Some(tr) = o.from_trait {
            if !engine.trait_methods.contains(&(o.receiver, tr.to_string(), o.name.to_string())) {
                gone.push(format!("{}::{} (from `{tr}`)", o.receiver.type_name(), o.name));
            }
        }
    }
    (public.difference(&registered).map(name).collect(), gone)
}

/// Where the registry `ops` classes an operator differently from what its code does.
fn misclassified(engine: &Engine, ops: &[Operator]) -> Vec<String> {
    let mut wrong = Vec::new();
    for o in ops.iter().filter(|o| o.from_trait.is_none()) {
        let Some(m) = engine.methods.get(&(o.receiver, o.name.to_string())) else { continue };
        let facts: [(&str, bool, bool); 6] = [
            (
                "needs a checkpoint (reaches `require_checkpoint`)",
                o.needs_checkpoint(),
                engine.reaches(m, "require_checkpoint"),
            ),
            ("is a window (reaches `windowed`)", o.is_window(), engine.reaches(m, "windowed")),
            ("is a source (reaches `add_input`)", o.is_source(), engine.reaches(m, "add_input")),
            ("is an output (reaches `add_output`)", o.is_output(), engine.reaches(m, "add_output")),
            ("combines on the map side (reaches `combine_into`)", o.combines(), engine.reaches(m, "combine_into")),
            (
                "is a text source (returns `DStream<'_, Str>`)",
                o.kind == (Kind::Source { text: true }),
                o.is_source() && m.returns_text,
            ),
        ];
        for (what, registry, code) in facts {
            if registry != code {
                wrong.push(format!(
                    "{}::{}: registry says {registry}, code says {code}: {what}",
                    o.receiver.type_name(),
                    o.name
                ));
            }
        }
        if let Some((w, s)) = o.duration_args() {
            let (w, s) = (m.params.get(w).map(String::as_str), m.params.get(s).map(String::as_str));
            // The one-duration forms (`window_of(window)`) take no slide: the parent's is used.
            let one_duration = s.is_none() && m.params.len() == o.duration_args().map_or(0, |(w, _)| w + 1);
            if (w, s) != (Some("window"), Some("slide")) && !(one_duration && w == Some("window")) {
                wrong.push(format!("{}: parameters {w:?}, {s:?} are not `window`, `slide`", o.name));
            }
        }
        if o.returns != m.returns {
            wrong.push(format!(
                "{}::{}: registry returns {:?}, code {:?}",
                o.receiver.type_name(),
                o.name,
                o.returns,
                m.returns
            ));
        }
    }
    wrong
}

#[test]
fn every_public_operator_is_registered_and_every_registered_one_exists() {
    let (missing, gone) = unmatched(&engine(), OPERATORS);
    assert!(missing.is_empty(), "public operators missing from stream_spec::OPERATORS: {missing:?}");
    assert!(gone.is_empty(), "stream_spec::OPERATORS lists operators the engine does not have: {gone:?}");
}

#[test]
fn every_operator_is_classed_as_its_code_behaves() {
    let wrong = misclassified(&engine(), OPERATORS);
    assert!(wrong.is_empty(), "stream_spec::OPERATORS disagrees with the engine:\n{}", wrong.join("\n"));
}

/// The checks above can fail: the drift this registry replaced (`count_by_window` classed as
/// a plain window, `mapped` missing, `group_by_key` not combining) is caught.
#[test]
fn the_old_drift_is_caught() {
    let engine = engine();
    let mut ops: Vec<Operator> = OPERATORS.iter().filter(|o| o.name != "mapped").copied().collect();
    for o in &mut ops {
        match o.name {
            "count_by_window" => o.kind = Kind::Window { durations_at: 0, keyed: None, combine: true, inverse: false },
            "group_by_key" => o.kind = Kind::Shuffle { by: stream_spec::Partitioning::ByKey, combine: false },
            _ => {}
        }
    }
    ops.push(Operator { name: "frobnicate", ..OPERATORS[0] });
    let (missing, gone) = unmatched(&engine, &ops);
    assert_eq!(
        (missing, gone),
        (vec!["StateStream::mapped".to_string()], vec!["StreamingContext::frobnicate".to_string()])
    );
    let wrong = misclassified(&engine, &ops);
    assert_eq!(wrong.len(), 2, "{wrong:#?}");
    assert!(wrong[0].starts_with("DStream::group_by_key: registry says false, code says true: combines"), "{wrong:#?}");
    assert!(wrong[1].starts_with("DStream::count_by_window: registry says false, code says true: needs a checkpoint"));
}
