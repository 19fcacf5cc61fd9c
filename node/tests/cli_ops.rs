//! Operating a node from the command line: `causerie run` refusing a store written by a newer
//! build (with both versions and what to do), `causerie admin restore` refusals, and
//! `causerie admin doctor`.

#![allow(clippy::unwrap_used, missing_docs, unreachable_pub)]

#[path = "support/cli.rs"]
mod cli_support;

use causerie_storage::SledStore;
use causerie_storage::sled_store::SCHEMA_VERSION;
use cli_support::*;

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
