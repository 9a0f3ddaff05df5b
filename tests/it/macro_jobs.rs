//! The example jobs compiled by `#[stream_job]` against the same pipelines built by hand on
//! the runtime API, on the test kit, and against a from-scratch count: identical printed
//! output, batch by batch, at 1 and 4 threads.

use std::collections::BTreeMap;

use jobs::file_wordcount::FILE_WORDCOUNT;
use jobs::kafka_wordcount::KAFKA_WORDCOUNT;
use jobs::network_wordcount::NETWORK_WORDCOUNT;
use stream_runtime::prelude::*;
use stream_runtime::{format_batch, StreamJob, StreamingError};

use crate::THREADS;

/// Seeded batches of lines of words from a small vocabulary (with empty words from double
/// spaces, as Spark's `split(" ")` gives), and one empty batch.
fn batches(seed: u64) -> Vec<Vec<String>> {
    let vocabulary = ["to", "be", "or", "not", "that", "is", "the", "question", "", "Be"];
    let mut state = seed;
    let mut next = move |n: u64| {
        state = state.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        (state >> 33) % n
    };
    let mut out: Vec<Vec<String>> = (0..5)
        .map(|_| {
            (0..next(40))
                .map(|_| (0..1 + next(12)).map(|_| vocabulary[next(10) as usize]).collect::<Vec<_>>().join(" "))
                .collect()
        })
        .collect();
    out.insert(2, Vec::new());
    out
}

/// The hand-built pipeline of both jobs.
fn by_hand(input: Vec<Vec<String>>, threads: usize) -> Vec<Vec<(Str, i32)>> {
    let input: Vec<Vec<Str>> = input.into_iter().map(|b| b.into_iter().map(Str::from).collect()).collect();
    stream_runtime::testing::run(input, threads, |lines| {
        lines.flat_map(|line| line.split(' ')).map(|word| (word, 1)).reduce_by_key(|a, b| a + b)
    })
}

/// Counts words from scratch.
fn oracle(batch: &[String]) -> Vec<String> {
    let mut counts = BTreeMap::new();
    for word in batch.iter().flat_map(|l| l.split(' ')) {
        *counts.entry(word).or_insert(0) += 1;
    }
    counts.into_iter().map(|(w, n)| format!("({w},{n})")).collect()
}

fn assert_same_as_by_hand(job: StreamJob, args: &[&str]) {
    for seed in [1, 7] {
        let input = batches(seed);
        for threads in THREADS {
            let simulated = job.simulate(args).threads(threads).input(input.clone()).run().unwrap();
            assert!(simulated.errors.is_empty(), "{:?}", simulated.errors);
            let expected = by_hand(input.clone(), threads);
            assert_eq!(simulated.printed.len(), input.len(), "one print per batch");
            for (i, (printed, hand)) in simulated.printed.iter().zip(&expected).enumerate() {
                let time = Time::from_millis(0) + job.batch() * (i as i64 + 1);
                assert_eq!(printed.time, time);
                assert_eq!(printed.records, hand.iter().map(Show::show).collect::<Vec<_>>(), "batch {i}");
                assert_eq!(printed.text(), format_batch(time, hand.iter(), 10), "batch {i}");
                let mut counted = printed.records.clone();
                counted.sort();
                assert_eq!(counted, oracle(&input[i]), "batch {i}, {threads} threads");
            }
        }
    }
}

#[test]
fn network_wordcount_prints_what_the_hand_built_pipeline_does() {
    assert_same_as_by_hand(NETWORK_WORDCOUNT, &["localhost", "9999"]);
}

#[test]
fn file_wordcount_prints_what_the_hand_built_pipeline_does() {
    assert_same_as_by_hand(FILE_WORDCOUNT, &["/no/such/dir"]);
}

#[test]
fn kafka_wordcount_prints_what_the_hand_built_pipeline_does() {
    assert_same_as_by_hand(KAFKA_WORDCOUNT, &["localhost:9092", "words"]);
    assert_eq!(KAFKA_WORDCOUNT.batch(), Duration::seconds(2));
    assert_eq!(
        KAFKA_WORDCOUNT.plan(),
        "job kafka_wordcount (batch 2000 ms, 2 threads)\n\
         stage 0: kafka_text_stream(&brokers, &.., KafkaOptions::default()) -> flat_map -> map -> reduce_by_key \
         [map-side combine]   (fused)\n\
         \x20 shuffle: hash by key\n\
         stage 1 <- stage 0: reduce_by_key [merge] -> print(10)\n"
    );
}

#[test]
fn spark_network_wordcount_example_output() {
    let out = NETWORK_WORDCOUNT.simulate(["localhost", "9999"]).input(vec![vec!["to be or not to be"]]).run().unwrap();
    let mut counts = out.printed[0].records.clone();
    counts.sort();
    assert_eq!(counts, ["(be,2)", "(not,1)", "(or,1)", "(to,2)"]);
    assert!(out.printed[0].text().starts_with("-------------------------------------------\nTime: 1000 ms\n"));
}

#[test]
fn job_arguments_are_typed() {
    let err = NETWORK_WORDCOUNT.simulate(["localhost", "ninety"]).run().unwrap_err();
    assert!(
        matches!(&err, StreamingError::InvalidConfig(m) if m.contains("port") && m.contains("invalid digit")),
        "{err}"
    );
    let err = FILE_WORDCOUNT.simulate(Vec::<String>::new()).run().unwrap_err();
    assert!(err.to_string().contains("takes 1 argument(s) (dir), got 0"), "{err}");
}

#[test]
fn the_command_line_has_the_parameters_and_the_common_options() {
    let matches = NETWORK_WORDCOUNT
        .command()
        .try_get_matches_from(["nwc", "localhost", "9999", "--batch", "2s", "--master", "local[4]", "--duration", "5"])
        .unwrap();
    assert_eq!(matches.get_one::<String>("host").map(String::as_str), Some("localhost"));
    assert_eq!(matches.get_one::<Duration>("batch"), Some(&Duration::seconds(2)));
    let bad_port = NETWORK_WORDCOUNT.command().try_get_matches_from(["nwc", "localhost", "http"]).unwrap_err();
    assert!(bad_port.to_string().contains("invalid value 'http' for '[PORT]'"), "{bad_port}");
    assert!(
        NETWORK_WORDCOUNT.command().try_get_matches_from(["nwc", "--explain"]).is_ok(),
        "--explain needs no arguments"
    );
}

#[test]
fn explain_shows_the_fused_plan() {
    assert_eq!(
        NETWORK_WORDCOUNT.plan(),
        "job network_wordcount (batch 1000 ms, 2 threads)\n\
         stage 0: socket_text_stream(&host, port) -> flat_map -> map -> reduce_by_key [map-side combine]   (fused)\n\
         \x20 shuffle: hash by key\n\
         stage 1 <- stage 0: reduce_by_key [merge] -> print(10)\n"
    );
    assert_eq!(FILE_WORDCOUNT.batch(), Duration::seconds(2));
}

#[test]
fn the_job_function_stays_callable_on_any_context() {
    let dir = tempfile::tempdir().unwrap();
    let mut ssc = StreamingContext::new(Duration::millis(100)).with_threads(2);
    jobs::file_wordcount::file_wordcount(&mut ssc, dir.path().to_string_lossy().into_owned());
    let running = ssc.start().expect("the job's graph is valid");
    running.stop(false);
}

/// Running word counts: state across batches, checkpointed to `checkpoint` when started.
#[stream_job(batch = "1s")]
fn running_word_count(ssc: &mut StreamingContext, dir: String, checkpoint: String) {
    ssc.checkpoint(checkpoint);
    ssc.text_file_stream(&dir)
        .flat_map(|line| line.split(' '))
        .map(|word| (word, 1))
        .running_reduce_by_key(|a, b| a + b)
        .state_snapshots()
        .print_n(100);
}

#[test]
fn a_stateful_job_simulates_without_a_checkpoint_directory() {
    let tmp = tempfile::tempdir().unwrap();
    let ckpt = tmp.path().join("ckpt");
    let input = batches(3);
    for threads in THREADS {
        let out = RUNNING_WORD_COUNT
            .simulate(["/no/such/dir", ckpt.to_str().unwrap()])
            .threads(threads)
            .input(input.clone())
            .run()
            .unwrap();
        assert!(out.errors.is_empty(), "{:?}", out.errors);
        assert_eq!(out.printed.len(), input.len());
        // The state after batch i counts every word of batches 0..=i.
        for (i, printed) in out.printed.iter().enumerate() {
            let mut counted = printed.records.clone();
            counted.sort();
            assert_eq!(counted, oracle(&input[..=i].concat()), "batch {i}, {threads} threads");
        }
    }
    // The stepped driver validates without requiring the directory and writes nothing there.
    assert!(!ckpt.exists(), "the simulation created {}", ckpt.display());
}

/// Counts the non-empty words of `lines` into `counts`.
fn count_into<'a>(counts: &mut BTreeMap<&'a str, u64>, lines: impl IntoIterator<Item = &'a String>) {
    for word in lines.into_iter().flat_map(|l| l.split(' ')).filter(|w| !w.is_empty()) {
        *counts.entry(word).or_insert(0) += 1;
    }
}

fn shown(counts: &BTreeMap<&str, u64>) -> Vec<String> {
    counts.iter().map(|(w, n)| format!("({w},{n})")).collect()
}

#[test]
fn stateful_network_wordcount_prints_the_running_counts_every_batch() {
    let job = jobs::stateful_network_wordcount::STATEFUL_NETWORK_WORDCOUNT;
    for seed in [1, 7] {
        let input = batches(seed);
        for threads in THREADS {
            let out = job.simulate(["localhost", "9999"]).threads(threads).input(input.clone()).run().unwrap();
            assert!(out.errors.is_empty(), "{:?}", out.errors);
            assert_eq!(out.printed.len(), input.len(), "one print per batch");
            let mut running = BTreeMap::new();
            for (i, printed) in out.printed.iter().enumerate() {
                count_into(&mut running, &input[i]);
                let mut records = printed.records.clone();
                records.sort();
                assert_eq!(records, shown(&running), "batch {i}, {threads} threads");
            }
        }
    }
}

#[test]
fn windowed_network_wordcount_prints_each_window_every_slide() {
    let job = jobs::windowed_network_wordcount::WINDOWED_NETWORK_WORDCOUNT;
    assert_eq!(job.batch(), Duration::seconds(2));
    for seed in [1, 7] {
        let mut input = batches(seed);
        input.push(Vec::new());
        for threads in THREADS {
            // The options' defaults: a 6 s window sliding by 4 s.
            let out = job.simulate(["localhost", "9999"]).threads(threads).input(input.clone()).run().unwrap();
            assert!(out.errors.is_empty(), "{:?}", out.errors);
            // Every 4 s (every second batch), the window's word count, then its word counts.
            let ends: Vec<i64> = (1..=input.len() as i64 / 2).map(|k| 4000 * k).collect();
            for output in [0, 1] {
                let times: Vec<i64> =
                    out.printed.iter().filter(|p| p.output == output).map(|p| p.time.as_millis()).collect();
                assert_eq!(times, ends, "output {output}");
            }
            for p in &out.printed {
                // Batch i (0-based) is the data at (i + 1) * 2 s; the window is (end - 6 s, end].
                let end = p.time.as_millis();
                let window = (0..input.len()).filter(|i| (end - 6000 + 1..=end).contains(&(2000 * (*i as i64 + 1))));
                let mut counts = BTreeMap::new();
                count_into(&mut counts, window.flat_map(|i| &input[i]));
                let mut records = p.records.clone();
                records.sort();
                let expected = match p.output {
                    0 => vec![counts.values().sum::<u64>().to_string()],
                    _ => shown(&counts),
                };
                assert_eq!(records, expected, "window ending at {end}, output {}, {threads} threads", p.output);
            }
        }
    }
}

#[test]
fn windowed_network_wordcount_takes_its_window_and_slide_as_options() {
    let job = jobs::windowed_network_wordcount::WINDOWED_NETWORK_WORDCOUNT;
    let input = vec![vec!["a"], vec!["b"], vec!["c"], vec!["d"]];
    let windows = |args: &[&str]| {
        let out = job.simulate(args).input(input.clone()).run().unwrap();
        assert!(out.errors.is_empty(), "{:?}", out.errors);
        out.printed
            .iter()
            .filter(|p| p.output == 0)
            .map(|p| (p.time.as_millis(), p.records.clone()))
            .collect::<Vec<_>>()
    };
    // Given: a 4 s window every 2 s (every batch), in either option syntax, before or after
    // the positional arguments.
    let given =
        [(2000, vec!["1".to_string()]), (4000, vec!["2".into()]), (6000, vec!["2".into()]), (8000, vec!["2".into()])];
    assert_eq!(windows(&["localhost", "9999", "--window", "4s", "--slide", "2s"]), given);
    assert_eq!(windows(&["--slide=2s", "localhost", "--window=4s", "9999"]), given);
    // Absent: the defaults, a 6 s window every 4 s.
    assert_eq!(
        windows(&["localhost", "9999", "--slide", "4s"]),
        [(4000, vec!["2".to_string()]), (8000, vec!["3".into()])]
    );
    // Refused: a value that does not parse, an unknown option, an option without a value.
    let refused = |args: &[&str]| job.simulate(args).run().unwrap_err().to_string();
    let bad = refused(&["localhost", "9999", "--window", "soon"]);
    assert!(bad.starts_with("invalid configuration: invalid value \"soon\" for --window: invalid duration"), "{bad}");
    assert_eq!(
        refused(&["localhost", "9999", "--size", "4s"]),
        "invalid configuration: job windowed_network_wordcount has no option --size (its options: --window, --slide)"
    );
    assert_eq!(refused(&["localhost", "9999", "--slide"]), "invalid configuration: option --slide needs a value");
}
