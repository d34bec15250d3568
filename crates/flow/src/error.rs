//! Decode errors of the flow decoders and the counter category of each.
//!
//! Every malformed sFlow datagram, IPFIX message or NetFlow v9 packet is
//! rejected whole with one [`DecodeError`]; the collector counts it under its
//! [`ErrorKind`] and drops the datagram. Nothing here is fatal: a flow
//! collector keeps running whatever its exporters send.
//!
//! Data sets whose template is unknown are not errors of the decoder: they
//! are counted as template misses by the collector (RFC 7011 §8, RFC 3954
//! §9 say a collector must wait for the template).

use std::fmt;

/// Why a datagram was rejected.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DecodeError {
    /// The datagram ended before a field: `what` was being read, `need`
    /// octets were needed and `have` were left.
    Truncated {
        /// The structure being read.
        what: &'static str,
        /// Octets needed.
        need: usize,
        /// Octets left.
        have: usize,
    },
    /// The version field is not the one of the decoder called.
    Version {
        /// Version expected (5, 9 or 10).
        expected: u32,
        /// Version found.
        found: u32,
    },
    /// A length field disagrees with the data around it.
    Length {
        /// The structure whose length is wrong.
        what: &'static str,
        /// The length it claims.
        claimed: usize,
    },
    /// A count field cannot be right: more items than octets to hold them.
    Count {
        /// The structure whose count is wrong.
        what: &'static str,
        /// The count it claims.
        claimed: u32,
    },
    /// An sFlow agent address of an unknown type (sFlow v5 `address_type`).
    AddressType(u32),
    /// A template or options template that cannot be used (RFC 7011 §3.4,
    /// RFC 3954 §5.2).
    Template {
        /// The template ID.
        id: u16,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// A set or flowset ID that is reserved (IPFIX 4..=255, NetFlow v9 2..=255
    /// are not errors and are skipped; this is for IPFIX 0 and 1).
    SetId(u16),
    /// Octets left over after the last structure of the datagram.
    Trailing {
        /// The structure that had octets left.
        what: &'static str,
        /// How many.
        extra: usize,
    },
}

/// Counter category of a decode error, for metrics.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ErrorKind {
    /// [`DecodeError::Truncated`].
    Truncated,
    /// [`DecodeError::Version`].
    Version,
    /// [`DecodeError::Length`].
    Length,
    /// [`DecodeError::Count`].
    Count,
    /// [`DecodeError::AddressType`].
    AddressType,
    /// [`DecodeError::Template`].
    Template,
    /// [`DecodeError::SetId`].
    SetId,
    /// [`DecodeError::Trailing`].
    Trailing,
}

impl ErrorKind {
    /// Every kind, in counter order.
    pub const ALL: [ErrorKind; 8] = [
        ErrorKind::Truncated,
        ErrorKind::Version,
        ErrorKind::Length,
        ErrorKind::Count,
        ErrorKind::AddressType,
        ErrorKind::Template,
        ErrorKind::SetId,
        ErrorKind::Trailing,
    ];

    /// A short lowercase name for metric labels.
    pub fn name(self) -> &'static str {
        match self {
            ErrorKind::Truncated => "truncated",
            ErrorKind::Version => "version",
            ErrorKind::Length => "length",
            ErrorKind::Count => "count",
            ErrorKind::AddressType => "address_type",
            ErrorKind::Template => "template",
            ErrorKind::SetId => "set_id",
            ErrorKind::Trailing => "trailing",
        }
    }

    pub(crate) fn index(self) -> usize {
        self as usize
    }
}

impl DecodeError {
    /// The counter category of this error.
    pub fn kind(&self) -> ErrorKind {
        match self {
            DecodeError::Truncated { .. } => ErrorKind::Truncated,
            DecodeError::Version { .. } => ErrorKind::Version,
            DecodeError::Length { .. } => ErrorKind::Length,
            DecodeError::Count { .. } => ErrorKind::Count,
            DecodeError::AddressType(_) => ErrorKind::AddressType,
            DecodeError::Template { .. } => ErrorKind::Template,
            DecodeError::SetId(_) => ErrorKind::SetId,
            DecodeError::Trailing { .. } => ErrorKind::Trailing,
        }
    }
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DecodeError::Truncated { what, need, have } => {
                write!(f, "truncated {what}: need {need} octets, {have} left")
            }
            DecodeError::Version { expected, found } => {
                write!(f, "version {found}, expected {expected}")
            }
            DecodeError::Length { what, claimed } => {
                write!(f, "bad {what} length {claimed}")
            }
            DecodeError::Count { what, claimed } => {
                write!(f, "impossible {what} count {claimed}")
            }
            DecodeError::AddressType(t) => write!(f, "unknown agent address type {t}"),
            DecodeError::Template { id, reason } => write!(f, "template {id}: {reason}"),
            DecodeError::SetId(id) => write!(f, "reserved set ID {id}"),
            DecodeError::Trailing { what, extra } => {
                write!(f, "{extra} octets after the {what}")
            }
        }
    }
}

impl std::error::Error for DecodeError {}
