//! `causerie banlist create|add|remove|subscribe|unsubscribe|show` (specs/moderation.md §3): a
//! ban list is a room whose state events are rules; rooms follow lists with their subscription
//! event. Every change is prepared by the node, checked and signed here (specs/client-api.md).

use std::process::ExitCode;

use anyhow::Result;
use causerie_crypto::UserKey;
use causerie_crypto::address::parse_event_id;
use causerie_crypto::event::kinds;
use causerie_node::client::{Expect, NewRoom, RoomRef, Submitted, UserRef};
use causerie_room::policy::{POLICY_RULE, target_hash, valid_rule_id};
use clap::{ArgGroup, Subcommand};
use serde_json::{Value as JsonValue, json};

use super::{Context, refused};

/// `causerie banlist` subcommands.
#[derive(Debug, Subcommand)]
pub(crate) enum BanlistCommand {
    /// Create a ban list (a room; its moderators add the rules).
    Create {
        /// The list's name.
        name: String,
        /// Let anyone join the list room (rules are readable by every node that follows it
        /// either way).
        #[arg(long)]
        public: bool,
    },
    /// Add or replace a rule.
    #[command(group(ArgGroup::new("target").required(true).args(["user", "attester", "handle", "hash", "hash_of"])))]
    Add {
        /// The list (room id !… or alias #name:server).
        list: String,
        /// The rule id: 1-64 of A-Z a-z 0-9 . _ : -
        rule: String,
        /// Target a user: key (64 hex digits) or handle of an account of this node (@alice).
        #[arg(long)]
        user: Option<String>,
        /// Target every user a home node attests (node key, 64 hex digits).
        #[arg(long)]
        attester: Option<String>,
        /// Target handles matching a glob (`*` any run, `?` one character).
        #[arg(long)]
        handle: Option<String>,
        /// Target a SHA-256 (64 hex digits) of a spelling, so the list does not show whom.
        #[arg(long)]
        hash: Option<String>,
        /// Target the SHA-256 of this spelling (`user:<hex>`, `attester:<hex>`, `handle:<h>`),
        /// computed here.
        #[arg(long)]
        hash_of: Option<String>,
        /// ban, mute, review or allow.
        #[arg(long, default_value = "ban", value_parser = ["ban", "mute", "review", "allow"])]
        recommendation: String,
        /// Why (public unless --withhold-reason).
        #[arg(long)]
        reason: Option<String>,
        /// Keep the reason for the list's moderators: nodes never show it.
        #[arg(long)]
        withhold_reason: bool,
        /// Room time (ms since the Unix epoch) from which the rule no longer applies.
        #[arg(long)]
        expires: Option<u64>,
        /// Ban-and-purge: the enforcer's bans also redact everything the user sent in the room
        /// (only with `--recommendation ban`).
        #[arg(long)]
        purge: bool,
    },
    /// Remove a rule.
    Remove {
        /// The list (room id !… or alias #name:server).
        list: String,
        /// The rule id.
        rule: String,
    },
    /// Make a room follow a list (and name its enforcer).
    Subscribe {
        /// The room (!… or #name:server).
        room: String,
        /// The list (!… or #name:server).
        list: String,
        /// The enforcer: user key or handle of a member of the room; it bans listed users (it needs ban power in the room).
        #[arg(long)]
        enforcer: Option<String>,
    },
    /// Make a room stop following a list; what the list caused there is lifted.
    Unsubscribe {
        /// The room (!… or #name:server).
        room: String,
        /// The list (!… or #name:server).
        list: String,
    },
    /// Print a list's rules and, with --since, what it changed since that event.
    Show {
        /// The list (!… or #name:server).
        list: String,
        /// An event of the list ($…): show the rules added, removed or changed since.
        #[arg(long)]
        since: Option<String>,
    },
}

/// Checks a rule id before anything is sent.
fn rule_id(rule: &str) -> Result<String> {
    if !valid_rule_id(rule) {
        return Err(refused(
            "bad_rule",
            "a rule id is 1 to 64 characters of A-Z a-z 0-9 . _ : -",
        ));
    }
    Ok(rule.to_owned())
}

/// The target JSON of `add`, from whichever flag was given.
fn target(
    user: Option<UserKey>,
    attester: Option<String>,
    handle: Option<String>,
    hash: Option<String>,
    hash_of: Option<String>,
) -> Result<JsonValue> {
    Ok(match (user, attester, handle, hash, hash_of) {
        (Some(user), ..) => json!({ "user": user.to_string() }),
        (_, Some(node), ..) => json!({ "attester": node }),
        (_, _, Some(glob), ..) => json!({ "handle": glob }),
        (_, _, _, Some(hash), _) => json!({ "hash": hash }),
        (_, _, _, _, Some(spelling)) => json!({ "hash": hex::encode(target_hash(&spelling)) }),
        _ => return Err(refused("bad_rule", "name a target")),
    })
}

fn rule_line(rule: &JsonValue) -> String {
    let target = rule["target"]
        .as_object()
        .and_then(|m| m.iter().next())
        .map(|(kind, value)| format!("{kind} {}", value.as_str().unwrap_or_default()))
        .unwrap_or_default();
    let reason = match (rule["reason"].as_str(), rule["reason_withheld"].as_bool()) {
        (Some(reason), _) => format!(" — {reason}"),
        (None, Some(true)) => " — (reason withheld)".to_owned(),
        _ => String::new(),
    };
    let expires = rule["expires"]
        .as_u64()
        .map(|e| format!(" (until {e})"))
        .unwrap_or_default();
    let purge = if rule["purge"].as_bool() == Some(true) {
        " and purge"
    } else {
        ""
    };
    format!(
        "{} {}{purge} {target}{reason}{expires}",
        rule["rule"].as_str().unwrap_or_default(),
        rule["recommendation"].as_str().unwrap_or_default(),
    )
}

/// The text of `show`: the rules, then the changes.
fn show_text(view: &JsonValue) -> String {
    let mut lines = vec![format!(
        "ban list {}{}",
        view["list"].as_str().unwrap_or_default(),
        view["name"]
            .as_str()
            .map(|n| format!(" ({n})"))
            .unwrap_or_default()
    )];
    let rules = view["rules"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_default();
    lines.push(format!("{} rules", rules.len()));
    lines.extend(rules.iter().map(|r| format!("  {}", rule_line(r))));
    if let Some(changes) = view["changes"].as_array()
        && !changes.is_empty()
    {
        lines.push(format!("{} changes", changes.len()));
        for change in changes {
            let shown = if change["after"].is_null() {
                &change["before"]
            } else {
                &change["after"]
            };
            lines.push(format!(
                "  {:<7} {}",
                change["change"].as_str().unwrap_or_default(),
                rule_line(shown)
            ));
        }
    }
    if let Some(head) = view["head"].as_str() {
        lines.push(format!("next: --since {head}"));
    }
    lines.join("\n")
}

/// Prints a change to a list or a subscription: the node's answer as JSON, or `what` and the
/// event's id as text.
fn print_done(cx: &Context, done: &Submitted, what: String) -> Result<()> {
    cx.out.print(serde_json::to_value(done)?, || {
        format!("{what} ({})", done.event_id)
    });
    Ok(())
}

/// Runs a `banlist` subcommand.
pub(crate) async fn run(cx: &Context, command: BanlistCommand) -> Result<ExitCode> {
    let secret = cx.secret()?;
    match command {
        BanlistCommand::Create { name, public } => {
            let client = cx.session(&secret).await?;
            let options = NewRoom {
                name,
                join_rule: if public { "public" } else { "invite" }.to_owned(),
                topic: Some("ban list".to_owned()),
            };
            let list = client.create_room(&secret, &options).await?;
            cx.out.print(json!({ "list": list.to_string() }), || {
                format!("created ban list {list}")
            });
        }
        BanlistCommand::Add {
            list,
            rule,
            user,
            attester,
            handle,
            hash,
            hash_of,
            recommendation,
            reason,
            withhold_reason,
            expires,
            purge,
        } => {
            let list = RoomRef::parse(&list)?;
            let rule = rule_id(&rule)?;
            let user = user.map(|u| UserRef::parse(&u)).transpose()?;
            let client = cx.session(&secret).await?;
            let list = client.resolve_room(&list).await?;
            let user = match &user {
                Some(user) => Some(client.resolve_user(user, None).await?),
                None => None,
            };
            let target = target(user, attester, handle, hash, hash_of)?;
            let mut action = json!({
                "action": "banlist_rule",
                "rule": rule,
                "target": target,
                "recommendation": recommendation,
                "reason_withheld": withhold_reason,
            });
            if let Some(reason) = &reason {
                action["reason"] = json!(reason);
            }
            if let Some(expires) = expires {
                action["expires"] = json!(expires);
            }
            if purge {
                if recommendation != "ban" {
                    return Err(refused(
                        "bad_rule",
                        "--purge goes with --recommendation ban",
                    ));
                }
                action["purge"] = json!(true);
            }
            let expect = Expect::new(Some(list), POLICY_RULE)
                .state_key(rule.clone())
                .content("recommendation", recommendation.clone());
            let done = client.act(&secret, &list, action, expect).await?;
            print_done(
                cx,
                &done,
                format!("rule {rule} ({recommendation}) set in {list}"),
            )?;
        }
        BanlistCommand::Remove { list, rule } => {
            let list = RoomRef::parse(&list)?;
            let rule = rule_id(&rule)?;
            let client = cx.session(&secret).await?;
            let list = client.resolve_room(&list).await?;
            let action = json!({ "action": "banlist_remove", "rule": rule });
            let expect = Expect::new(Some(list), POLICY_RULE).state_key(rule.clone());
            let done = client.act(&secret, &list, action, expect).await?;
            print_done(cx, &done, format!("rule {rule} removed from {list}"))?;
        }
        BanlistCommand::Subscribe {
            room,
            list,
            enforcer,
        } => {
            let room = RoomRef::parse(&room)?;
            let list = RoomRef::parse(&list)?;
            let enforcer = enforcer.map(|e| UserRef::parse(&e)).transpose()?;
            let client = cx.session(&secret).await?;
            let room = client.resolve_room(&room).await?;
            let list = client.resolve_room(&list).await?;
            let enforcer = match &enforcer {
                Some(enforcer) => Some(client.resolve_user(enforcer, Some(&room)).await?),
                None => None,
            };
            let mut action = json!({ "action": "subscribe", "list": list.to_string() });
            if let Some(enforcer) = enforcer {
                action["enforcer"] = json!(enforcer.to_string());
            }
            let expect = Expect::new(Some(room), kinds::POLICY_SUBSCRIPTIONS).state_key("");
            let done = client.act(&secret, &room, action, expect).await?;
            print_done(cx, &done, format!("{room} follows {list}"))?;
        }
        BanlistCommand::Unsubscribe { room, list } => {
            let room = RoomRef::parse(&room)?;
            let list = RoomRef::parse(&list)?;
            let client = cx.session(&secret).await?;
            let room = client.resolve_room(&room).await?;
            let list = client.resolve_room(&list).await?;
            let action = json!({ "action": "unsubscribe", "list": list.to_string() });
            let expect = Expect::new(Some(room), kinds::POLICY_SUBSCRIPTIONS).state_key("");
            let done = client.act(&secret, &room, action, expect).await?;
            print_done(cx, &done, format!("{room} no longer follows {list}"))?;
        }
        BanlistCommand::Show { list, since } => {
            let list = RoomRef::parse(&list)?;
            let since = since.map(|s| parse_event_id(&s)).transpose()?;
            let client = cx.session(&secret).await?;
            let list = client.resolve_room(&list).await?;
            let view = client.ban_list(&list, since.as_ref()).await?;
            let text = show_text(&view);
            cx.out.print(view, || text);
        }
    }
    Ok(ExitCode::SUCCESS)
}
