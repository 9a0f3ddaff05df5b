//! `cluster_check <dir> <out>`: the job the cluster tests run (see `jobs::cluster_check`).
#![forbid(unsafe_code)]
fn main() -> std::process::ExitCode {
    jobs::cluster_check::CLUSTER_CHECK.run()
}
