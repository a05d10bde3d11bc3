//! Generates include/rcgc.h with cbindgen (written only when its bytes
//! change, so an unchanged header keeps its timestamp) and the list of C
//! programs the test harness runs (one Rust test per file).

use std::path::Path;
use std::{env, fs};

fn main() {
    let dir = env::var("CARGO_MANIFEST_DIR").unwrap();
    let dir = Path::new(&dir);
    println!("cargo:rerun-if-changed=src");
    println!("cargo:rerun-if-changed=cbindgen.toml");
    println!("cargo:rerun-if-changed=c_tests");
    println!("cargo:rerun-if-changed=examples");

    let config = cbindgen::Config::from_file(dir.join("cbindgen.toml")).expect("cbindgen.toml");
    let bindings = cbindgen::Builder::new()
        .with_crate(dir)
        .with_config(config)
        .generate()
        .expect("cbindgen could not generate include/rcgc.h");
    let mut header = Vec::new();
    bindings.write(&mut header);
    let path = dir.join("include/rcgc.h");
    if fs::read(&path).ok().as_deref() != Some(&header[..]) {
        fs::create_dir_all(dir.join("include")).unwrap();
        fs::write(&path, &header).unwrap();
    }

    let mut tests = String::new();
    for folder in ["c_tests", "examples"] {
        let Ok(entries) = fs::read_dir(dir.join(folder)) else {
            continue;
        };
        let mut names: Vec<String> = entries
            .filter_map(|e| e.ok()?.file_name().into_string().ok())
            .filter_map(|n| n.strip_suffix(".c").map(str::to_owned))
            .collect();
        names.sort();
        for name in names {
            let ident: String = name
                .chars()
                .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
                .collect();
            tests += &format!(
                "#[test]\nfn {folder}_{ident}() {{\n    run_c_program(\"{folder}\", \"{name}\");\n}}\n"
            );
        }
    }
    let out = env::var("OUT_DIR").unwrap();
    fs::write(Path::new(&out).join("c_programs.rs"), tests).unwrap();
}
