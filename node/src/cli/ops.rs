//! `causerie admin backup` (a running node writes a backup file through the operator API) and
//! `causerie admin restore` (offline: rebuilds a data directory from a backup file). Format and
//! consistency: `causerie_storage::backup`.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Result;
use causerie_storage::backup::{BackupError, restore_sled};
use serde_json::{Value as JsonValue, json};

use super::admin::Admin;
use super::{Context, refused};

/// Name of the node key file in a data directory and in a backup.
const NODE_KEY_FILE: &str = "node.key";
/// Name of the store directory in a data directory.
const STORE_DIR: &str = "store";

/// `causerie admin backup --out FILE`.
pub(crate) async fn backup(cx: &Context, admin: &Admin, out: &Path) -> Result<ExitCode> {
    let out = std::path::absolute(out)?;
    let answer: JsonValue = admin
        .post("/admin/backup", json!({ "out": out.display().to_string() }))
        .await?;
    cx.out.print(answer.clone(), || {
        format!(
            "backup written to {}: {} bytes, {} pairs in {} trees (store held {} ms); it holds the node key, keep it secret",
            out.display(),
            answer["bytes"],
            answer["pairs"],
            answer["trees"],
            answer["store_millis"]
        )
    });
    Ok(ExitCode::SUCCESS)
}

/// `causerie admin restore --from FILE --data-dir DIR`: DIR must not exist or be empty.
pub(crate) fn restore(cx: &Context, from: &Path, data_dir: &Path) -> Result<ExitCode> {
    let refuse = |e: BackupError| refused(e.reason(), e.to_string());
    if data_dir.exists() && std::fs::read_dir(data_dir)?.next().is_some() {
        return Err(refuse(BackupError::NotEmpty(data_dir.to_path_buf())));
    }
    if !from.is_file() {
        return Err(refused(
            "no_backup_file",
            format!("no backup file at {}", from.display()),
        ));
    }
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        builder.mode(0o700);
    }
    builder.create(data_dir)?;
    let restored = restore_into(from, data_dir);
    if restored.is_err() {
        // The directory was empty: leave it so.
        if let Ok(entries) = std::fs::read_dir(data_dir) {
            for entry in entries.flatten() {
                let path = entry.path();
                let _ = if path.is_dir() {
                    std::fs::remove_dir_all(&path)
                } else {
                    std::fs::remove_file(&path)
                };
            }
        }
    }
    let report = restored.map_err(refuse)?;
    cx.out.print(
        json!({
            "data_dir": data_dir.display().to_string(),
            "schema": report.0,
            "trees": report.1,
            "pairs": report.2,
            "node_key": report.3,
        }),
        || {
            format!(
                "restored {} pairs in {} trees into {} (store schema {}); start it with causerie run --data-dir {}",
                report.2,
                report.1,
                data_dir.display(),
                report.0,
                data_dir.display()
            )
        },
    );
    Ok(ExitCode::SUCCESS)
}

/// Restores the store and the node key; answers schema, trees, pairs, whether a key was there.
fn restore_into(from: &Path, data_dir: &Path) -> Result<(u32, u64, u64, bool), BackupError> {
    let report = restore_sled(from, &data_dir.join(STORE_DIR))?;
    let mut key = false;
    for (name, bytes) in &report.files {
        if name != NODE_KEY_FILE {
            return Err(BackupError::Corrupt("unknown file in backup"));
        }
        write_secret(&data_dir.join(NODE_KEY_FILE), bytes)?;
        key = true;
    }
    Ok((report.schema, report.trees, report.pairs, key))
}

/// Writes a new file readable by its owner only.
fn write_secret(path: &PathBuf, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(path)?;
    file.write_all(bytes)?;
    file.sync_all()
}
