//! `causerie compact` (specs/moderation.md §4): compacts a stopped node's store and reports
//! what it did (`--json`); a node running on the data directory is refused `data_dir_locked`.

#[path = "support/cli.rs"]
mod cli_support;

use cli_support::{causerie, start_node};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn compact_a_stopped_node_and_refuse_a_running_one() {
    let home = tempfile::tempdir().expect("temp dir");
    let data = home.path().join("data");
    let data_arg = data.to_str().expect("utf-8 path").to_owned();
    let running = start_node(data.clone(), Vec::new()).await;
    let refused = causerie(home.path(), &["compact", "--data-dir", &data_arg, "--json"]).await;
    assert_eq!(refused.code, 2, "{refused:?}");
    assert!(
        refused.stdout.contains("data_dir_locked") || refused.stderr.contains("data_dir_locked"),
        "{refused:?}"
    );
    running.shutdown().await;
    let done = causerie(home.path(), &["compact", "--data-dir", &data_arg, "--json"])
        .await
        .ok();
    assert!(done["entries"].as_u64().is_some_and(|n| n > 0), "{done}");
    assert!(data.join("store").exists() && !data.join("store.compacting").exists());
}
