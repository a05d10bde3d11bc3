//! Model-based randomized test: random operation sequences with fixed seeds,
//! checked step by step against a reference model of the heap (see
//! tests/model_support/mod.rs, shared with the fuzz target in fuzz/).
//!
//! The library has one global heap, so everything runs in one #[test].
//! MODEL_SEEDS=<n>, MODEL_OPS=<n>, MODEL_BIG_OPS=<n> run more.

mod model_support;

use model_support::*;
use std::time::Instant;

fn env(name: &str, default: usize) -> usize {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}


#[test]
fn model_random_sequences() {
    let seeds = env("MODEL_SEEDS", 20);
    let ops = env("MODEL_OPS", 2000);
    let big_ops = env("MODEL_BIG_OPS", 20000);
    let start = Instant::now();
    let mut total = Stats::default();
    // Small heaps: few handles, frequent collections.
    for k in 0..seeds as u64 {
        total.add(&run_seed(0x5eed_0000 + k, ops, false));
    }
    // Big heaps: thousands of objects.
    for k in 0..(seeds as u64 / 5).max(1) {
        total.add(&run_seed(0xb16_0000 + k, big_ops, true));
    }
    eprintln!(
        "model: {seeds} seeds x {ops} ops + {} x {big_ops}: {} ops applied, {} objects, {} collections, max {} alive, {:?}",
        (seeds / 5).max(1),
        total.ops,
        total.objects,
        total.collections,
        total.max_alive,
        start.elapsed()
    );
    for (k, v) in &total.cov {
        eprintln!("  {v:>8}  {k}");
    }
}
