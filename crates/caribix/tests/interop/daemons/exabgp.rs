//! ExaBGP as a member: its configuration, two API processes (one records
//! what it receives, raw packets included, as JSON; one feeds it commands
//! the test appends to a file), and reading what they recorded.
//!
//! What it does not do: use ExaBGP's own CLI (its named pipes would need a
//! shared /run directory); the command file takes its place.

use std::fmt::Write as _;

use super::{json, u32s, Announce, Member};
use crate::interop::{which, Lab, Route, RS_ASN, RS_V4, RS_V6};

impl Member {
    pub(super) fn start_exabgp(&mut self, lab: &mut Lab) {
        let recv = lab.write("exabgp-recv.py", EXABGP_RECV);
        let cmd = lab.write("exabgp-cmd.py", EXABGP_CMD);
        let state = lab.path(&format!("{}.exabgp.json", self.name));
        let cmds = lab.write(&format!("{}.exabgp.cmds", self.name), "");
        let py = which("python3", "python3").to_string_lossy().into_owned();
        let mut c = format!(
            "process recv {{\n  run {py} {recv} {state} {width};\n  encoder json;\n}}\n\
             process cmd {{\n  run {py} {cmd} {cmds};\n  encoder text;\n}}\n",
            width = if self.asn4_disabled { "asn2" } else { "asn4" }
        );
        for (rs, local, fam, hold) in [
            (RS_V4, self.v4(), "ipv4", self.hold_v4),
            (RS_V6, self.v6(), "ipv6", 90),
        ] {
            let _ = writeln!(
                c,
                "neighbor {rs} {{\n  router-id {id};\n  local-address {local};\n  local-as {asn};\n  \
                 peer-as {RS_ASN};\n  hold-time {hold};\n  family {{ {fam} unicast; }}\n  \
                 capability {{ asn4 {asn4}; }}\n  \
                 api {{ processes [ recv ]; neighbor-changes; receive {{ parsed; packets; update; }} }}\n  \
                 api {{ processes [ cmd ]; }}\n  static {{",
                id = self.v4(),
                asn = self.asn,
                asn4 = if self.asn4_disabled { "disable" } else { "enable" },
            );
            for a in self.announces.iter().filter(|a| a.family() == fam) {
                let nh = if a.is_v6() { self.v6() } else { self.v4() };
                let _ = writeln!(
                    c,
                    "    route {} next-hop {nh}{};",
                    a.prefix,
                    exabgp_attrs(self.asn, a)
                );
            }
            let _ = writeln!(c, "  }}\n}}");
        }
        let conf = lab.write(&format!("{}.exabgp.conf", self.name), &c);
        let exabgp = which("exabgp", "exabgp").to_string_lossy().into_owned();
        let name = self.name.clone();
        let pid = lab.spawn(
            &name,
            &format!("{name}-exabgp"),
            &[
                "env",
                "exabgp.daemon.user=root",
                "exabgp.daemon.drop=false",
                "exabgp.log.destination=stdout",
                "exabgp.api.ack=false",
                "exabgp.cli.enable=false",
                &exabgp,
                &conf,
            ],
        );
        self.pids = vec![pid];
    }

    /// Have ExaBGP's command process send one API command.
    pub(crate) fn exabgp_command(&self, lab: &Lab, line: &str) -> Result<(), String> {
        use std::io::Write as _;
        let path = lab.path(&format!("{}.exabgp.cmds", self.name));
        let mut f = std::fs::OpenOptions::new()
            .append(true)
            .open(&path)
            .map_err(|e| format!("{path}: {e}"))?;
        writeln!(f, "{line}").map_err(|e| format!("{path}: {e}"))
    }

    pub(super) fn exabgp_state(&self, lab: &Lab) -> Result<serde_json::Value, String> {
        let path = lab.path(&format!("{}.exabgp.json", self.name));
        let text = std::fs::read_to_string(&path).map_err(|e| format!("{path}: {e}"))?;
        json(&text)
    }

    /// The AS_PATH and AS4_PATH (empty if absent) of the last UPDATE for
    /// an IPv4 prefix, as ExaBGP received them on the wire (its raw
    /// `packets` API output, decoded by the recorder).
    pub(crate) fn exabgp_raw_paths(
        &self,
        lab: &Lab,
        prefix: &str,
    ) -> Result<(Vec<u32>, Vec<u32>), String> {
        let v = self.exabgp_state(lab)?;
        let r = v
            .get("raw")
            .and_then(|r| r.get(prefix))
            .ok_or_else(|| format!("ExaBGP recorded no raw UPDATE for {prefix}"))?;
        let nums = |k: &str| u32s(r.get(k).and_then(|a| a.as_array()).into_iter().flatten());
        Ok((nums("as_path"), nums("as4_path")))
    }

    /// How often ExaBGP saw each session go down (from its API process).
    pub(crate) fn exabgp_downs(&self, lab: &Lab) -> Result<u64, String> {
        let v = self.exabgp_state(lab)?;
        Ok(v.pointer("/downs").and_then(|d| d.as_u64()).unwrap_or(0))
    }

    pub(super) fn rib_exabgp(&self, lab: &Lab) -> Result<Vec<Route>, String> {
        let v = self.exabgp_state(lab)?;
        let mut routes = Vec::new();
        for (prefix, r) in v
            .get("rib")
            .and_then(|r| r.as_object())
            .into_iter()
            .flatten()
        {
            let attrs = r.get("attributes").cloned().unwrap_or_default();
            // ExaBGP lists a global + link-local next hop as two routes;
            // the recorder keeps both, the global one is the next hop.
            let next_hop = r
                .get("next_hops")
                .and_then(|n| n.as_array())
                .into_iter()
                .flatten()
                .filter_map(|n| n.as_str())
                .find(|n| !n.starts_with("fe80"))
                .unwrap_or("")
                .to_string();
            let nums = |v: &serde_json::Value| -> Vec<u32> {
                v.as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(|x| x.as_u64().and_then(|x| u32::try_from(x).ok()))
                    .collect()
            };
            routes.push(Route {
                prefix: prefix.clone(),
                as_path: attrs.get("as-path").map(nums).unwrap_or_default(),
                next_hop,
                med: attrs
                    .get("med")
                    .and_then(|m| m.as_u64())
                    .and_then(|m| u32::try_from(m).ok()),
                communities: attrs
                    .get("community")
                    .and_then(|c| c.as_array())
                    .into_iter()
                    .flatten()
                    .filter_map(|c| match nums(c).as_slice() {
                        [a, b] => Some((*a, *b)),
                        _ => None,
                    })
                    .collect(),
                ext_communities: attrs
                    .get("extended-community")
                    .and_then(|c| c.as_array())
                    .into_iter()
                    .flatten()
                    .filter_map(|e| e.get("string").and_then(|s| s.as_str()))
                    .map(|s| s.replacen("target:", "rt:", 1))
                    .collect(),
                large_communities: attrs
                    .get("large-community")
                    .and_then(|c| c.as_array())
                    .into_iter()
                    .flatten()
                    .filter_map(|c| match nums(c).as_slice() {
                        [a, b, d] => Some((*a, *b, *d)),
                        _ => None,
                    })
                    .collect(),
            });
        }
        Ok(routes)
    }
}

/// ExaBGP route attributes for an announcement.
pub(crate) fn exabgp_attrs(asn: u32, a: &Announce) -> String {
    let mut s = String::new();
    if !a.path_tail.is_empty() {
        let p: Vec<String> = std::iter::once(asn)
            .chain(a.path_tail.iter().copied())
            .map(|x| x.to_string())
            .collect();
        let _ = write!(s, " as-path [ {} ]", p.join(" "));
    }
    if let Some(m) = a.med {
        let _ = write!(s, " med {m}");
    }
    if !a.communities.is_empty() {
        let _ = write!(s, " community [ {} ]", a.communities_joined(" "));
    }
    if !a.large.is_empty() {
        let _ = write!(s, " large-community [ {} ]", a.large_joined(" "));
    }
    if !a.rts.is_empty() {
        let _ = write!(
            s,
            " extended-community [ {} ]",
            a.rts_joined("target:", " ")
        );
    }
    s
}

/// ExaBGP API process: records what ExaBGP receives as one JSON file
/// `{"rib": {prefix: {...}}, "state": {peer: "up"|"down"}, "downs": N}`,
/// rewritten atomically after each message.
const EXABGP_RECV: &str = r#"import json, os, sys
out = sys.argv[1]
as_width = 2 if sys.argv[2] == "asn2" else 4
data = {"rib": {}, "state": {}, "downs": 0, "raw": {}}

def raw_paths(body):
    # AS_PATH / AS4_PATH as sent on the wire, and the IPv4 NLRI, of one
    # UPDATE body (RFC 4271 4.3).
    b = bytes.fromhex(body[2:] if body.startswith("0x") else body)
    i = 2 + int.from_bytes(b[0:2], "big")
    end = i + 2 + int.from_bytes(b[i:i + 2], "big")
    i += 2
    res = {}
    while i < end:
        flags, code = b[i], b[i + 1]
        i += 2
        if flags & 0x10:
            ln = int.from_bytes(b[i:i + 2], "big")
            i += 2
        else:
            ln = b[i]
            i += 1
        val = b[i:i + ln]
        i += ln
        if code in (2, 17):
            w = as_width if code == 2 else 4
            asns = []
            j = 0
            while j + 2 <= len(val):
                n = val[j + 1]
                j += 2
                for _ in range(n):
                    asns.append(int.from_bytes(val[j:j + w], "big"))
                    j += w
            res["as_path" if code == 2 else "as4_path"] = asns
    nlri = []
    while i < len(b):
        ln = b[i]
        nb = (ln + 7) // 8
        a = b[i + 1:i + 1 + nb] + bytes(4 - nb)
        i += 1 + nb
        nlri.append("%d.%d.%d.%d/%d" % (a[0], a[1], a[2], a[3], ln))
    return res, nlri
def dump():
    tmp = out + ".tmp"
    with open(tmp, "w") as f:
        json.dump(data, f)
    os.replace(tmp, out)
dump()
trace = open(out + ".messages", "a")
for line in sys.stdin:
    trace.write(line)
    trace.flush()
    try:
        msg = json.loads(line)
    except ValueError:
        continue
    n = msg.get("neighbor", {})
    peer = n.get("address", {}).get("peer")
    if msg.get("type") == "state":
        st = n.get("state")
        data["state"][peer] = st
        if st == "down":
            data["downs"] += 1
            for k in [k for k, v in data["rib"].items() if v["peer"] == peer]:
                del data["rib"][k]
        dump()
        continue
    if msg.get("type") != "update":
        continue
    body = n.get("message", {}).get("body")
    if body is not None:
        try:
            paths, nlri = raw_paths(body)
            for p in nlri:
                data["raw"][p] = paths
        except (ValueError, IndexError):
            pass
        dump()
        continue
    upd = n.get("message", {}).get("update", {})
    attrs = upd.get("attribute", {})
    seen = set()
    for fam, byhop in upd.get("announce", {}).items():
        for nh, nlris in byhop.items():
            for e in nlris:
                p = e["nlri"] if isinstance(e, dict) else e
                if p not in seen:
                    data["rib"][p] = {"peer": peer, "family": fam, "next_hops": [], "attributes": attrs}
                    seen.add(p)
                data["rib"][p]["next_hops"].append(nh)
    for fam, nlris in upd.get("withdraw", {}).items():
        for e in nlris:
            p = e["nlri"] if isinstance(e, dict) else e
            data["rib"].pop(p, None)
    dump()
"#;

/// ExaBGP API process: sends ExaBGP every line the test appends to a file.
const EXABGP_CMD: &str = r#"import os, sys, time
path = sys.argv[1]
pos = 0
parent = os.getppid()
start = time.time()
# Bounded: stops when ExaBGP goes away, and after an hour at most.
while os.getppid() == parent and time.time() - start < 3600:
    with open(path) as f:
        f.seek(pos)
        chunk = f.read()
    if chunk.endswith("\n"):
        pos += len(chunk.encode())
        for line in chunk.splitlines():
            if line.strip():
                sys.stdout.write(line + "\n")
        sys.stdout.flush()
    time.sleep(0.2)
"#;
