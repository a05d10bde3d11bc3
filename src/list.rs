//! Intrusive circular doubly linked lists of object headers (the generations
//! and the collector's working sets), in the style of CPython's PyGC_Head
//! lists.
//!
//! A list is a sentinel `Header` whose `next`/`prev` point to itself when
//! empty. Invariants outside a collection: for every node `n` in a list,
//! `n.next.prev == n` and `n.prev.next == n`, and the low 4 bits of both
//! links are 0 (headers are 16-aligned). During a collection gc/scan.rs
//! borrows `prev` for gc_refs and the scan's state bits; it restores this
//! invariant before any other code sees the lists.
//! All functions require the heap lock.

use crate::object::Header;
use std::sync::atomic::Ordering::Relaxed;

#[inline]
pub fn next(h: *const Header) -> *mut Header {
    // SAFETY (for all helpers here): callers pass live headers or sentinels.
    unsafe { (*h).next.load(Relaxed) as *mut Header }
}

#[inline]
pub fn prev(h: *const Header) -> *mut Header {
    // SAFETY: see `next`.
    unsafe { (*h).prev.load(Relaxed) as *mut Header }
}

#[inline]
pub fn set_next(h: *const Header, n: *const Header) {
    // SAFETY: see `next`.
    unsafe { (*h).next.store(n as usize, Relaxed) }
}

#[inline]
pub fn set_prev(h: *const Header, p: *const Header) {
    // SAFETY: see `next`.
    unsafe { (*h).prev.store(p as usize, Relaxed) }
}

pub fn init(head: *const Header) {
    set_next(head, head);
    set_prev(head, head);
}

pub fn is_empty(head: *const Header) -> bool {
    std::ptr::eq(next(head), head)
}

/// Appends `node` (not in any list) at the tail of `head`.
#[inline]
pub fn append(node: *const Header, head: *const Header) {
    let last = prev(head);
    set_prev(node, last);
    set_next(node, head);
    set_next(last, node);
    set_prev(head, node);
}

/// Unlinks `node` from its list and zeroes its links.
#[inline]
pub fn remove(node: *const Header) {
    let p = prev(node);
    let n = next(node);
    set_next(p, n);
    set_prev(n, p);
    set_next(node, std::ptr::null());
    set_prev(node, std::ptr::null());
}

/// `remove` for a node whose links its next owner sets (a dying object,
/// freed or queued): its own links are left as they were.
#[inline(always)]
pub fn unlink(node: *const Header) {
    let p = prev(node);
    let n = next(node);
    set_next(p, n);
    set_prev(n, p);
}

/// Moves `node` from its list to the tail of `head`.
pub fn move_to(node: *const Header, head: *const Header) {
    let p = prev(node);
    let n = next(node);
    set_next(p, n);
    set_prev(n, p);
    append(node, head);
}

/// Moves every node of `from` to the tail of `to`; `from` ends empty.
pub fn merge(from: *const Header, to: *const Header) {
    if is_empty(from) {
        return;
    }
    let to_last = prev(to);
    let first = next(from);
    let last = prev(from);
    set_next(to_last, first);
    set_prev(first, to_last);
    set_next(last, to);
    set_prev(to, last);
    init(from);
}

pub fn len(head: *const Header) -> usize {
    let mut n = 0;
    let mut h = next(head);
    while !std::ptr::eq(h, head) {
        n += 1;
        h = next(h);
    }
    n
}

/// A fresh sentinel, not yet initialized (call `init` once it has its final
/// address).
pub const fn sentinel() -> Header {
    use std::sync::atomic::AtomicUsize;
    Header {
        rc: crate::object::CountWord::sentinel(),
        next: AtomicUsize::new(0),
        prev: AtomicUsize::new(0),
        meta: 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn append_remove_merge() {
        let a = sentinel();
        let b = sentinel();
        let nodes: Vec<Header> = (0..4).map(|_| sentinel()).collect();
        init(&a);
        init(&b);
        assert!(is_empty(&a));
        for n in &nodes[..3] {
            append(n, &a);
        }
        append(&nodes[3], &b);
        assert_eq!(len(&a), 3);
        remove(&nodes[1]);
        assert_eq!(len(&a), 2);
        merge(&a, &b);
        assert!(is_empty(&a));
        assert_eq!(len(&b), 3);
        assert_eq!(next(&b) as *const Header, &nodes[3] as *const Header);
        move_to(&nodes[3], &a);
        assert_eq!(len(&a), 1);
        assert_eq!(len(&b), 2);
    }
}
