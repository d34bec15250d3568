//! Benchmarks of issue 6, as a library the two binaries share: `rs-bench`
//! (route server convergence, churn, memory and CPU of caribix against
//! BIRD 2, GoBGP and OpenBGPD) and `flow-bench` (flow collector samples
//! per second against pmacct's sfacctd and nfacctd).
//!
//! Modules: [`plan`] (what members announce and must receive), [`load`]
//! (the BGP load generator), [`wire`] (the lean session both use after
//! the OPEN exchange), [`targets`] (the daemons and their equivalent
//! configurations), [`sink`] (the generator's ceiling), [`procs`]
//! (processes and `/proc` figures), [`bench`] (the runs and the report),
//! [`flows`] (the flow benchmark).
//!
//! Not here: any timing assertion; these are measurements, reported as
//! they come out.

pub mod bench;
pub mod flows;
pub mod load;
pub mod plan;
pub mod procs;
pub mod sink;
pub mod targets;
pub mod wire;
