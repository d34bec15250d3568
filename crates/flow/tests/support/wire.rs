//! A small IPFIX / NetFlow v9 message builder for hand-made vectors.

/// Field specifier: (IE id, length, enterprise).
pub type Field = (u16, u16, Option<u32>);

fn be16(v: &mut Vec<u8>, x: u16) {
    v.extend_from_slice(&x.to_be_bytes());
}

fn be32(v: &mut Vec<u8>, x: u32) {
    v.extend_from_slice(&x.to_be_bytes());
}

/// A set (IPFIX) or flowset (v9): ID, length, body.
pub fn set(id: u16, body: &[u8]) -> Vec<u8> {
    let mut v = Vec::new();
    be16(&mut v, id);
    be16(&mut v, (body.len() + 4) as u16);
    v.extend_from_slice(body);
    v
}

/// A template record body.
pub fn template(id: u16, fields: &[Field]) -> Vec<u8> {
    let mut v = Vec::new();
    be16(&mut v, id);
    be16(&mut v, fields.len() as u16);
    for (ie, len, ent) in fields {
        match ent {
            Some(e) => {
                be16(&mut v, ie | 0x8000);
                be16(&mut v, *len);
                be32(&mut v, *e);
            }
            None => {
                be16(&mut v, *ie);
                be16(&mut v, *len);
            }
        }
    }
    v
}

/// An IPFIX options template record body.
pub fn ipfix_options_template(id: u16, scope: &[Field], fields: &[Field]) -> Vec<u8> {
    let all: Vec<Field> = scope.iter().chain(fields).copied().collect();
    let t = template(id, &all);
    let mut v = t[..4].to_vec();
    be16(&mut v, scope.len() as u16);
    v.extend_from_slice(&t[4..]);
    v
}

/// A NetFlow v9 options template record body (scope types are v9's).
pub fn v9_options_template(id: u16, scope: &[(u16, u16)], fields: &[(u16, u16)]) -> Vec<u8> {
    let mut v = Vec::new();
    be16(&mut v, id);
    be16(&mut v, (scope.len() * 4) as u16);
    be16(&mut v, (fields.len() * 4) as u16);
    for (t, l) in scope.iter().chain(fields) {
        be16(&mut v, *t);
        be16(&mut v, *l);
    }
    v
}

/// An IPFIX message around sets.
pub fn ipfix(export_time: u32, seq: u32, domain: u32, sets: &[Vec<u8>]) -> Vec<u8> {
    let body: Vec<u8> = sets.concat();
    let mut v = Vec::new();
    be16(&mut v, 10);
    be16(&mut v, (16 + body.len()) as u16);
    be32(&mut v, export_time);
    be32(&mut v, seq);
    be32(&mut v, domain);
    v.extend_from_slice(&body);
    v
}

/// A NetFlow v9 packet around flowsets.
pub fn netflow9(
    count: u16,
    uptime_ms: u32,
    secs: u32,
    seq: u32,
    source: u32,
    sets: &[Vec<u8>],
) -> Vec<u8> {
    let mut v = Vec::new();
    be16(&mut v, 9);
    be16(&mut v, count);
    be32(&mut v, uptime_ms);
    be32(&mut v, secs);
    be32(&mut v, seq);
    be32(&mut v, source);
    for s in sets {
        v.extend_from_slice(s);
    }
    v
}
