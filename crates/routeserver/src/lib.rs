//! The route server core (RFC 7947), without I/O: UPDATEs received from a
//! member go through the import policy into the RIB, and the RIB's exports
//! come out as bytes for each member.
//!
//! The caller (the binary's runtime) runs one BGP session per member with
//! `bgp-session`, hands every received UPDATE to [`RouteServer::update`],
//! tells [`RouteServer::established`] / [`RouteServer::down`] about session
//! state, and writes what [`RouteServer::flush`] produces to the member's
//! connection.
//!
//! Transparency (RFC 7947 §2.2): attributes are passed through as received
//! (`bgp_wire::builder::passthrough_block`): the route server's AS is never
//! added to AS_PATH, NEXT_HOP, MED and all communities stay as they were.
//! A route is never sent back to the member (the AS) that announced it.
//! Policy may strip the route server's own control communities and add
//! informational ones; nothing else.
//!
//! Graceful restart as receiving speaker (RFC 4724 §4.2) is kept here per
//! member ([`restart`]): the caller says how a session ended
//! ([`RouteServer::down`] or [`RouteServer::down_graceful`]), hands over
//! the capability of each new session, and calls [`RouteServer::tick`]
//! with its clock.

mod policy;
pub mod restart;
mod revalidate;

use std::sync::Arc;

use bgp_wire::attr::NextHop;
use bgp_wire::{DecodeCtx, EncodeCtx, Family, FamilySet, Message, Nlri, Reset, Update};
pub use policy::{transparent_attrs, AcceptAll, ImportResult, MemberInfo, Policy};
pub use restart::{GracefulRestart, RestartLimits, RestartState, StaleSwept, SweepReason};
pub use revalidate::Affected;
pub use rib::{ExportCtl, InRoute, PeerCounts, PeerId, Rib, RouteAttrs, DEFAULT_PREF};

/// What one UPDATE did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct UpdateOutcome {
    /// Prefixes announced (accepted or filtered).
    pub announced: usize,
    /// Of those, rejected by policy.
    pub rejected: usize,
    /// Prefixes withdrawn (including RFC 7606 treat-as-withdraw).
    pub withdrawn: usize,
    /// RFC 7606 problems handled without a reset, for the log.
    pub issues: Vec<&'static str>,
    /// An End-of-RIB marker was received for a family.
    pub end_of_rib: bool,
    /// After this UPDATE the member has more accepted routes of this
    /// family than its max-prefix limit allows: the caller ends the
    /// session with Cease / Maximum Number of Prefixes Reached (RFC 4486)
    /// or only warns, as configured.
    pub max_prefix_exceeded: Option<Family>,
}

/// Routes of one member sharing an attribute set: (prefix, reject mask,
/// received since).
type RouteGroup = (Arc<RouteAttrs>, Vec<(Nlri, u32, u32)>);

/// The route server: members, the RIB and the import policy.
#[derive(Debug)]
pub struct RouteServer<P: Policy> {
    rib: Rib,
    members: Vec<Option<Arc<MemberInfo>>>,
    policy: P,
    scratch: ImportResult,
    restart: Vec<restart::Slot>,
    limits: RestartLimits,
    /// Stale routes withdrawn since the caller last asked, for its log.
    swept: Vec<(PeerId, StaleSwept)>,
}

impl<P: Policy> RouteServer<P> {
    /// A route server with `policy`.
    pub fn new(policy: P) -> RouteServer<P> {
        RouteServer {
            rib: Rib::new(),
            members: Vec::new(),
            policy,
            scratch: ImportResult::default(),
            restart: Vec::new(),
            limits: RestartLimits::default(),
            swept: Vec::new(),
        }
    }

    /// Set the graceful restart bounds (RFC 4724 §4.2).
    pub fn set_restart_limits(&mut self, limits: RestartLimits) {
        self.limits = limits;
    }

    /// The graceful restart bounds in use.
    pub fn restart_limits(&self) -> RestartLimits {
        self.limits
    }

    fn slot(&mut self, id: PeerId) -> &mut restart::Slot {
        let i = id.0 as usize;
        if self.restart.len() <= i {
            self.restart.resize(i + 1, restart::Slot::default());
        }
        &mut self.restart[i]
    }

    /// Where member `id`'s graceful restart stands, if one is in progress.
    pub fn restart_state(&self, id: PeerId) -> Option<RestartState> {
        self.restart.get(id.0 as usize)?.state
    }

    /// The Graceful Restart capability of member `id`'s current or last
    /// session.
    pub fn restart_capability(&self, id: PeerId) -> Option<GracefulRestart> {
        self.restart.get(id.0 as usize)?.cap
    }

    fn swept(&mut self, id: PeerId, withdrawn: usize, reason: SweepReason) {
        if withdrawn > 0 {
            self.swept.push((id, StaleSwept { withdrawn, reason }));
        }
    }

    /// Stale routes withdrawn since the last call, for the log.
    pub fn take_swept(&mut self) -> Vec<(PeerId, StaleSwept)> {
        std::mem::take(&mut self.swept)
    }

    /// The policy, to change its data (RPKI, IRR) in place.
    pub fn policy_mut(&mut self) -> &mut P {
        &mut self.policy
    }

    /// The policy, read-only.
    pub fn policy(&self) -> &P {
        &self.policy
    }

    /// The RIB, read-only, for the looking glass.
    pub fn rib(&self) -> &Rib {
        &self.rib
    }

    /// Register a member session.
    pub fn add_member(&mut self, info: MemberInfo) -> PeerId {
        let id = self.rib.add_peer(info.asn, info.addr);
        let i = id.0 as usize;
        if self.members.len() <= i {
            self.members.resize(i + 1, None);
        }
        self.members[i] = Some(Arc::new(info));
        id
    }

    /// Remove a member session and its routes.
    pub fn remove_member(&mut self, id: PeerId) {
        self.rib.remove_peer(id);
        if let Some(s) = self.restart.get_mut(id.0 as usize) {
            *s = restart::Slot::default();
        }
        if let Some(m) = self.members.get_mut(id.0 as usize) {
            *m = None;
        }
    }

    /// The member behind `id`.
    pub fn member(&self, id: PeerId) -> Option<&Arc<MemberInfo>> {
        self.members.get(id.0 as usize)?.as_ref()
    }

    /// Every member id.
    pub fn member_ids(&self) -> impl Iterator<Item = PeerId> + '_ {
        self.members
            .iter()
            .enumerate()
            .filter(|(_, m)| m.is_some())
            .map(|(i, _)| PeerId(i as u32))
    }

    /// The member's session is Established: queue the table for it.
    pub fn established(&mut self, id: PeerId, bgp_id: u32, families: FamilySet, ctx: EncodeCtx) {
        self.rib.peer_up(id, bgp_id, families, ctx);
    }

    /// The member's Established session announced this Graceful Restart
    /// capability (`None`: none). Call right after
    /// [`RouteServer::established`]. When the member was restarting, the
    /// families the new session does not preserve (not listed, or no
    /// forwarding-state bit) lose their stale routes now; the others wait
    /// for its End-of-RIB, at most the stale time (RFC 4724 §4.2).
    pub fn session_capability(&mut self, id: PeerId, cap: Option<GracefulRestart>, now: u32) {
        let stale_time = self.limits.stale_time;
        let slot = self.slot(id);
        slot.cap = cap;
        if !matches!(slot.state, Some(RestartState::Restarting { .. })) {
            return;
        }
        let keep = cap.map_or(FamilySet::EMPTY, |c| c.forwarding);
        let drop = family_set(FamilySet::BOTH.iter().filter(|f| !keep.contains(*f)));
        let gone = self.rib.sweep_stale(id, drop);
        self.swept(id, gone, SweepReason::NotPreserved);
        let left = self.rib.stale_counts(id);
        let families = family_set(FamilySet::BOTH.iter().filter(|f| left[f.index()] > 0));
        self.slot(id).state = (!families.is_empty()).then_some(RestartState::AwaitingEndOfRib {
            families,
            until: now.saturating_add(stale_time),
        });
        self.rib.purge();
    }

    /// The member's session went down: its routes are withdrawn. A
    /// session that was not up (a connection attempt that failed) changes
    /// nothing, so that stale routes of a restarting member wait for their
    /// timer.
    pub fn down(&mut self, id: PeerId) {
        if !self.rib.is_up(id) && self.restart_state(id).is_some() {
            return;
        }
        self.slot(id).state = None;
        self.rib.peer_down(id);
        self.rib.purge();
    }

    /// The member's session ended without a NOTIFICATION (TCP reset or
    /// close). If it announced graceful restart (and the route server
    /// receives it), its routes of the listed families are kept as stale
    /// for its restart time (RFC 4724 §4.2) and `true` comes back;
    /// otherwise this is [`RouteServer::down`].
    pub fn down_graceful(&mut self, id: PeerId, now: u32) -> bool {
        let limits = self.limits;
        let was_up = self.rib.is_up(id);
        let slot = self.slot(id);
        let cap = slot
            .cap
            .filter(|c| limits.enabled && !c.families.is_empty());
        let Some(cap) = cap else {
            self.down(id);
            return false;
        };
        if !was_up {
            // A failed attempt during the restart: the timer runs on.
            return slot.state.is_some();
        }
        let hold = u32::from(cap.restart_time).min(limits.max_restart_time);
        slot.state = Some(RestartState::Restarting {
            until: now.saturating_add(hold),
        });
        self.rib.peer_down_graceful(id, cap.families);
        true
    }

    /// Run the graceful restart timers: stale routes whose time is up are
    /// withdrawn. Call regularly (every second is enough). A timer set
    /// for `until` fires once `now` is past it, so that with a clock of
    /// whole seconds the routes are kept at least the full time.
    pub fn tick(&mut self, now: u32) {
        for i in 0..self.restart.len() {
            let id = PeerId(i as u32);
            match self.restart[i].state {
                Some(RestartState::Restarting { until }) if now > until => {
                    let n = self.rib.stale_counts(id);
                    self.restart[i].state = None;
                    self.rib.peer_down(id);
                    self.swept(id, n[0] + n[1], SweepReason::RestartTimeExpired);
                    self.rib.purge();
                }
                Some(RestartState::AwaitingEndOfRib { families, until }) if now > until => {
                    self.restart[i].state = None;
                    let gone = self.rib.sweep_stale(id, families);
                    self.swept(id, gone, SweepReason::StaleTimeExpired);
                    self.rib.purge();
                }
                _ => {}
            }
        }
    }

    /// End-of-RIB from member `id` for `family`: its stale routes of that
    /// family that it did not announce again go.
    fn end_of_rib(&mut self, id: PeerId, family: bgp_wire::Family) {
        let Some(RestartState::AwaitingEndOfRib {
            mut families,
            until,
        }) = self.restart_state(id)
        else {
            return;
        };
        if !families.contains(family) {
            return;
        }
        let gone = self.rib.sweep_stale(id, FamilySet::only(family));
        self.swept(id, gone, SweepReason::EndOfRib);
        families = family_set(families.iter().filter(|f| *f != family));
        self.slot(id).state =
            (!families.is_empty()).then_some(RestartState::AwaitingEndOfRib { families, until });
        self.rib.purge();
    }

    /// The member asked for the table again (ROUTE-REFRESH).
    pub fn route_refresh(&mut self, id: PeerId) {
        self.rib.refresh(id);
    }

    /// Handle one received UPDATE (complete message, header included).
    /// Decode errors that reset the session come back as `Err`; the
    /// caller sends the NOTIFICATION (the session layer already did for
    /// anything it decoded itself).
    pub fn update(
        &mut self,
        id: PeerId,
        msg: &[u8],
        ctx: &DecodeCtx,
        now: u32,
    ) -> Result<UpdateOutcome, Reset> {
        let Message::Update(u) = Message::decode(msg, ctx)? else {
            return Ok(UpdateOutcome::default());
        };
        Ok(self.apply(id, &u, now))
    }

    /// Apply a decoded UPDATE.
    pub fn apply(&mut self, id: PeerId, u: &Update<'_>, now: u32) -> UpdateOutcome {
        let eor = u.end_of_rib();
        let mut outcome = UpdateOutcome {
            issues: u.issues.iter().map(|i| i.reason).collect(),
            end_of_rib: eor.is_some(),
            ..UpdateOutcome::default()
        };
        if let Some(f) = eor {
            self.end_of_rib(id, f);
            return outcome;
        }
        for n in u.withdrawals() {
            self.rib.withdraw(id, n);
            outcome.withdrawn += 1;
        }
        if u.treat_as_withdraw() {
            return outcome;
        }
        let Some(member) = self.member(id).cloned() else {
            return outcome;
        };
        // The NLRI field uses NEXT_HOP; MP_REACH_NLRI carries its own.
        let mut groups: Vec<(NextHop, Vec<Nlri>)> = Vec::with_capacity(2);
        if !u.nlri.is_empty() {
            if let Some(nh) = u.attributes.next_hop {
                groups.push((NextHop::V4(nh), u.nlri.iter().collect()));
            }
        }
        if let Some(mp) = u.attributes.mp_reach {
            if let (Some(nh), Some(nlri)) = (mp.next_hop, mp.nlri) {
                if !nlri.is_empty() {
                    groups.push((nh, nlri.iter().collect()));
                }
            }
        }
        for (nh, nlri) in groups {
            let mut result = std::mem::take(&mut self.scratch);
            result.clear();
            self.policy
                .import(&member, &u.attributes, &nh, &nlri, &mut result);
            let interned: Vec<Arc<RouteAttrs>> = result
                .variants
                .drain(..)
                .map(|v| self.rib.intern(v))
                .collect();
            for &(n, variant, reject) in &result.routes {
                let Some(attrs) = interned.get(usize::from(variant)) else {
                    continue;
                };
                self.rib.announce(id, n, attrs.clone(), reject, now);
                outcome.announced += 1;
                if reject != 0 {
                    outcome.rejected += 1;
                }
            }
            self.scratch = result;
        }
        if outcome.announced > 0 {
            outcome.max_prefix_exceeded = self.max_prefix_exceeded(id, &member);
        }
        outcome
    }

    /// The first family in which member `id` holds more accepted routes
    /// than its limit.
    fn max_prefix_exceeded(&self, id: PeerId, member: &MemberInfo) -> Option<Family> {
        let limits = self.policy.max_prefix(member)?;
        let counts = self.rib.counts(id).accepted_by_family;
        Family::ALL.into_iter().find(|f| {
            let i = f.index();
            counts[i] > limits[i] as usize
        })
    }

    /// Encode up to `max_prefixes` pending changes for member `id` into
    /// `out`. Returns whether more is pending.
    pub fn flush(&mut self, id: PeerId, max_prefixes: usize, out: &mut Vec<u8>) -> bool {
        self.rib.flush(id, max_prefixes, out)
    }

    /// Members with something to send.
    pub fn pending(&self) -> Vec<PeerId> {
        self.rib.pending_peers()
    }

    /// Route counts of a member.
    pub fn counts(&self, id: PeerId) -> PeerCounts {
        self.rib.counts(id)
    }
}

fn family_set(families: impl Iterator<Item = Family>) -> FamilySet {
    let mut s = FamilySet::EMPTY;
    for f in families {
        s.insert(f);
    }
    s
}

/// The address a member session is known by, for logs.
pub fn describe(info: &MemberInfo) -> String {
    format!("AS{} {} ({})", info.asn, info.addr, info.name)
}
