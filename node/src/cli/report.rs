//! `causerie report event|user|room` and `causerie report status` (specs/accountability.md
//! §1): the node prepares the report with the events' full signed bytes, the CLI checks it and
//! signs it with the user's key, the node delivers it to the room's moderators and the
//! author's home node; `status` shows the receipts that came back.

use std::process::ExitCode;

use anyhow::Result;
use causerie_crypto::address::parse_event_id;
use causerie_crypto::report::{Category, Target};
use causerie_crypto::{EventId, ReportId};
use causerie_node::client::{Client, ReportAsk, ReportInfo, RoomRef, UserRef};
use clap::{Args as ClapArgs, Subcommand};

use super::{Context, refused};

/// What every report says.
#[derive(Debug, ClapArgs)]
pub(crate) struct ReportWords {
    /// spam, harassment, threats, csam (sexual content involving minors), scam, illegal,
    /// impersonation or other.
    #[arg(long)]
    category: String,
    /// In your own words (at most 2,000 bytes).
    #[arg(long, default_value = "")]
    text: String,
}

/// `causerie report` subcommands.
#[derive(Debug, Subcommand)]
pub(crate) enum ReportCommand {
    /// Report one or more messages of a room (by one author).
    Event {
        /// Room id (!…) or alias (#name:server).
        room: String,
        /// Event ids ($…), at most 16.
        #[arg(required = true)]
        events: Vec<String>,
        #[command(flatten)]
        words: ReportWords,
    },
    /// Report a user, optionally in a room with some of their events as evidence.
    User {
        /// The user: key (64 hex digits) or handle (@alice; a member of --room, else an
        /// account of this node).
        user: String,
        /// The room where it happened.
        #[arg(long)]
        room: Option<String>,
        /// Evidence: event ids ($…) of theirs in that room.
        #[arg(long = "event")]
        events: Vec<String>,
        #[command(flatten)]
        words: ReportWords,
    },
    /// Report a room to the operators of its moderators' nodes.
    Room {
        /// Room id (!…) or alias (#name:server).
        room: String,
        #[command(flatten)]
        words: ReportWords,
    },
    /// Your reports and where each stands (received, actioned, dismissed by which node).
    Status {
        /// One report id; all of them when absent.
        id: Option<String>,
    },
}

fn category(text: &str) -> Result<Category> {
    Category::parse(text).map_err(|_| {
        refused(
            "unknown_category",
            "the category is one of spam, harassment, threats, csam, scam, illegal, impersonation, other",
        )
    })
}

fn describe(info: &ReportInfo) -> String {
    let mut lines = vec![format!(
        "report {} — {} ({} about {}{}): {}",
        info.id,
        info.status,
        info.report.category,
        info.report.target,
        info.report
            .user
            .as_deref()
            .map(|u| format!(" {u}"))
            .unwrap_or_default(),
        if info.report.text.is_empty() {
            "no text"
        } else {
            &info.report.text
        }
    )];
    if info.receipts.is_empty() {
        lines.push(format!(
            "  sent to {} node(s), no receipt yet",
            info.recipients.len()
        ));
    }
    for receipt in &info.receipts {
        lines.push(format!(
            "  {} by node {} ({} queue){}",
            receipt.status,
            receipt.node,
            receipt.queue,
            receipt
                .note
                .as_deref()
                .map(|n| format!(": {n}"))
                .unwrap_or_default()
        ));
    }
    lines.join("\n")
}

/// A report as typed: checked before logging in; its room alias and user handle are looked
/// up after.
struct Typed {
    target: Target,
    category: Category,
    text: String,
    room: Option<RoomRef>,
    user: Option<UserRef>,
    events: Vec<EventId>,
}

impl Typed {
    fn new(
        target: Target,
        words: &ReportWords,
        room: Option<&str>,
        events: &[String],
    ) -> Result<Typed> {
        Ok(Typed {
            target,
            category: category(&words.category)?,
            text: words.text.clone(),
            room: room.map(RoomRef::parse).transpose()?,
            user: None,
            events: events
                .iter()
                .map(|e| parse_event_id(e))
                .collect::<Result<_, _>>()?,
        })
    }

    async fn resolve(self, client: &Client) -> Result<ReportAsk> {
        let room = match &self.room {
            Some(room) => Some(client.resolve_room(room).await?),
            None => None,
        };
        let user = match &self.user {
            Some(user) => Some(client.resolve_user(user, room.as_ref()).await?),
            None => None,
        };
        Ok(ReportAsk {
            target: self.target,
            category: self.category,
            text: self.text,
            room,
            user,
            events: self.events,
        })
    }
}

/// Runs a `report` subcommand.
pub(crate) async fn run(cx: &Context, command: ReportCommand) -> Result<ExitCode> {
    let secret = cx.secret()?;
    let typed = match &command {
        ReportCommand::Event {
            room,
            events,
            words,
        } => Some(Typed::new(Target::Event, words, Some(room), events)?),
        ReportCommand::User {
            user,
            room,
            events,
            words,
        } => Some(Typed {
            user: Some(UserRef::parse(user)?),
            ..Typed::new(Target::User, words, room.as_deref(), events)?
        }),
        ReportCommand::Room { room, words } => {
            Some(Typed::new(Target::Room, words, Some(room), &[])?)
        }
        ReportCommand::Status { .. } => None,
    };
    let client = cx.session(&secret).await?;
    let ask = match typed {
        Some(typed) => Some(typed.resolve(&client).await?),
        None => None,
    };
    match (ask, command) {
        (Some(ask), _) => {
            let info = client.report(&secret, &ask).await?;
            cx.out
                .print(serde_json::to_value(&info)?, || describe(&info));
        }
        (None, ReportCommand::Status { id: Some(id) }) => {
            let id: ReportId = id
                .parse()
                .map_err(|_| refused("bad_report_id", "a report id is 64 lowercase hex digits"))?;
            let info = client.report_status(&id).await?;
            cx.out
                .print(serde_json::to_value(&info)?, || describe(&info));
        }
        (None, _) => {
            let list = client.reports().await?;
            cx.out.print(serde_json::to_value(&list)?, || {
                if list.is_empty() {
                    "no reports".to_owned()
                } else {
                    list.iter().map(describe).collect::<Vec<_>>().join("\n")
                }
            });
        }
    }
    Ok(ExitCode::SUCCESS)
}
