//! The command line (clap): the only place with process-level concerns (environment, exit codes,
//! stdout). Every command also speaks `--json` for scripts.
//!
//! Exit codes: 0 success; 1 the input was checked and refused (e.g. `verify` of an invalid
//! file, with its reason); 2 the command could not run (IO, usage).

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result};
use causerie_crypto::{Attestation, Event, EventError, UserSecret};
use causerie_node::config::{Config, Overrides};
use causerie_node::daemon;
use clap::{Parser, Subcommand};
use serde_json::json;

/// Exit code for a refused input.
pub(crate) const EXIT_REFUSED: u8 = 1;
/// Exit code for a command that could not run.
pub(crate) const EXIT_FAILURE: u8 = 2;

/// Largest file `verify` reads: an event's cap plus room for a wrapper.
const VERIFY_FILE_MAX_BYTES: u64 = 1 << 17;

/// Causerie: a federated chat node with user-signed events and accountable identities.
#[derive(Debug, Parser)]
#[command(name = "causerie", version, about)]
pub(crate) struct Args {
    /// The user's key file (default: $XDG_CONFIG_HOME/causerie/user.key).
    #[arg(long, global = true, value_name = "FILE")]
    key: Option<PathBuf>,
    /// Machine-readable output.
    #[arg(long, global = true)]
    json: bool,
    /// More log output (repeat for more).
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub(crate) verbose: u8,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the node (the default when no command is given): store, federation, HTTP API.
    Run(RunArgs),
    /// Manage the user's key (the user's identity; it never leaves this machine).
    #[command(subcommand)]
    Key(KeyCommand),
    /// Check a signed event or attestation file (canonical CBOR): format, signature, id.
    Verify {
        /// The file, or `-` for standard input.
        file: PathBuf,
    },
}

/// `causerie run` flags; each is also settable in the config file.
#[derive(Debug, Default, clap::Args)]
struct RunArgs {
    /// TOML config file (see README for its keys).
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Data directory (default ./causerie-data).
    #[arg(long, value_name = "DIR")]
    data_dir: Option<PathBuf>,
    /// p2p listen address (repeatable; default /ip4/127.0.0.1/tcp/7447).
    #[arg(long, value_name = "MULTIADDR")]
    listen: Vec<String>,
    /// Peer to dial at start, ending in /p2p/PEER_ID (repeatable).
    #[arg(long, value_name = "MULTIADDR")]
    bootstrap: Vec<String>,
    /// HTTP (API, web client, metrics) address (default 127.0.0.1:8080).
    #[arg(long, value_name = "ADDR")]
    http: Option<String>,
}

#[derive(Debug, Subcommand)]
enum KeyCommand {
    /// Create a new key file (refuses to overwrite one).
    New,
    /// Show the public key of the key file.
    Show,
}

/// Sets up tracing to stderr; `RUST_LOG` overrides the verbosity flag.
pub(crate) fn init_tracing(verbose: u8) {
    let default = match verbose {
        0 => "info",
        1 => "debug",
        _ => "trace",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
}

/// Runs the parsed command.
pub(crate) fn run(args: Args) -> Result<ExitCode> {
    let out = Output { json: args.json };
    match args.command {
        Some(Command::Key(KeyCommand::New)) => key_new(&key_path(args.key)?, &out),
        Some(Command::Key(KeyCommand::Show)) => key_show(&key_path(args.key)?, &out),
        Some(Command::Verify { file }) => verify(&file, &out),
        Some(Command::Run(run_args)) => run_node(run_args),
        None => run_node(RunArgs::default()),
    }
}

/// Where printed results go: text for people, one JSON object per result for scripts.
struct Output {
    json: bool,
}

impl Output {
    fn print(&self, value: serde_json::Value, text: impl FnOnce() -> String) {
        #[allow(clippy::print_stdout)] // the CLI's output is its interface
        if self.json {
            println!("{value}");
        } else {
            println!("{}", text());
        }
    }
}

fn run_node(args: RunArgs) -> Result<ExitCode> {
    let overrides = Overrides {
        data_dir: args.data_dir,
        listen: args.listen,
        bootstrap: args.bootstrap,
        http: args.http,
    };
    let config = Config::load(args.config.as_deref(), overrides)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async {
        let running = daemon::start(&config).await?;
        wait_for_signal().await?;
        tracing::info!("shutting down");
        running.shutdown().await;
        Ok(ExitCode::SUCCESS)
    })
}

/// Waits for SIGINT or SIGTERM.
async fn wait_for_signal() -> Result<()> {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let mut term = signal(SignalKind::terminate())?;
        tokio::select! {
            result = tokio::signal::ctrl_c() => result?,
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    tokio::signal::ctrl_c().await?;
    Ok(())
}

fn key_path(flag: Option<PathBuf>) -> Result<PathBuf> {
    if let Some(path) = flag {
        return Ok(path);
    }
    let base = std::env::var_os("XDG_CONFIG_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|home| PathBuf::from(home).join(".config")))
        .context("neither XDG_CONFIG_HOME nor HOME is set; pass --key FILE")?;
    Ok(base.join("causerie").join("user.key"))
}

fn key_new(path: &Path, out: &Output) -> Result<ExitCode> {
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent)
            .with_context(|| format!("creating {}", parent.display()))?;
    }
    let secret = UserSecret::generate()?;
    secret
        .write_new(path)
        .with_context(|| format!("writing key file {}", path.display()))?;
    let public = secret.public();
    out.print(
        json!({ "public_key": public.to_string(), "key_file": path }),
        || format!("created {}\npublic key: {public}", path.display()),
    );
    Ok(ExitCode::SUCCESS)
}

fn key_show(path: &Path, out: &Output) -> Result<ExitCode> {
    let secret =
        UserSecret::read(path).with_context(|| format!("reading key file {}", path.display()))?;
    let public = secret.public();
    out.print(
        json!({ "public_key": public.to_string(), "key_file": path }),
        || public.to_string(),
    );
    Ok(ExitCode::SUCCESS)
}

fn read_capped(path: &Path) -> Result<Vec<u8>> {
    let mut bytes = Vec::new();
    let reader: Box<dyn Read> = if path.as_os_str() == "-" {
        Box::new(std::io::stdin())
    } else {
        Box::new(std::fs::File::open(path).with_context(|| format!("opening {}", path.display()))?)
    };
    reader
        .take(VERIFY_FILE_MAX_BYTES + 1)
        .read_to_end(&mut bytes)?;
    Ok(bytes)
}

fn verify(path: &Path, out: &Output) -> Result<ExitCode> {
    let bytes = read_capped(path)?;
    // An event and an attestation share no field set, so at most one decode can succeed; the
    // event's error is the one reported when both fail unless the bytes look like an attestation.
    let event_err =
        match Event::decode(&bytes) {
            Ok(event) => {
                out.print(
                json!({
                    "valid": true,
                    "type": "event",
                    "event_id": event.id().to_string(),
                    "room_id": event.room_id().to_string(),
                    "author": event.author().to_string(),
                    "kind": event.kind(),
                    "state_key": event.state_key(),
                    "depth": event.depth(),
                    "origin_ts": event.origin_ts(),
                    "attestation": event.attestation().to_string(),
                    "redacted": event.is_redacted(),
                }),
                || {
                    format!(
                        "valid event {}\n  room    {}\n  author  {}\n  kind    {}\n  depth   {}{}",
                        event.id(),
                        event.room_id(),
                        event.author(),
                        event.kind(),
                        event.depth(),
                        if event.is_redacted() { "\n  (redacted)" } else { "" }
                    )
                },
            );
                return Ok(ExitCode::SUCCESS);
            }
            Err(err) => err,
        };
    let err = match Attestation::decode(&bytes) {
        Ok(att) => {
            out.print(
                json!({
                    "valid": true,
                    "type": "attestation",
                    "attestation_id": att.id().to_string(),
                    "user": att.user().to_string(),
                    "handle": att.handle(),
                    "assurance": att.assurance().name(),
                    "home_node": att.home_node().to_string(),
                    "not_before": att.not_before(),
                    "not_after": att.not_after(),
                }),
                || {
                    format!(
                        "valid attestation {}\n  user       {}\n  handle     {}\n  assurance  {}\n  home node  {}",
                        att.id(),
                        att.user(),
                        att.handle(),
                        att.assurance().name(),
                        att.home_node()
                    )
                },
            );
            return Ok(ExitCode::SUCCESS);
        }
        Err(att_err) if looks_like_attestation(&att_err, &event_err) => att_err,
        Err(_) => event_err,
    };
    out.print(
        json!({ "valid": false, "reason": err.reason(), "detail": err.to_string() }),
        || format!("invalid: {} ({err})", err.reason()),
    );
    Ok(ExitCode::from(EXIT_REFUSED))
}

/// The attestation decoder got further than "not this structure" while the event decoder did not.
fn looks_like_attestation(att_err: &EventError, event_err: &EventError) -> bool {
    let structural = |e: &EventError| e.reason() == "malformed_cbor";
    structural(event_err) && !structural(att_err)
}
