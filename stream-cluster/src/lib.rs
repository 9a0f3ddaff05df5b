//! Groundwork for running a Sluice job as N processes over
//! [timely-dataflow](https://github.com/TimelyDataflow/timely-dataflow) (pinned at `=0.32.0`).
//!
//! - [`ClusterArgs`]: `--processes N --process I --hosts FILE` and `--local-cluster N`, validated
//!   into a [`Mode`] with one-line errors;
//! - [`connect`]: the TCP mesh built by us (no output, a deadline, peers named in errors) with a
//!   [`Hello`] handshake carrying the job id, the [`plan_fingerprint`] and the version;
//! - [`execute`]: timely workers over that mesh, fail-stop when a peer goes away or a worker
//!   panics ([`failstop`]);
//! - [`launch_local_cluster`]: N processes of the current binary on loopback, stopped together;
//! - [`stable_hash`]: the well-mixed hash that routes the demo's words;
//! - [`demo`]: a word count over all of it (`cluster_wordcount_demo`).
//!
//! ```
//! use stream_cluster::{execute, ClusterArgs, JobIdentity, Mode, RunOptions};
//!
//! let (args, _rest) = ClusterArgs::parse_from(Vec::<String>::new()).unwrap();
//! assert_eq!(args.validate().unwrap(), Mode::Single);
//! let identity = JobIdentity::new("hello", "plan text");
//! let peers = execute(None, &identity, &RunOptions::default(), |worker| worker.peers()).unwrap();
//! assert_eq!(peers, [1]);
//! ```
#![warn(missing_docs)]
#![deny(unsafe_code)]

pub mod config;
pub mod demo;
pub mod exchange;
pub mod failstop;
pub mod handshake;
pub mod hash;
pub mod launch;
pub mod net;
pub mod run;

pub use config::{ClusterArgs, ConfigError, Host, Mode, Topology};
pub use exchange::{ExchangeError, Exchanger, Tag};
pub use handshake::{HandshakeError, Hello, JobIdentity};
pub use hash::{plan_fingerprint, stable_hash, StableHasher};
pub use launch::{launch_local_cluster, LaunchError};
pub use net::{connect, Mesh, NetError};
pub use run::{default_threads, execute, execute_mesh, RunError, RunOptions};
