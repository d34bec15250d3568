//! `RtrConfig::aspa_json` follows the file: with the default poll, an
//! edit takes effect within a few seconds (not a minute), a file that does
//! not parse keeps the last good records, and a file that comes back is
//! read again. No RTR cache is configured: the file is the only source.

mod common;

use std::time::Duration;

use common::{json, wait_for, write_atomic, TempDir};
use rov::{RtrClient, RtrConfig};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn aspa_json_edits_take_effect_within_seconds() {
    let dir = TempDir::new("aspa-json");
    let file = dir.path().join("aspa.json");
    write_atomic(&file, &json(&[], &[(64496, &[64510])]));
    let mut config = RtrConfig::new(Vec::<String>::new(), dir.path().join("cache"));
    config.aspa_json = Some(file.clone());
    assert!(
        config.aspa_poll <= Duration::from_secs(1),
        "the default poll is {:?}",
        config.aspa_poll
    );
    let (rpki, task) = RtrClient::new(config).spawn();
    let mut changes = rpki.subscribe();
    wait_for("the first ASPA records", Duration::from_secs(5), || {
        rpki.current().aspas().providers(64496) == Some(&[64510][..])
    })
    .await;
    changes.borrow_and_update();

    // An edit: seen within 3 s, and announced as an ASPA change.
    write_atomic(&file, &json(&[], &[(64496, &[64510, 64511])]));
    let took = wait_for("the edited ASPA records", Duration::from_secs(3), || {
        rpki.current().aspas().providers(64496) == Some(&[64510, 64511][..])
    })
    .await;
    eprintln!("edit picked up after {took:?}");
    assert!(changes.has_changed().unwrap_or(false));
    assert!(changes.borrow_and_update().aspa_changed);

    // A broken file: the last good records stay.
    write_atomic(&file, "{\"aspas\": [");
    tokio::time::sleep(Duration::from_millis(2500)).await;
    assert_eq!(
        rpki.current().aspas().providers(64496),
        Some(&[64510, 64511][..])
    );
    // Gone, then back with other records: read again.
    std::fs::remove_file(&file).expect("remove the ASPA file");
    tokio::time::sleep(Duration::from_millis(1500)).await;
    write_atomic(&file, &json(&[], &[(64497, &[64512])]));
    wait_for(
        "the records of the new file",
        Duration::from_secs(3),
        || {
            let t = rpki.current();
            t.aspas().providers(64497) == Some(&[64512][..]) && t.aspas().providers(64496).is_none()
        },
    )
    .await;
    task.abort();
}
