"""rcgc from Python, through ctypes.

Two layers:

* ``lib``: the C library itself, with ``argtypes``/``restype`` declared for
  every function of the C API (``lib.obj_new(2, 0)`` returns an int address
  or None, exactly as the C function returns a pointer or NULL). Ownership
  is the C API's: you incref and decref by hand.
* A thin Pythonic layer on top: :class:`Ref` owns one reference (a context
  manager; ``close()`` releases it), :class:`WeakRef` is a ``weakref.ref``
  look-alike whose callbacks run in Python, :class:`HostType` makes a
  ``GcType`` whose hooks are Python callables, ``callbacks`` mirrors
  ``gc.callbacks``, and ``collect``/``get_count``/... mirror the ``gc``
  module.

The library is found at ``$RCGC_LIB`` if set, else at ``target/release``
then ``target/debug`` of the repository this file lives in, else wherever
the system linker finds ``librcgc.so`` (an installed copy).

Callbacks from C into Python: every C hook or callback installed by this
module goes through one ctypes trampoline that lives as long as the module
(the ctypes callback objects must outlive every call from C), and looks the
Python callable up in a table. An exception raised inside a callback cannot
cross into C; it is stored and can be read with :func:`take_callback_errors`.
"""

import ctypes
import ctypes.util
import itertools
import os
import pathlib
import sys
import threading
import weakref as _pyweakref

__all__ = [
    "lib", "library_path", "RcgcError",
    "GcObjectP", "GcVisitFn", "GcTypeHook", "GcTraverseFn", "GcCallbackFn",
    "GcWeakCallback", "GcType", "GcCounts", "GcThresholds", "GcGenStats",
    "GcCallbackInfo", "GC_PHASE_START", "GC_PHASE_STOP",
    "GC_OK", "GC_ERR_NULL", "GC_ERR_INDEX", "GC_ERR_NOMEM", "GC_ERR_TYPE",
    "GC_ERR_INVALID", "FUNCTIONS", "MISSING_FUNCTIONS",
    "Ref", "Borrowed", "WeakRef", "HostType", "callbacks",
    "new", "collect", "get_count", "set_threshold", "get_threshold",
    "enable", "disable", "isenabled", "get_stats", "is_tracked",
    "is_finalized", "freeze", "unfreeze", "get_freeze_count", "getrefcount",
    "take_callback_errors", "last_error",
    # Memory
    "GcMemStats", "get_memory", "set_memory_limit", "get_memory_limit", "trim",
]

# --------------------------------------------------------------------------
# Loading the library

_REPO = pathlib.Path(__file__).resolve().parents[2]


def _candidates():
    env = os.environ.get("RCGC_LIB")
    if env:
        # An explicit choice: use it or fail, never fall back silently.
        return [env]
    paths = [str(_REPO / "target" / profile / "librcgc.so")
             for profile in ("release", "debug")]
    found = [p for p in paths if os.path.exists(p)]
    system = ctypes.util.find_library("rcgc")
    if system:
        found.append(system)
    return found or paths


def _load():
    errors = []
    for path in _candidates():
        try:
            return ctypes.CDLL(path), path
        except OSError as e:
            errors.append(f"{path}: {e}")
    raise ImportError("rcgc: cannot load librcgc.so (set RCGC_LIB, or run "
                      "`cargo build --release`):\n  " + "\n  ".join(errors))


lib, library_path = _load()

# --------------------------------------------------------------------------
# C types

# GcObject is opaque; a pointer to one travels as a c_void_p, so functions
# return an int address, or None for NULL.
GcObjectP = ctypes.c_void_p

GC_OK = 0
GC_ERR_NULL = -1
GC_ERR_INDEX = -2
GC_ERR_NOMEM = -3
GC_ERR_TYPE = -4
GC_ERR_INVALID = -5

GC_PHASE_START = 0
GC_PHASE_STOP = 1

GcVisitFn = ctypes.CFUNCTYPE(None, GcObjectP, ctypes.c_void_p)
GcTraverseFn = ctypes.CFUNCTYPE(None, GcObjectP, GcVisitFn, ctypes.c_void_p)
GcTypeHook = ctypes.CFUNCTYPE(None, GcObjectP)  # clear, finalize, destroy


class GcType(ctypes.Structure):
    _fields_ = [
        ("name", ctypes.c_char_p),
        ("traverse", GcTraverseFn),
        ("clear", GcTypeHook),
        ("finalize", GcTypeHook),
        ("destroy", GcTypeHook),
    ]


class GcCounts(ctypes.Structure):
    _fields_ = [("count0", ctypes.c_size_t), ("count1", ctypes.c_size_t),
                ("count2", ctypes.c_size_t)]


class GcThresholds(ctypes.Structure):
    _fields_ = [("threshold0", ctypes.c_size_t),
                ("threshold1", ctypes.c_size_t),
                ("threshold2", ctypes.c_size_t)]


class GcGenStats(ctypes.Structure):
    _fields_ = [("collections", ctypes.c_size_t),
                ("collected", ctypes.c_size_t),
                ("uncollectable", ctypes.c_size_t)]


class GcCallbackInfo(ctypes.Structure):
    _fields_ = [("generation", ctypes.c_int), ("collected", ctypes.c_size_t),
                ("uncollectable", ctypes.c_size_t),
                ("duration_ns", ctypes.c_uint64)]


class GcMemStats(ctypes.Structure):
    _fields_ = [("objects", ctypes.c_size_t), ("tracked", ctypes.c_size_t),
                ("bytes_in_use", ctypes.c_size_t),
                ("peak_bytes_in_use", ctypes.c_size_t),
                ("bytes_reserved", ctypes.c_size_t), ("limit", ctypes.c_size_t)]


# GcPhase is a C enum: passed as an int.
GcCallbackFn = ctypes.CFUNCTYPE(None, ctypes.c_int,
                                ctypes.POINTER(GcCallbackInfo), ctypes.c_void_p)
GcWeakCallback = ctypes.CFUNCTYPE(None, GcObjectP, ctypes.c_void_p)

_P = GcObjectP
_sz = ctypes.c_size_t
_int = ctypes.c_int
_i64 = ctypes.c_int64
_bool = ctypes.c_bool
_vp = ctypes.c_void_p

# name: (restype, argtypes), in the order of API.md (and of the header).
FUNCTIONS = {
    # Objects
    "obj_new": (_P, [_sz, _sz]),
    "obj_new_typed": (_P, [ctypes.POINTER(GcType), _sz, _sz]),
    "obj_incref": (None, [_P]),
    "obj_decref": (None, [_P]),
    "obj_refcount": (_sz, [_P]),
    "obj_set_field": (_int, [_P, _sz, _P]),
    "obj_get_field": (_P, [_P, _sz]),
    "obj_borrow_field": (_P, [_P, _sz]),
    "obj_nfields": (_sz, [_P]),
    "obj_payload": (_vp, [_P]),
    "obj_payload_size": (_sz, [_P]),
    "obj_type": (ctypes.POINTER(GcType), [_P]),
    "gc_last_error": (ctypes.c_char_p, []),
    "gc_last_error_code": (_int, []),
    # Collector
    "gc_collect": (_i64, []),
    "gc_collect_generation": (_i64, [_int]),
    "gc_get_count": (GcCounts, []),
    "gc_set_threshold": (None, [_sz, _sz, _sz]),
    "gc_get_threshold": (GcThresholds, []),
    "gc_enable": (None, []),
    "gc_disable": (None, []),
    "gc_isenabled": (_bool, []),
    "gc_get_stats": (GcGenStats, [_int]),
    "gc_is_tracked": (_bool, [_P]),
    "gc_is_finalized": (_bool, [_P]),
    "gc_freeze": (None, []),
    "gc_unfreeze": (None, []),
    "gc_get_freeze_count": (_sz, []),
    "gc_callback_add": (_int, [GcCallbackFn, _vp]),
    "gc_callback_remove": (_int, [GcCallbackFn, _vp]),
    "gc_lock": (None, []),
    "gc_unlock": (None, []),
    "gc_set_checks": (None, [_bool]),
    "gc_checks_enabled": (_bool, []),
    # Weak references
    "weakref_new": (_P, [_P, GcWeakCallback, _vp]),
    "weakref_get": (_P, [_P]),
    "obj_is_weakref": (_bool, [_P]),
    "weakref_count": (_sz, [_P]),
    # Memory
    "gc_get_memory": (GcMemStats, []),
    "gc_set_memory_limit": (_int, [_sz]),
    "gc_get_memory_limit": (_sz, []),
    "gc_trim": (_sz, []),
}

#: Functions of the contract that this librcgc.so does not export. Calling
#: one raises NotImplementedError; test_rcgc.py fails while this is not empty.
MISSING_FUNCTIONS = []


def _missing(name):
    def call(*args):
        raise NotImplementedError(f"{library_path} does not export {name}")
    call.__name__ = name
    return call


def _declare(functions):
    """Sets restype/argtypes of each function in `lib`; a function the
    library does not export becomes a stub raising NotImplementedError and
    is listed in MISSING_FUNCTIONS."""
    for name, (res, args) in functions.items():
        try:
            f = getattr(lib, name)
        except AttributeError:
            MISSING_FUNCTIONS.append(name)
            setattr(lib, name, _missing(name))
            continue
        f.restype = res
        f.argtypes = args


_declare(FUNCTIONS)


# --------------------------------------------------------------------------
# Errors

class RcgcError(Exception):
    """A failing rcgc call: ``code`` is the GC_ERR_* status."""

    def __init__(self, code, message):
        super().__init__(f"{message} (code {code})")
        self.code = code
        self.message = message


def last_error():
    """(code, message) of the last failing call on this thread."""
    msg = lib.gc_last_error()
    return lib.gc_last_error_code(), (msg.decode("utf-8", "replace") if msg else None)


def _raise_last(what):
    code, msg = last_error()
    raise RcgcError(code, f"{what}: {msg or 'failed'}")


def _check(status, what):
    if status != GC_OK:
        msg = lib.gc_last_error()
        raise RcgcError(status, f"{what}: {msg.decode('utf-8', 'replace') if msg else 'failed'}")


# --------------------------------------------------------------------------
# Callbacks from C: one trampoline per C signature, a table of Python
# callables keyed by the ctx token.
#
# Lock order: _lock guards only these Python tables and is never held
# across a call into the library. A collecting thread holds the heap lock
# and takes _lock in a trampoline; holding _lock while waiting for the heap
# lock would deadlock against it.

_lock = threading.RLock()
_tokens = itertools.count(1)
_callback_errors = []


def _record_error(where):
    exc = sys.exc_info()[1]
    _callback_errors.append((where, exc))


def take_callback_errors():
    """Return and forget the exceptions raised inside Python callbacks
    (they cannot propagate into C): a list of (where, exception)."""
    with _lock:
        errs = list(_callback_errors)
        _callback_errors.clear()
    return errs


# -- gc callbacks (mirrors gc.callbacks) ------------------------------------

_gc_callback_table = {}


def _gc_trampoline(phase, info_p, ctx):
    fn = _gc_callback_table.get(ctx)
    if fn is None:
        return
    try:
        info = info_p.contents
        fn("start" if phase == GC_PHASE_START else "stop", {
            "generation": info.generation,
            "collected": info.collected,
            "uncollectable": info.uncollectable,
            "duration_ns": info.duration_ns,
        })
    except BaseException:
        _record_error("gc callback")


_GC_TRAMPOLINE = GcCallbackFn(_gc_trampoline)


class _Callbacks:
    """``rcgc.callbacks``: like ``gc.callbacks``, a list of callables
    ``fn(phase, info)`` with phase "start" or "stop" and info a dict
    (generation, collected, uncollectable, duration_ns), called at the start
    and stop of every collection. Supports append, remove, clear, len, in,
    iteration."""

    def __init__(self):
        self._entries = []  # [(fn, token)], in the order added

    def append(self, fn):
        if not callable(fn):
            raise TypeError("gc callback must be callable")
        token = next(_tokens)
        with _lock:
            _gc_callback_table[token] = fn
            self._entries.append((fn, token))
        status = lib.gc_callback_add(_GC_TRAMPOLINE, token)
        if status != GC_OK:
            self._forget(token)
            _check(status, "gc_callback_add")

    def _forget(self, token):
        with _lock:
            _gc_callback_table.pop(token, None)
            self._entries = [(f, t) for f, t in self._entries if t != token]

    def remove(self, fn):
        with _lock:
            found = [t for f, t in self._entries if f is fn or f == fn]
        if not found:
            raise ValueError("callbacks.remove(x): x not in callbacks")
        token = found[0]
        _check(lib.gc_callback_remove(_GC_TRAMPOLINE, token), "gc_callback_remove")
        self._forget(token)

    def clear(self):
        for fn, _ in list(self._entries):
            self.remove(fn)

    def __len__(self):
        return len(self._entries)

    def __iter__(self):
        return iter([fn for fn, _ in self._entries])

    def __contains__(self, fn):
        return any(f is fn or f == fn for f, _ in self._entries)

    def __repr__(self):
        return f"rcgc.callbacks({[fn for fn, _ in self._entries]!r})"


callbacks = _Callbacks()


# -- weakref callbacks ------------------------------------------------------

# token -> (python callable, weakref.ref to the WeakRef wrapper or None)
_weak_callback_table = {}


def _weak_trampoline(wr_address, ctx):
    with _lock:
        entry = _weak_callback_table.pop(ctx, None)
    if entry is None:
        return
    fn, wrapper_ref = entry
    wrapper = wrapper_ref() if wrapper_ref is not None else None
    temporary = None
    try:
        if wrapper is None or wrapper.address is None:
            # The Python wrapper is gone or closed but the weakref object
            # lives on (stored in a field, say): hand the callback a wrapper
            # of its own, which takes its own reference.
            lib.obj_incref(wr_address)
            wrapper = temporary = WeakRef._adopt(wr_address, token=None)
        fn(wrapper)
    except BaseException:
        _record_error("weakref callback")
    finally:
        if temporary is not None:
            temporary.close()


_WEAK_TRAMPOLINE = GcWeakCallback(_weak_trampoline)


# -- type hooks --------------------------------------------------------------

# The GcType structs and their ctypes hook objects live here for the life of
# the process: C requires a type to outlive its objects, and objects can
# outlive any Python name for the type.
_host_types = []


class HostType:
    """A ``GcType`` whose hooks are Python callables.

    ``traverse(obj, visit)``: call ``visit(child)`` (an address, Ref or
    Borrowed) once per strong reference held in the payload, nothing else. ``clear(obj)``, ``finalize(obj)``,
    ``destroy(obj)``: as in the C API. ``obj`` is a :class:`Borrowed` view
    (the object's address and helpers; no reference is owned). Any hook may
    be None. The type is kept alive for the rest of the process.
    """

    def __init__(self, name, traverse=None, clear=None, finalize=None,
                 destroy=None):
        self.name = name
        self._name_bytes = name.encode("utf-8")
        self._py = {"traverse": traverse, "clear": clear,
                    "finalize": finalize, "destroy": destroy}
        kw = {"name": self._name_bytes}
        if traverse is not None:
            def c_traverse(obj, visit, ctx, _fn=traverse):
                try:
                    _fn(Borrowed(obj), lambda child: visit(_address(child), ctx))
                except BaseException:
                    _record_error(f"{name}.traverse")
            self._c_traverse = GcTraverseFn(c_traverse)
            kw["traverse"] = self._c_traverse
        for hook in ("clear", "finalize", "destroy"):
            fn = self._py[hook]
            if fn is None:
                continue

            def c_hook(obj, _fn=fn, _hook=hook):
                try:
                    _fn(Borrowed(obj))
                except BaseException:
                    _record_error(f"{name}.{_hook}")
            cfn = GcTypeHook(c_hook)
            setattr(self, "_c_" + hook, cfn)
            kw[hook] = cfn
        self.struct = GcType(**kw)
        with _lock:
            _host_types.append(self)

    def new(self, nfields=0, payload_size=0):
        """A new object of this type: a :class:`Ref` owning it."""
        return new(nfields, payload_size, type=self)

    def __repr__(self):
        return f"<rcgc.HostType {self.name!r}>"


# --------------------------------------------------------------------------
# Objects

class Borrowed:
    """A view of an object whose reference someone else owns (hook
    arguments, borrowed fields). Never releases anything."""

    __slots__ = ("address",)

    def __init__(self, address):
        self.address = address

    @property
    def refcount(self):
        return lib.obj_refcount(self.address)

    def payload(self, ctype=None):
        """The payload as a ctypes object of type ``ctype`` (default: a
        byte array of the payload's size), sharing the object's memory;
        None when the payload is empty."""
        return _payload(self.address, ctype)

    def get(self, i):
        """Field ``i`` as a new :class:`Ref`, or None."""
        return _get_field(self.address, i)

    def set(self, i, value):
        """Store ``value`` (a Ref, Borrowed, address or None) in field i."""
        _check(lib.obj_set_field(self.address, i, _address(value)),
               "obj_set_field")

    def new_ref(self):
        """A new :class:`Ref` to this object (takes a reference)."""
        lib.obj_incref(self.address)
        return Ref(self.address)

    def __eq__(self, other):
        return _address(other) == self.address if _is_objlike(other) else NotImplemented

    def __hash__(self):
        return hash(self.address)

    def __repr__(self):
        return f"<rcgc.Borrowed 0x{self.address:x}>"


def _is_objlike(x):
    return isinstance(x, (Ref, Borrowed))


def _address(value):
    if value is None:
        return None
    if isinstance(value, (Ref, Borrowed)):
        a = value.address
        if a is None:
            raise ValueError("rcgc: this reference was already released")
        return a
    if isinstance(value, int):
        return value
    raise TypeError(f"rcgc: expected Ref, Borrowed, int or None, got {type(value).__name__}")


def _payload(address, ctype):
    p = lib.obj_payload(address)
    if not p:
        return None
    if ctype is None:
        ctype = ctypes.c_ubyte * lib.obj_payload_size(address)
    elif ctypes.sizeof(ctype) > lib.obj_payload_size(address):
        raise ValueError(f"rcgc: {ctype.__name__} is larger than the payload")
    return ctype.from_address(p)


def _get_field(address, i):
    if i < 0 or i >= lib.obj_nfields(address):
        raise RcgcError(GC_ERR_INDEX, f"obj_get_field: index {i} out of range")
    got = lib.obj_get_field(address, i)
    return Ref(got) if got else None


class Ref:
    """Owns exactly one reference to a GcObject.

    ``close()`` (or leaving a ``with`` block) releases it; so does garbage
    collection of the Ref as a last resort, but prefer the explicit forms:
    rcgc's point is deterministic release. ``Ref(address)`` adopts a new
    reference returned by a ``lib`` call (it does not incref).
    """

    __slots__ = ("address", "__weakref__")

    def __init__(self, address):
        if not address:
            raise ValueError("rcgc.Ref: NULL object")
        self.address = address

    # -- ownership
    def close(self):
        """Release the reference (idempotent)."""
        a, self.address = self.address, None
        if a is not None:
            lib.obj_decref(a)

    def detach(self):
        """Give up ownership without releasing: returns the address, which
        the caller now owns (a new reference)."""
        a, self.address = self.address, None
        return a

    def new_ref(self):
        """Another Ref to the same object (an incref)."""
        lib.obj_incref(_address(self))
        return Ref(self.address)

    def borrow(self):
        return Borrowed(_address(self))

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False

    def __del__(self):
        try:
            self.close()
        except Exception:
            pass  # interpreter shutdown: the library may be gone

    @property
    def closed(self):
        return self.address is None

    # -- the object
    @property
    def refcount(self):
        return lib.obj_refcount(_address(self))

    @property
    def nfields(self):
        return lib.obj_nfields(_address(self))

    @property
    def payload_size(self):
        return lib.obj_payload_size(_address(self))

    def payload(self, ctype=None):
        """See :meth:`Borrowed.payload`."""
        return _payload(_address(self), ctype)

    @property
    def type(self):
        """The GcType pointer (ctypes), or None for plain objects."""
        t = lib.obj_type(_address(self))
        return t if t else None

    def get(self, i):
        """Field ``i`` as a new Ref (obj_get_field), or None if empty."""
        return _get_field(_address(self), i)

    def borrow_field(self, i):
        """Field ``i`` as a :class:`Borrowed` (obj_borrow_field), or None."""
        a = lib.obj_borrow_field(_address(self), i)
        return Borrowed(a) if a else None

    def set(self, i, value):
        """Field ``i`` takes its own reference to ``value`` (None clears)."""
        _check(lib.obj_set_field(_address(self), i, _address(value)),
               "obj_set_field")

    def __getitem__(self, i):
        return self.get(i)

    def __setitem__(self, i, value):
        self.set(i, value)

    @property
    def is_tracked(self):
        return lib.gc_is_tracked(_address(self))

    @property
    def is_finalized(self):
        return lib.gc_is_finalized(_address(self))

    @property
    def is_weakref(self):
        return lib.obj_is_weakref(_address(self))

    @property
    def weakref_count(self):
        return lib.weakref_count(_address(self))

    def __eq__(self, other):
        if not _is_objlike(other):
            return NotImplemented
        return self.address is not None and self.address == other.address

    def __hash__(self):
        return hash(self.address)

    def __repr__(self):
        if self.address is None:
            return "<rcgc.Ref released>"
        return f"<rcgc.Ref 0x{self.address:x} refcount={self.refcount}>"


def new(nfields=0, payload_size=0, type=None):
    """A new object: a :class:`Ref` owning its one reference."""
    if type is None:
        a = lib.obj_new(nfields, payload_size)
    else:
        t = type.struct if isinstance(type, HostType) else type
        a = lib.obj_new_typed(ctypes.byref(t), nfields, payload_size)
    if a is None:
        _raise_last("obj_new")
    return Ref(a)


class WeakRef(Ref):
    """Like ``weakref.ref``: ``WeakRef(target, callback=None)``;
    ``wr()`` returns a new :class:`Ref` to the target, or None once it died.

    The WeakRef owns one reference to the weakref *object* (a GcObject
    itself). ``callback(wr)`` runs once, from C, after the target died and
    the weakref was cleared (so ``wr()`` is None inside it), unless the
    weakref object died first.
    """

    __slots__ = ("_token",)

    def __init__(self, target, callback=None):
        token = None
        if callback is not None:
            if not callable(callback):
                raise TypeError("WeakRef callback must be callable")
            token = next(_tokens)
            # In the table before weakref_new: another thread may kill the
            # target, and run the callback, before weakref_new returns.
            with _lock:
                _weak_callback_table[token] = (callback, None)
        addr = lib.weakref_new(_address(target),
                               _WEAK_TRAMPOLINE if token else GcWeakCallback(),
                               token)
        if addr is None:
            if token is not None:
                with _lock:
                    _weak_callback_table.pop(token, None)
            _raise_last("weakref_new")
        Ref.__init__(self, addr)
        self._token = token
        if token is not None:
            with _lock:
                if token in _weak_callback_table:   # not already run
                    _weak_callback_table[token] = (callback, _pyweakref.ref(self))

    @classmethod
    def _adopt(cls, address, token):
        self = cls.__new__(cls)
        Ref.__init__(self, address)
        self._token = token
        return self

    def __call__(self):
        got = lib.weakref_get(_address(self))
        return Ref(got) if got else None

    def close(self):
        a = self.address
        if a is not None and self._token is not None and lib.obj_refcount(a) == 1:
            # Ours is the last reference: the weakref object dies now and its
            # callback can never run; forget it.
            with _lock:
                _weak_callback_table.pop(self._token, None)
        Ref.close(self)

    def __repr__(self):
        if self.address is None:
            return "<rcgc.WeakRef released>"
        t = lib.weakref_get(self.address)
        if t is None:
            return f"<rcgc.WeakRef 0x{self.address:x}; dead>"
        lib.obj_decref(t)
        return f"<rcgc.WeakRef 0x{self.address:x}; to 0x{t:x}>"


# --------------------------------------------------------------------------
# The gc module's functions

def collect(generation=2):
    """gc.collect(generation=2): the number of unreachable objects found."""
    n = lib.gc_collect() if generation == 2 else lib.gc_collect_generation(generation)
    if n < 0:
        raise RcgcError(n, f"gc_collect_generation({generation}): invalid generation")
    return n


def get_count():
    c = lib.gc_get_count()
    return (c.count0, c.count1, c.count2)


def set_threshold(threshold0, threshold1=None, threshold2=None):
    """Like gc.set_threshold: omitted thresholds keep their values."""
    t = lib.gc_get_threshold()
    lib.gc_set_threshold(threshold0,
                         t.threshold1 if threshold1 is None else threshold1,
                         t.threshold2 if threshold2 is None else threshold2)


def get_threshold():
    t = lib.gc_get_threshold()
    return (t.threshold0, t.threshold1, t.threshold2)


def enable():
    lib.gc_enable()


def disable():
    lib.gc_disable()


def isenabled():
    return bool(lib.gc_isenabled())


def get_stats():
    """Like gc.get_stats(): one dict per generation."""
    out = []
    for g in range(3):
        s = lib.gc_get_stats(g)
        out.append({"collections": s.collections, "collected": s.collected,
                    "uncollectable": s.uncollectable})
    return out


def is_tracked(obj):
    return bool(lib.gc_is_tracked(_address(obj)))


def is_finalized(obj):
    return bool(lib.gc_is_finalized(_address(obj)))


def freeze():
    lib.gc_freeze()


def unfreeze():
    lib.gc_unfreeze()


def get_freeze_count():
    return lib.gc_get_freeze_count()


def get_memory():
    """The memory figures (gc_get_memory) as a dict: objects, tracked,
    bytes_in_use, peak_bytes_in_use, bytes_reserved, limit."""
    m = lib.gc_get_memory()
    return {name: getattr(m, name) for name, _ in GcMemStats._fields_}


def set_memory_limit(nbytes):
    """A hard limit on bytes_in_use (0 or None: no limit). An allocation
    that would pass it, after a full collection, raises RcgcError with
    code GC_ERR_NOMEM."""
    _check(lib.gc_set_memory_limit(nbytes or 0), "gc_set_memory_limit")


def get_memory_limit():
    return lib.gc_get_memory_limit()


def trim():
    """Returns the pool pages holding no live object to the system; the
    bytes returned."""
    return lib.gc_trim()


def getrefcount(obj):
    """The object's refcount. Unlike sys.getrefcount, the call itself adds
    nothing: passing a Ref does not take a reference."""
    return lib.obj_refcount(_address(obj))


# ==========================================================================
# Introspection and finding what keeps memory alive (API.md v2): the gc
# module's get_objects, get_referrers, get_referents, set_debug/get_debug and
# garbage, plus why_alive, type_stats and dump_heap.
#
# The C walks call a visit function with the heap lock held; the visit
# functions here only take a reference to each object (obj_incref, allowed
# by the contract) and note its address, so the results are lists of
# :class:`Ref`, each owning one reference, built after the walk returned.

GC_ERR_IO = -6

GC_DEBUG_STATS = DEBUG_STATS = 1
GC_DEBUG_COLLECTABLE = DEBUG_COLLECTABLE = 2
GC_DEBUG_UNCOLLECTABLE = DEBUG_UNCOLLECTABLE = 4
GC_DEBUG_SAVEALL = DEBUG_SAVEALL = 32
GC_DEBUG_LEAK = DEBUG_LEAK = 38

GC_DUMP_HEAPSNAPSHOT = 0
GC_DUMP_DOT = 1

GcObjectVisitFn = ctypes.CFUNCTYPE(ctypes.c_int, GcObjectP, ctypes.c_void_p)


class GcTypeStats(ctypes.Structure):
    _fields_ = [("name", ctypes.c_char_p), ("type", ctypes.POINTER(GcType)),
                ("objects", ctypes.c_size_t), ("bytes", ctypes.c_size_t)]


GcTypeStatsFn = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.POINTER(GcTypeStats),
                                 ctypes.c_void_p)

INTROSPECTION_FUNCTIONS = {
    "gc_visit_objects": (_int, [_int, GcObjectVisitFn, _vp]),
    "gc_get_referents": (_int, [_P, GcObjectVisitFn, _vp]),
    "gc_get_referrers": (_int, [_P, GcObjectVisitFn, _vp]),
    "gc_set_debug": (None, [_int]),
    "gc_get_debug": (_int, []),
    "gc_visit_garbage": (_int, [GcObjectVisitFn, _vp]),
    "gc_clear_garbage": (_sz, []),
    "gc_why_alive": (_i64, [_P, GcObjectVisitFn, _vp]),
    "gc_visit_type_stats": (_int, [GcTypeStatsFn, _vp]),
    "gc_dump_heap": (_int, [ctypes.c_char_p, _int]),
}
FUNCTIONS.update(INTROSPECTION_FUNCTIONS)
_declare(INTROSPECTION_FUNCTIONS)

__all__ += [
    "GC_ERR_IO", "GC_DEBUG_STATS", "GC_DEBUG_COLLECTABLE",
    "GC_DEBUG_UNCOLLECTABLE", "GC_DEBUG_SAVEALL", "GC_DEBUG_LEAK",
    "DEBUG_STATS", "DEBUG_COLLECTABLE", "DEBUG_UNCOLLECTABLE", "DEBUG_SAVEALL",
    "DEBUG_LEAK", "GC_DUMP_HEAPSNAPSHOT", "GC_DUMP_DOT", "GcObjectVisitFn",
    "GcTypeStats", "GcTypeStatsFn", "get_objects", "get_referents",
    "get_referrers", "why_alive", "type_stats", "dump_heap", "set_debug",
    "get_debug", "garbage",
]


def _collect_refs(call, what):
    """Runs ``call(visit_fn)`` (a C walk) and returns the objects it
    visited as a list of Refs. Raises RcgcError on a negative status."""
    seen = []

    def visit(address, _ctx):
        lib.obj_incref(address)
        seen.append(address)
        return 0

    c_visit = GcObjectVisitFn(visit)   # lives until the walk returns
    status = call(c_visit)
    refs = [Ref(a) for a in seen]
    if status < 0:
        for r in refs:
            r.close()
        _check(status, what)
    return status, refs


def get_objects(generation=None):
    """gc.get_objects(generation=None): a new Ref to each live tracked
    object of ``generation`` (0, 1 or 2), or of every generation and the
    permanent one. Cyclic garbage not collected yet is included."""
    g = -1 if generation is None else generation
    return _collect_refs(lambda v: lib.gc_visit_objects(g, v, None),
                         "gc_visit_objects")[1]


def get_referents(*objs):
    """gc.get_referents(*objs): the objects each of ``objs`` references
    directly (fields in order, then payload references), as Refs."""
    out = []
    for o in objs:
        a = _address(o)
        out += _collect_refs(lambda v: lib.gc_get_referents(a, v, None),
                             "gc_get_referents")[1]
    return out


def get_referrers(*objs):
    """gc.get_referrers(*objs): the live tracked objects that reference any
    of ``objs``, each once, as Refs."""
    out, addresses = [], set()
    for o in objs:
        a = _address(o)
        for r in _collect_refs(lambda v: lib.gc_get_referrers(a, v, None),
                               "gc_get_referrers")[1]:
            if r.address in addresses:
                r.close()
            else:
                addresses.add(r.address)
                out.append(r)
    return out


def why_alive(obj):
    """The shortest chain of references from an object held from outside
    to ``obj`` (held one first, ``obj`` last) as Refs; [] when ``obj`` is
    cyclic garbage awaiting collection."""
    a = _address(obj)
    return _collect_refs(lambda v: lib.gc_why_alive(a, v, None),
                         "gc_why_alive")[1]


def type_stats():
    """One dict per group of live objects (name, objects, bytes), largest
    bytes first: types, "(object)", "(weakref)", "(untracked)"."""
    out = []

    def visit(stats_p, _ctx):
        s = stats_p.contents
        out.append({"name": s.name.decode("utf-8", "replace"),
                    "objects": s.objects, "bytes": s.bytes})
        return 0

    _check(lib.gc_visit_type_stats(GcTypeStatsFn(visit), None),
           "gc_visit_type_stats")
    return out


def dump_heap(path, format="heapsnapshot"):
    """Writes the heap to ``path``: ``format`` "heapsnapshot" (V8 heap
    snapshot, for Chrome DevTools and memlab) or "dot" (Graphviz)."""
    formats = {"heapsnapshot": GC_DUMP_HEAPSNAPSHOT, "dot": GC_DUMP_DOT}
    if format not in formats:
        raise ValueError(f"dump_heap: format must be one of {sorted(formats)}")
    _check(lib.gc_dump_heap(os.fsencode(path), formats[format]), "gc_dump_heap")


def set_debug(flags):
    """gc.set_debug(flags): DEBUG_STATS, DEBUG_COLLECTABLE,
    DEBUG_UNCOLLECTABLE, DEBUG_SAVEALL, DEBUG_LEAK (lines on stderr)."""
    lib.gc_set_debug(flags)


def get_debug():
    return lib.gc_get_debug()


class _Garbage:
    """``rcgc.garbage``: like ``gc.garbage``, the objects a collection
    found unreachable while DEBUG_SAVEALL was set (finalized, weakrefs
    cleared, kept intact). Iterating, indexing and ``list(garbage)`` give
    new Refs; ``del garbage[:]`` or ``garbage.clear()`` releases the list's
    references (the objects then die or are collected as usual)."""

    def _refs(self):
        return _collect_refs(lambda v: lib.gc_visit_garbage(v, None),
                             "gc_visit_garbage")[1]

    def __iter__(self):
        return iter(self._refs())

    def __len__(self):
        refs = self._refs()
        for r in refs:
            r.close()
        return len(refs)

    def __getitem__(self, i):
        refs = self._refs()
        picked = refs[i]
        keep = {id(r) for r in (picked if isinstance(picked, list) else [picked])}
        for r in refs:
            if id(r) not in keep:
                r.close()
        return picked

    def __delitem__(self, i):
        if i != slice(None):
            raise TypeError("rcgc.garbage supports only del garbage[:]")
        self.clear()

    def clear(self):
        """Releases the list's references; returns how many it held."""
        return lib.gc_clear_garbage()

    def __repr__(self):
        return f"<rcgc.garbage: {len(self)} objects>"


garbage = _Garbage()
