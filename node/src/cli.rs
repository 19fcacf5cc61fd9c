//! The command line (clap): the only place with process-level concerns (environment, exit codes,
//! stdout, the terminal). Every command also speaks `--json` for scripts. The chat commands talk
//! to a node through its client API (specs/client-api.md) with [`causerie_node::client`]; the
//! user's key stays in the key file and signs here.
//!
//! Layout: this file holds the arguments, the dispatch, the output and the exit-code scheme;
//! `cli/keys.rs` (`init`, `key`), `cli/chat.rs` (`register`, `room`, `rooms`, `directory`,
//! `send`, `history`, `tail`, `members`), `cli/relations.rs` (`reply`, `edit`, `react`,
//! `unreact`, `delete`, `dm`), `cli/moderation.rs` (`mod`), `cli/review.rs` (`review`),
//! `cli/report.rs` (`report`), `cli/rules.rs` (`rules`, `mod lockdown|unlock`), `cli/demo.rs`
//! (`demo`), `cli/node.rs` (`run`, `compact`), `cli/verify.rs` (`verify`), `cli/admin.rs`
//! (`admin`: the operator's commands), `cli/gdpr.rs` (`export`, `erase`),
//! `cli/timeline.rs` (timeline text for people).
//!
//! Exit codes: 0 success; 1 refused, by the node or by a check here, with a stable reason name
//! (e.g. `verify` of an invalid file, `not_registered`, `wrong_passphrase`); 2 the command could
//! not run (IO, network, a node answering outside the API, usage). With `--json`, errors are
//! printed on stdout as `{"error": reason, "message": text}` (usage errors with reason `usage`);
//! otherwise on stderr.

mod admin;
mod admin_accounts;
mod admin_reports;
mod banlist;
mod chat;
mod demo;
mod doctor;
mod gdpr;
mod join_rules;
mod keys;
mod moderation;
mod node;
mod ops;
mod relations;
mod report;
mod review;
mod rules;
mod timeline;
mod verify;

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context as _, Result};
use causerie_crypto::{AddressError, KeyError, KeyExportError, UserSecret};
use causerie_node::client::{Client, ClientError};
use causerie_node::config::ConfigError;
use causerie_node::daemon::DaemonError;
use clap::{Parser, Subcommand};
use serde_json::json;

/// Exit code for a refused input.
pub(crate) const EXIT_REFUSED: u8 = 1;
/// Exit code for a command that could not run.
pub(crate) const EXIT_FAILURE: u8 = 2;

/// The node the chat commands talk to unless `--node` says otherwise.
pub(crate) const DEFAULT_NODE_URL: &str = "http://127.0.0.1:8080";

/// Causerie: a federated chat node with user-signed events and accountable identities.
#[derive(Debug, Parser)]
#[command(name = "causerie", version, about)]
pub(crate) struct Args {
    /// The user's key file (default: $XDG_CONFIG_HOME/causerie/user.key, else
    /// ~/.config/causerie/user.key).
    #[arg(long, global = true, value_name = "FILE")]
    key: Option<PathBuf>,
    /// The node to talk to (its client API).
    #[arg(long, global = true, value_name = "URL", default_value = DEFAULT_NODE_URL)]
    node: String,
    /// PEM certificates trusted for an https node besides the system's roots (a private
    /// certificate authority).
    #[arg(
        long = "ca-file",
        global = true,
        value_name = "FILE",
        env = "CAUSERIE_CA_FILE"
    )]
    ca_file: Option<PathBuf>,
    /// Machine-readable output: JSON on stdout, errors as {"error", "message"}.
    #[arg(long, global = true)]
    json: bool,
    /// More log output (repeat for more).
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub(crate) verbose: u8,
    /// Log lines on stderr as text for people, or as one JSON object per line for a log
    /// collector (journald, Loki, ...).
    #[arg(
        long,
        global = true,
        value_enum,
        value_name = "FORMAT",
        env = "CAUSERIE_LOG_FORMAT",
        default_value_t = LogFormat::Text
    )]
    pub(crate) log_format: LogFormat,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Create the user key if missing and show how to run a node and register.
    Init,
    /// Run the node (the default when no command is given): store, federation, HTTP API.
    Run(node::RunArgs),
    /// Manage the user's key (the user's identity; it never leaves this machine unencrypted).
    #[command(subcommand)]
    Key(keys::KeyCommand),
    /// Register the user's key on the node, under a handle.
    Register {
        /// Handle on this node: 1-32 of a-z 0-9 _ - .
        #[arg(long)]
        handle: String,
        /// Display name shown in rooms.
        #[arg(long)]
        display_name: Option<String>,
    },
    /// Create, join, leave rooms and make invite links.
    #[command(subcommand)]
    Room(chat::RoomCommand),
    /// Rooms the user is in (joined, invited or knocking).
    Rooms,
    /// Public rooms the node knows.
    Directory,
    /// Send a message.
    Send {
        /// Room id (!…) or alias (#name:server).
        room: String,
        /// The message.
        text: String,
    },
    /// Reply to a message (quoted above yours in the timeline).
    Reply {
        /// Room id (!…).
        room: String,
        /// The message you answer ($…).
        event: String,
        /// Your reply.
        text: String,
        /// Mention a member (their handle or key); repeat for more.
        #[arg(long = "mention", value_name = "USER")]
        mentions: Vec<String>,
    },
    /// Change the text of one of your messages (shown "(edited)").
    Edit {
        /// Room id (!…).
        room: String,
        /// Your message ($…).
        event: String,
        /// Its new text.
        text: String,
    },
    /// React to a message (e.g. with an emoji).
    React {
        /// Room id (!…).
        room: String,
        /// The message ($…).
        event: String,
        /// The reaction: 1 to 64 bytes, e.g. 👍.
        #[arg(value_name = "KEY")]
        reaction: String,
    },
    /// Take back one of your reactions.
    Unreact {
        /// Room id (!…).
        room: String,
        /// The message ($…).
        event: String,
        /// The reaction to take back.
        #[arg(value_name = "KEY")]
        reaction: String,
    },
    /// Delete one of your messages.
    Delete {
        /// Room id (!…).
        room: String,
        /// Your message ($…).
        event: String,
    },
    /// Start a direct conversation with one user (an invite-only room for the two of you), and
    /// optionally say something.
    Dm {
        /// Their handle (of someone in one of your rooms) or key (64 hex digits).
        user: String,
        /// A first message.
        text: Option<String>,
    },
    /// Print the room's history, oldest first.
    History {
        /// Room id (!…) or alias (#name:server).
        room: String,
        /// How many events (the newest ones).
        #[arg(long, default_value_t = 50, value_parser = clap::value_parser!(u32).range(1..=chat::MAX_HISTORY as i64))]
        limit: u32,
    },
    /// Print the last messages; with --follow, then every new one as it arrives.
    Tail {
        /// Room id (!…) or alias (#name:server).
        room: String,
        /// Keep printing new events from the live stream.
        #[arg(short, long)]
        follow: bool,
        /// How many past events to print first.
        #[arg(short = 'n', long, default_value_t = 10, value_parser = clap::value_parser!(u32).range(0..=chat::MAX_HISTORY as i64))]
        lines: u32,
    },
    /// List a room's members with their power and attestation.
    Members {
        /// Room id (!…) or alias (#name:server).
        room: String,
    },
    /// Moderation: kick, ban, purge, unban, mute, unmute, redact, power.
    #[command(subcommand, name = "mod")]
    Mod(moderation::ModCommand),
    /// A room's review queue (moderators): list, approve, reject.
    #[command(subcommand)]
    Review(review::ReviewCommand),
    /// Report messages, a user or a room (signed with your key, with the evidence), and see
    /// where your reports stand.
    #[command(subcommand)]
    Report(report::ReportCommand),
    /// A room's content rules: show or change them.
    #[command(subcommand)]
    Rules(rules::RulesCommand),
    /// Ban lists: create one, add and remove rules, subscribe rooms, show rules and changes.
    #[command(subcommand)]
    Banlist(banlist::BanlistCommand),
    /// The node operator's commands (audit log), with the operator token.
    Admin(admin::AdminArgs),
    /// Start three federated nodes on loopback with three users and a room.
    Demo(demo::DemoArgs),
    /// Compact a stopped node's store so that redacted content leaves its files (a running node
    /// does this by itself after redactions).
    Compact(node::CompactArgs),
    /// Everything this node holds about you (account, attestations, registration record,
    /// the events you wrote), as JSON.
    Export {
        /// Write to this file instead of standard output.
        #[arg(long, value_name = "FILE")]
        out: Option<PathBuf>,
    },
    /// Erase your data: redact every event you wrote (signed with your key, on every node),
    /// then delete your registration record except what the operator must keep.
    Erase {
        /// Confirm: this cannot be undone.
        #[arg(long)]
        yes: bool,
    },
    /// Check a signed file offline (canonical CBOR): an event, an attestation, an abuse report,
    /// a receipt, an audit log export or a disclosure bundle: format, signatures, ids, chain.
    Verify {
        /// The file, or `-` for standard input.
        file: PathBuf,
    },
}

/// An input refused by a check in the CLI itself, with a stable reason name.
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub(crate) struct Refused {
    /// Stable reason name.
    pub(crate) reason: &'static str,
    /// What was wrong.
    pub(crate) message: String,
}

/// Shorthand for a [`Refused`] error.
pub(crate) fn refused(reason: &'static str, message: impl Into<String>) -> anyhow::Error {
    Refused {
        reason,
        message: message.into(),
    }
    .into()
}

/// Global flags every command may use.
pub(crate) struct Context {
    /// Where results go.
    pub(crate) out: Output,
    key: Option<PathBuf>,
    /// The node's URL.
    pub(crate) node: String,
    /// `--ca-file`: roots trusted for an https node besides the system's.
    ca_file: Option<PathBuf>,
}

impl Context {
    /// The key file's path.
    pub(crate) fn key_path(&self) -> Result<PathBuf> {
        if let Some(path) = &self.key {
            return Ok(path.clone());
        }
        let base = std::env::var_os("XDG_CONFIG_HOME")
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
            .or_else(|| std::env::var_os("HOME").map(|home| PathBuf::from(home).join(".config")))
            .context("neither XDG_CONFIG_HOME nor HOME is set; pass --key FILE")?;
        Ok(base.join("causerie").join("user.key"))
    }

    /// Reads the user's key; a missing file is refused with `no_key`.
    pub(crate) fn secret(&self) -> Result<UserSecret> {
        let path = self.key_path()?;
        if !path.exists() {
            return Err(refused(
                "no_key",
                format!(
                    "no key file at {}; run `causerie init` or pass --key FILE",
                    path.display()
                ),
            ));
        }
        UserSecret::read(&path).with_context(|| format!("reading key file {}", path.display()))
    }

    /// A client for `--node`, trusting `--ca-file` too. An unreadable file is refused as
    /// `bad_ca_file`.
    pub(crate) fn client(&self) -> Result<Client> {
        let roots =
            match &self.ca_file {
                Some(path) => Some(std::fs::read(path).map_err(|e| {
                    refused("bad_ca_file", format!("reading {}: {e}", path.display()))
                })?),
                None => None,
            };
        Ok(Client::trusting(&self.node, roots.as_deref())?)
    }

    /// A client for `--node`, logged in as the key's user.
    pub(crate) async fn session(&self, secret: &UserSecret) -> Result<Client> {
        let mut client = self.client()?;
        client.login(secret).await?;
        Ok(client)
    }
}

/// How log lines are written (`--log-format`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum LogFormat {
    /// One line of text per event, for people.
    Text,
    /// One JSON object per line: `timestamp`, `level`, `target`, `fields` (with `message`).
    Json,
}

/// Sets up tracing to stderr; `RUST_LOG` overrides the verbosity flag. Chat commands log only
/// warnings by default so their output stays readable.
pub(crate) fn init_tracing(args: &Args) {
    let serving = matches!(args.command, None | Some(Command::Run(_)));
    let default = match (args.verbose, serving) {
        (0, true) => "info",
        // Chat commands and the demo print for people; the network layer's chatter stays out.
        (0, false) => "warn,libp2p=error",
        (1, _) => "debug",
        _ => "trace",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    let logs = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    match args.log_format {
        LogFormat::Text => logs
            .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
            .init(),
        LogFormat::Json => logs.json().with_ansi(false).init(),
    }
}

/// Runs the parsed command and turns its outcome into an exit code, printing errors.
pub(crate) fn main(args: Args) -> ExitCode {
    let json = args.json;
    match run(args) {
        Ok(code) => code,
        Err(err) => {
            let (code, reason) = classify(&err);
            let message = chain_text(&err);
            let out = Output { json };
            if json {
                out.line(&json!({ "error": reason, "message": message }).to_string());
            } else {
                // Secrets and tokens are never part of errors.
                #[allow(clippy::print_stderr)]
                {
                    eprintln!("causerie: {} [{}]", printable(&message), printable(&reason));
                }
            }
            ExitCode::from(code)
        }
    }
}

/// An error and its causes on one line, each cause once: a cause whose text its parent already
/// ends with is not repeated.
fn chain_text(err: &anyhow::Error) -> String {
    let mut text = String::new();
    for cause in err.chain() {
        let part = cause.to_string();
        if part.is_empty() || text.ends_with(&part) {
            continue;
        }
        if !text.is_empty() {
            text.push_str(": ");
        }
        text.push_str(&part);
    }
    text
}

/// Reports arguments clap refused (exit 2), as `{"error": "usage", "message"}` on stdout when
/// `--json` was among them; `--help` and `--version` print as usual and exit 0.
pub(crate) fn usage_error(error: &clap::Error) -> ExitCode {
    if !error.use_stderr() || !json_requested(std::env::args_os().skip(1)) {
        // Help, version, or a person reading: clap's own text.
        let _ = error.print();
        return ExitCode::from(u8::try_from(error.exit_code()).unwrap_or(EXIT_FAILURE));
    }
    let rendered = error.render().to_string();
    let message = rendered.trim().trim_start_matches("error: ");
    Output { json: true }.line(&json!({ "error": "usage", "message": message }).to_string());
    ExitCode::from(EXIT_FAILURE)
}

/// Whether `--json` is among the options (before a `--` that ends them).
fn json_requested(args: impl Iterator<Item = std::ffi::OsString>) -> bool {
    args.take_while(|arg| arg != "--")
        .any(|arg| arg == "--json")
}

/// The exit code and reason name of an error (see the module header).
fn classify(err: &anyhow::Error) -> (u8, String) {
    for cause in err.chain() {
        if let Some(e) = cause.downcast_ref::<ClientError>() {
            let code = if e.is_refusal() {
                EXIT_REFUSED
            } else {
                EXIT_FAILURE
            };
            return (code, e.reason().to_owned());
        }
        if let Some(e) = cause.downcast_ref::<Refused>() {
            return (EXIT_REFUSED, e.reason.to_owned());
        }
        if let Some(e) = cause.downcast_ref::<AddressError>() {
            return (EXIT_REFUSED, e.reason().to_owned());
        }
        if let Some(e) = cause.downcast_ref::<KeyExportError>() {
            let code = match e {
                KeyExportError::Random => EXIT_FAILURE,
                _ => EXIT_REFUSED,
            };
            return (code, e.reason().to_owned());
        }
        if let Some(e) = cause.downcast_ref::<KeyError>() {
            let code = match e {
                KeyError::Io(_) | KeyError::Random => EXIT_FAILURE,
                _ => EXIT_REFUSED,
            };
            return (code, e.reason().to_owned());
        }
        if let Some(e) = cause.downcast_ref::<DaemonError>() {
            return (EXIT_FAILURE, e.reason().to_owned());
        }
        if let Some(e) = cause.downcast_ref::<ConfigError>() {
            return (EXIT_FAILURE, e.reason().to_owned());
        }
        if cause.downcast_ref::<std::io::Error>().is_some() {
            return (EXIT_FAILURE, "io".to_owned());
        }
    }
    (EXIT_FAILURE, "failed".to_owned())
}

fn run(args: Args) -> Result<ExitCode> {
    let cx = Context {
        out: Output { json: args.json },
        key: args.key,
        node: args.node,
        ca_file: args.ca_file,
    };
    match args.command {
        None => node::run_node(node::RunArgs::default()),
        Some(Command::Run(run_args)) => node::run_node(run_args),
        Some(Command::Verify { file }) => verify::verify(&file, &cx.out),
        Some(Command::Compact(args)) => node::compact(args, &cx.out),
        Some(Command::Init) => keys::init(&cx),
        Some(Command::Key(command)) => keys::run(&cx, command),
        Some(Command::Demo(demo_args)) => block_on(demo::run(&cx, demo_args)),
        Some(Command::Register {
            handle,
            display_name,
        }) => block_on(chat::register(&cx, &handle, display_name.as_deref())),
        Some(Command::Room(command)) => block_on(chat::room(&cx, command)),
        Some(Command::Rooms) => block_on(chat::rooms(&cx, false)),
        Some(Command::Directory) => block_on(chat::rooms(&cx, true)),
        Some(Command::Send { room, text }) => block_on(chat::send(&cx, &room, &text)),
        Some(Command::Reply {
            room,
            event,
            text,
            mentions,
        }) => block_on(relations::reply(&cx, &room, &event, &text, &mentions)),
        Some(Command::Edit { room, event, text }) => {
            block_on(relations::edit(&cx, &room, &event, &text))
        }
        Some(Command::React {
            room,
            event,
            reaction,
        }) => block_on(relations::react(&cx, &room, &event, &reaction, true)),
        Some(Command::Unreact {
            room,
            event,
            reaction,
        }) => block_on(relations::react(&cx, &room, &event, &reaction, false)),
        Some(Command::Delete { room, event }) => block_on(relations::delete(&cx, &room, &event)),
        Some(Command::Dm { user, text }) => block_on(relations::dm(&cx, &user, text.as_deref())),
        Some(Command::History { room, limit }) => block_on(chat::history(&cx, &room, limit)),
        Some(Command::Tail {
            room,
            follow,
            lines,
        }) => block_on(chat::tail(&cx, &room, lines, follow)),
        Some(Command::Members { room }) => block_on(chat::members(&cx, &room)),
        Some(Command::Mod(command)) => block_on(moderation::run(&cx, command)),
        Some(Command::Review(command)) => block_on(review::run(&cx, command)),
        Some(Command::Report(command)) => block_on(report::run(&cx, command)),
        Some(Command::Rules(command)) => block_on(rules::run(&cx, command)),
        Some(Command::Banlist(command)) => block_on(banlist::run(&cx, command)),
        Some(Command::Admin(args)) => block_on(admin::run(&cx, args)),
        Some(Command::Export { out }) => block_on(gdpr::export(&cx, out)),
        Some(Command::Erase { yes }) => block_on(gdpr::erase(&cx, yes)),
    }
}

/// Runs a command's future on a fresh runtime.
fn block_on<F: std::future::Future<Output = Result<ExitCode>>>(future: F) -> Result<ExitCode> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?
        .block_on(future)
}

/// Where printed results go: text for people, one JSON object per result for scripts.
pub(crate) struct Output {
    json: bool,
}

impl Output {
    /// Whether `--json` was given.
    pub(crate) fn json(&self) -> bool {
        self.json
    }

    /// Prints `value` with `--json`, else the text.
    pub(crate) fn print(&self, value: serde_json::Value, text: impl FnOnce() -> String) {
        if self.json {
            self.line(&value.to_string());
        } else {
            self.text(&text());
        }
    }

    /// Prints text for people, line by line, with anything a node or another user supplied made
    /// inert (see [`printable`]; already inert text passes unchanged).
    pub(crate) fn text(&self, text: &str) {
        let safe: Vec<String> = text.split('\n').map(printable).collect();
        self.line(&safe.join("\n"));
    }

    /// Prints one line and flushes (a pipe reader sees each line as soon as it is printed).
    pub(crate) fn line(&self, text: &str) {
        use std::io::Write;
        let mut stdout = std::io::stdout().lock();
        let written = writeln!(stdout, "{text}").and_then(|()| stdout.flush());
        // A closed pipe (e.g. `| head`) is not an error worth reporting, but a follower has
        // nobody left to print for.
        if written.is_err() {
            STDOUT_CLOSED.store(true, std::sync::atomic::Ordering::Relaxed);
        }
    }

    /// Whether a print failed because nobody reads stdout any more.
    pub(crate) fn closed(&self) -> bool {
        STDOUT_CLOSED.load(std::sync::atomic::Ordering::Relaxed)
    }
}

/// Set once writing to stdout failed (the reader went away).
static STDOUT_CLOSED: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// Makes text from other users safe to print on a terminal: control characters (escape
/// sequences could rewrite the screen) become visible escapes, newlines become `⏎`.
pub(crate) fn printable(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '\n' => out.push_str(" ⏎ "),
            '\t' => out.push(' '),
            c if c.is_control() || is_bidi_control(c) => {
                out.extend(c.escape_unicode());
            }
            c => out.push(c),
        }
    }
    out
}

/// Bidirectional overrides can make a line read differently than it is (Trojan Source).
fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Result<Args, clap::Error> {
        Args::try_parse_from(std::iter::once("causerie").chain(args.iter().copied()))
    }

    #[test]
    fn global_flags_work_after_subcommands() {
        let args = parse(&[
            "room",
            "create",
            "Lobby",
            "--public",
            "--json",
            "--node",
            "http://x:1",
        ])
        .unwrap();
        assert!(args.json);
        assert_eq!(args.node, "http://x:1");
        let args = parse(&["rooms"]).unwrap();
        assert_eq!(args.node, DEFAULT_NODE_URL);
    }

    #[test]
    fn commands_parse() {
        for ok in [
            vec!["init"],
            vec!["key", "new"],
            vec!["key", "export", "--out", "f.json", "--passphrase-file", "p"],
            vec!["key", "import", "f.json", "--force"],
            vec!["register", "--handle", "alice", "--display-name", "Alice"],
            vec![
                "room",
                "create",
                "Lobby",
                "--join-rule",
                "knock",
                "--topic",
                "t",
            ],
            vec!["room", "join", "causerie:join/!ab?via=x"],
            vec!["room", "invite-link", "!ab"],
            vec!["room", "leave", "!ab"],
            vec!["directory"],
            vec!["send", "!ab", "hello world"],
            vec!["history", "!ab", "--limit", "5"],
            vec!["tail", "!ab", "--follow", "-n", "3"],
            vec!["members", "!ab"],
            vec!["mod", "kick", "!ab", "bob", "--reason", "spam"],
            vec!["mod", "ban", "!ab", "bob"],
            vec!["mod", "unban", "!ab", "bob"],
            vec!["mod", "redact", "!ab", "$cd"],
            vec!["mod", "power", "!ab", "bob", "50"],
            vec!["mod", "lockdown", "!ab", "--slow", "30s"],
            vec!["mod", "lockdown", "--all"],
            vec!["mod", "unlock", "--all"],
            vec!["rules", "show", "!ab"],
            vec![
                "rules",
                "set",
                "!ab",
                "--max-length",
                "500",
                "--block-word",
                "scam",
                "--block-pattern",
                "buy\\s+now",
                "--links",
                "domains:example.org",
                "--max-mentions",
                "off",
                "--new-member-link-delay",
                "10m",
                "--slow",
                "30s",
                "--classifier",
                "fail_open",
                "--join-wave",
                "20/5m",
            ],
            vec!["banlist", "create", "Spam"],
            vec![
                "banlist", "add", "!l", "r1", "--user", "ab", "--reason", "spam",
            ],
            vec![
                "banlist",
                "add",
                "!l",
                "r2",
                "--handle",
                "spam*",
                "--recommendation",
                "mute",
            ],
            vec![
                "banlist",
                "add",
                "!l",
                "r3",
                "--hash-of",
                "user:ab",
                "--withhold-reason",
            ],
            vec!["banlist", "remove", "!l", "r1"],
            vec!["banlist", "subscribe", "!r", "!l", "--enforcer", "ab"],
            vec!["banlist", "unsubscribe", "!r", "!l"],
            vec!["banlist", "show", "!l", "--since", "$e"],
            vec!["demo", "--base-port", "0", "--exit-after-setup"],
            vec!["run", "--http", "127.0.0.1:0"],
            vec!["admin", "audit", "list", "--after", "3"],
            vec!["admin", "--data-dir", "d", "audit", "head", "--out", "h"],
            vec![
                "admin",
                "--token-file",
                "t",
                "audit",
                "export",
                "--out",
                "f",
            ],
            vec!["admin", "audit", "verify", "f", "--head", "h"],
            vec!["admin", "audit", "verify"],
            vec!["admin", "disclose", "--user", "ab", "--request-ref", "R-1"],
            vec![
                "admin",
                "refuse",
                "--request-ref",
                "R-1",
                "--reason",
                "no legal basis",
            ],
            vec!["admin", "transparency", "--period", "year"],
            vec!["export", "--out", "me.json"],
            vec!["erase", "--yes"],
        ] {
            parse(&ok).unwrap_or_else(|e| panic!("{ok:?}: {e}"));
        }
        for bad in [
            vec!["register"],
            vec!["room", "create", "x", "--join-rule", "secret"],
            vec!["room", "create", "x", "--public", "--join-rule", "invite"],
            vec!["history", "!ab", "--limit", "0"],
            vec!["mod", "power", "!ab", "bob", "-1"],
            vec!["banlist", "add", "!l", "r1"],
            vec!["banlist", "add", "!l", "r1", "--user", "a", "--handle", "b"],
            vec![
                "banlist",
                "add",
                "!l",
                "r1",
                "--user",
                "a",
                "--recommendation",
                "kick",
            ],
            vec!["send", "!ab"],
            vec!["mod", "lockdown", "!ab", "--all"],
            vec!["rules", "set", "!ab", "--links", "some"],
            vec!["rules", "set", "!ab", "--classifier", "maybe"],
            vec![
                "admin",
                "--token-file",
                "t",
                "--data-dir",
                "d",
                "audit",
                "head",
            ],
            vec!["admin", "audit", "list", "--limit", "0"],
        ] {
            assert!(parse(&bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn refusals_exit_with_one_and_failures_with_two() {
        let err: anyhow::Error = ClientError::Refused {
            status: 404,
            reason: "not_registered".into(),
            message: "x".into(),
        }
        .into();
        assert_eq!(classify(&err), (EXIT_REFUSED, "not_registered".into()));
        let err: anyhow::Error = ClientError::Unreachable("down".into()).into();
        assert_eq!(classify(&err), (EXIT_FAILURE, "node_unreachable".into()));
        let err = anyhow::Error::from(KeyExportError::WrongPassphrase).context("importing");
        assert_eq!(classify(&err), (EXIT_REFUSED, "wrong_passphrase".into()));
        let err = refused("key_exists", "there");
        assert_eq!(classify(&err), (EXIT_REFUSED, "key_exists".into()));
        let err: anyhow::Error = causerie_crypto::address::parse_room("!x")
            .unwrap_err()
            .into();
        assert_eq!(classify(&err), (EXIT_REFUSED, "bad_room_id".into()));
        let err: anyhow::Error = std::io::Error::other("disk").into();
        assert_eq!(classify(&err), (EXIT_FAILURE, "io".into()));
    }

    #[test]
    fn causes_print_once() {
        let key = causerie_crypto::KeyError::Io(std::io::Error::other("disk on fire"));
        let err = anyhow::Error::from(DaemonError::Key(key)).context("starting node 1");
        assert_eq!(
            chain_text(&err),
            "starting node 1: node key: key file IO: disk on fire"
        );
    }

    #[test]
    fn json_is_asked_for_anywhere_before_the_end_of_options() {
        let args = |list: &[&str]| -> Vec<std::ffi::OsString> {
            list.iter().map(std::ffi::OsString::from).collect()
        };
        assert!(json_requested(args(&["send", "--json"]).into_iter()));
        assert!(json_requested(args(&["--json", "send"]).into_iter()));
        assert!(!json_requested(args(&["send", "--", "--json"]).into_iter()));
        assert!(!json_requested(args(&["send", "--jsonx"]).into_iter()));
    }

    #[test]
    fn hostile_text_prints_inert() {
        assert_eq!(printable("a\u{1b}[2Jb"), "a\\u{1b}[2Jb");
        assert_eq!(printable("l1\nl2"), "l1 ⏎ l2");
        assert_eq!(printable("x\u{202e}y"), "x\\u{202e}y");
        assert_eq!(printable("héllo ☕"), "héllo ☕");
    }
}
