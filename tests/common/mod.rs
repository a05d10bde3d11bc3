//! Code shared by integration tests.

pub mod alloc_scenario;
pub mod payload_refs;
