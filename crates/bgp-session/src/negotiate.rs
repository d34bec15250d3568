//! Our OPEN, the checks on the peer's OPEN, and what both sides agreed on.
//!
//! [`local_open`] builds the OPEN we send from a [`Config`]; [`check_open`]
//! applies the checks of RFC 4271 §6.2 (as amended by RFC 6286 for the BGP
//! identifier, RFC 6793 for 4-octet ASes and AS_TRANS, RFC 7607 for AS 0,
//! and RFC 9234 §4.2 for BGP roles) and returns the NOTIFICATION to send on
//! failure; [`negotiate`] computes the capabilities in effect (RFC 5492):
//! address families (RFC 4760, with IPv4 unicast assumed for a peer that
//! sends no multiprotocol capability, §8), route refresh (RFC 2918, RFC
//! 7313), ADD-PATH directions (RFC 7911 §4), graceful restart as receiving
//! speaker (RFC 4724), extended messages (RFC 8654), extended next hop
//! (RFC 8950), the peer's role and the hold time.
//!
//! It does not decode OPEN messages (bgp-wire does) and keeps no state.

use std::net::Ipv4Addr;

use bgp_wire::error::{code, subcode};
use bgp_wire::{
    AddPathMode, Afi, Capability, DecodeCtx, EncodeCtx, Family, FamilySet, Notification, Open,
    Role, Safi, AS_TRANS,
};

use crate::config::Config;

/// The peer's graceful restart capability (RFC 4724 §3), for our role as
/// receiving speaker.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PeerGracefulRestart {
    /// The peer says it has restarted (R bit).
    pub restarting: bool,
    /// The peer supports graceful restart for NOTIFICATIONs (N bit, RFC
    /// 8538).
    pub notification: bool,
    /// How long to keep the peer's routes after the session drops, in
    /// seconds.
    pub restart_time: u16,
    /// Families the peer preserves, with the forwarding-state (F) bit;
    /// only the families negotiated on this session.
    pub families: Vec<(Family, bool)>,
}

/// What both sides agreed on, known from the peer's OPEN on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Negotiated {
    /// The peer's AS (from the 4-octet AS capability when present).
    pub peer_as: u32,
    /// The peer's BGP identifier.
    pub peer_id: Ipv4Addr,
    /// The peer is in another AS.
    pub ebgp: bool,
    /// Hold time in seconds, the smaller of both proposals; 0 means no
    /// hold timer and no keepalives (RFC 4271 §4.2).
    pub hold_time: u16,
    /// Keepalive interval in seconds: a third of the hold time, at least
    /// 1; 0 when the hold time is 0.
    pub keepalive_interval: u16,
    /// Address families both sides announced (RFC 4760 §8: a speaker
    /// without multiprotocol capability does IPv4 unicast).
    pub families: FamilySet,
    /// Both sides announced 4-octet AS support (RFC 6793).
    pub four_octet_as: bool,
    /// Both sides announced route refresh (RFC 2918).
    pub route_refresh: bool,
    /// Both sides announced enhanced route refresh (RFC 7313).
    pub enhanced_route_refresh: bool,
    /// Families for which we receive path identifiers (we announced
    /// receive, the peer send; RFC 7911 §4).
    pub add_path_receive: FamilySet,
    /// Families for which we send path identifiers (we announced send, the
    /// peer receive).
    pub add_path_send: FamilySet,
    /// The peer's graceful restart capability, if it sent one.
    pub graceful_restart: Option<PeerGracefulRestart>,
    /// Both sides announced extended messages (RFC 8654).
    pub extended_message: bool,
    /// Both sides announced IPv4 unicast NLRI with IPv6 next hops (RFC
    /// 8950), and IPv4 unicast is negotiated.
    pub extended_next_hop_ipv4: bool,
    /// The role the peer announced (RFC 9234), if any.
    pub peer_role: Option<Role>,
}

impl Negotiated {
    /// How to decode the peer's messages.
    pub fn decode_ctx(&self) -> DecodeCtx {
        DecodeCtx {
            four_octet_as: self.four_octet_as,
            add_path: self.add_path_receive,
            ebgp: self.ebgp,
            extended_message: self.extended_message,
        }
    }

    /// How to encode messages for the peer.
    pub fn encode_ctx(&self) -> EncodeCtx {
        EncodeCtx {
            four_octet_as: self.four_octet_as,
            add_path: self.add_path_send,
            extended_message: self.extended_message,
        }
    }
}

/// The OPEN we send (RFC 4271 §4.2, RFC 5492): one multiprotocol
/// capability per offered family, route refresh and enhanced route refresh,
/// 4-octet AS, and as configured ADD-PATH, graceful restart, extended
/// messages, extended next hop and role.
pub fn local_open(cfg: &Config) -> Open {
    let mut caps = Vec::with_capacity(12);
    for f in cfg.families.iter() {
        caps.push(Capability::Multiprotocol(f.afi(), f.safi()));
    }
    caps.push(Capability::RouteRefresh);
    caps.push(Capability::EnhancedRouteRefresh);
    let add_path: Vec<_> = cfg
        .families
        .iter()
        .filter_map(|f| {
            let send = cfg.add_path_send.contains(f);
            let recv = cfg.add_path_receive.contains(f);
            let mode = match (send, recv) {
                (true, true) => AddPathMode::Both,
                (true, false) => AddPathMode::Send,
                (false, true) => AddPathMode::Receive,
                (false, false) => return None,
            };
            Some((f.afi(), f.safi(), mode))
        })
        .collect();
    if !add_path.is_empty() {
        caps.push(Capability::AddPath(add_path));
    }
    if let Some(gr) = &cfg.graceful_restart {
        caps.push(Capability::GracefulRestart {
            restarting: false,
            notification: false,
            time: gr.restart_time & 0x0fff,
            families: gr
                .families
                .intersect(cfg.families)
                .iter()
                .map(|f| bgp_wire::open::GracefulRestartFamily {
                    afi: f.afi(),
                    safi: f.safi(),
                    forwarding_preserved: false,
                })
                .collect(),
        });
    }
    if cfg.extended_messages {
        caps.push(Capability::ExtendedMessage);
    }
    if cfg.extended_next_hop && cfg.families.contains(Family::Ipv4Unicast) {
        caps.push(Capability::ExtendedNextHop(vec![(
            Afi::Ipv4,
            Safi::Unicast,
            Afi::Ipv6,
        )]));
    }
    // RFC 9234 roles describe relations between ASes: eBGP only.
    if let (Some(role), true) = (cfg.role, cfg.is_ebgp()) {
        caps.push(Capability::Role(role));
    }
    caps.push(Capability::FourOctetAs(cfg.local_as));
    Open::new(cfg.local_as, cfg.hold_time, cfg.local_id, caps)
}

/// Why an OPEN was refused: the NOTIFICATION to send and a sentence for
/// the operator.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OpenError {
    /// The NOTIFICATION (code 2, OPEN Message Error).
    pub notification: Notification,
    /// What was wrong, for logs and the looking glass.
    pub reason: String,
}

impl OpenError {
    fn new(sub: u8, data: Vec<u8>, reason: String) -> OpenError {
        OpenError {
            notification: Notification {
                code: code::OPEN,
                subcode: sub,
                data,
            },
            reason,
        }
    }
}

impl std::fmt::Display for OpenError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} (NOTIFICATION {}/{})",
            self.reason, self.notification.code, self.notification.subcode
        )
    }
}

impl std::error::Error for OpenError {}

/// Whether a peer role fits ours (RFC 9234 §4.2, Table 2).
pub fn roles_match(ours: Role, theirs: Role) -> bool {
    matches!(
        (ours, theirs),
        (Role::Provider, Role::Customer)
            | (Role::Customer, Role::Provider)
            | (Role::RouteServer, Role::RouteServerClient)
            | (Role::RouteServerClient, Role::RouteServer)
            | (Role::Peer, Role::Peer)
    )
}

/// Check a decoded OPEN from the peer (RFC 4271 §6.2; the version is
/// checked by the decoder). Checks, in order: non-capability optional
/// parameters (Unsupported Optional Parameter), peer AS (Bad Peer AS),
/// hold time 1 or 2 (Unacceptable Hold Time), BGP identifier (Bad BGP
/// Identifier), role on eBGP sessions (Role Mismatch; RFC 9234 roles are
/// relations between ASes, so iBGP sessions neither announce nor check
/// them).
pub fn check_open(cfg: &Config, open: &Open) -> Result<(), OpenError> {
    if let Some((ptype, _)) = open.other_params.first() {
        return Err(OpenError::new(
            subcode::UNSUPPORTED_OPTIONAL_PARAMETER,
            Vec::new(),
            format!("peer sent optional parameter type {ptype}, which is not a capability"),
        ));
    }
    let four: Vec<u32> = open
        .capabilities
        .iter()
        .filter_map(|c| match c {
            Capability::FourOctetAs(a) => Some(*a),
            _ => None,
        })
        .collect();
    let peer_as = match four.first() {
        Some(&a) => {
            if four.iter().any(|&x| x != a) {
                return Err(bad_as(format!(
                    "peer sent 4-octet AS capabilities with different ASes {four:?}"
                )));
            }
            // RFC 6793 §4.1: the 2-octet field holds the AS when it fits,
            // else AS_TRANS. Anything else contradicts the capability.
            if open.my_as != AS_TRANS && u32::from(open.my_as) != a {
                return Err(bad_as(format!(
                    "peer's My Autonomous System {} contradicts its 4-octet AS {a}",
                    open.my_as
                )));
            }
            a
        }
        None => u32::from(open.my_as),
    };
    if peer_as == 0 {
        return Err(bad_as("peer announced AS 0 (RFC 7607)".to_string()));
    }
    if peer_as != cfg.peer_as {
        let hint = if four.is_empty() && open.my_as == AS_TRANS {
            " (AS_TRANS without a 4-octet AS capability)"
        } else {
            ""
        };
        return Err(bad_as(format!(
            "peer announced AS {peer_as}{hint}, expected AS {}",
            cfg.peer_as
        )));
    }
    if matches!(open.hold_time, 1 | 2) {
        return Err(OpenError::new(
            subcode::UNACCEPTABLE_HOLD_TIME,
            Vec::new(),
            format!(
                "peer proposed hold time {} s; only 0 or at least 3 s are allowed",
                open.hold_time
            ),
        ));
    }
    if open.bgp_id.is_unspecified() {
        return Err(OpenError::new(
            subcode::BAD_BGP_IDENTIFIER,
            Vec::new(),
            "peer's BGP identifier is 0.0.0.0".to_string(),
        ));
    }
    // RFC 6286 §2.1: identifiers must differ within an AS only.
    if peer_as == cfg.local_as && open.bgp_id == cfg.local_id {
        return Err(OpenError::new(
            subcode::BAD_BGP_IDENTIFIER,
            Vec::new(),
            format!("iBGP peer uses our own BGP identifier {}", open.bgp_id),
        ));
    }
    if let (Some(ours), true) = (cfg.role, cfg.is_ebgp()) {
        check_role(cfg, ours, open)?;
    }
    Ok(())
}

fn check_role(cfg: &Config, ours: Role, open: &Open) -> Result<(), OpenError> {
    let roles: Vec<Role> = open
        .capabilities
        .iter()
        .filter_map(|c| match c {
            Capability::Role(r) => Some(*r),
            _ => None,
        })
        .collect();
    let mismatch = |reason: String| OpenError::new(subcode::ROLE_MISMATCH, Vec::new(), reason);
    match roles.first() {
        None if cfg.strict_role => Err(mismatch(format!(
            "peer announced no BGP role; strict mode requires one that fits ours ({ours:?})"
        ))),
        None => Ok(()),
        Some(&r) => {
            if roles.iter().any(|&x| x != r) {
                return Err(mismatch(format!(
                    "peer announced several different BGP roles {roles:?}"
                )));
            }
            if roles_match(ours, r) {
                Ok(())
            } else {
                Err(mismatch(format!(
                    "peer announced BGP role {r:?}, which does not fit ours ({ours:?})"
                )))
            }
        }
    }
}

fn bad_as(reason: String) -> OpenError {
    OpenError::new(subcode::BAD_PEER_AS, Vec::new(), reason)
}

/// Families announced in multiprotocol capabilities; IPv4 unicast when
/// there are none (RFC 4760 §8). Families we do not decode are left out.
fn mp_families(open: &Open) -> FamilySet {
    let mut set = FamilySet::EMPTY;
    let mut any = false;
    for c in &open.capabilities {
        if let Capability::Multiprotocol(afi, safi) = c {
            any = true;
            if let Some(f) = Family::from_afi_safi(*afi, *safi) {
                set.insert(f);
            }
        }
    }
    if !any {
        set.insert(Family::Ipv4Unicast);
    }
    set
}

/// ADD-PATH modes per family as announced (the last one for a family
/// wins, as a duplicate carries no other meaning).
fn add_path_modes(open: &Open) -> [Option<AddPathMode>; 2] {
    let mut out = [None; 2];
    for c in &open.capabilities {
        if let Capability::AddPath(list) = c {
            for (afi, safi, mode) in list {
                if let Some(f) = Family::from_afi_safi(*afi, *safi) {
                    if let Some(slot) = out.get_mut(f.index()) {
                        *slot = Some(*mode);
                    }
                }
            }
        }
    }
    out
}

fn ipv4_over_ipv6(open: &Open) -> bool {
    open.capabilities.iter().any(|c| match c {
        Capability::ExtendedNextHop(list) => list.contains(&(Afi::Ipv4, Safi::Unicast, Afi::Ipv6)),
        _ => false,
    })
}

/// The capabilities in effect between our OPEN and the peer's (which has
/// passed [`check_open`]).
pub fn negotiate(cfg: &Config, ours: &Open, theirs: &Open) -> Negotiated {
    let families = mp_families(ours).intersect(mp_families(theirs));
    let both = |code: u8| ours.has(code) && theirs.has(code);
    let hold_time = ours.hold_time.min(theirs.hold_time);
    let keepalive_interval = if hold_time == 0 {
        0
    } else {
        (hold_time / 3).max(1)
    };
    let our_ap = add_path_modes(ours);
    let their_ap = add_path_modes(theirs);
    let mut add_path_receive = FamilySet::EMPTY;
    let mut add_path_send = FamilySet::EMPTY;
    for f in families.iter() {
        let (Some(o), Some(t)) = (
            our_ap.get(f.index()).copied().flatten(),
            their_ap.get(f.index()).copied().flatten(),
        ) else {
            continue;
        };
        if o.can_receive() && t.can_send() {
            add_path_receive.insert(f);
        }
        if o.can_send() && t.can_receive() {
            add_path_send.insert(f);
        }
    }
    let graceful_restart = theirs.capabilities.iter().find_map(|c| match c {
        Capability::GracefulRestart {
            restarting,
            notification,
            time,
            families: grf,
        } => Some(PeerGracefulRestart {
            restarting: *restarting,
            notification: *notification,
            restart_time: *time,
            families: grf
                .iter()
                .filter_map(|g| {
                    let f = Family::from_afi_safi(g.afi, g.safi)?;
                    families.contains(f).then_some((f, g.forwarding_preserved))
                })
                .collect(),
        }),
        _ => None,
    });
    let peer_role = theirs.capabilities.iter().find_map(|c| match c {
        Capability::Role(r) => Some(*r),
        _ => None,
    });
    Negotiated {
        peer_as: theirs.asn(),
        peer_id: theirs.bgp_id,
        ebgp: theirs.asn() != cfg.local_as,
        hold_time,
        keepalive_interval,
        families,
        four_octet_as: both(65),
        route_refresh: both(2),
        enhanced_route_refresh: both(70),
        add_path_receive,
        add_path_send,
        graceful_restart,
        extended_message: both(6),
        extended_next_hop_ipv4: families.contains(Family::Ipv4Unicast)
            && ipv4_over_ipv6(ours)
            && ipv4_over_ipv6(theirs),
        peer_role,
    }
}
