//! Oracle tests: seeded random input through the engine, compared with a plain batch
//! recomputation of the same function.

use std::collections::BTreeMap;

use rand::{Rng, SeedableRng};
use stream_runtime::testing::{run, run2};

use crate::{sorted, THREADS};

fn random_batches(seed: u64, batches: usize) -> Vec<Vec<(u8, i64)>> {
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    (0..batches)
        .map(|_| {
            let n = rng.gen_range(0..400);
            (0..n).map(|_| (rng.gen_range(0..40u8), rng.gen_range(-50..50i64))).collect()
        })
        .collect()
}

#[test]
fn keyed_pipeline_matches_batch_recomputation() {
    for seed in 0..8 {
        let input = random_batches(seed, 6);
        let expected: Vec<Vec<(u8, i64)>> = input
            .iter()
            .map(|b| {
                let mut m = BTreeMap::new();
                for &(k, v) in b {
                    if v % 3 != 0 {
                        *m.entry(k / 2).or_insert(0) += v * 2;
                    }
                }
                m.into_iter().collect()
            })
            .collect();
        for t in THREADS {
            let out = run(input.clone(), t, |s| {
                s.filter(|(_, v)| v % 3 != 0).map(|(k, v)| (k / 2, v * 2)).reduce_by_key(|a, b| a + b)
            });
            assert_eq!(sorted(out), expected, "seed {seed}, {t} threads");
        }
    }
}

#[test]
fn counts_groups_and_joins_match_batch_recomputation() {
    for seed in 100..106 {
        let a = random_batches(seed, 4);
        let b = random_batches(seed + 1000, 4);
        for t in THREADS {
            let counts = run(a.clone(), t, |s| s.map(|(k, _)| k).count_by_value());
            let groups = run(a.clone(), t, |s| {
                s.group_by_key().map_values(|mut v| {
                    v.sort();
                    v
                })
            });
            let joined = run2(a.clone(), b.clone(), t, |x, y| x.join(y));
            let totals = run(a.clone(), t, |s| s.count());
            for i in 0..a.len() {
                let mut c = BTreeMap::new();
                let mut g: BTreeMap<u8, Vec<i64>> = BTreeMap::new();
                for &(k, v) in &a[i] {
                    *c.entry(k).or_insert(0u64) += 1;
                    g.entry(k).or_default().push(v);
                }
                g.values_mut().for_each(|v| v.sort());
                let mut j = Vec::new();
                for &(k, v) in &a[i] {
                    for &(k2, w) in &b[i] {
                        if k == k2 {
                            j.push((k, (v, w)));
                        }
                    }
                }
                j.sort();
                let mut got_c = counts[i].clone();
                got_c.sort();
                assert_eq!(
                    got_c,
                    c.into_iter().collect::<Vec<_>>(),
                    "count_by_value seed {seed} batch {i} threads {t}"
                );
                let mut got_g = groups[i].clone();
                got_g.sort();
                assert_eq!(got_g, g.into_iter().collect::<Vec<_>>(), "group_by_key seed {seed} batch {i}");
                let mut got_j = joined[i].clone();
                got_j.sort();
                assert_eq!(got_j, j, "join seed {seed} batch {i}");
                assert_eq!(totals[i], vec![a[i].len() as u64]);
            }
        }
    }
}
