//! The two socket options a BGP route server needs that neither the
//! standard library nor tokio exposes: TCP-MD5 signatures (RFC 2385,
//! Linux `TCP_MD5SIG`) and the Generalized TTL Security Mechanism (RFC
//! 5082: send with TTL 255 and drop anything that arrives with less than
//! 254, Linux `IP_MINTTL` / `IPV6_MINHOPCOUNT`).
//!
//! Known limitation: with one listener shared by GTSM and non-GTSM
//! members, the minimum TTL is set on each accepted GTSM connection, so
//! the first data segment (the peer's OPEN) may be queued before it
//! applies; every later segment is filtered, so such a session never
//! reaches Established on our side.
//!
//! This is the workspace's only `unsafe` code: two `setsockopt` calls on a
//! file descriptor the caller owns, with values built here and their exact
//! sizes. See docs/decisions/0003-unsafe-for-socket-options.md.
#![allow(unsafe_code)]

use std::io;
use std::net::IpAddr;
use std::os::fd::{AsFd, AsRawFd};

/// Longest key Linux accepts (`TCP_MD5SIG_MAXKEYLEN`).
pub const MD5_MAX_KEY: usize = 80;

/// `struct tcp_md5sig` of linux/tcp.h.
#[repr(C)]
struct TcpMd5Sig {
    addr: libc::sockaddr_storage,
    flags: u8,
    prefixlen: u8,
    keylen: u16,
    ifindex: u32,
    key: [u8; MD5_MAX_KEY],
}

fn setsockopt<T>(
    fd: &impl AsFd,
    level: libc::c_int,
    name: libc::c_int,
    value: &T,
) -> io::Result<()> {
    let len = std::mem::size_of::<T>() as libc::socklen_t;
    // SAFETY: the descriptor is borrowed from a live socket; `value` points
    // to a fully initialised `T` of `len` bytes, which the kernel only reads.
    let r = unsafe {
        libc::setsockopt(
            fd.as_fd().as_raw_fd(),
            level,
            name,
            (value as *const T).cast::<libc::c_void>(),
            len,
        )
    };
    if r == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

/// Sign (and require signatures on) segments to and from `peer` with `key`
/// (RFC 2385). On a listening socket it applies to connections accepted
/// from `peer`; on a connecting socket, to that connection. An empty key
/// removes the signature.
pub fn set_md5(fd: &impl AsFd, peer: IpAddr, key: &[u8]) -> io::Result<()> {
    if key.len() > MD5_MAX_KEY {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("TCP-MD5 key longer than {MD5_MAX_KEY} octets"),
        ));
    }
    // SAFETY: sockaddr_storage is plain old data; all-zero is valid.
    let mut addr: libc::sockaddr_storage = unsafe { std::mem::zeroed() };
    match peer {
        IpAddr::V4(a) => {
            let sin = libc::sockaddr_in {
                sin_family: libc::AF_INET as libc::sa_family_t,
                sin_port: 0,
                sin_addr: libc::in_addr {
                    s_addr: u32::from_ne_bytes(a.octets()),
                },
                sin_zero: [0; 8],
            };
            // SAFETY: sockaddr_in fits in sockaddr_storage and both are
            // plain old data.
            unsafe {
                std::ptr::write((&mut addr as *mut libc::sockaddr_storage).cast(), sin);
            }
        }
        IpAddr::V6(a) => {
            let sin6 = libc::sockaddr_in6 {
                sin6_family: libc::AF_INET6 as libc::sa_family_t,
                sin6_port: 0,
                sin6_flowinfo: 0,
                sin6_addr: libc::in6_addr {
                    s6_addr: a.octets(),
                },
                sin6_scope_id: 0,
            };
            // SAFETY: as above, for sockaddr_in6.
            unsafe {
                std::ptr::write((&mut addr as *mut libc::sockaddr_storage).cast(), sin6);
            }
        }
    }
    let mut sig = TcpMd5Sig {
        addr,
        flags: 0,
        prefixlen: 0,
        keylen: key.len() as u16,
        ifindex: 0,
        key: [0; MD5_MAX_KEY],
    };
    sig.key[..key.len()].copy_from_slice(key);
    setsockopt(fd, libc::IPPROTO_TCP, libc::TCP_MD5SIG, &sig)
}

/// Send with TTL / hop limit 255 (RFC 5082 §3), without filtering what
/// arrives. Set on a listening socket so that its SYN-ACKs, and the
/// connections it accepts, reach GTSM peers that drop anything below 254;
/// harmless for peers without GTSM.
pub fn set_ttl_255(fd: &impl AsFd, ipv6: bool) -> io::Result<()> {
    let ttl: libc::c_int = 255;
    if ipv6 {
        setsockopt(fd, libc::IPPROTO_IPV6, libc::IPV6_UNICAST_HOPS, &ttl)
    } else {
        setsockopt(fd, libc::IPPROTO_IP, libc::IP_TTL, &ttl)
    }
}

/// GTSM (RFC 5082 §3): send with TTL / hop limit 255 and accept only
/// packets that arrive with at least 254 (one hop away).
pub fn set_gtsm(fd: &impl AsFd, ipv6: bool) -> io::Result<()> {
    let ttl: libc::c_int = 255;
    let min: libc::c_int = 254;
    if ipv6 {
        setsockopt(fd, libc::IPPROTO_IPV6, libc::IPV6_UNICAST_HOPS, &ttl)?;
        setsockopt(fd, libc::IPPROTO_IPV6, libc::IPV6_MINHOPCOUNT, &min)
    } else {
        setsockopt(fd, libc::IPPROTO_IP, libc::IP_TTL, &ttl)?;
        setsockopt(fd, libc::IPPROTO_IP, libc::IP_MINTTL, &min)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn options_apply_to_real_sockets() {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        set_md5(&l, "127.0.0.2".parse().unwrap(), b"secret").unwrap();
        set_md5(&l, "::1".parse().unwrap(), b"secret").unwrap_err(); // IPv4 socket
        set_gtsm(&l, false).unwrap();
        assert!(set_md5(&l, "127.0.0.2".parse().unwrap(), &[0; 81]).is_err());
    }
}
