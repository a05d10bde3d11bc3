//! Allocation failure, outside checked mode: see common/alloc_scenario.rs.

mod common;

#[test]
fn every_allocation_failure_leaves_a_consistent_heap() {
    let n = common::alloc_scenario::fail_every_allocation_in_turn();
    println!("allocation failure injected at each of the first {n} allocations");
}
