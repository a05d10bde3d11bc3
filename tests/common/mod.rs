//! Code shared by integration tests.

pub mod alloc_scenario;
