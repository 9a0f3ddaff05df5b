//! `minihdfs`: run an HDFS namenode + datanode until Ctrl-C.
//!
//! Usage: `minihdfs [--data-dir DIR] [--port PORT] [--datanode-port PORT] [--block-size BYTES] [--bind IP]`
#![forbid(unsafe_code)]

use std::process::ExitCode;

use minihdfs::{Config, MiniHdfs};

const USAGE: &str =
    "usage: minihdfs [--data-dir DIR] [--port PORT] [--datanode-port PORT] [--block-size BYTES] [--bind IP]";

fn parse_args() -> Result<Config, String> {
    let mut config = Config::new("minihdfs-data");
    config.namenode_port = 9000;
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        if flag == "-h" || flag == "--help" {
            return Err(USAGE.to_string());
        }
        let value = args.next().ok_or_else(|| format!("{flag} needs a value\n{USAGE}"))?;
        let bad = |e: &dyn std::fmt::Display| format!("invalid value {value:?} for {flag}: {e}");
        match flag.as_str() {
            "--data-dir" => config.data_dir = value.into(),
            "--port" => config.namenode_port = value.parse().map_err(|e| bad(&e))?,
            "--datanode-port" => config.datanode_port = value.parse().map_err(|e| bad(&e))?,
            "--block-size" => config.block_size = value.parse().map_err(|e| bad(&e))?,
            "--bind" => config.bind = value.parse().map_err(|e| bad(&e))?,
            other => return Err(format!("unknown argument {other}\n{USAGE}")),
        }
    }
    Ok(config)
}

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "minihdfs=info".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let config = match parse_args() {
        Ok(c) => c,
        Err(msg) => {
            eprintln!("{msg}");
            return ExitCode::from(2);
        }
    };
    let data_dir = config.data_dir.clone();
    let hdfs = match MiniHdfs::start(config) {
        Ok(h) => h,
        Err(e) => {
            eprintln!("minihdfs: {e}");
            return ExitCode::FAILURE;
        }
    };
    println!("{}", hdfs.url());
    eprintln!(
        "minihdfs serving {} (datanode {}, data in {}); Ctrl-C to stop",
        hdfs.url(),
        hdfs.datanode_addr(),
        data_dir.display()
    );
    let signal = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map(|rt| rt.block_on(tokio::signal::ctrl_c()));
    if let Err(e) | Ok(Err(e)) = signal {
        eprintln!("minihdfs: cannot wait for Ctrl-C: {e}");
    }
    hdfs.shutdown();
    ExitCode::SUCCESS
}
