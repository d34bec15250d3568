//! The import policy interface, and the transparent policy that accepts
//! everything.
//!
//! A policy sees the attributes of one UPDATE and its prefixes, and says,
//! per prefix, which attribute variant the route gets and with which reject
//! codes. Variants let a policy add per-prefix information (an RPKI state
//! community, say) while routes with the same outcome keep sharing one
//! interned attribute set.

use std::net::IpAddr;

use bgp_wire::attr::{Attributes, NextHop, Origin};
use bgp_wire::builder::passthrough_block;
use bgp_wire::Nlri;
use rib::{ExportCtl, RouteAttrs, DEFAULT_PREF};

/// What the route server knows of a member session.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MemberInfo {
    /// The member's AS.
    pub asn: u32,
    /// The session's peer address.
    pub addr: IpAddr,
    /// Display name.
    pub name: String,
}

/// Output of a policy for one UPDATE.
#[derive(Clone, Debug, Default)]
pub struct ImportResult {
    /// Distinct attribute sets the routes use.
    pub variants: Vec<RouteAttrs>,
    /// Each prefix: its variant index and its reject mask (bit `n` set for
    /// Euro-IX reject code `n`; 0 accepts).
    pub routes: Vec<(Nlri, u16, u32)>,
}

impl ImportResult {
    /// Empty it for reuse.
    pub fn clear(&mut self) {
        self.variants.clear();
        self.routes.clear();
    }
}

/// An import policy.
pub trait Policy: std::fmt::Debug {
    /// Judge the routes of one UPDATE: `prefixes` were announced with
    /// `attrs` and `next_hop` by `member`.
    fn import(
        &self,
        member: &MemberInfo,
        attrs: &Attributes<'_>,
        next_hop: &NextHop,
        prefixes: &[Nlri],
        out: &mut ImportResult,
    );

    /// Max-prefix limits of `member` as `[IPv4, IPv6]` accepted routes
    /// (indexed by `Family::index`); `None` for no limit.
    fn max_prefix(&self, _member: &MemberInfo) -> Option<[u32; 2]> {
        None
    }
}

/// The attributes of a route as a transparent route server passes them on:
/// the received attributes re-emitted (RFC 7947 §2.2), and the values
/// best-path selection needs.
pub fn transparent_attrs(attrs: &Attributes<'_>, next_hop: &NextHop) -> RouteAttrs {
    let mut block = Vec::with_capacity(attrs.raw().len());
    passthrough_block(attrs, &mut block);
    let as_path_len = attrs
        .effective_as_path()
        .map_or(0, |p| p.path_len().min(usize::from(u16::MAX)) as u16);
    RouteAttrs {
        block: block.into(),
        next_hop: *next_hop,
        pref: DEFAULT_PREF,
        as_path_len,
        origin: attrs.origin.unwrap_or(Origin::Incomplete),
        med: attrs.med.unwrap_or(0),
        export: ExportCtl::default(),
        received: None,
    }
}

/// Accept every route unchanged: a transparent route server with no
/// filtering. Used by tests of the transport; the IXP policy replaces it.
#[derive(Clone, Copy, Debug, Default)]
pub struct AcceptAll;

impl Policy for AcceptAll {
    fn import(
        &self,
        _member: &MemberInfo,
        attrs: &Attributes<'_>,
        next_hop: &NextHop,
        prefixes: &[Nlri],
        out: &mut ImportResult,
    ) {
        out.variants.push(transparent_attrs(attrs, next_hop));
        out.routes.extend(prefixes.iter().map(|&n| (n, 0, 0)));
    }
}
