//! `causerie rules show|set`: a room's content rules (specs/moderation.md §2), and
//! `causerie mod lockdown|unlock` (§2.6). The node prepares each event from the room's current
//! state; the client checks and signs it here, so keys never leave this machine.

use std::process::ExitCode;

use anyhow::Result;
use causerie_crypto::RoomId;
use causerie_crypto::address::parse_room;
use causerie_crypto::event::kinds;
use causerie_node::client::{Client, ClientError, Expect, RoomInfo, RoomRef};
use clap::{Args, Subcommand};
use serde_json::{Map, Value, json};

use super::{Context, refused};

/// Longest duration the rules take (one day for slow mode; the node checks each field's own
/// bound), in ms.
const MAX_DURATION_MS: u64 = 30 * 24 * 60 * 60 * 1_000;

/// `causerie rules` subcommands.
#[derive(Debug, Subcommand)]
pub(crate) enum RulesCommand {
    /// Show a room's content rules.
    Show {
        /// Room id (!…) or alias (#name:server).
        room: String,
    },
    /// Change a room's content rules; options not given keep their value.
    Set(Box<SetArgs>),
}

/// `causerie rules set`.
#[derive(Debug, Args)]
pub(crate) struct SetArgs {
    /// Room id (!…) or alias (#name:server).
    room: String,
    /// Longest message in bytes (`off`: no limit).
    #[arg(long, value_parser = limit_or_off)]
    max_length: Option<Limit>,
    /// Block a word (repeatable); obfuscated spellings match too.
    #[arg(long = "block-word", value_name = "WORD")]
    block_words: Vec<String>,
    /// Stop blocking a word (repeatable).
    #[arg(long = "unblock-word", value_name = "WORD")]
    unblock_words: Vec<String>,
    /// Block a regular expression (repeatable), matched on the normalised text.
    #[arg(long = "block-pattern", value_name = "REGEX")]
    block_patterns: Vec<String>,
    /// Stop blocking a pattern (repeatable).
    #[arg(long = "unblock-pattern", value_name = "REGEX")]
    unblock_patterns: Vec<String>,
    /// Link policy: allow, deny, or domains:a.org,b.net (only those and their subdomains).
    #[arg(long, value_parser = links)]
    links: Option<Value>,
    /// Most mentions in one message (`off`: no limit).
    #[arg(long, value_parser = limit_or_off)]
    max_mentions: Option<Limit>,
    /// No links for this long after joining (e.g. 10m; 0 is off).
    #[arg(long, value_parser = duration_ms)]
    new_member_link_delay: Option<u64>,
    /// Slow mode: least time between two messages of one member (e.g. 30s; 0 is off).
    #[arg(long, value_parser = duration_ms)]
    slow: Option<u64>,
    /// The node's classifier for this room.
    #[arg(long, value_parser = ["off", "fail_open", "fail_closed"])]
    classifier: Option<String>,
    /// Join-wave breaker: at most N open joins per window, e.g. 20/5m (`off` removes it).
    #[arg(long, value_parser = join_wave)]
    join_wave: Option<Wave>,
    /// The join rule and the attesters it trusts.
    #[command(flatten)]
    join: super::join_rules::JoinArgs,
}

/// `--join-wave`: a limit, or `off`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Wave {
    /// Remove the breaker.
    Off,
    /// At most `max_joins` open joins per `window_ms`.
    At {
        /// Joins per window.
        max_joins: u64,
        /// The window, in ms.
        window_ms: u64,
    },
}

/// A limit, or `off`.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Limit {
    /// No limit.
    Off,
    /// At most this.
    At(u64),
}

fn limit_or_off(text: &str) -> Result<Limit, String> {
    if text == "off" {
        return Ok(Limit::Off);
    }
    text.parse()
        .map(Limit::At)
        .map_err(|_| "a number or `off`".to_owned())
}

/// Parses `500ms`, `30s`, `5m`, `2h`, `1d`, or a number of seconds, into ms.
pub(crate) fn duration_ms(text: &str) -> Result<u64, String> {
    let (digits, unit) = match text.find(|c: char| !c.is_ascii_digit()) {
        Some(at) => text.split_at(at),
        None => (text, "s"),
    };
    let n: u64 = digits
        .parse()
        .map_err(|_| "a duration such as 30s, 5m, 2h".to_owned())?;
    let scale = match unit {
        "ms" => 1,
        "s" => 1_000,
        "m" => 60_000,
        "h" => 3_600_000,
        "d" => 86_400_000,
        _ => return Err("units are ms, s, m, h, d".to_owned()),
    };
    n.checked_mul(scale)
        .filter(|ms| *ms <= MAX_DURATION_MS)
        .ok_or_else(|| "at most 30 days".to_owned())
}

fn links(text: &str) -> Result<Value, String> {
    match text {
        "allow" | "deny" => Ok(json!(text)),
        _ => match text.strip_prefix("domains:") {
            Some(list) => {
                let domains: Vec<String> = list
                    .split(',')
                    .map(|d| d.trim().to_ascii_lowercase())
                    .filter(|d| !d.is_empty())
                    .collect();
                if domains.is_empty() {
                    return Err("domains:a.org,b.net names at least one domain".to_owned());
                }
                Ok(json!({ "allow_domains": domains }))
            }
            None => Err("allow, deny or domains:a.org,b.net".to_owned()),
        },
    }
}

fn join_wave(text: &str) -> Result<Wave, String> {
    if text == "off" {
        return Ok(Wave::Off);
    }
    let (joins, window) = text
        .split_once('/')
        .ok_or_else(|| "N/DURATION, e.g. 20/5m, or off".to_owned())?;
    let joins = joins
        .parse()
        .map_err(|_| "N/DURATION, e.g. 20/5m".to_owned())?;
    Ok(Wave::At {
        max_joins: joins,
        window_ms: duration_ms(window)?,
    })
}

fn set_limit(rules: &mut Map<String, Value>, key: &str, limit: Option<Limit>) {
    match limit {
        Some(Limit::Off) => {
            rules.remove(key);
        }
        Some(Limit::At(n)) => {
            rules.insert(key.to_owned(), json!(n));
        }
        None => {}
    }
}

fn set_ms(rules: &mut Map<String, Value>, key: &str, ms: Option<u64>) {
    match ms {
        Some(0) => {
            rules.remove(key);
        }
        Some(ms) => {
            rules.insert(key.to_owned(), json!(ms));
        }
        None => {}
    }
}

/// The strings of the list under `key` (none if there is no such list).
pub(crate) fn string_list(map: &Map<String, Value>, key: &str) -> Vec<String> {
    map.get(key)
        .and_then(Value::as_array)
        .map(|items| {
            items
                .iter()
                .filter_map(|v| v.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

/// The list under `key` with `add` appended (once each) and `remove` taken out.
pub(crate) fn edited_list(
    map: &Map<String, Value>,
    key: &str,
    add: &[String],
    remove: &[String],
) -> Vec<String> {
    let mut list = string_list(map, key);
    list.retain(|item| !remove.contains(item));
    for item in add {
        if !list.contains(item) {
            list.push(item.clone());
        }
    }
    list
}

fn edit_list(rules: &mut Map<String, Value>, key: &str, add: &[String], remove: &[String]) {
    if add.is_empty() && remove.is_empty() {
        return;
    }
    let list = edited_list(rules, key, add, remove);
    if list.is_empty() {
        rules.remove(key);
    } else {
        rules.insert(key.to_owned(), json!(list));
    }
}

/// The rules with `args` applied.
fn apply(mut rules: Map<String, Value>, args: &SetArgs) -> Map<String, Value> {
    set_limit(&mut rules, "max_message_bytes", args.max_length);
    edit_list(
        &mut rules,
        "blocked_words",
        &args.block_words,
        &args.unblock_words,
    );
    edit_list(
        &mut rules,
        "blocked_patterns",
        &args.block_patterns,
        &args.unblock_patterns,
    );
    if let Some(links) = &args.links {
        if links == "allow" {
            rules.remove("links");
        } else {
            rules.insert("links".to_owned(), links.clone());
        }
    }
    set_limit(&mut rules, "max_mentions", args.max_mentions);
    set_ms(
        &mut rules,
        "new_member_link_delay_ms",
        args.new_member_link_delay,
    );
    set_ms(&mut rules, "slow_mode_ms", args.slow);
    if let Some(mode) = &args.classifier {
        if mode == "off" {
            rules.remove("classifier");
        } else {
            rules.insert("classifier".to_owned(), json!(mode));
        }
    }
    match args.join_wave {
        Some(Wave::At {
            max_joins,
            window_ms,
        }) => {
            rules.insert(
                "join_wave".to_owned(),
                json!({ "max_joins": max_joins, "window_ms": window_ms }),
            );
        }
        Some(Wave::Off) => {
            rules.remove("join_wave");
        }
        None => {}
    }
    rules
}

/// The rules in plain words, one per line.
fn describe(rules: &Map<String, Value>) -> String {
    if rules.is_empty() {
        return "no content rules".to_owned();
    }
    let secs = |v: &Value| {
        v.as_u64()
            .map_or_else(String::new, |ms| format!("{} s", ms / 1_000))
    };
    let mut lines = Vec::new();
    for (key, value) in rules {
        let line = match key.as_str() {
            "max_message_bytes" => format!("messages of at most {value} bytes"),
            "blocked_words" => format!("blocked words: {value}"),
            "blocked_patterns" => format!("blocked patterns: {value}"),
            "links" => format!("links: {value}"),
            "max_mentions" => format!("at most {value} mentions per message"),
            "new_member_link_delay_ms" => format!("no links for {} after joining", secs(value)),
            "slow_mode_ms" => format!("slow mode: one message per {}", secs(value)),
            "exempt_level" => format!("members at power {value} or more are exempt"),
            "classifier" => format!("classifier: {value}"),
            "join_wave" => format!(
                "join wave: at most {} open joins per {}",
                value["max_joins"],
                secs(&value["window_ms"])
            ),
            "lockdown" => format!("locked down (to restore: {value})"),
            other => format!("{other}: {value}"),
        };
        lines.push(line);
    }
    lines.join("\n")
}

/// Runs a `rules` subcommand.
pub(crate) async fn run(cx: &Context, command: RulesCommand) -> Result<ExitCode> {
    let secret = cx.secret()?;
    let room_text = match &command {
        RulesCommand::Show { room } => room,
        RulesCommand::Set(args) => &args.room,
    };
    let room = RoomRef::parse(room_text)?;
    let client = cx.session(&secret).await?;
    let room = client.resolve_room(&room).await?;
    let info = client.room(&room).await?;
    match command {
        RulesCommand::Show { .. } => {
            let rules = info.content_rules;
            let text = format!(
                "{}\n{}",
                describe(&rules),
                super::join_rules::describe(&info.join_rules)
            );
            cx.out.print(
                json!({
                    "room": room.to_string(),
                    "content_rules": rules,
                    "join_rules": info.join_rules,
                }),
                || text,
            );
        }
        RulesCommand::Set(args) => {
            let rules = apply(info.content_rules.clone(), &args);
            let mut out = json!({ "room": room.to_string() });
            let mut lines = Vec::new();
            if args.join.given() {
                let action = args
                    .join
                    .action(&info.join_rules)
                    .map_err(|message| refused("over_limit", message))?;
                let expect = Expect::new(Some(room), kinds::JOIN_RULES).state_key("");
                let done = client.act(&secret, &room, action.clone(), expect).await?;
                let mut shown = action.as_object().cloned().unwrap_or_default();
                shown.remove("action");
                lines.push(format!(
                    "{}\n({})",
                    super::join_rules::describe(&shown),
                    done.event_id
                ));
                out["join_rules"] = Value::Object(shown);
                out["join_rules_event_id"] = json!(done.event_id);
            }
            if !args.join.given() || rules != info.content_rules {
                let action = json!({ "action": "content_rules", "rules": rules });
                let expect = Expect::new(Some(room), kinds::CONTENT_RULES).state_key("");
                let done = client.act(&secret, &room, action, expect).await?;
                lines.push(format!("{}\n({})", describe(&rules), done.event_id));
                out["event_id"] = json!(done.event_id);
                out["content_rules"] = Value::Object(rules);
            }
            cx.out.print(out, || lines.join("\n"));
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// `causerie mod lockdown` and `causerie mod unlock`.
#[derive(Debug, Args)]
pub(crate) struct LockArgs {
    /// Room id (!…) or alias (#name:server); or --all.
    room: Option<String>,
    /// Every joined room where you may change the join rules and content rules.
    #[arg(long, conflicts_with = "room")]
    all: bool,
    /// Slow mode during the lockdown (default 30s; ignored by unlock).
    #[arg(long, value_parser = duration_ms)]
    slow: Option<u64>,
}

/// The rooms `args` names: one, or every joined room where the user's power reaches the
/// state-event level (the node refuses any where a kind needs more).
async fn lock_targets(client: &Client, args: &LockArgs) -> Result<Vec<RoomId>> {
    if let Some(room) = &args.room {
        return Ok(vec![client.resolve_room(&RoomRef::parse(room)?).await?]);
    }
    if !args.all {
        return Err(refused("usage", "name a room or pass --all"));
    }
    let rooms: Vec<RoomInfo> = client.rooms().await?;
    let mut targets = Vec::new();
    for info in rooms {
        if info.membership.as_deref() == Some("join")
            && info.power >= info.power_levels.state_default
            && let Ok(room) = parse_room(&info.room)
        {
            targets.push(room);
        }
    }
    Ok(targets)
}

/// Runs a lockdown (`lock`) or its undo for each room; prints one result per room.
pub(crate) async fn lockdown(cx: &Context, args: LockArgs, lock: bool) -> Result<ExitCode> {
    let secret = cx.secret()?;
    let client = cx.session(&secret).await?;
    let targets = lock_targets(&client, &args).await?;
    let (first, second, verb) = if lock {
        ("content_rules", "join_rules", "locked down")
    } else {
        ("join_rules", "content_rules", "unlocked")
    };
    let name = if lock { "lockdown" } else { "unlock" };
    let mut failed = false;
    let mut results = Vec::new();
    for room in targets {
        let step = |part: &'static str| {
            let mut action = json!({ "action": name, "part": part });
            if lock && let Some(ms) = args.slow {
                action["slow_mode_ms"] = json!(ms);
            }
            let kind = if part == "content_rules" {
                kinds::CONTENT_RULES
            } else {
                kinds::JOIN_RULES
            };
            let expect = Expect::new(Some(room), kind).state_key("");
            let client = &client;
            let secret = &secret;
            async move { client.act(secret, &room, action, expect).await }
        };
        let outcome: Result<(), ClientError> = async {
            step(first).await?;
            step(second).await?;
            Ok(())
        }
        .await;
        match outcome {
            Ok(()) => {
                cx.out
                    .print(json!({ "room": room.to_string(), "done": name }), || {
                        format!("{verb} {room}")
                    });
                results.push(room);
            }
            Err(e) => {
                failed = true;
                let reason = e.reason().to_owned();
                cx.out.print(
                    json!({ "room": room.to_string(), "error": reason, "message": e.to_string() }),
                    || format!("{room}: {e} [{reason}]"),
                );
            }
        }
    }
    if results.is_empty() && !failed {
        cx.out.print(json!({ "rooms": [] }), || {
            "no room where you may do this".to_owned()
        });
    }
    Ok(if failed {
        ExitCode::from(super::EXIT_REFUSED)
    } else {
        ExitCode::SUCCESS
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_and_waves_parse() {
        assert_eq!(duration_ms("30s"), Ok(30_000));
        assert_eq!(duration_ms("30"), Ok(30_000));
        assert_eq!(duration_ms("5m"), Ok(300_000));
        assert_eq!(duration_ms("250ms"), Ok(250));
        assert!(duration_ms("31d").is_err());
        assert!(duration_ms("5x").is_err());
        assert_eq!(
            join_wave("20/5m"),
            Ok(Wave::At {
                max_joins: 20,
                window_ms: 300_000
            })
        );
        assert_eq!(join_wave("off"), Ok(Wave::Off));
        assert!(links("domains:").is_err());
        assert_eq!(
            links("domains:A.org, b.net").unwrap(),
            json!({"allow_domains": ["a.org", "b.net"]})
        );
    }
}
