//! Test support: frame builders, the known traffic plan, a small IPFIX /
//! NetFlow v9 message builder, and bounded process and UDP helpers for the
//! interop tests.

#![allow(dead_code, unreachable_pub)]

pub mod exporters;
pub mod frames;
pub mod plan;
pub mod wire;
