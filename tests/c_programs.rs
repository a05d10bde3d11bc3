//! Compiles every C program in `c_tests/` (one scenario each) and
//! `examples/` against the library this `cargo test` built, runs it twice
//! (as it comes, and with `RCGC_BIAS=0`), and fails when it exits non-zero. build.rs emits one `#[test]` per file, so a
//! failure names the scenario.

use std::path::{Path, PathBuf};
use std::process::Command;

/// The directory holding the librcgc.so built for this test run.
fn lib_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("test executable path");
    let deps = exe.parent().expect("target/<profile>/deps");
    [deps, deps.parent().expect("target/<profile>")]
        .into_iter()
        .find(|d| d.join("librcgc.so").exists())
        .expect("librcgc.so next to the test binary")
        .to_path_buf()
}

fn run_c_program(folder: &str, name: &str) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let out = Path::new(env!("CARGO_TARGET_TMPDIR")).join(folder);
    std::fs::create_dir_all(&out).unwrap();
    let exe = out.join(name);
    let lib = lib_dir();
    let cc = std::env::var("CC").unwrap_or_else(|_| "cc".into());
    let status = Command::new(&cc)
        .args([
            "-std=c11", "-g", "-O1", "-Wall", "-Wextra", "-Werror", "-pthread",
        ])
        .arg(format!("-I{}", root.join("include").display()))
        .arg(format!("-I{}", root.join("c_tests").display()))
        .arg(root.join(folder).join(format!("{name}.c")))
        .arg("-o")
        .arg(&exe)
        .arg(format!("-L{}", lib.display()))
        .arg("-lrcgc")
        .arg(format!("-Wl,-rpath,{}", lib.display()))
        .status()
        .unwrap_or_else(|e| panic!("cannot run {cc}: {e}"));
    assert!(status.success(), "{folder}/{name}.c did not compile");
    // Twice: as it comes, and with the bias off (RCGC_BIAS=0), the paths
    // every thread takes once a second thread has used the library (atomic
    // counts, lock-free sections for the fields, the real heap lock).
    for bias in [None, Some("0")] {
        let mut cmd = Command::new(&exe);
        if let Some(v) = bias {
            cmd.env("RCGC_BIAS", v);
        }
        let run = cmd.output().expect("run the C program");
        print!("{}", String::from_utf8_lossy(&run.stdout));
        eprint!("{}", String::from_utf8_lossy(&run.stderr));
        assert!(
            run.status.success(),
            "{folder}/{name} failed (RCGC_BIAS={}): {}",
            bias.unwrap_or("unset"),
            run.status
        );
    }
}

include!(concat!(env!("OUT_DIR"), "/c_programs.rs"));
