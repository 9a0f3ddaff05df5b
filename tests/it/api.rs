//! The rest of Spark's DStream API (issue 17): the batch API inside `transform`, static
//! datasets, the one-duration windows, `remember` / `slice`. Each against an oracle over
//! random input, at random thread counts, and Spark's documented examples.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};

use proptest::prelude::*;
use stream_runtime::chain::Erased;
use stream_runtime::testing::{run, Harness};
use stream_runtime::{DStream, Dataset, Duration, Str, Time};

use crate::{sorted, THREADS};

type Rows = Vec<Vec<(u8, i64)>>;

fn batches() -> impl Strategy<Value = Rows> {
    prop::collection::vec(
        prop_oneof![1 => Just(Vec::new()), 3 => prop::collection::vec((0..12u8, -20..20i64), 0..12)],
        1..=10,
    )
}

fn secs(n: usize) -> Duration {
    Duration::seconds(n as i64)
}

/// Every record of the batches in `(t - window, t]` (times in batches, input batch `i` at `i + 1`).
fn window_records(input: &Rows, t: usize, window: usize) -> Vec<(u8, i64)> {
    input[t.saturating_sub(window)..t].concat()
}

/// The records of `pairs` above -10, in a window of `w` batches, or not windowed when `w` is 0:
/// the two branches have one type.
fn pick(pairs: DStream<'_, (u8, i64)>, w: usize) -> DStream<'_, (u8, i64), Erased<(u8, i64)>> {
    let p = pairs.filter(|(_, v)| *v > -10);
    if w > 0 {
        p.window_of(secs(w))
    } else {
        p.erased()
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 32, ..ProptestConfig::default() })]

    /// The one-duration forms slide every batch: at `t`, the window `(t - w, t]`.
    #[test]
    fn one_duration_windows_slide_every_batch(input in batches(), window in 1..5usize, threads in 1..=4usize) {
        let n = input.len();
        let got = sorted(run(input.clone(), threads, |s| s.window_of(secs(window))));
        let want: Vec<Vec<(u8, i64)>> = (1..=n).map(|t| sorted(vec![window_records(&input, t, window)]).remove(0)).collect();
        prop_assert_eq!(got, want);

        let got = sorted(run(input.clone(), threads, |s| s.reduce_by_key_and_window_of(|a, b| a + b, secs(window))));
        let want: Vec<Vec<(u8, i64)>> = (1..=n)
            .map(|t| {
                let mut m = BTreeMap::new();
                for (k, v) in window_records(&input, t, window) {
                    *m.entry(k).or_insert(0) += v;
                }
                m.into_iter().collect()
            })
            .collect();
        prop_assert_eq!(got, want);

        let got: Vec<Vec<(u8, Vec<i64>)>> = sorted(
            run(input.clone(), threads, |s| s.group_by_key_and_window_of(secs(window)))
                .into_iter()
                .map(|b| b.into_iter().map(|(k, vs)| (k, sorted(vec![vs]).remove(0))).collect())
                .collect(),
        );
        let want: Vec<Vec<(u8, Vec<i64>)>> = (1..=n)
            .map(|t| {
                let mut m: BTreeMap<u8, Vec<i64>> = BTreeMap::new();
                for (k, v) in window_records(&input, t, window) {
                    m.entry(k).or_default().push(v);
                }
                m.into_iter().map(|(k, mut vs)| { vs.sort(); (k, vs) }).collect()
            })
            .collect();
        prop_assert_eq!(got, want);
    }

    /// Inside `transform`: a join with a static dataset, a reduce by key, `distinct`,
    /// `subtract` and `top`, each batch against the same computed with maps.
    #[test]
    fn the_batch_api_inside_transform_matches_the_oracle(
        input in batches(), table in prop::collection::vec((0..12u8, 0..3i64), 0..10), threads in 1..=4usize,
    ) {
        let lookup: BTreeMap<u8, Vec<i64>> = table.iter().fold(BTreeMap::new(), |mut m, (k, v)| {
            m.entry(*k).or_insert_with(Vec::new).push(*v);
            m
        });
        let got = sorted(run(input.clone(), threads, |s| {
            let d = s.context().parallelize(table.clone());
            s.transform(move |b, _t| b.join(&d).map(|(k, (v, w))| (k, v * w)).reduce_by_key(|a, b| a + b))
        }));
        let want: Vec<Vec<(u8, i64)>> = input
            .iter()
            .map(|b| {
                let mut m = BTreeMap::new();
                for (k, v) in b {
                    for w in lookup.get(k).into_iter().flatten() {
                        *m.entry(*k).or_insert(0) += v * w;
                    }
                }
                m.into_iter().collect()
            })
            .collect();
        prop_assert_eq!(got, want);

        let got = run(input.clone(), threads, |s| {
            s.transform(|b, _t| {
                let keys = b.clone().map(|(k, _)| k);
                let evens = keys.clone().filter(|k| k % 2 == 0);
                let top = keys.distinct().subtract(evens).top(3);
                stream_runtime::Batch::from(top)
            })
        });
        let want: Vec<Vec<u8>> = input
            .iter()
            .map(|b| b.iter().map(|(k, _)| *k).filter(|k| k % 2 == 1).collect::<BTreeSet<u8>>().into_iter().rev().take(3).collect())
            .collect();
        prop_assert_eq!(got, want);
    }

    /// `remember(d)` then `slice(from, to)` after the run: the batches at times in
    /// `[from, to]` younger than `d` at the last batch.
    #[test]
    fn slice_gives_the_remembered_batches_of_a_range(input in batches(), keep in 1..6usize, from in 0..12usize, to in 0..12usize) {
        let handle = Arc::new(Mutex::new(None));
        let h = Arc::clone(&handle);
        let errors = Harness::new(2).run(input.clone(), move |s| {
            *h.lock().unwrap() = Some(s.clone().remember(secs(keep)));
            s.foreach_batch(|_, _| {});
        });
        prop_assert!(errors.is_empty());
        let remembered = handle.lock().unwrap().take().unwrap();
        let got: Vec<(usize, Vec<(u8, i64)>)> = remembered
            .slice(Time::from_millis(from as i64 * 1000), Time::from_millis(to as i64 * 1000))
            .into_iter()
            .map(|(t, b)| ((t.as_millis() / 1000) as usize, b.collect()))
            .collect();
        let n = input.len();
        let want: Vec<(usize, Vec<(u8, i64)>)> =
            (1..=n).filter(|&t| t > n.saturating_sub(keep) && t >= from && t <= to).map(|t| (t, input[t - 1].clone())).collect();
        prop_assert_eq!(got, want);
    }
}

/// Spark's programming guide, "Transform Operation": join each batch with a static dataset
/// of spam information, then filter on it.
#[test]
fn sparks_spam_filter_by_join_with_a_static_dataset() {
    for threads in THREADS {
        let input = vec![vec![Str::from("ham spam ham"), Str::from("eggs")], vec![Str::from("spam")]];
        let out =
            sorted(run(input, threads, |lines| {
                let spam_info = lines.context().parallelize(vec![(Str::from("spam"), true), (Str::from("ham"), false)]);
                lines.flat_map(|l| l.split(' ')).map(|w| (w, 1)).reduce_by_key(|a, b| a + b).transform(
                    move |rdd, _t| rdd.join(&spam_info).filter(|(_, (_, spam))| !spam).map(|(w, (n, _))| (w, n)),
                )
            }));
        assert_eq!(out, vec![vec![(Str::from("ham"), 2)], vec![]]);
    }
}

/// The blacklist example: a blacklist file read once (`text_file`), its words subtracted from
/// every batch inside `transform`.
#[test]
fn blacklist_from_a_file_filters_every_batch() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("blacklist");
    std::fs::write(&path, "spam\r\nscam\n").unwrap();
    for threads in THREADS {
        let url = path.to_string_lossy().to_string();
        let out =
            sorted(run(vec![vec![Str::from("a spam b")], vec![Str::from("scam scam c")]], threads, move |lines| {
                let blacklist: Dataset<(Str, ())> = lines.context().text_file(&url).unwrap().map_to_keys();
                lines
                    .flat_map(|l| l.split(' '))
                    .map(|w| (w, ()))
                    .transform(move |b, _t| b.subtract_by_key(&blacklist).map(|(w, ())| w))
            }));
        assert_eq!(out, vec![vec![Str::from("a"), Str::from("b")], vec![Str::from("c")]]);
    }
    let missing = stream_runtime::StreamingContext::new(Duration::seconds(1)).text_file("/no/such/file").unwrap_err();
    assert!(missing.to_string().contains("/no/such/file"), "{missing}");
}

/// Moves a file with `contents` into `dir` whole (written in `staging`, then renamed).
fn move_in(dir: &std::path::Path, staging: &std::path::Path, name: &str, contents: &[u8]) {
    let tmp = staging.join(name);
    std::fs::write(&tmp, contents).unwrap();
    std::fs::rename(&tmp, dir.join(name)).unwrap();
}

/// `binary_records_stream` and `file_stream` on the system clock: every record of files moved
/// in after the start, once; a trailing partial record left out.
#[test]
fn record_file_streams_read_every_record_of_new_files_once() {
    use rand::{Rng, SeedableRng};
    for threads in THREADS {
        let root = tempfile::tempdir().unwrap();
        let (dir, staging) = (root.path().join("in"), root.path().join("staging"));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::create_dir_all(&staging).unwrap();
        let records: Arc<Mutex<Vec<u32>>> = Arc::default();
        let files: Arc<Mutex<Vec<(String, usize)>>> = Arc::default();
        let ssc = stream_runtime::StreamingContext::new(Duration::millis(100)).with_threads(threads);
        let sink = Arc::clone(&records);
        ssc.binary_records_stream(&dir.to_string_lossy(), 4)
            .map(|r| u32::from_le_bytes([r[0], r[1], r[2], r[3]]))
            .foreach_batch(move |b, _| sink.lock().unwrap().extend(b.collect()));
        let sink = Arc::clone(&files);
        ssc.file_stream(
            &dir.to_string_lossy(),
            stream_runtime::RecordReader::whole_files(),
            stream_runtime::FileStreamOptions::default(),
        )
        .map(|(path, bytes)| (path.rsplit('/').next().unwrap_or_default().to_string(), bytes.len()))
        .foreach_batch(move |b, _| sink.lock().unwrap().extend(b.collect()));
        let running = ssc.start().unwrap();
        assert!(sluice_tests::wait_until(std::time::Duration::from_secs(10), || running.batches_completed() >= 1));
        let mut rng = rand::rngs::StdRng::seed_from_u64(threads as u64);
        let mut want = Vec::new();
        let mut want_files = Vec::new();
        for i in 0..5 {
            let values: Vec<u32> = (0..rng.gen_range(0..50)).map(|_| rng.gen()).collect();
            let mut bytes: Vec<u8> = values.iter().flat_map(|v| v.to_le_bytes()).collect();
            if i == 3 {
                bytes.extend([1, 2]); // a partial record: left out
            }
            want.extend(values);
            want_files.push((format!("f{i}.bin"), bytes.len()));
            move_in(&dir, &staging, &format!("f{i}.bin"), &bytes);
        }
        want.sort();
        want_files.sort();
        let done = sluice_tests::wait_until(std::time::Duration::from_secs(10), || {
            records.lock().unwrap().len() >= want.len() && files.lock().unwrap().len() >= want_files.len()
        });
        // A few batches more: nothing is read twice.
        let now = running.batches_completed();
        assert!(sluice_tests::wait_until(std::time::Duration::from_secs(10), || running.batches_completed() >= now + 3));
        running.stop(true);
        assert!(done, "{threads} threads");
        let mut got = records.lock().unwrap().clone();
        got.sort();
        assert_eq!(got, want, "{threads} threads");
        let mut got_files = files.lock().unwrap().clone();
        got_files.sort();
        assert_eq!(got_files, want_files, "{threads} threads");
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    /// The test kit's scenario builder: three inputs, two collected outputs (a union joined
    /// with a third input, and the union's count), against a from-scratch oracle per batch.
    #[test]
    fn a_scenario_with_three_inputs_and_two_outputs_matches_the_oracle(
        a in batches(), b in batches(), c in batches(), threads in 1..=4usize,
    ) {
        let ((joined, counts), errors) = stream_runtime::testing::Harness::new(threads).scenario(|t| {
            let (sa, sb, sc) = (t.input(a.clone()), t.input(b.clone()), t.input(c.clone()));
            let both = sa.union(sb);
            (t.output(both.clone().join(sc)), t.output(both.count()))
        });
        prop_assert!(errors.is_empty(), "{:?}", errors);
        let n = a.len().max(b.len()).max(c.len());
        let at = |x: &Rows, i: usize| x.get(i).cloned().unwrap_or_default();
        let mut want_joined = Vec::new();
        let mut want_counts = Vec::new();
        for i in 0..n {
            let union = [at(&a, i), at(&b, i)].concat();
            let mut j = Vec::new();
            for (k, v) in &union {
                for (k2, w) in at(&c, i) {
                    if *k == k2 {
                        j.push((*k, (*v, w)));
                    }
                }
            }
            want_joined.push(j);
            want_counts.push(vec![union.len() as u64]);
        }
        prop_assert_eq!(sorted(joined.batches()), sorted(want_joined));
        prop_assert_eq!(counts.batches(), want_counts);
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 32, ..ProptestConfig::default() })]

    /// Oracle: an erased stream gives what the same stream gives unerased, with operations
    /// after `erased` fused on, when read by one operation, and when two readers share it (the
    /// shared partitions are cloned, not emptied by the first reader); streams of different
    /// shapes erased to one type mix in `StreamingContext::union`.
    #[test]
    fn erased_streams_give_what_the_same_stream_gives(input in batches(), threads in 1..=4usize, big in any::<bool>()) {
        // Large batches run on several threads; small ones on one.
        let input: Rows = if big { input.iter().map(|b| b.iter().cycle().take(b.len() * 300).cloned().collect()).collect() } else { input };
        let plain = sorted(run(input.clone(), threads, |s| s.filter(|(_, v)| *v > -10).map(|(k, v)| (k, v * 2)).reduce_by_key(|a, b| a + b)));
        let erased = sorted(run(input.clone(), threads, |s| s.filter(|(_, v)| *v > -10).erased().map(|(k, v)| (k, v * 2)).reduce_by_key(|a, b| a + b)));
        prop_assert_eq!(&erased, &plain);
        let doubled: Vec<Vec<(u8, i64)>> = plain.iter().map(|b| b.iter().map(|(k, v)| (*k, v * 2)).collect()).collect();
        let shared = sorted(run(input.clone(), threads, |s| {
            let e = s.filter(|(_, v)| *v > -10).map(|(k, v)| (k, v * 2)).erased();
            e.clone().union(e).reduce_by_key(|a, b| a + b)
        }));
        prop_assert_eq!(shared, doubled);
        let ((mixed,), errors) = Harness::new(threads).scenario(|t| {
            let a = t.input(input.clone());
            let b = t.input(input.clone());
            let ctx = t.context();
            let mixed = ctx.union(vec![a.erased(), b.filter(|(k, _)| *k < 6).map(|(k, v)| (k, -v)).erased()]);
            (t.output(mixed.reduce_by_key(|x, y| x + y)),)
        });
        prop_assert!(errors.is_empty());
        let want: Vec<Vec<(u8, i64)>> = input
            .iter()
            .map(|b| {
                let mut m = BTreeMap::new();
                for (k, v) in b {
                    *m.entry(*k).or_insert(0) += v;
                    if *k < 6 {
                        *m.entry(*k).or_insert(0) -= v;
                    }
                }
                m.into_iter().collect()
            })
            .collect();
        prop_assert_eq!(sorted(mixed.batches()), want);
    }

    /// Issue 17's shape: `if w > 0 { p.window_of(w) } else { p.erased() }` is one type. Both
    /// branches give the oracle's window (a window of one batch is the batch), whether the
    /// stream is read by a fused operation, by `union` (which reads a window's node directly),
    /// or by both at once.
    #[test]
    fn a_window_and_its_parent_are_one_type(input in batches(), w in 0..4usize, threads in 1..=4usize) {
        let ((fused, united, both), errors) = Harness::new(threads).scenario(|t| {
            let s = pick(t.input(input.clone()), w);
            let fused = t.output(s.reduce_by_key(|a, b| a + b));
            let s = pick(t.input(input.clone()), w);
            let united = t.output(s.clone().union(s).reduce_by_key(|a, b| a + b));
            let s = pick(t.input(input.clone()), w);
            let both = (t.output(s.clone().map(|(k, v)| (k, v * 3)).reduce_by_key(|a, b| a + b)), t.output(s.window_of(secs(1))));
            (fused, united, both)
        });
        prop_assert!(errors.is_empty(), "{:?}", errors);
        let window: Vec<Vec<(u8, i64)>> = (1..=input.len())
            .map(|t| window_records(&input, t, w.max(1)).into_iter().filter(|(_, v)| *v > -10).collect())
            .collect();
        let sums = |k: i64| -> Vec<Vec<(u8, i64)>> {
            window
                .iter()
                .map(|b| {
                    let mut m = BTreeMap::new();
                    for (key, v) in b {
                        *m.entry(*key).or_insert(0) += v * k;
                    }
                    m.into_iter().collect()
                })
                .collect()
        };
        prop_assert_eq!(sorted(fused.batches()), sums(1));
        prop_assert_eq!(sorted(united.batches()), sums(2));
        prop_assert_eq!(sorted(both.0.batches()), sums(3));
        prop_assert_eq!(sorted(both.1.batches()), sorted(window));
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 16, ..ProptestConfig::default() })]

    /// Every batch `save_as_object_files` writes reads back with `read_object_files` as it was,
    /// and `save_as_text_files_with` writes one formatted line per record.
    #[test]
    fn saved_batches_read_back_as_written(input in batches(), threads in 1..=4usize) {
        let dir = tempfile::tempdir().unwrap();
        let objects = dir.path().join("obj").to_string_lossy().into_owned();
        let text = dir.path().join("txt").to_string_lossy().into_owned();
        let (o, t) = (objects.clone(), text.clone());
        let errors = Harness::new(threads).run(input.clone(), move |s| {
            s.clone().save_as_object_files(&o, "bin");
            s.save_as_text_files_with(&t, "", |(k, v)| format!("{k};{v}"));
        });
        prop_assert!(errors.is_empty(), "{:?}", errors);
        for (i, batch) in input.iter().enumerate() {
            let ms = (i + 1) * 1000;
            let mut want = batch.clone();
            want.sort();
            let mut back: Vec<(u8, i64)> = stream_runtime::read_object_files(&format!("{objects}-{ms}.bin")).unwrap();
            back.sort();
            prop_assert_eq!(&back, &want);
            let mut lines = Vec::new();
            for entry in std::fs::read_dir(format!("{text}-{ms}")).unwrap() {
                let path = entry.unwrap().path();
                if path.file_name().unwrap().to_string_lossy().starts_with("part-") {
                    lines.extend(std::fs::read_to_string(&path).unwrap().lines().map(String::from));
                }
            }
            lines.sort();
            let mut want_lines: Vec<String> = want.iter().map(|(k, v)| format!("{k};{v}")).collect();
            want_lines.sort();
            prop_assert_eq!(lines, want_lines);
        }
    }
}

/// Spark's BasicOperationsSuite "slice": input `[1] | [2] | [3] | [4]` (batches at 1000 to
/// 4000 ms), then `slice(0,1000)={1}`, `slice(0,2000)={1,2}`, `slice(1000,2000)={1,2}`,
/// `slice(2000,4000)={2,3,4}`.
#[test]
fn sparks_slice_case() {
    let handle = Arc::new(Mutex::new(None));
    let h = Arc::clone(&handle);
    let input: Vec<Vec<i32>> = vec![vec![1], vec![2], vec![3], vec![4]];
    let errors = Harness::new(2).run(input, move |s| {
        *h.lock().unwrap() = Some(s.clone().remember(Duration::seconds(60)));
        s.foreach_batch(|_, _| {});
    });
    assert!(errors.is_empty(), "{errors:?}");
    let remembered = handle.lock().unwrap().take().unwrap();
    let slice = |from: i64, to: i64| -> BTreeSet<i32> {
        remembered
            .slice(Time::from_millis(from), Time::from_millis(to))
            .into_iter()
            .flat_map(|(_, b)| {
                let v: Vec<i32> = b.collect();
                v
            })
            .collect()
    };
    assert_eq!(slice(0, 1000), BTreeSet::from([1]));
    assert_eq!(slice(0, 2000), BTreeSet::from([1, 2]));
    assert_eq!(slice(1000, 2000), BTreeSet::from([1, 2]));
    assert_eq!(slice(2000, 4000), BTreeSet::from([2, 3, 4]));
}

/// Spark's WindowOperationsSuite `window(2s, 1s)` on `[0] | [1] | ... | [5]`, written with
/// the one-duration form (the slide is the batch interval):
/// `⟦0⟧ | ⟦0,1⟧ | ⟦1,2⟧ | ⟦2,3⟧ | ⟦3,4⟧ | ⟦4,5⟧`.
#[test]
fn sparks_window_case_with_the_one_duration_form() {
    for t in THREADS {
        let input: Vec<Vec<i32>> = (0..6).map(|i| vec![i]).collect();
        let out = sorted(run(input, t, |s| s.window_of(Duration::seconds(2))));
        assert_eq!(out, vec![vec![0], vec![0, 1], vec![1, 2], vec![2, 3], vec![3, 4], vec![4, 5]], "{t} threads");
    }
}

/// Spark's InputStreamsSuite "binary records stream": `binaryRecordsStream(dir, 1)`, file `i`
/// holding the bytes `b + i` for `b` in `1..=5`, gives for each file one batch of those five
/// one-byte records (each file moved in once the previous one was read).
#[test]
fn sparks_binary_records_case() {
    let root = tempfile::tempdir().unwrap();
    let (dir, staging) = (root.path().join("in"), root.path().join("staging"));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::create_dir_all(&staging).unwrap();
    let batches: Arc<Mutex<Vec<Vec<Vec<u8>>>>> = Arc::default();
    let ssc = stream_runtime::StreamingContext::new(Duration::millis(100)).with_threads(2);
    let sink = Arc::clone(&batches);
    ssc.binary_records_stream(&dir.to_string_lossy(), 1).foreach_batch(move |b, _| {
        let records: Vec<Vec<u8>> = b.collect();
        if !records.is_empty() {
            sink.lock().unwrap().push(records);
        }
    });
    let running = ssc.start().unwrap();
    assert!(sluice_tests::wait_until(std::time::Duration::from_secs(10), || running.batches_completed() >= 1));
    for i in 0..3u8 {
        let bytes: Vec<u8> = (1..=5).map(|b| b + i).collect();
        move_in(&dir, &staging, &format!("{i}"), &bytes);
        let read =
            sluice_tests::wait_until(std::time::Duration::from_secs(10), || batches.lock().unwrap().len() > i as usize);
        assert!(read, "file {i} was not read");
        let want: Vec<Vec<u8>> = bytes.iter().map(|b| vec![*b]).collect();
        let mut got = batches.lock().unwrap()[i as usize].clone();
        got.sort();
        assert_eq!(got, want, "file {i}");
    }
    running.stop(true);
    assert_eq!(batches.lock().unwrap().len(), 3, "no file read twice");
}
