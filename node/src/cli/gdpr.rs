//! `causerie export` and `causerie erase`: the user's data-protection rights
//! (specs/accountability.md §7), signed in with the key file. `export` writes everything the
//! node holds about the user as one JSON document; `erase` signs a redaction of every event of
//! the user's the node holds (here, with the key file: the node never signs for the user), then
//! erases the registration record and shows what the operator keeps and until when.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context as _, Result};

use super::{Context, refused};

/// Writes the export to `out` (stdout when `None`).
pub(crate) async fn export(cx: &Context, out: Option<PathBuf>) -> Result<ExitCode> {
    let secret = cx.secret()?;
    let client = cx.session(&secret).await?;
    let document = client.export().await?;
    let text = serde_json::to_string_pretty(&document)?;
    match out {
        Some(path) => {
            std::fs::write(&path, text.as_bytes())
                .with_context(|| format!("writing {}", path.display()))?;
            let events = document["events"].as_array().map_or(0, Vec::len);
            cx.out.print(
                serde_json::json!({ "file": path.display().to_string(), "events": events }),
                || {
                    format!(
                        "exported {events} events and the account to {}",
                        path.display()
                    )
                },
            );
        }
        None => cx.out.line(&text),
    }
    Ok(ExitCode::SUCCESS)
}

/// Redacts every event of the user's, then erases the record; refuses without `yes`.
pub(crate) async fn erase(cx: &Context, yes: bool) -> Result<ExitCode> {
    if !yes {
        return Err(refused(
            "confirmation_required",
            "erase redacts every message you wrote that this node holds, on every node, and \
             cannot be undone; run again with --yes",
        ));
    }
    let secret = cx.secret()?;
    let client = cx.session(&secret).await?;
    let report = client.erase(&secret).await?;
    cx.out.print(serde_json::to_value(&report)?, || {
        let mut lines = vec![format!(
            "redacted {} events; {} left as they were",
            report.redacted.len(),
            report.not_redacted.len()
        )];
        for left in &report.not_redacted {
            lines.push(format!(
                "  {} in {}: {}",
                left.event, left.room, left.reason
            ));
        }
        lines.push(format!(
            "registration record: {} items deleted now",
            report.record["removed"].as_u64().unwrap_or(0)
        ));
        match report.record["kept"].as_object() {
            None => lines.push("nothing is kept".to_owned()),
            Some(kept) => {
                lines.push("kept by the operator until:".to_owned());
                if let Some(at) = kept["registration_time"]["expires_ms"].as_u64() {
                    lines.push(format!("  registration time: {}", when(at)));
                }
                if let Some(connections) = kept["connections"].as_array() {
                    for c in connections {
                        lines.push(format!(
                            "  {} from {}: {}",
                            c["kind"].as_str().unwrap_or("?"),
                            c["address"].as_str().unwrap_or("?"),
                            c["expires_ms"].as_u64().map(when).unwrap_or_default()
                        ));
                    }
                }
                if let Some(at) = kept["contact"]["expires_ms"].as_u64() {
                    lines.push(format!("  contact data: {}", when(at)));
                }
            }
        }
        lines.join("\n")
    });
    Ok(ExitCode::SUCCESS)
}

/// A time for people: ms since the Unix epoch, as UTC days from now.
fn when(ms: u64) -> String {
    let now = causerie_node::clock::now_ms();
    let days = ms.saturating_sub(now) / (24 * 60 * 60 * 1_000);
    format!("{ms} ms since the Unix epoch (in {days} days)")
}
