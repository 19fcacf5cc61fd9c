//! `POST /api/v1/admin/backup` `{out}` (operator token): the node writes a backup of its store
//! and its node key to the new file `out` (an absolute path on the node's machine, created
//! mode 0600, never replacing a file) and answers `{out, bytes, trees, pairs, files,
//! store_millis}`. Format and consistency: `causerie_storage::backup`; `causerie admin
//! restore` rebuilds a data directory from it offline.

use std::path::PathBuf;

use axum::Json;
use serde::Deserialize;
use serde_json::{Value as JsonValue, json};

use super::error::{ApiError, Reason};
use super::json::Body;
use super::operator::Operator;

/// Longest backup path accepted, in bytes.
pub const MAX_BACKUP_PATH_BYTES: usize = 4_096;
/// Largest node key file carried in a backup.
const MAX_NODE_KEY_FILE_BYTES: u64 = 4_096;
/// Name of the node key in the backup (and in the data directory).
pub const NODE_KEY_FILE: &str = "node.key";

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct BackupBody {
    out: String,
}

pub(super) async fn backup(
    Operator(state): Operator,
    Body(body): Body<BackupBody>,
) -> Result<Json<JsonValue>, ApiError> {
    let out = PathBuf::from(&body.out);
    if body.out.len() > MAX_BACKUP_PATH_BYTES || !out.is_absolute() {
        return Err(ApiError::new(
            Reason::BadRequest,
            format!("out: an absolute path of at most {MAX_BACKUP_PATH_BYTES} bytes"),
        ));
    }
    let key_path = state
        .store_path
        .parent()
        .map(|dir| dir.join(NODE_KEY_FILE))
        .ok_or_else(|| ApiError::new(Reason::Failed("node_key_missing"), "no data directory"))?;
    let key = read_key(key_path).await?;
    let report = state
        .node
        .backup(out.clone(), vec![(NODE_KEY_FILE.to_owned(), key.to_vec())])
        .await?
        .map_err(|e| {
            let reason = match &e {
                causerie_storage::backup::BackupError::Io(io)
                    if io.kind() == std::io::ErrorKind::AlreadyExists =>
                {
                    return ApiError::new(Reason::BadRequest, format!("{} exists", out.display()));
                }
                e => e.reason(),
            };
            tracing::error!(reason, "backup failed");
            ApiError::new(Reason::Failed(reason), e.to_string())
        })?;
    tracing::info!(
        bytes = report.bytes,
        pairs = report.pairs,
        store_millis = report.store_millis,
        "backup written"
    );
    Ok(Json(json!({
        "out": out.display().to_string(),
        "bytes": report.bytes,
        "trees": report.trees,
        "pairs": report.pairs,
        "files": report.files,
        "store_millis": report.store_millis,
    })))
}

/// The node key file's bytes (secret: never logged).
async fn read_key(path: PathBuf) -> Result<zeroize::Zeroizing<Vec<u8>>, ApiError> {
    let failed = |_| ApiError::new(Reason::Failed("node_key_unreadable"), "node key unreadable");
    let file = tokio::fs::File::open(&path).await.map_err(failed)?;
    let mut bytes = zeroize::Zeroizing::new(Vec::new());
    use tokio::io::AsyncReadExt;
    file.take(MAX_NODE_KEY_FILE_BYTES + 1)
        .read_to_end(&mut bytes)
        .await
        .map_err(failed)?;
    if bytes.len() as u64 > MAX_NODE_KEY_FILE_BYTES {
        return Err(ApiError::new(
            Reason::Failed("node_key_unreadable"),
            "node key file too large",
        ));
    }
    Ok(bytes)
}
