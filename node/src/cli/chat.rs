//! The chat commands: `register`, `room create|join|knock|invite-link|leave|alias|resolve`, `rooms`, `directory`,
//! `send`, `history`, `tail`, `members`. Timeline text comes from `timeline.rs`. Each logs in with the key file (challenge, signature,
//! session) and speaks the client API (specs/client-api.md) through
//! [`causerie_node::client::Client`], which checks every draft before the key signs it.

use std::collections::BTreeSet;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Result;
use causerie_crypto::RoomId;
use causerie_node::client::{
    ApiEvent, Client, ClientError, JoinTarget, Member, NewRoom, RoomInfo, RoomRef, StreamItem,
};
use clap::Subcommand;
use serde_json::json;

use super::timeline::Timeline;
use super::{Context, Output, printable, refused};

/// Most events `history` and `tail` print from the past.
pub(crate) const MAX_HISTORY: u32 = 10_000;
/// Longest pause between reconnection attempts of `tail --follow`.
const RECONNECT_DELAY_MAX: Duration = Duration::from_secs(10);
/// First pause before reconnecting.
const RECONNECT_DELAY_MIN: Duration = Duration::from_millis(250);
/// How many events after a reconnection `tail --follow` fetches to fill the gap.
const GAP_FILL_EVENTS: usize = 200;
/// How many events before the printed ones `history` and `tail` read, so that the timeline
/// can say what a moderation event changed (an unban, a power change, whose message a deletion
/// removed): one page.
const CONTEXT_EVENTS: usize = causerie_node::client::MAX_PAGE_LIMIT as usize;
/// How many printed event ids `tail --follow` remembers to avoid printing one twice.
const SEEN_IDS_MAX: usize = 4_096;

/// `causerie room` subcommands.
#[derive(Debug, Subcommand)]
pub(crate) enum RoomCommand {
    /// Create a room (create, join, power levels, join rule, name, topic; each signed here).
    Create {
        /// The room's name.
        name: String,
        /// Anyone may join (same as --join-rule public).
        #[arg(long)]
        public: bool,
        /// Who may join (default: invite, or public with --public).
        #[arg(long, value_parser = ["public", "invite", "knock", "attested"], conflicts_with = "public")]
        join_rule: Option<String>,
        /// The room's topic.
        #[arg(long)]
        topic: Option<String>,
    },
    /// Join a room by id, alias or invite link.
    Join {
        /// `!<room id>`, `#alias:server`, `causerie:join/…` or `https://<node>/join/…`.
        target: String,
    },
    /// Ask to join a room whose join rule is `knock`, or an open room during a join wave; a
    /// moderator lets you in with an invite.
    Knock {
        /// Room id (!…) or alias (#name:server).
        room: String,
        /// Why you want to join (shown to the moderators).
        #[arg(long)]
        reason: Option<String>,
    },
    /// Print the room's invite link.
    InviteLink {
        /// Room id (!…) or alias (#name:server).
        room: String,
    },
    /// Leave a room.
    Leave {
        /// Room id (!…) or alias (#name:server).
        room: String,
    },
    /// Give a room an alias on this node (`#NAME:<this node's server name>`), which the
    /// directory announces to other nodes; with --remove, take it away. Needs the power to
    /// rename the room.
    Alias {
        /// Room id (!…) or alias (#name:server).
        room: String,
        /// The alias's name: 1 to 32 of a-z 0-9 _ - .
        #[arg(required_unless_present = "remove", conflicts_with = "remove")]
        name: Option<String>,
        /// Remove the room's alias on this node.
        #[arg(long)]
        remove: bool,
    },
    /// Print the room an alias names, with an invite link to join it through.
    Resolve {
        /// `#name:server`.
        alias: String,
    },
}

/// `causerie register`.
pub(crate) async fn register(
    cx: &Context,
    handle: &str,
    display_name: Option<&str>,
) -> Result<ExitCode> {
    let secret = cx.secret()?;
    let mut client = cx.client()?;
    let account = match client.register(&secret, handle, display_name).await {
        Ok(account) => account,
        Err(ClientError::Refused { reason, .. }) if reason == "already_registered" => {
            // There is no login command: every command signs in with the key file by itself.
            let known = client.login(&secret).await.ok().map(|a| a.handle);
            return Err(refused(
                "already_registered",
                format!(
                    "this key is already registered on {}{}; nothing more to do: every command \
                     signs in with your key file by itself (try `causerie rooms`)",
                    cx.node,
                    known
                        .map(|handle| format!(" as @{}", printable(&handle)))
                        .unwrap_or_default()
                ),
            ));
        }
        Err(e) => return Err(e.into()),
    };
    cx.out.print(serde_json::to_value(&account)?, || {
        format!(
            "registered @{} on {}\n  user       {}\n  home node  {}\n  assurance  {}",
            printable(&account.handle),
            cx.node,
            account.user,
            account.attestation.home_node,
            printable(&account.attestation.assurance_name),
        )
    });
    Ok(ExitCode::SUCCESS)
}

/// `causerie room …`.
pub(crate) async fn room(cx: &Context, command: RoomCommand) -> Result<ExitCode> {
    let secret = cx.secret()?;
    match command {
        RoomCommand::Create {
            name,
            public,
            join_rule,
            topic,
        } => {
            let join_rule =
                join_rule.unwrap_or_else(|| if public { "public" } else { "invite" }.to_owned());
            let client = cx.session(&secret).await?;
            let options = NewRoom {
                name,
                join_rule,
                topic,
            };
            let room = client.create_room(&secret, &options).await?;
            let link = client.invite_link(&room).await?;
            cx.out.print(
                json!({ "room": room.to_string(), "link": link, "name": options.name,
                        "join_rule": options.join_rule }),
                || format!("created {room}\ninvite link: {link}"),
            );
        }
        RoomCommand::Join { target } => {
            let target = JoinTarget::parse(&target)?;
            let client = cx.session(&secret).await?;
            let room = match client.join(&secret, &target).await {
                Ok(room) => room,
                Err(ClientError::Refused { reason, .. }) if reason == "join_wave" => {
                    let room = target.to_string();
                    return Err(refused(
                        "join_wave",
                        format!(
                            "too many people joined {room} in a short time, so it takes new \
                             members by invitation for now; ask to join with `causerie room \
                             knock {room}`, or try again later"
                        ),
                    ));
                }
                Err(e) => return Err(e.into()),
            };
            cx.out.print(json!({ "room": room.to_string() }), || {
                format!("joined {room}")
            });
        }
        RoomCommand::Knock { room, reason } => {
            let room = RoomRef::parse(&room)?;
            let client = cx.session(&secret).await?;
            let room = client.resolve_room(&room).await?;
            let submitted = client.knock(&secret, &room, reason.as_deref()).await?;
            cx.out.print(serde_json::to_value(&submitted)?, || {
                format!("asked to join {room}; a moderator must let you in")
            });
        }
        RoomCommand::InviteLink { room } => {
            let room = RoomRef::parse(&room)?;
            let client = cx.session(&secret).await?;
            let room = client.resolve_room(&room).await?;
            let link = client.invite_link(&room).await?;
            cx.out
                .print(json!({ "room": room.to_string(), "link": link }), || {
                    link.clone()
                });
        }
        RoomCommand::Alias { room, name, remove } => {
            let room = RoomRef::parse(&room)?;
            let client = cx.session(&secret).await?;
            let room = client.resolve_room(&room).await?;
            match name {
                Some(name) if !remove => {
                    let alias = client.set_alias(&room, &name).await?;
                    cx.out
                        .print(json!({ "room": room.to_string(), "alias": alias }), || {
                            format!("{room} is now {}", printable(&alias))
                        });
                }
                _ => {
                    let removed = client.remove_alias(&room).await?;
                    cx.out.print(
                        json!({ "room": room.to_string(), "removed": removed }),
                        || match removed {
                            true => format!("removed the alias of {room}"),
                            false => format!("{room} had no alias on this node"),
                        },
                    );
                }
            }
        }
        RoomCommand::Resolve { alias } => {
            let RoomRef::Alias(alias) = RoomRef::parse(&alias)? else {
                return Err(refused("bad_alias", "an alias is #name:server"));
            };
            let client = cx.session(&secret).await?;
            let resolved = client.resolve_alias(&alias).await?;
            cx.out.print(
                json!({ "alias": resolved.alias, "room": resolved.room, "node": resolved.node,
                        "via": resolved.via, "link": resolved.link }),
                || {
                    format!(
                        "{} is {}\ninvite link: {}",
                        printable(&resolved.alias),
                        resolved.room,
                        resolved.link
                    )
                },
            );
        }
        RoomCommand::Leave { room } => {
            let room = RoomRef::parse(&room)?;
            let client = cx.session(&secret).await?;
            let room = client.resolve_room(&room).await?;
            let submitted = client.leave(&secret, &room).await?;
            cx.out
                .print(serde_json::to_value(&submitted)?, || format!("left {room}"));
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn room_line(info: &RoomInfo) -> String {
    if let Some(dm) = &info.dm {
        let with = match (&dm.handle, &dm.with) {
            (Some(handle), _) => format!("@{}", printable(handle)),
            (None, Some(key)) => printable(&key.chars().take(12).collect::<String>()),
            (None, None) => "nobody yet".to_owned(),
        };
        return format!(
            "{}  direct conversation with {with}{}",
            info.room,
            info.membership
                .as_deref()
                .filter(|m| *m != "join")
                .map(|m| format!(" ({})", printable(m)))
                .unwrap_or_default(),
        );
    }
    format!(
        "{}  {}  ({} member{}, {}{})",
        info.room,
        printable(info.name.as_deref().unwrap_or("(no name)")),
        info.members,
        if info.members == 1 { "" } else { "s" },
        printable(info.join_rule.as_deref().unwrap_or("?")),
        info.membership
            .as_deref()
            .filter(|m| *m != "join")
            .map(|m| format!(", {}", printable(m)))
            .unwrap_or_default(),
    )
}

/// `causerie rooms` and `causerie directory`.
pub(crate) async fn rooms(cx: &Context, directory: bool) -> Result<ExitCode> {
    let secret = cx.secret()?;
    let client = cx.session(&secret).await?;
    let rooms = if directory {
        client.directory().await?
    } else {
        client.rooms().await?
    };
    cx.out.print(json!({ "rooms": rooms }), || {
        if rooms.is_empty() {
            return "no rooms".to_owned();
        }
        rooms.iter().map(room_line).collect::<Vec<_>>().join("\n")
    });
    Ok(ExitCode::SUCCESS)
}

/// `causerie send`.
pub(crate) async fn send(cx: &Context, room: &str, text: &str) -> Result<ExitCode> {
    let room = RoomRef::parse(room)?;
    let secret = cx.secret()?;
    let client = cx.session(&secret).await?;
    let room = client.resolve_room(&room).await?;
    let submitted = client.send_message(&secret, &room, text).await?;
    cx.out.print(serde_json::to_value(&submitted)?, || {
        format!("sent {}", submitted.event_id)
    });
    Ok(ExitCode::SUCCESS)
}

/// The newest `count` events of `room`, oldest first, and a timeline that has taken in up to
/// [`CONTEXT_EVENTS`] events before them and knows the members' names, ready to print them
/// (JSON output needs neither).
async fn recent(
    client: &Client,
    room: &RoomId,
    count: usize,
    json: bool,
) -> Result<(Timeline, Vec<ApiEvent>), ClientError> {
    if json {
        return Ok((Timeline::default(), client.history(room, count).await?));
    }
    let mut timeline = Timeline::new(&client.members(room).await?);
    let mut events = client.history(room, count + CONTEXT_EVENTS).await?;
    let shown = events.split_off(events.len().saturating_sub(count));
    for event in &events {
        timeline.observe(event);
    }
    Ok((timeline, shown))
}

/// `causerie history`.
pub(crate) async fn history(cx: &Context, room: &str, limit: u32) -> Result<ExitCode> {
    let room = RoomRef::parse(room)?;
    let secret = cx.secret()?;
    let client = cx.session(&secret).await?;
    let room = client.resolve_room(&room).await?;
    let (mut timeline, events) = recent(&client, &room, limit as usize, cx.out.json()).await?;
    cx.out.print(
        json!({ "room": room.to_string(), "events": events }),
        || {
            // Edits and reactions show on the messages they point at.
            events
                .iter()
                .filter_map(|e| {
                    if timeline.hides(e) {
                        timeline.observe(e);
                        return None;
                    }
                    Some(timeline.line(e))
                })
                .collect::<Vec<_>>()
                .join("\n")
        },
    );
    Ok(ExitCode::SUCCESS)
}

/// What `tail` has printed: the newest position and the recent ids, so reconnecting never
/// prints an event twice.
struct Printed {
    last: Option<(u64, String)>,
    seen: BTreeSet<String>,
    order: std::collections::VecDeque<String>,
    timeline: Timeline,
}

impl Printed {
    fn new(timeline: Timeline) -> Printed {
        Printed {
            last: None,
            seen: BTreeSet::new(),
            order: std::collections::VecDeque::new(),
            timeline,
        }
    }

    /// Prints a past `event` (history, or a gap after reconnecting) unless already printed: as
    /// [`Self::print`], except that edits and reactions, which the messages they point at show,
    /// are only taken in.
    fn print_past(&mut self, out: &Output, event: &ApiEvent) {
        if !out.json() && !self.seen.contains(&event.id) && self.timeline.hides(event) {
            self.timeline.observe(event);
            self.remember(event);
            return;
        }
        self.print(out, event);
    }

    /// Prints `event` unless already printed.
    fn print(&mut self, out: &Output, event: &ApiEvent) {
        if self.seen.contains(&event.id) {
            return;
        }
        if out.json() {
            // The event as the API gave it, one object per line (JSON Lines).
            out.line(&serde_json::to_string(event).unwrap_or_default());
        } else {
            out.line(&self.timeline.line(event));
        }
        self.remember(event);
    }

    /// Notes `event` as printed.
    fn remember(&mut self, event: &ApiEvent) {
        self.seen.insert(event.id.clone());
        self.order.push_back(event.id.clone());
        if self.order.len() > SEEN_IDS_MAX
            && let Some(old) = self.order.pop_front()
        {
            self.seen.remove(&old);
        }
        let position = (event.depth, event.id.clone());
        if self.last.as_ref().is_none_or(|last| position > *last) {
            self.last = Some(position);
        }
    }

    /// Prints the events of `page` that come after the newest printed one.
    fn fill(&mut self, out: &Output, page: &[ApiEvent]) {
        for event in page {
            let after = self
                .last
                .as_ref()
                .is_none_or(|(depth, id)| (event.depth, &event.id) > (*depth, id));
            if after {
                self.print_past(out, event);
            }
        }
    }
}

/// `causerie tail`: the last `lines` events, then (with `follow`) the live stream. The stream is
/// opened before the history is read, so nothing falls between the two.
pub(crate) async fn tail(cx: &Context, room: &str, lines: u32, follow: bool) -> Result<ExitCode> {
    let room = RoomRef::parse(room)?;
    let secret = cx.secret()?;
    let mut client = cx.session(&secret).await?;
    let room = client.resolve_room(&room).await?;
    if !follow {
        let (timeline, events) = recent(&client, &room, lines as usize, cx.out.json()).await?;
        let mut printed = Printed::new(timeline);
        for event in &events {
            printed.print_past(&cx.out, event);
        }
        return Ok(ExitCode::SUCCESS);
    }
    let mut stream = client.stream(Some(&room)).await?;
    let (timeline, events) = recent(&client, &room, lines as usize, cx.out.json()).await?;
    let mut printed = Printed::new(timeline);
    for event in &events {
        printed.print_past(&cx.out, event);
    }
    let mut delay = RECONNECT_DELAY_MIN;
    loop {
        let ended = tokio::select! {
            item = stream.next() => item,
            _ = super::node::wait_for_signal() => return Ok(ExitCode::SUCCESS),
        };
        match ended {
            Ok(Some(StreamItem::Event(event))) => {
                if event.room == room.to_string() {
                    printed.print(&cx.out, &event);
                }
                if cx.out.closed() {
                    return Ok(ExitCode::SUCCESS);
                }
                delay = RECONNECT_DELAY_MIN;
                continue;
            }
            Ok(Some(StreamItem::Ping)) => continue,
            Ok(None) => tracing::warn!("live stream ended; reconnecting"),
            Err(e) if e.is_refusal() && e.reason() != "bad_token" => return Err(e.into()),
            Err(e) => {
                tracing::warn!(reason = e.reason(), error = %e, "live stream lost; reconnecting")
            }
        }
        // Reconnect: a new session if the node forgot ours (restart), the stream first, then
        // the events missed meanwhile.
        loop {
            tokio::select! {
                _ = tokio::time::sleep(delay) => {}
                _ = super::node::wait_for_signal() => return Ok(ExitCode::SUCCESS),
            }
            delay = (delay * 2).min(RECONNECT_DELAY_MAX);
            match reconnect(&mut client, &secret, &room).await {
                Ok((new_stream, gap)) => {
                    stream = new_stream;
                    printed.fill(&cx.out, &gap);
                    break;
                }
                Err(e) if e.is_refusal() && e.reason() != "bad_token" => return Err(e.into()),
                Err(e) => tracing::warn!(reason = e.reason(), "reconnecting failed; retrying"),
            }
        }
    }
}

async fn reconnect(
    client: &mut Client,
    secret: &causerie_crypto::UserSecret,
    room: &causerie_crypto::RoomId,
) -> Result<(causerie_node::client::EventStream, Vec<ApiEvent>), ClientError> {
    let stream = match client.stream(Some(room)).await {
        Ok(stream) => stream,
        Err(ClientError::Refused { status: 401, .. }) => {
            client.login(secret).await?;
            client.stream(Some(room)).await?
        }
        Err(e) => return Err(e),
    };
    let gap = client.history(room, GAP_FILL_EVENTS).await?;
    Ok((stream, gap))
}

fn member_line(member: &Member) -> String {
    let name = member
        .display_name
        .as_deref()
        .filter(|n| !n.is_empty())
        .or(member.handle.as_deref())
        .unwrap_or("?");
    let attested = match (&member.handle, &member.home_node) {
        (Some(handle), Some(home)) => format!(
            "@{} on {} ({})",
            printable(handle),
            home.chars().take(12).collect::<String>(),
            printable(member.assurance_name.as_deref().unwrap_or("?")),
        ),
        _ => "no attestation known".to_owned(),
    };
    format!(
        "{:<8} {:>5}  {}  {}  {}",
        printable(&member.membership),
        member.power,
        printable(name),
        member.user,
        attested
    )
}

/// `causerie members`.
pub(crate) async fn members(cx: &Context, room: &str) -> Result<ExitCode> {
    let room = RoomRef::parse(room)?;
    let secret = cx.secret()?;
    let client = cx.session(&secret).await?;
    let room = client.resolve_room(&room).await?;
    let members = client.members(&room).await?;
    cx.out.print(
        json!({ "room": room.to_string(), "members": members }),
        || {
            members
                .iter()
                .map(member_line)
                .collect::<Vec<_>>()
                .join("\n")
        },
    );
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::super::timeline::tests::{ALICE, event};
    use super::*;

    #[test]
    fn tail_prints_each_event_once_in_order() {
        let out = Output { json: true };
        let mut printed = Printed::new(Timeline::default());
        let mut a = event("$a", ALICE, "room.message", json!({"body": "a"}));
        a.depth = 1;
        let mut b = a.clone();
        b.id = "$b".into();
        b.depth = 2;
        printed.print(&out, &b);
        printed.print(&out, &b);
        assert_eq!(printed.seen.len(), 1);
        printed.fill(&out, &[a.clone(), b.clone()]);
        // `a` is older than the newest printed event: a gap fill does not print it.
        assert!(!printed.seen.contains("$a"));
        assert_eq!(printed.last, Some((2, "$b".into())));
    }
}
