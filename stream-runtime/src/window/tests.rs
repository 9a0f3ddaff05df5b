use super::two_stacks::TwoStacks;

/// A small seeded generator.
fn lcg(state: &mut u64) -> u64 {
    *state = state.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
    *state >> 33
}

#[test]
fn two_stacks_matches_a_naive_queue_in_order() {
    // String concatenation is associative but not commutative, so order mistakes show.
    let f = |a: String, b: String| a + &b;
    let mut q = TwoStacks::new();
    let mut naive: std::collections::VecDeque<String> = std::collections::VecDeque::new();
    let mut rng = 42u64;
    for i in 0..2_000 {
        if lcg(&mut rng) % 3 != 0 || naive.is_empty() {
            let v = format!("{},", i % 97);
            q.push(v.clone(), &f);
            naive.push_back(v);
        } else {
            q.pop(&f);
            naive.pop_front();
        }
        assert_eq!(q.len(), naive.len());
        let expected = naive.iter().cloned().reduce(|a, b| a + &b);
        assert_eq!(q.query(&f), expected, "after step {i}");
    }
}

#[test]
fn two_stacks_empties_cleanly() {
    let f = |a: i64, b: i64| a.max(b);
    let mut q = TwoStacks::new();
    for v in [3, 1, 2] {
        q.push(v, &f);
    }
    assert_eq!(q.query(&f), Some(3));
    q.pop(&f);
    assert_eq!(q.query(&f), Some(2));
    q.pop(&f);
    q.pop(&f);
    assert!(q.is_empty());
    assert_eq!(q.query(&f), None);
    q.pop(&f);
    assert!(q.is_empty());
}
