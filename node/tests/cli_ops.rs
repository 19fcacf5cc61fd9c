//! Operating a node from the command line: `causerie run` refusing a store written by a newer
//! build (with both versions and what to do), `causerie admin restore` refusals, and
//! `causerie admin doctor`.

#![allow(clippy::unwrap_used, missing_docs, unreachable_pub)]

#[path = "support/cli.rs"]
mod cli_support;

use causerie_node::client::{Client, NewRoom};
use causerie_storage::SledStore;
use causerie_storage::sled_store::SCHEMA_VERSION;
use cli_support::*;

/// `causerie admin restore --from FROM --data-dir TARGET`.
async fn restore(home: &std::path::Path, from: &str, target: &str) -> Run {
    causerie(
        home,
        &["admin", "restore", "--from", from, "--data-dir", target],
    )
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn run_refuses_a_store_from_a_newer_schema_and_says_what_to_do() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let store = data.join("store");
    std::fs::create_dir_all(&data).unwrap();
    drop(SledStore::open(&store).unwrap());
    let newer = SCHEMA_VERSION + 1;
    causerie_storage::testing::set_schema_version(&store, newer).unwrap();
    let data_arg = data.to_str().unwrap();
    let args = [
        "run",
        "--data-dir",
        data_arg,
        "--listen",
        "/ip4/127.0.0.1/tcp/0",
        "--http",
        "127.0.0.1:0",
    ];
    let run = causerie(dir.path(), &args).await;
    assert_eq!(run.code, 2, "{run:?}");
    let answer = run.json();
    assert_eq!(answer["error"], "schema_mismatch", "{run:?}");
    let message = answer["message"].as_str().unwrap();
    assert!(
        message.contains(&format!("version {newer} found, {SCHEMA_VERSION} expected")),
        "{message}"
    );
    assert!(
        message.contains(
            "this store was written by a newer causerie; run that version or restore a backup"
        ),
        "{message}"
    );
    // The text form, for a person, says the same.
    let mut command = command(dir.path());
    command.args(args);
    let output = command.output().await.unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("written by a newer causerie"), "{stderr}");
    assert!(stderr.contains("[schema_mismatch]"), "{stderr}");
}

/// A writer posting messages until told to stop; returns the ids of messages acknowledged
/// before `cutoff` was set (read when each acknowledgement arrives).
async fn writer(
    node: String,
    secret: causerie_crypto::UserSecret,
    room: causerie_crypto::RoomId,
    name: &'static str,
    cutoff: std::sync::Arc<std::sync::atomic::AtomicBool>,
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
    posted: std::sync::Arc<std::sync::atomic::AtomicUsize>,
) -> (Vec<String>, usize) {
    use std::sync::atomic::Ordering;
    let mut client = Client::new(&node).unwrap();
    client.login(&secret).await.unwrap();
    let mut before = Vec::new();
    let mut total = 0;
    for i in 0..MAX_WRITES {
        if stop.load(Ordering::SeqCst) {
            break;
        }
        // Read the flag before sending: a message sent before the backup request counts only
        // if it was also acknowledged before the request went out.
        let sent_before = !cutoff.load(Ordering::SeqCst);
        let submitted = send(&client, &secret, &room, &format!("{name} {i}")).await;
        total += 1;
        posted.fetch_add(1, Ordering::SeqCst);
        if sent_before && !cutoff.load(Ordering::SeqCst) {
            before.push(submitted.event_id);
        }
    }
    (before, total)
}

/// Sends a message, waiting out the API's per-user request rate (`429 rate_limited`), at most
/// [`MAX_RATE_RETRIES`] times.
async fn send(
    client: &Client,
    secret: &causerie_crypto::UserSecret,
    room: &causerie_crypto::RoomId,
    body: &str,
) -> causerie_node::client::Submitted {
    for _ in 0..MAX_RATE_RETRIES {
        match client.send_message(secret, room, body).await {
            Ok(submitted) => return submitted,
            Err(e) if e.reason() == "rate_limited" => {
                tokio::time::sleep(std::time::Duration::from_millis(20)).await;
            }
            Err(e) => panic!("send failed: {e}"),
        }
    }
    panic!("still rate limited after {MAX_RATE_RETRIES} tries");
}

/// Most waits for the request rate per message.
const MAX_RATE_RETRIES: usize = 1_000;

/// Most messages one writer posts.
const MAX_WRITES: usize = 400;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn backup_under_write_load_restores_every_acknowledged_event() {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, Ordering};
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path();
    let data = home.join("data");
    let running = start_fast(data.clone()).await;
    let node = url(&running);
    let secret = causerie_crypto::UserSecret::from_seed(&SEED);
    let mut client = Client::new(&node).unwrap();
    client.register(&secret, "alice", None).await.unwrap();
    let room = client
        .create_room(
            &secret,
            &NewRoom {
                name: "Backups".into(),
                join_rule: "public".into(),
                topic: None,
            },
        )
        .await
        .unwrap();
    // A first stretch of history, so the backup has something to hold the actor for.
    for i in 0..PRELOAD {
        send(&client, &secret, &room, &format!("preload {i}")).await;
    }
    let cutoff = Arc::new(AtomicBool::new(false));
    let stop = Arc::new(AtomicBool::new(false));
    let posted = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let writers: Vec<_> = ["one", "two"]
        .into_iter()
        .map(|name| {
            tokio::spawn(writer(
                node.clone(),
                causerie_crypto::UserSecret::from_seed(&SEED),
                room,
                name,
                cutoff.clone(),
                stop.clone(),
                posted.clone(),
            ))
        })
        .collect();
    // Let the writers get going, then take the backup while they write.
    wait_until("writers posting", || {
        let posted = posted.clone();
        async move { posted.load(Ordering::SeqCst) >= 20 }
    })
    .await;
    let backup = home.join("node.backup");
    let backup_arg = backup.to_str().unwrap();
    let data_arg = data.to_str().unwrap();
    cutoff.store(true, Ordering::SeqCst);
    let backup_args = [
        "--node",
        &node,
        "admin",
        "--data-dir",
        data_arg,
        "backup",
        "--out",
        backup_arg,
    ];
    // The writers share the loopback address's request rate with the operator: a refused
    // request is tried again (each try is after the cutoff, so the acknowledged set holds).
    let mut taken = None;
    for _ in 0..MAX_RATE_RETRIES {
        let run = causerie(home, &backup_args).await;
        if run.code == 1 && run.json()["error"] == "rate_limited" {
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
            continue;
        }
        taken = Some(run.ok());
        break;
    }
    let taken = taken.expect("backup still rate limited");
    stop.store(true, Ordering::SeqCst);
    let mut acknowledged = Vec::new();
    let mut written = 0;
    for writer in writers {
        let (before, total) = writer.await.unwrap();
        acknowledged.extend(before);
        written += total;
    }
    assert!(!acknowledged.is_empty());
    assert!(
        written > acknowledged.len(),
        "the writers kept writing during the backup"
    );
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(&backup).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
    running.shutdown().await;

    // A flipped byte anywhere, or a truncated file, is refused and writes nothing.
    let bytes = std::fs::read(&backup).unwrap();
    for position in [0, 9, 13, bytes.len() / 2, bytes.len() - 40, bytes.len() - 1] {
        let mut flipped = bytes.clone();
        flipped[position] ^= 0x01;
        let file = home.join(format!("flipped-{position}"));
        std::fs::write(&file, &flipped).unwrap();
        let target = home.join(format!("restore-flipped-{position}"));
        let run = restore(home, file.to_str().unwrap(), target.to_str().unwrap()).await;
        let reason = if position == 0 {
            "not_a_backup"
        } else {
            "backup_checksum_mismatch"
        };
        run.refused(reason);
        assert!(
            std::fs::read_dir(&target).unwrap().next().is_none(),
            "nothing written"
        );
    }
    let truncated = home.join("truncated");
    std::fs::write(&truncated, &bytes[..bytes.len() - 100]).unwrap();
    let target = home.join("restore-truncated");
    restore(home, truncated.to_str().unwrap(), target.to_str().unwrap())
        .await
        .refused("backup_checksum_mismatch");
    // A non-empty directory is refused.
    restore(home, backup_arg, data_arg)
        .await
        .refused("restore_target_not_empty");

    // The restored directory serves every acknowledged event, with the same node key.
    let restored = home.join("restored");
    let restored_arg = restored.to_str().unwrap();
    let done = restore(home, backup_arg, restored_arg).await.ok();
    assert_eq!(done["node_key"], true);
    assert_eq!(
        std::fs::read(restored.join("node.key")).unwrap(),
        std::fs::read(data.join("node.key")).unwrap()
    );
    let key_mode = std::fs::metadata(restored.join("node.key"))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(key_mode & 0o777, 0o600);
    {
        let store = SledStore::open(restored.join("store")).unwrap();
        let integrity = store.verify_integrity().unwrap();
        assert!(integrity.problems.is_empty(), "{integrity:?}");
    }
    let running = start_node(restored.clone(), vec![]).await;
    let mut client = Client::new(&url(&running)).unwrap();
    client.login(&secret).await.unwrap();
    let served: std::collections::BTreeSet<String> = client
        .history(&room, 10_000)
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.id)
        .collect();
    eprintln!(
        "backup of a store of {} timeline events ({} pairs, {} bytes): commits held {} ms; {} of {written} messages acknowledged before the request",
        served.len(),
        taken["pairs"],
        taken["bytes"],
        taken["store_millis"],
        acknowledged.len()
    );
    for id in &acknowledged {
        assert!(
            served.contains(id),
            "acknowledged {id} not served after restore"
        );
    }
    running.shutdown().await;
}

/// Messages posted before the writers start.
const PRELOAD: usize = 200;
const SEED: [u8; 32] = [77; 32];

/// A node on loopback whose per-user rate limits do not slow the writers down.
async fn start_fast(data_dir: std::path::PathBuf) -> causerie_node::daemon::Running {
    use causerie_node::config::{Config, ConfigFile, Overrides};
    use causerie_node::rate_limits::{MAX_RATE_BURST, MAX_RATE_PER_MINUTE, Rate, RateLimitsFile};
    let fast = Rate {
        burst: MAX_RATE_BURST,
        per_minute: MAX_RATE_PER_MINUTE,
    };
    let file = ConfigFile {
        rate_limits: Some(RateLimitsFile {
            user_room: Some(fast),
            user: Some(fast),
            ..RateLimitsFile::default()
        }),
        ..ConfigFile::default()
    };
    let overrides = Overrides {
        data_dir: Some(data_dir),
        listen: vec!["/ip4/127.0.0.1/tcp/0".into()],
        bootstrap: vec![],
        http: Some("127.0.0.1:0".into()),
        ..Overrides::default()
    };
    let config = Config::from_parts(file, overrides).unwrap();
    causerie_node::daemon::start(&config).await.unwrap()
}

/// The checks of a `causerie admin doctor --json` answer, by name.
fn checks(answer: &serde_json::Value) -> std::collections::BTreeMap<String, serde_json::Value> {
    answer["checks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| (c["name"].as_str().unwrap().to_owned(), c.clone()))
        .collect()
}

/// Asserts that the doctor's check `name` among `found` has `status` and that its detail
/// mentions `words`.
fn assert_check(
    found: &std::collections::BTreeMap<String, serde_json::Value>,
    name: &str,
    status: &str,
    words: &str,
) {
    let check = &found[name];
    assert_eq!(check["status"], status, "{check}");
    assert!(check["detail"].as_str().unwrap().contains(words), "{check}");
}

/// Runs `causerie --json admin doctor` for a node on `data_dir` with a loopback p2p address and
/// the HTTP address `http`.
async fn doctor(home: &std::path::Path, data_dir: &str, http: &str) -> Run {
    let args = [
        "admin",
        "doctor",
        "--data-dir",
        data_dir,
        "--listen",
        "/ip4/127.0.0.1/tcp/0",
        "--http",
        http,
    ];
    causerie(home, &args).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn doctor_warns_about_loopback_and_fails_on_an_unusable_data_dir_or_a_taken_port() {
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path();
    let data = home.join("data");
    let data_arg = data.to_str().unwrap();
    // A fresh node on loopback: nothing fails, reachability warns with the keys to change.
    let answer = doctor(home, data_arg, "127.0.0.1:0").await.ok();
    assert_eq!(answer["ok"], true, "{answer}");
    let found = checks(&answer);
    let names: Vec<&str> = found.keys().map(String::as_str).collect();
    for name in [
        "data_dir",
        "disk",
        "store",
        "http",
        "p2p",
        "reachability",
        "client_address",
        "clock",
        "operator_token",
    ] {
        assert!(names.contains(&name), "{name} missing from {answer}");
    }
    for check in found.values() {
        let status = check["status"].as_str().unwrap();
        assert!(["ok", "warn", "fail"].contains(&status), "{check}");
        assert!(check["detail"].is_string(), "{check}");
        assert_eq!(check["fix"].is_string(), status != "ok", "{check}");
    }
    assert_check(
        &found,
        "reachability",
        "warn",
        "other machines cannot reach this node",
    );
    let fix = found["reachability"]["fix"].as_str().unwrap();
    assert!(
        fix.contains("listen = ") && fix.contains("http = "),
        "{fix}"
    );
    assert_eq!(found["data_dir"]["status"], "ok");
    assert_eq!(found["store"]["status"], "ok");

    // A data dir that is a file fails.
    let file = home.join("not-a-dir");
    std::fs::write(&file, b"x").unwrap();
    let run = doctor(home, file.to_str().unwrap(), "127.0.0.1:0").await;
    assert_eq!(run.code, 1, "{run:?}");
    let answer = run.json();
    assert_eq!(answer["ok"], false);
    assert_eq!(checks(&answer)["data_dir"]["status"], "fail", "{answer}");

    // An HTTP port another program holds fails.
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().to_string();
    let run = doctor(home, data_arg, &port).await;
    assert_eq!(run.code, 1, "{run:?}");
    let http = &checks(&run.json())["http"];
    assert_eq!(http["status"], "fail", "{http}");
    assert!(http["fix"].as_str().unwrap().contains("http = "), "{http}");
    drop(taken);

    // A running node: its store is locked by it and it answers; its ports are its own; its
    // operator token is there, mode 0600.
    let running = start_node(data.clone(), vec![]).await;
    let http_addr = running.http_addr.to_string();
    let run = doctor(home, data_arg, &http_addr).await;
    let answer = run.ok();
    let found = checks(&answer);
    assert_check(&found, "store", "ok", "running node");
    assert_check(&found, "http", "ok", "this node");
    assert_eq!(found["operator_token"]["status"], "ok", "{answer}");
    running.shutdown().await;
}
