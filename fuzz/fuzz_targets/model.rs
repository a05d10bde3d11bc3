//! The model-based test of tests/model.rs, driven by fuzzer bytes: each
//! byte (or pair) chooses the next operation or argument; the run ends when
//! the bytes do, releases everything and checks that a full collection frees
//! it all. The model is the same file as the test's. MODEL_ONE_WAY=back or
//! forward in the environment bends the stores one way, as the test's
//! child runs do (collections with no scan, src/order.rs).

#![no_main]

use libfuzzer_sys::fuzz_target;

#[path = "../../tests/model_support/mod.rs"]
mod model_support;

fuzz_target!(|data: &[u8]| {
    model_support::run_bytes(data);
});
