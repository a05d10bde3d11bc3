//! Allocation failure in checked mode (registry entries allocate too): see
//! common/alloc_scenario.rs.

mod common;

#[test]
fn every_allocation_failure_leaves_a_consistent_heap_in_checked_mode() {
    rcgc::gc_set_checks(true);
    assert!(rcgc::gc_checks_enabled());
    let n = common::alloc_scenario::fail_every_allocation_in_turn();
    println!("checked mode: allocation failure injected at each of the first {n} allocations");
}
