//! `causerie admin reports list|show|action|dismiss|reporters|mute|unmute`: the operator's
//! report queue (specs/accountability.md §1.4) over the operator API. `show --out FILE` writes
//! the signed report, which `causerie verify` and anyone else can check offline.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context as _, Result};
use causerie_crypto::Report;
use clap::Subcommand;
use serde_json::{Value as JsonValue, json};

use super::admin::Admin;
use super::{Context, printable, refused};

/// `causerie admin reports` subcommands.
#[derive(Debug, Subcommand)]
pub(crate) enum ReportsCommand {
    /// Reports delivered to this node, in report-id order.
    List {
        /// `operator` (the default), `review` or `all`.
        #[arg(long, default_value = "operator")]
        queue: String,
        /// Start after this report id.
        #[arg(long)]
        after: Option<String>,
    },
    /// One report, its evidence verified here.
    Show {
        /// Report id.
        id: String,
        /// Write the signed report (CBOR) to this file.
        #[arg(long, value_name = "FILE")]
        out: Option<PathBuf>,
    },
    /// Act on a report: the reporter is told `actioned`.
    Action {
        /// Report id.
        id: String,
        /// Words for the reporter.
        #[arg(long)]
        note: Option<String>,
    },
    /// Dismiss a report: the reporter is told `dismissed`.
    Dismiss {
        /// Report id.
        id: String,
        /// Words for the reporter.
        #[arg(long)]
        note: Option<String>,
    },
    /// Reporters and how their reports fared here.
    Reporters,
    /// Refuse a reporter's reports on this node.
    Mute {
        /// The reporter's key.
        user: String,
    },
    /// Take a muted reporter's reports again.
    Unmute {
        /// The reporter's key.
        user: String,
    },
}

fn line(report: &JsonValue) -> String {
    let fields = &report["report"];
    format!(
        "{} {} about {} {} by {} [review: {}, operator: {}]: {}",
        report["id"].as_str().unwrap_or(""),
        fields["category"].as_str().unwrap_or(""),
        fields["target"].as_str().unwrap_or(""),
        fields["user"].as_str().unwrap_or(""),
        fields["reporter"].as_str().unwrap_or(""),
        report["review"].as_str().unwrap_or("-"),
        report["operator"].as_str().unwrap_or("-"),
        printable(fields["text"].as_str().unwrap_or("")),
    )
}

/// The report's bytes from its JSON, verified (reporter's signature, every embedded event).
fn verified(report: &JsonValue) -> Result<(Vec<u8>, Report)> {
    let bytes = hex::decode(report["bytes"].as_str().unwrap_or(""))
        .context("the node sent a report that is not hex")?;
    let checked = Report::decode(&bytes)
        .map_err(|e| refused(e.reason(), format!("the report does not verify: {e}")))?;
    Ok((bytes, checked))
}

/// Runs `causerie admin reports`.
pub(crate) async fn run(cx: &Context, admin: &Admin, command: ReportsCommand) -> Result<ExitCode> {
    match command {
        ReportsCommand::List { queue, after } => {
            let mut path = format!("/admin/reports?queue={queue}");
            if let Some(after) = after {
                path.push_str(&format!("&after={after}"));
            }
            let answer: JsonValue = admin.get(&path).await?;
            let empty = Vec::new();
            let list = answer["reports"].as_array().unwrap_or(&empty);
            cx.out.print(answer.clone(), || {
                let mut lines = vec![format!("{} report(s)", list.len())];
                lines.extend(list.iter().map(line));
                lines.join("\n")
            });
        }
        ReportsCommand::Show { id, out } => {
            let answer: JsonValue = admin.get(&format!("/admin/reports/{id}")).await?;
            let (bytes, report) = verified(&answer)?;
            if let Some(path) = &out {
                std::fs::write(path, &bytes)
                    .with_context(|| format!("writing {}", path.display()))?;
            }
            cx.out.print(answer.clone(), || {
                let mut lines = vec![line(&answer), "evidence (signatures verified):".into()];
                for event in report.events() {
                    lines.push(format!(
                        "  {} by {} at {}: {}",
                        event.id(),
                        event.author(),
                        event.origin_ts(),
                        printable(event.content_str("body").unwrap_or("(no text)")),
                    ));
                }
                lines.join("\n")
            });
        }
        ReportsCommand::Action { id, note } => {
            decide(cx, admin, &id, note, "action", "actioned").await?;
        }
        ReportsCommand::Dismiss { id, note } => {
            decide(cx, admin, &id, note, "dismiss", "dismissed").await?;
        }
        ReportsCommand::Reporters => {
            let answer: JsonValue = admin.get("/admin/reporters").await?;
            let empty = Vec::new();
            let list = answer["reporters"].as_array().unwrap_or(&empty);
            cx.out.print(answer.clone(), || {
                list.iter()
                    .map(|r| {
                        format!(
                            "{} reports {} actioned {} dismissed {}{}",
                            r["user"].as_str().unwrap_or(""),
                            r["reports"],
                            r["actioned"],
                            r["dismissed"],
                            if r["muted"] == true { " (muted)" } else { "" }
                        )
                    })
                    .collect::<Vec<_>>()
                    .join("\n")
            });
        }
        ReportsCommand::Mute { user } => mute(cx, admin, &user, true).await?,
        ReportsCommand::Unmute { user } => mute(cx, admin, &user, false).await?,
    }
    Ok(ExitCode::SUCCESS)
}

/// Decides report `id` by the operator API's `decision` (`action`, `dismiss`), with the note
/// for the reporter, and prints the report as it now stands, after `done`.
async fn decide(
    cx: &Context,
    admin: &Admin,
    id: &str,
    note: Option<String>,
    decision: &str,
    done: &str,
) -> Result<()> {
    let answer: JsonValue = admin
        .post(
            &format!("/admin/reports/{id}/{decision}"),
            json!({ "note": note }),
        )
        .await?;
    cx.out
        .print(answer.clone(), || format!("{done}: {}", line(&answer)));
    Ok(())
}

async fn mute(cx: &Context, admin: &Admin, user: &str, muted: bool) -> Result<()> {
    let user = admin.user(user).await?;
    let answer: JsonValue = admin
        .post(
            &format!("/admin/reporters/{user}/mute"),
            json!({ "muted": muted }),
        )
        .await?;
    cx.out.print(answer, || {
        format!(
            "{user} {}",
            if muted {
                "muted for reporting"
            } else {
                "may report again"
            }
        )
    });
    Ok(())
}
