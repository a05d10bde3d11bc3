//! `gc_dump_heap`: the heap as a V8/Chrome heap snapshot (JSON) or as a
//! Graphviz DOT graph.
//!
//! The graph is built in memory with the heap lock held (names copied into
//! the string table, so nothing of the heap is read afterwards), then written
//! to the file with the lock released.
//!
//! The snapshot's shape (what DevTools and memlab read):
//! - node 0 is the synthetic root ""; its one edge goes to node 1, the
//!   synthetic "(held from outside)", which has an `element` edge to every
//!   object held from outside (count above its references from the heap);
//! - then every live tracked object in walk order, then every untracked
//!   object one of them references; node names are type names, self sizes
//!   object bytes, ids odd numbers (1 for the root);
//! - a field is an `element` edge named by its index, a payload reference
//!   (traverse hook) an `internal` edge named "payload", a weakref's target a
//!   `weak` edge named "target".
//!
//! Invariants: every edge's `to` is the index of a node of the same graph;
//! each node's edges are `edges[first..first + count]`, and together the
//! nodes' ranges cover every edge once (the snapshot writes them in node
//! order, as the format requires).

use super::{View, object_bytes};
use crate::heap::{AddrMap, Locked};
use crate::object::{Header, fields, for_each_child};
use std::collections::HashMap;
use std::ffi::{CStr, c_int};
use std::io::{self, BufWriter, Write};
use std::sync::atomic::Ordering::Relaxed;

/// `GC_DUMP_HEAPSNAPSHOT`.
pub(crate) const FORMAT_HEAPSNAPSHOT: c_int = 0;
/// `GC_DUMP_DOT`.
pub(crate) const FORMAT_DOT: c_int = 1;

#[derive(Clone, Copy, PartialEq, Eq)]
enum EdgeKind {
    /// A field (name: its index).
    Element,
    /// A payload reference (name: "payload").
    Internal,
    /// A weakref's target (name: "target").
    Weak,
}

struct Edge {
    kind: EdgeKind,
    /// Field index for `Element`, otherwise unused.
    index: usize,
    to: usize,
}

struct Node {
    /// Index into `Graph::strings`.
    name: usize,
    synthetic: bool,
    size: usize,
    /// `Graph::edges[first..first + count]`.
    first: usize,
    count: usize,
}

pub(crate) struct Graph {
    nodes: Vec<Node>,
    edges: Vec<Edge>,
    strings: Vec<String>,
}

struct Builder {
    graph: Graph,
    string_index: HashMap<String, usize>,
    node_of: AddrMap<usize>,
    /// Name string of each kind of object (0: plain, 1: weakref, else the
    /// type's address), so names are looked up once per type.
    name_of: AddrMap<usize>,
    /// Objects of the nodes (NULL for the two synthetic ones).
    objects: Vec<*mut Header>,
}

impl Builder {
    fn string(&mut self, s: &str) -> usize {
        if let Some(&i) = self.string_index.get(s) {
            return i;
        }
        let i = self.graph.strings.len();
        self.graph.strings.push(s.to_owned());
        self.string_index.insert(s.to_owned(), i);
        i
    }

    /// The node of `h`, added if new.
    ///
    /// # Safety
    /// Lock held; `h` is live.
    unsafe fn node(&mut self, h: *mut Header) -> usize {
        if let Some(&i) = self.node_of.get(&(h as usize)) {
            return i;
        }
        // SAFETY: caller's contract.
        let (kind, size) = unsafe {
            (
                if (*h).is_weakref() {
                    1
                } else {
                    (*h).ty() as usize
                },
                object_bytes(h),
            )
        };
        let name = match self.name_of.get(&kind) {
            Some(&name) => name,
            None => {
                // SAFETY: caller's contract.
                let text = unsafe { crate::gc::debug::type_name(h) }.to_string_lossy();
                let name = self.string(&text);
                self.name_of.insert(kind, name);
                name
            }
        };
        let i = self.graph.nodes.len();
        self.graph.nodes.push(Node {
            name,
            synthetic: false,
            size,
            first: 0,
            count: 0,
        });
        self.objects.push(h);
        self.node_of.insert(h as usize, i);
        i
    }
}

/// Builds the graph of the live heap (see the module docs).
pub(crate) fn build(g: &Locked) -> Result<Graph, c_int> {
    let view = View::new(g)?;
    let mut b = Builder {
        graph: Graph {
            nodes: Vec::new(),
            edges: Vec::new(),
            strings: Vec::new(),
        },
        string_index: HashMap::new(),
        node_of: AddrMap::default(),
        name_of: AddrMap::default(),
        objects: vec![std::ptr::null_mut(); 2],
    };
    let n = view.all.len() + 2;
    let nomem = || crate::error::fail(crate::error::GC_ERR_NOMEM, c"gc_dump_heap: out of memory");
    if !crate::alloc::reserve(|| b.node_of.try_reserve(n))
        || !crate::alloc::reserve(|| b.graph.nodes.try_reserve(n))
        || !crate::alloc::reserve(|| b.objects.try_reserve(n))
    {
        return Err(nomem());
    }
    for name in ["", "(held from outside)"] {
        let name = b.string(name);
        b.graph.nodes.push(Node {
            name,
            synthetic: true,
            size: 0,
            first: 0,
            count: 0,
        });
    }
    // SAFETY (whole build): lock held; every object met is live.
    unsafe {
        for &h in &view.all {
            b.node(h);
        }
        // Root -> (held from outside).
        b.graph.nodes[0].count = 1;
        b.graph.edges.push(Edge {
            kind: EdgeKind::Element,
            index: 0,
            to: 1,
        });
        // Edges of the objects (untracked nodes are appended as met; they
        // have no edges).
        let mut i = 2;
        while i < b.graph.nodes.len() {
            let h = b.objects[i];
            let first = b.graph.edges.len();
            let mut nonnull = 0;
            for (k, slot) in fields(h).iter().enumerate() {
                let c = slot.load(Relaxed);
                if !c.is_null() {
                    nonnull += 1;
                    let to = b.node(c);
                    b.graph.edges.push(Edge {
                        kind: EdgeKind::Element,
                        index: k,
                        to,
                    });
                }
            }
            let mut children = Vec::new();
            if (*h).is_tracked() {
                for_each_child(h, |c| children.push(c));
            }
            for &c in children.iter().skip(nonnull) {
                let to = b.node(c);
                b.graph.edges.push(Edge {
                    kind: EdgeKind::Internal,
                    index: 0,
                    to,
                });
            }
            if (*h).is_weakref() {
                let t = crate::weakref::data(h).target.load(Relaxed);
                if !t.is_null() {
                    let to = b.node(t);
                    b.graph.edges.push(Edge {
                        kind: EdgeKind::Weak,
                        index: 0,
                        to,
                    });
                }
            }
            b.graph.nodes[i].first = first;
            b.graph.nodes[i].count = b.graph.edges.len() - first;
            i += 1;
        }
        // (held from outside) -> each held object.
        let first = b.graph.edges.len();
        for i in 2..b.graph.nodes.len() {
            if view.held(b.objects[i]) {
                let index = b.graph.edges.len() - first;
                b.graph.edges.push(Edge {
                    kind: EdgeKind::Element,
                    index,
                    to: i,
                });
            }
        }
        b.graph.nodes[1].first = first;
        b.graph.nodes[1].count = b.graph.edges.len() - first;
    }
    // Edge names.
    b.string("payload");
    b.string("target");
    Ok(b.graph)
}

/// A JSON string literal (quotes included).
fn json_string(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for ch in s.chars() {
        match ch {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// The text of a DOT string literal (without the quotes).
fn dot_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for ch in s.chars() {
        match ch {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            c if (c as u32) < 0x20 => out.push(' '),
            c => out.push(c),
        }
    }
    out
}

/// An output buffer with a hand-written decimal formatter.
#[derive(Default)]
struct Numbers(Vec<u8>);

impl Numbers {
    fn bytes(&mut self, b: &[u8]) {
        self.0.extend_from_slice(b);
    }
    fn num(&mut self, mut v: usize) {
        let mut digits = [0u8; 20];
        let mut i = digits.len();
        loop {
            i -= 1;
            digits[i] = b'0' + (v % 10) as u8;
            v /= 10;
            if v == 0 {
                break;
            }
        }
        self.0.extend_from_slice(&digits[i..]);
    }
    fn flush(&mut self, w: &mut impl Write) -> io::Result<()> {
        w.write_all(&self.0)?;
        self.0.clear();
        Ok(())
    }
    fn flush_if_full(&mut self, w: &mut impl Write) -> io::Result<()> {
        if self.0.len() >= 1 << 16 {
            self.flush(w)?;
        }
        Ok(())
    }
}

const NODE_FIELDS: usize = 7;
const NODE_OBJECT: usize = 3;
const NODE_SYNTHETIC: usize = 9;
const EDGE_ELEMENT: usize = 1;
const EDGE_INTERNAL: usize = 3;
const EDGE_WEAK: usize = 6;

impl Graph {
    fn string_of(&self, s: &str) -> usize {
        self.strings
            .iter()
            .position(|x| x == s)
            .expect("edge names are in the table")
    }

    /// Writes the V8 heap snapshot JSON.
    pub(crate) fn write_heapsnapshot(&self, w: &mut impl Write) -> io::Result<()> {
        // Millions of numbers: formatted by hand into a buffer written out
        // in large pieces (core::fmt costs more than the rest of the dump).
        let mut buf = Numbers::default();
        let payload = self.string_of("payload");
        let target = self.string_of("target");
        w.write_all(
            br#"{"snapshot":{"meta":{"node_fields":["type","name","id","self_size","edge_count","trace_node_id","detachedness"],"node_types":[["hidden","array","string","object","code","closure","regexp","number","native","synthetic","concatenated string","sliced string","symbol","bigint","object shape"],"string","number","number","number","number","number"],"edge_fields":["type","name_or_index","to_node"],"edge_types":[["context","element","property","internal","hidden","shortcut","weak"],"string_or_number","node"],"trace_function_info_fields":["function_id","name","script_name","script_id","line","column"],"trace_node_fields":["id","function_info_index","count","size","children"],"sample_fields":["timestamp_us","last_assigned_id"],"location_fields":["object_index","script_id","line","column"]},"#,
        )?;
        write!(
            w,
            "\"node_count\":{},\"edge_count\":{},\"trace_function_count\":0}},\n\"nodes\":[",
            self.nodes.len(),
            self.edges.len()
        )?;
        for (i, n) in self.nodes.iter().enumerate() {
            let ty = if n.synthetic {
                NODE_SYNTHETIC
            } else {
                NODE_OBJECT
            };
            if i > 0 {
                buf.bytes(b",\n");
            }
            for v in [ty, n.name, 2 * i + 1, n.size, n.count] {
                buf.num(v);
                buf.bytes(b",");
            }
            buf.bytes(b"0,0");
            buf.flush_if_full(w)?;
        }
        buf.flush(w)?;
        w.write_all(b"],\n\"edges\":[")?;
        // Each node's edges, in node order (consumers find a node's edges by
        // summing the edge counts of the nodes before it).
        let in_node_order = self
            .nodes
            .iter()
            .flat_map(|n| &self.edges[n.first..n.first + n.count]);
        for (i, e) in in_node_order.enumerate() {
            let (ty, name) = match e.kind {
                EdgeKind::Element => (EDGE_ELEMENT, e.index),
                EdgeKind::Internal => (EDGE_INTERNAL, payload),
                EdgeKind::Weak => (EDGE_WEAK, target),
            };
            if i > 0 {
                buf.bytes(b",\n");
            }
            buf.num(ty);
            buf.bytes(b",");
            buf.num(name);
            buf.bytes(b",");
            buf.num(e.to * NODE_FIELDS);
            buf.flush_if_full(w)?;
        }
        buf.flush(w)?;
        w.write_all(
            b"],\n\"trace_function_infos\":[],\"trace_tree\":[],\"samples\":[],\"locations\":[],\n\"strings\":[",
        )?;
        for (i, s) in self.strings.iter().enumerate() {
            let sep = if i == 0 { "" } else { ",\n" };
            write!(w, "{sep}{}", json_string(s))?;
        }
        w.write_all(b"]}\n")
    }

    /// Writes the DOT graph (the root node "" is left out).
    pub(crate) fn write_dot(&self, w: &mut impl Write) -> io::Result<()> {
        writeln!(w, "digraph rcgc {{")?;
        writeln!(w, "  node [shape=box, fontname=\"Helvetica\"];")?;
        writeln!(w, "  edge [fontname=\"Helvetica\", fontsize=10];")?;
        for (i, n) in self.nodes.iter().enumerate().skip(1) {
            let name = &self.strings[n.name];
            let name = dot_escape(name);
            if n.synthetic {
                writeln!(w, "  n{i} [label=\"{name}\", shape=ellipse];")?;
            } else {
                writeln!(w, "  n{i} [label=\"{name}\\n#{i}, {} B\"];", n.size)?;
            }
        }
        for (i, n) in self.nodes.iter().enumerate().skip(1) {
            for e in &self.edges[n.first..n.first + n.count] {
                let to = e.to;
                match e.kind {
                    EdgeKind::Element if i == 1 => writeln!(w, "  n{i} -> n{to};")?,
                    EdgeKind::Element => writeln!(w, "  n{i} -> n{to} [label=\"{}\"];", e.index)?,
                    EdgeKind::Internal => {
                        writeln!(w, "  n{i} -> n{to} [label=\"payload\", style=dashed];")?
                    }
                    EdgeKind::Weak => writeln!(
                        w,
                        "  n{i} -> n{to} [label=\"weak\", style=dotted, arrowhead=empty];"
                    )?,
                }
            }
        }
        writeln!(w, "}}")
    }
}

/// `gc_dump_heap`: builds the graph under the lock, writes it without.
pub(crate) fn dump(path: &CStr, format: c_int) -> Result<(), c_int> {
    use std::os::unix::ffi::OsStrExt;
    let graph = build(&crate::heap::lock())?;
    let path = std::path::Path::new(std::ffi::OsStr::from_bytes(path.to_bytes()));
    let io_err = |_| {
        crate::error::fail(
            crate::error::GC_ERR_IO,
            c"gc_dump_heap: the file could not be written",
        )
    };
    let file = std::fs::File::create(path).map_err(io_err)?;
    let mut w = BufWriter::with_capacity(1 << 16, file);
    match format {
        FORMAT_DOT => graph.write_dot(&mut w),
        _ => graph.write_heapsnapshot(&mut w),
    }
    .and_then(|()| w.flush())
    .map_err(io_err)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_strings_are_escaped() {
        assert_eq!(json_string("a\"b\\c\nd"), r#""a\"b\\c\u000ad""#);
        assert_eq!(json_string("Node"), "\"Node\"");
    }

    #[test]
    fn dot_labels_are_escaped() {
        assert_eq!(dot_escape("a\"b\\c\nd\te"), r#"a\"b\\c\nd e"#);
    }

    #[test]
    fn numbers_are_decimal() {
        let mut n = Numbers::default();
        for v in [0, 7, 10, 1234567890, usize::MAX] {
            n.num(v);
            n.bytes(b",");
        }
        let text = String::from_utf8(n.0).unwrap();
        assert_eq!(text, format!("0,7,10,1234567890,{},", usize::MAX));
    }
}
