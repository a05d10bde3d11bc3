//! The environment read at start (`RCGC_DEBUG`, `RCGC_LEAK_REPORT`) and the
//! leak report at exit.
//!
//! Invariants:
//! - `init` runs once, from the loader's `.init_array` (the entry lives in
//!   ffi/mod.rs, which every program using the library links), before any
//!   API call the host can make; it only reads the environment and registers the
//!   report with `atexit` (so it runs after the host's own later exit
//!   handlers, and before the library's `.fini_array` clean-up).
//! - The report never waits: if another thread holds the heap lock at exit
//!   it says so and prints nothing else. With no live object it prints
//!   nothing.

use super::{View, type_stats};
use crate::heap::Locked;
use crate::object::Header;
use std::ffi::CStr;
use std::fmt::Write as _;

/// The variable's value, if set and UTF-8.
fn env(name: &CStr) -> Option<String> {
    // SAFETY: getenv with a valid C string; the result is read at once.
    unsafe {
        let v = libc::getenv(name.as_ptr());
        if v.is_null() {
            return None;
        }
        CStr::from_ptr(v).to_str().ok().map(str::to_owned)
    }
}

/// Reads the environment at start (run from the loader's `.init_array`; the
/// entry is in ffi/mod.rs, see there).
pub(crate) extern "C" fn init() {
    if let Some(flags) = env(c"RCGC_DEBUG").and_then(|v| v.trim().parse::<i32>().ok()) {
        crate::gc::debug::set_flags(flags);
    }
    if env(c"RCGC_LEAK_REPORT").is_some_and(|v| v.trim() == "1") {
        // SAFETY: registers a plain extern "C" function.
        unsafe { libc::atexit(leak_report) };
    }
}

fn write_stderr(text: &str) {
    // SAFETY: writes a valid buffer to fd 2.
    unsafe { libc::write(2, text.as_ptr().cast(), text.len()) };
}

extern "C" fn leak_report() {
    let Some(g) = crate::heap::try_lock() else {
        write_stderr("rcgc: leak report skipped: another thread holds the heap lock\n");
        return;
    };
    let text = report(&g);
    drop(g);
    write_stderr(&text);
}

/// A chain as type names: `held: Graph -> Node -> Node`.
///
/// # Safety
/// Lock held; the objects are live.
unsafe fn names(chain: &[*mut Header]) -> String {
    let names: Vec<String> = chain
        .iter()
        // SAFETY: caller's contract.
        .map(|&h| {
            unsafe { crate::gc::debug::type_name(h) }
                .to_string_lossy()
                .into_owned()
        })
        .collect();
    compress(&names)
}

/// `held: A -> B -> C`; a run of more than three links of one type is
/// written `Type xN`.
fn compress(names: &[String]) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut i = 0;
    while i < names.len() {
        let run = names[i..].iter().take_while(|n| **n == names[i]).count();
        if run > 3 {
            parts.push(format!("{} x{run}", names[i]));
        } else {
            parts.extend(names[i..i + run].iter().cloned());
        }
        i += run;
    }
    format!("held: {}", parts.join(" -> "))
}

/// The report's text ("" when nothing is alive).
pub(crate) fn report(g: &Locked) -> String {
    let groups = type_stats(g);
    let objects: usize = groups.iter().map(|s| s.objects).sum();
    if objects == 0 {
        return String::new();
    }
    let bytes: usize = groups.iter().map(|s| s.bytes).sum();
    let mut out = String::new();
    let _ = writeln!(
        out,
        "rcgc: leak report: {objects} live objects, {bytes} bytes at exit"
    );
    // SAFETY: the names are valid C strings (static or the types').
    let name = |s: &super::GcTypeStats| unsafe { CStr::from_ptr(s.name) }.to_string_lossy();
    for s in &groups {
        let _ = writeln!(
            out,
            "rcgc:   {}: {} objects, {} bytes",
            name(s),
            s.objects,
            s.bytes
        );
    }
    let view = match View::new(g) {
        Ok(v) => v,
        Err(_) => {
            out.push_str("rcgc: (no memory for why-alive chains)\n");
            return out;
        }
    };
    // One search serves every group: its sample is the member reached
    // first (nearest to a held object); a group none of whose members is
    // reached is cyclic garbage (its sample: the first member in walk order).
    // SAFETY: lock held; every object met is live.
    let search = unsafe { view.search(None) };
    for s in groups.iter().take(3) {
        let group = name(s);
        let untracked = s.r#type.is_null() && group == "(untracked)";
        // SAFETY: lock held; the objects are live.
        let member = |h: &*mut Header| unsafe {
            if untracked {
                !(**h).is_tracked()
            } else {
                (**h).is_tracked() && crate::gc::debug::type_name(*h).to_string_lossy() == group
            }
        };
        let sample = search
            .order
            .iter()
            .find(|h| member(h))
            .or_else(|| view.all.iter().find(|h| member(h)))
            .copied();
        let Some(o) = sample else {
            let _ = writeln!(
                out,
                "rcgc: why alive: {group}: held from outside (no tracked object refers to one)"
            );
            continue;
        };
        match search.chain(o) {
            // SAFETY: lock held; the chain's objects are live.
            Some(chain) => {
                let _ = writeln!(out, "rcgc: why alive: {group} {o:p}: {}", unsafe {
                    names(&chain)
                });
            }
            None => {
                let _ = writeln!(
                    out,
                    "rcgc: why alive: {group} {o:p}: cyclic garbage that a gc_collect() would free"
                );
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runs_of_one_type_are_shortened() {
        let names = |v: &[&str]| compress(&v.iter().map(|s| s.to_string()).collect::<Vec<_>>());
        assert_eq!(
            names(&["Graph", "Node", "Node"]),
            "held: Graph -> Node -> Node"
        );
        assert_eq!(
            names(&["Bus", "L", "L", "L", "L", "Request"]),
            "held: Bus -> L x4 -> Request"
        );
        assert_eq!(names(&["Bus"]), "held: Bus");
    }
}
