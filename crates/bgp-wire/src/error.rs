//! Decode errors shaped like the protocol.
//!
//! A decode error that ends the session is a [`Reset`]: it carries exactly
//! the NOTIFICATION (code, subcode, data) to send, per RFC 4271 §6 as revised
//! by RFC 7606. Errors that do not end the session (treat-as-withdraw and
//! attribute discard, RFC 7606 §2) are not errors of the decoder: they are
//! recorded on the decoded UPDATE as [`AttrIssue`]s, so the caller still gets
//! every prefix to withdraw.

use std::fmt;

/// NOTIFICATION error codes (RFC 4271 §4.5, IANA "BGP Error (Notification)
/// Codes").
pub mod code {
    /// Message Header Error.
    pub const HEADER: u8 = 1;
    /// OPEN Message Error.
    pub const OPEN: u8 = 2;
    /// UPDATE Message Error.
    pub const UPDATE: u8 = 3;
    /// Hold Timer Expired.
    pub const HOLD_TIMER_EXPIRED: u8 = 4;
    /// Finite State Machine Error (RFC 6608 subcodes).
    pub const FSM: u8 = 5;
    /// Cease (RFC 4486 subcodes).
    pub const CEASE: u8 = 6;
    /// ROUTE-REFRESH Message Error (RFC 7313).
    pub const ROUTE_REFRESH: u8 = 7;
}

/// NOTIFICATION error subcodes, grouped by code.
pub mod subcode {
    /// Header: Connection Not Synchronized.
    pub const CONNECTION_NOT_SYNCHRONIZED: u8 = 1;
    /// Header: Bad Message Length.
    pub const BAD_MESSAGE_LENGTH: u8 = 2;
    /// Header: Bad Message Type.
    pub const BAD_MESSAGE_TYPE: u8 = 3;

    /// OPEN: Unsupported Version Number.
    pub const UNSUPPORTED_VERSION: u8 = 1;
    /// OPEN: Bad Peer AS.
    pub const BAD_PEER_AS: u8 = 2;
    /// OPEN: Bad BGP Identifier.
    pub const BAD_BGP_IDENTIFIER: u8 = 3;
    /// OPEN: Unsupported Optional Parameter.
    pub const UNSUPPORTED_OPTIONAL_PARAMETER: u8 = 4;
    /// OPEN: Unacceptable Hold Time.
    pub const UNACCEPTABLE_HOLD_TIME: u8 = 6;
    /// OPEN: Unsupported Capability (RFC 5492).
    pub const UNSUPPORTED_CAPABILITY: u8 = 7;
    /// OPEN: Role Mismatch (RFC 9234).
    pub const ROLE_MISMATCH: u8 = 11;

    /// UPDATE: Malformed Attribute List.
    pub const MALFORMED_ATTRIBUTE_LIST: u8 = 1;
    /// UPDATE: Unrecognized Well-known Attribute.
    pub const UNRECOGNIZED_WELL_KNOWN: u8 = 2;
    /// UPDATE: Missing Well-known Attribute.
    pub const MISSING_WELL_KNOWN: u8 = 3;
    /// UPDATE: Attribute Flags Error.
    pub const ATTRIBUTE_FLAGS: u8 = 4;
    /// UPDATE: Attribute Length Error.
    pub const ATTRIBUTE_LENGTH: u8 = 5;
    /// UPDATE: Invalid ORIGIN Attribute.
    pub const INVALID_ORIGIN: u8 = 6;
    /// UPDATE: Invalid NEXT_HOP Attribute.
    pub const INVALID_NEXT_HOP: u8 = 8;
    /// UPDATE: Optional Attribute Error.
    pub const OPTIONAL_ATTRIBUTE: u8 = 9;
    /// UPDATE: Invalid Network Field.
    pub const INVALID_NETWORK_FIELD: u8 = 10;
    /// UPDATE: Malformed AS_PATH.
    pub const MALFORMED_AS_PATH: u8 = 11;

    /// FSM: Receive Unexpected Message in OpenSent State.
    pub const FSM_UNEXPECTED_IN_OPENSENT: u8 = 1;
    /// FSM: Receive Unexpected Message in OpenConfirm State.
    pub const FSM_UNEXPECTED_IN_OPENCONFIRM: u8 = 2;
    /// FSM: Receive Unexpected Message in Established State.
    pub const FSM_UNEXPECTED_IN_ESTABLISHED: u8 = 3;

    /// Cease: Maximum Number of Prefixes Reached.
    pub const MAX_PREFIXES: u8 = 1;
    /// Cease: Administrative Shutdown.
    pub const ADMIN_SHUTDOWN: u8 = 2;
    /// Cease: Peer De-configured.
    pub const PEER_DECONFIGURED: u8 = 3;
    /// Cease: Administrative Reset.
    pub const ADMIN_RESET: u8 = 4;
    /// Cease: Connection Rejected.
    pub const CONNECTION_REJECTED: u8 = 5;
    /// Cease: Other Configuration Change.
    pub const OTHER_CONFIG_CHANGE: u8 = 6;
    /// Cease: Connection Collision Resolution.
    pub const CONNECTION_COLLISION: u8 = 7;
    /// Cease: Out of Resources.
    pub const OUT_OF_RESOURCES: u8 = 8;
    /// Cease: Hard Reset (RFC 8538).
    pub const HARD_RESET: u8 = 9;
    /// Cease: BFD Down (RFC 9384).
    pub const BFD_DOWN: u8 = 10;

    /// ROUTE-REFRESH: Invalid Message Length (RFC 7313).
    pub const INVALID_ROUTE_REFRESH_LENGTH: u8 = 1;
}

/// A decode error that resets the session: the NOTIFICATION to send.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Reset {
    /// NOTIFICATION error code.
    pub code: u8,
    /// NOTIFICATION error subcode.
    pub subcode: u8,
    /// NOTIFICATION data field.
    pub data: Vec<u8>,
    /// What went wrong, for logs.
    pub reason: &'static str,
}

impl Reset {
    /// A reset with no data field.
    pub fn new(code: u8, subcode: u8, reason: &'static str) -> Reset {
        Reset {
            code,
            subcode,
            data: Vec::new(),
            reason,
        }
    }

    /// A reset with a data field.
    pub fn with_data(code: u8, subcode: u8, data: &[u8], reason: &'static str) -> Reset {
        Reset {
            code,
            subcode,
            data: data.to_vec(),
            reason,
        }
    }
}

impl fmt::Display for Reset {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} (NOTIFICATION {}/{})",
            self.reason, self.code, self.subcode
        )
    }
}

impl std::error::Error for Reset {}

/// What RFC 7606 §2 says to do about a malformed attribute that does not
/// reset the session.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum AttrAction {
    /// Treat every prefix of the UPDATE as withdrawn (RFC 7606 §2).
    TreatAsWithdraw,
    /// Ignore the attribute and go on with the rest (RFC 7606 §2).
    Discard,
}

/// One non-fatal attribute problem found while decoding an UPDATE.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct AttrIssue {
    /// Attribute type code concerned (0 when it is the attribute list itself).
    pub type_code: u8,
    /// What was done about it.
    pub action: AttrAction,
    /// Why, for logs and the looking glass.
    pub reason: &'static str,
}
