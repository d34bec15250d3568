//! Writing classic libpcap capture files (the "pcap" format of libpcap,
//! magic 0xa1b2c3d4, version 2.4, microsecond timestamps).
//!
//! The tests write the traffic they replay through real exporters with it,
//! and save received datagrams for tshark to dissect; the demo can do the
//! same. It writes into memory and does no I/O; it does not read pcap files
//! nor write pcapng.

/// Link type of Ethernet frames.
pub const LINKTYPE_ETHERNET: u32 = 1;

/// A pcap file being built in memory.
#[derive(Debug, Clone)]
pub struct PcapWriter {
    buf: Vec<u8>,
    snaplen: u32,
}

impl PcapWriter {
    /// Starts a file of `linktype` frames, keeping at most `snaplen` octets
    /// of each.
    pub fn new(linktype: u32, snaplen: u32) -> Self {
        let mut buf = Vec::with_capacity(1 << 16);
        buf.extend_from_slice(&0xa1b2_c3d4u32.to_le_bytes());
        buf.extend_from_slice(&2u16.to_le_bytes());
        buf.extend_from_slice(&4u16.to_le_bytes());
        buf.extend_from_slice(&0i32.to_le_bytes());
        buf.extend_from_slice(&0u32.to_le_bytes());
        buf.extend_from_slice(&snaplen.to_le_bytes());
        buf.extend_from_slice(&linktype.to_le_bytes());
        PcapWriter { buf, snaplen }
    }

    /// Appends a frame seen at `micros` microseconds since the Unix epoch.
    pub fn packet(&mut self, micros: u64, frame: &[u8]) {
        let orig = u32::try_from(frame.len()).unwrap_or(u32::MAX);
        let incl = orig.min(self.snaplen);
        let secs = u32::try_from(micros / 1_000_000).unwrap_or(u32::MAX);
        let usecs = (micros % 1_000_000) as u32;
        self.buf.extend_from_slice(&secs.to_le_bytes());
        self.buf.extend_from_slice(&usecs.to_le_bytes());
        self.buf.extend_from_slice(&incl.to_le_bytes());
        self.buf.extend_from_slice(&orig.to_le_bytes());
        let keep = frame.get(..incl as usize).unwrap_or(frame);
        self.buf.extend_from_slice(keep);
    }

    /// The file's octets.
    pub fn finish(self) -> Vec<u8> {
        self.buf
    }
}
