//! The Sluice side of `benches/spark/compare.sh`: runs one workload of
//! [`sluice_benches::compare`] and writes its per-batch times and final counts.
#![forbid(unsafe_code)]

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (workload, run) = match sluice_benches::compare::parse_args(&args) {
        Ok(parsed) => parsed,
        Err(e) => {
            eprintln!("{e}");
            std::process::exit(2);
        }
    };
    if let Err(e) = sluice_benches::compare::run(workload, &run) {
        eprintln!("sluice-compare {workload:?}: {e}");
        std::process::exit(1);
    }
}
