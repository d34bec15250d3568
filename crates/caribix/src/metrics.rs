//! Prometheus metrics of the whole daemon, in the text exposition format at
//! `GET /metrics`. One [`prometheus_client::registry::Registry`] per
//! process, shared: each component registers its metrics under its own
//! prefix at start-up (`caribix_flow_...` for the flow collectors today; the
//! route server can add `caribix_bgp_...` the same way by calling
//! [`with_registry`]).
//!
//! Why process-wide: the HTTP router is built where only the route server
//! handle is at hand (`api::router`), and a metrics registry is by nature
//! one per process; a `OnceLock` keeps both untouched.

use prometheus_client::registry::Registry;
use std::sync::{Mutex, OnceLock};

static REGISTRY: OnceLock<Mutex<Registry>> = OnceLock::new();

/// Runs `f` with the shared registry (to register metrics).
pub(crate) fn with_registry<T>(f: impl FnOnce(&mut Registry) -> T) -> T {
    let r = REGISTRY.get_or_init(|| Mutex::new(Registry::default()));
    // A panic while registering poisons the lock; the registry is still usable.
    let mut g = r.lock().unwrap_or_else(|e| e.into_inner());
    f(&mut g)
}

/// Every metric in the text exposition format.
pub(crate) fn encode() -> String {
    let mut out = String::new();
    with_registry(|r| {
        if prometheus_client::encoding::text::encode(&mut out, r).is_err() {
            out.clear();
        }
    });
    out
}
