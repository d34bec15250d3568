//! Reading `caribix run`'s JSON API from the end-to-end tests: any answer
//! parsed as JSON, a strict 200-and-JSON read that fails the test, and the
//! neighbor list and filtered routes (`/api/v1/neighbors...`) in the shapes
//! the tests compare.
//!
//! Not here: the HTTP request itself ([`super::get`]).

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

/// `GET path` on 127.0.0.1:`port` parsed as JSON, whatever the status;
/// None when there is no answer or it is not JSON.
pub fn http_get(port: u16, path: &str) -> Option<Value> {
    let (_, body) = super::get(port, path)?;
    serde_json::from_str(&body).ok()
}

/// `GET path`, which must answer 200 with JSON; fails the test otherwise.
pub fn get_ok(port: u16, path: &str) -> Value {
    match super::get(port, path) {
        Some((200, body)) => {
            serde_json::from_str(&body).unwrap_or_else(|e| panic!("{path}: {e}: {body}"))
        }
        Some((status, body)) => panic!("{path}: status {status}: {body}"),
        None => panic!("{path}: no answer from 127.0.0.1:{port}"),
    }
}

/// The neighbor with API id `id`.
pub fn neighbor(web: u16, id: &str) -> Option<Value> {
    let v = http_get(web, "/api/v1/neighbors")?;
    v["neighbors"]
        .as_array()?
        .iter()
        .find(|n| n["id"] == id)
        .cloned()
}

/// Session states by neighbor id; fails the test when the API does not
/// answer.
pub fn neighbor_states(web: u16) -> BTreeMap<String, String> {
    get_ok(web, "/api/v1/neighbors")["neighbors"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|n| {
            (
                n["id"].as_str().unwrap_or_default().to_string(),
                n["state"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect()
}

/// The filtered routes of neighbor `id`: prefix -> reject codes.
pub fn filtered(web: u16, id: &str) -> BTreeMap<String, BTreeSet<u64>> {
    let Some(v) = http_get(web, &format!("/api/v1/neighbors/{id}/routes?filtered=true")) else {
        return BTreeMap::new();
    };
    v["routes"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|r| {
            let codes = r["reasons"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|x| x["code"].as_u64())
                .collect();
            (r["prefix"].as_str().unwrap_or("").to_string(), codes)
        })
        .collect()
}
