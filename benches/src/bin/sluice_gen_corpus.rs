//! The benchmark corpus generator (see [`sluice_benches::corpus`]):
//!
//! ```text
//! sluice-gen-corpus --mb 64 --vocab 100000 --seed 7 --out corpus.txt [--files 8]
//! ```
//!
//! The same arguments give the same bytes as the `gen_corpus.py` script it replaces. With
//! `--files N` the output is cut at line boundaries into `N` files named `<out>.000`,
//! `<out>.001`, ...
#![forbid(unsafe_code)]

use sluice_benches::corpus::{write_files, CorpusSpec};

const USAGE: &str = "usage: sluice-gen-corpus [--mb MIB] [--vocab WORDS] [--seed N] [--files N] --out PATH";

fn parse(args: &[String]) -> Result<(CorpusSpec, String), String> {
    let mut spec = CorpusSpec::mb(64.0);
    let mut out = None;
    let mut it = args.iter();
    while let Some(flag) = it.next() {
        let value = it.next().ok_or_else(|| format!("{flag} needs a value\n{USAGE}"))?;
        let bad = |e: &dyn std::fmt::Display| format!("{flag} {value:?}: {e}\n{USAGE}");
        match flag.as_str() {
            "--mb" => spec.bytes = CorpusSpec::mb(value.parse().map_err(|e| bad(&e))?).bytes,
            "--vocab" => spec.vocab = value.parse().map_err(|e| bad(&e))?,
            "--seed" => spec.seed = value.parse().map_err(|e| bad(&e))?,
            "--files" => spec.files = value.parse().map_err(|e| bad(&e))?,
            "--out" => out = Some(value.clone()),
            _ => return Err(format!("unknown option {flag}\n{USAGE}")),
        }
    }
    if spec.vocab == 0 || spec.files == 0 {
        return Err(format!("--vocab and --files must be at least 1\n{USAGE}"));
    }
    Ok((spec, out.ok_or_else(|| format!("--out is required\n{USAGE}"))?))
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (spec, out) = parse(&args).unwrap_or_else(|e| {
        eprintln!("{e}");
        std::process::exit(2);
    });
    if let Err(e) = write_files(&spec, out.as_ref()) {
        eprintln!("sluice-gen-corpus: {out}: {e}");
        std::process::exit(1);
    }
}
