//! rcgc: reference counting, a generational cycle collector and weak
//! references for C programs (work in progress).
