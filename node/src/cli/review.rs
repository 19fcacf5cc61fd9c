//! `causerie review list|approve|reject`: a room's review queue (specs/moderation.md §7), for
//! the room's moderators. Rejecting an accepted event also redacts it, and `--ban` / `--purge`
//! ban its author (with `purge: true`): ordinary signed events, prepared by the node, checked
//! and signed here.

use std::process::ExitCode;

use anyhow::Result;
use causerie_crypto::RoomId;
use causerie_crypto::address::{parse_event_id, parse_user};
use causerie_crypto::event::kinds;
use causerie_node::client::{Client, ClientError, Expect, ReviewItemInfo, ReviewRejected, RoomRef};
use causerie_storage::{MAX_REVIEW_ITEMS_PER_ROOM, MAX_REVIEW_PAGE};
use clap::Subcommand;
use serde_json::json;

use super::{Context, printable, refused};

/// `causerie review` subcommands.
#[derive(Debug, Subcommand)]
pub(crate) enum ReviewCommand {
    /// List a room's review queue (held and flagged events), oldest first.
    List {
        /// Room id (!…) or alias (#name:server).
        room: String,
        /// Start after this item number.
        #[arg(long)]
        after: Option<u64>,
    },
    /// Approve an item: a held message enters the room; a flagged one stays.
    Approve {
        /// Room id (!…) or alias (#name:server).
        room: String,
        /// Item number (from `review list`).
        item: u64,
    },
    /// Reject an item: a held message is dropped; an accepted one is redacted.
    Reject {
        /// Room id (!…) or alias (#name:server).
        room: String,
        /// Item number (from `review list`).
        item: u64,
        /// Why (kept in the log; the redaction and ban carry it too).
        #[arg(long)]
        reason: Option<String>,
        /// Also ban the author from the room.
        #[arg(long)]
        ban: bool,
        /// Also ban the author and purge every event of theirs in the room.
        #[arg(long)]
        purge: bool,
    },
}

/// Finds item `item` in `room`'s queue (a bounded walk of its pages).
async fn find(client: &Client, room: &RoomId, item: u64) -> Result<ReviewItemInfo> {
    let mut after = None;
    for _ in 0..MAX_REVIEW_ITEMS_PER_ROOM.div_ceil(MAX_REVIEW_PAGE) {
        let page = client.review_list(room, after).await?;
        if let Some(found) = page.items.iter().find(|i| i.item == item) {
            return Ok(found.clone());
        }
        match page.next {
            Some(next) if next < item => after = Some(next),
            _ => break,
        }
    }
    Err(refused(
        "no_such_review_item",
        format!("no item {item} in the room's queue"),
    ))
}

fn describe(item: &ReviewItemInfo) -> String {
    let body = item.event.content["body"].as_str().unwrap_or("");
    let labels = if item.labels.is_empty() {
        String::new()
    } else {
        format!(" [{}]", item.labels.join(", "))
    };
    format!(
        "#{} {} from {} by {}: {}{} — {}",
        item.item,
        item.state,
        item.source,
        item.event.author,
        item.reason.as_deref().unwrap_or("no reason"),
        labels,
        printable(body),
    )
}

/// Runs a `review` subcommand.
pub(crate) async fn run(cx: &Context, command: ReviewCommand) -> Result<ExitCode> {
    let secret = cx.secret()?;
    let room_text = match &command {
        ReviewCommand::List { room, .. }
        | ReviewCommand::Approve { room, .. }
        | ReviewCommand::Reject { room, .. } => room.clone(),
    };
    let room = RoomRef::parse(&room_text)?;
    let client = cx.session(&secret).await?;
    let room = client.resolve_room(&room).await?;
    match command {
        ReviewCommand::List { after, .. } => {
            let page = client.review_list(&room, after).await?;
            cx.out.print(serde_json::to_value(&page)?, || {
                let mut lines = vec![format!("{} item(s) in the queue", page.count)];
                lines.extend(page.items.iter().map(describe));
                lines.join("\n")
            });
        }
        ReviewCommand::Approve { item, .. } => {
            let approved = client.review_approve(&room, item).await?;
            cx.out.print(serde_json::to_value(&approved)?, || {
                format!("approved item {item} ({})", approved.event_id)
            });
        }
        ReviewCommand::Reject {
            item,
            reason,
            ban,
            purge,
            ..
        } => {
            let found = find(&client, &room, item).await?;
            let mut redaction = None;
            // An accepted event leaves the room by a redaction, before the item is closed.
            if found.state != "held" {
                let event = parse_event_id(&found.event.id)?;
                let mut action = json!({"action": "redact", "event": event.to_string()});
                if let Some(reason) = &reason {
                    action["reason"] = json!(reason);
                }
                let expect =
                    Expect::new(Some(room), kinds::REDACTION).bytes("redacts", event.0.0.to_vec());
                redaction = Some(client.act(&secret, &room, action, expect).await?.event_id);
            }
            let mut banned = None;
            if ban || purge {
                let author = parse_user(&found.event.author)?;
                let mut action = json!({"action": "ban", "user": author.to_string()});
                if let Some(reason) = &reason {
                    action["reason"] = json!(reason);
                }
                if purge {
                    action["purge"] = json!(true);
                }
                let expect = Expect::new(Some(room), kinds::MEMBER)
                    .state_key(author.to_string())
                    .content("membership", "ban");
                banned = Some(client.act(&secret, &room, action, expect).await?.event_id);
            }
            // A redaction or a purge makes the item moot and the node closes it by itself
            // (specs/moderation.md §7.5): then it is already gone, which is what was asked.
            let rejected = match client.review_reject(&room, item, reason.as_deref()).await {
                Err(ClientError::Refused { reason, .. })
                    if reason == "no_such_review_item" && (redaction.is_some() || purge) =>
                {
                    ReviewRejected {
                        item,
                        event_id: found.event.id.clone(),
                        author: found.event.author.clone(),
                        state: found.state.clone(),
                        needs_redaction: found.state != "held",
                    }
                }
                other => other?,
            };
            let value = json!({
                "rejected": rejected,
                "redaction": redaction,
                "ban": banned,
            });
            cx.out.print(value, || {
                let mut text = format!("rejected item {item} ({})", rejected.event_id);
                if let Some(redaction) = &redaction {
                    text.push_str(&format!("; redacted ({redaction})"));
                }
                if let Some(ban) = &banned {
                    let what = if purge { "banned and purged" } else { "banned" };
                    text.push_str(&format!("; {what} {} ({ban})", found.event.author));
                }
                text
            });
        }
    }
    Ok(ExitCode::SUCCESS)
}
