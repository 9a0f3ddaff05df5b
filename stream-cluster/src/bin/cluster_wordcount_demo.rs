//! A word count over N processes on timely: `cluster_wordcount_demo --local-cluster 3`, or one
//! process per machine with `--processes N --process I --hosts FILE`. Process 0 prints
//! `word count` lines, sorted by word.
//!
//! Flags: `--lines-per-round N` (1000), `--rounds N` (3; 0 runs until stopped), `--seed N` (1),
//! `--pause-ms N` (0), `--in-flight K` (1: rounds that may be incomplete at once), `--threads N`
//! (1), `--connect-timeout-ms N` (30000), `--ready-dir DIR`, `--panic-worker W --panic-round R`,
//! `--exit-before-connect I` (tests of fail-stop and of the launcher), `--plan TEXT` (the plan
//! text whose fingerprint is compared).
#![forbid(unsafe_code)]

use std::process::ExitCode;
use std::time::Duration;

use anyhow::{bail, Context};
use stream_cluster::demo::{WordCount, PLAN};
use stream_cluster::{execute, launch_local_cluster, ClusterArgs, JobIdentity, Mode, RunOptions};

fn main() -> ExitCode {
    match run() {
        Ok(code) => code,
        Err(error) => {
            eprintln!("cluster_wordcount_demo: {error:#}");
            ExitCode::FAILURE
        }
    }
}

fn run() -> anyhow::Result<ExitCode> {
    let (cluster, rest) = ClusterArgs::parse_from(std::env::args().skip(1))?;
    let mode = cluster.validate()?;
    if let Mode::LocalCluster { processes } = mode {
        return Ok(match launch_local_cluster(processes, &rest) {
            Ok(()) => ExitCode::SUCCESS,
            Err(error) => {
                eprintln!("cluster_wordcount_demo: {error}");
                ExitCode::from(u8::try_from(error.exit_code()).unwrap_or(1))
            }
        });
    }

    let mut demo = WordCount::default();
    let mut options = RunOptions::default();
    let mut plan = PLAN.to_string();
    let mut panic_worker = None;
    let mut panic_round = None;
    let mut exit_before_connect = None;
    let mut args = rest.into_iter();
    while let Some(flag) = args.next() {
        let value = args.next().with_context(|| format!("{flag} needs a value"))?;
        let number = || value.parse::<u64>().with_context(|| format!("{flag} {value:?} is not a number"));
        match flag.as_str() {
            "--lines-per-round" => demo.lines_per_round = number()?,
            "--rounds" => demo.rounds = Some(number()?).filter(|&rounds| rounds > 0),
            "--seed" => demo.seed = number()?,
            "--pause-ms" => demo.pause_ms = number()?,
            "--in-flight" => demo.in_flight = number()?.max(1),
            "--threads" => options.threads = number()? as usize,
            "--connect-timeout-ms" => options.connect_timeout = Duration::from_millis(number()?),
            "--ready-dir" => demo.ready_dir = Some(value.into()),
            "--panic-worker" => panic_worker = Some(number()? as usize),
            "--panic-round" => panic_round = Some(number()?),
            "--plan" => plan = value,
            "--exit-before-connect" => exit_before_connect = Some(number()? as usize),
            _ => bail!("unknown flag {flag}"),
        }
    }
    demo.panic_at = panic_worker.zip(panic_round);
    if let (Some(fail), Mode::Member(topology)) = (exit_before_connect, &mode) {
        if topology.process == fail {
            bail!("process {fail} stops before connecting (--exit-before-connect)");
        }
    }

    let topology = match &mode {
        Mode::Member(topology) => Some(topology),
        _ => None,
    };
    let identity = JobIdentity::new("cluster_wordcount_demo", &plan);
    let results = execute(topology, &identity, &options, move |worker| demo.run(worker))?;
    if topology.is_none_or(|topology| topology.process == 0) {
        use std::io::Write;
        let mut out = std::io::stdout().lock();
        for (word, count) in &results[0] {
            writeln!(out, "{word} {count}")?;
        }
    }
    Ok(ExitCode::SUCCESS)
}
