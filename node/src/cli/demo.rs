//! `causerie demo`: three federated nodes in this process on loopback, three users (alice, bob,
//! carol; one per node, key files in the demo directory), a public room created on the first
//! node and joined by invite link through the others, a few messages, then the conversation as
//! each node sees it (specs/federation.md at work) and the web client URLs. Everything a user does
//! goes through the client API (specs/client-api.md) with [`causerie_node::client`], as a real
//! client would; only starting the nodes uses [`causerie_node::daemon::start`].

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::{Context as _, Result, bail};
use causerie_crypto::{RoomId, UserSecret};
use causerie_node::client::{ApiEvent, Client, ClientError, JoinTarget, NewRoom};
use causerie_node::config::{Config, ConfigFile, Overrides};
use causerie_node::daemon::{self, Running};
use serde_json::json;

use super::Context;
use super::timeline::Timeline;

/// Default HTTP port of the first demo node (the others follow); clear of a default node's 8080.
const DEFAULT_BASE_PORT: u16 = 8090;
/// The p2p ports sit this far below the HTTP ports (8090 → 7490).
const P2P_PORT_OFFSET: u16 = 600;
/// How many nodes and users the demo starts.
const NODES: usize = 3;
/// The users, one per node.
const USERS: [(&str, &str); NODES] = [("alice", "Alice"), ("bob", "Bob"), ("carol", "Carol")];
/// How long setup steps may wait for the network (generous: debug builds on 2 shared cores).
const SETUP_TIMEOUT: Duration = Duration::from_secs(90);
/// How often waits re-check.
const POLL_INTERVAL: Duration = Duration::from_millis(100);

/// `causerie demo` flags.
#[derive(Debug, clap::Args)]
pub(crate) struct DemoArgs {
    /// HTTP port of the first node; the others use the next ports, and p2p ports are 600 lower
    /// (default 8090-8092 and 7490-7492). 0 picks free ports.
    #[arg(long, default_value_t = DEFAULT_BASE_PORT)]
    base_port: u16,
    /// Where the nodes' data and the users' key files live (default: a new directory under the
    /// system's temporary directory). Running again with the same directory reuses both.
    #[arg(long, value_name = "DIR")]
    dir: Option<PathBuf>,
    /// Stop the nodes and exit once the conversation is printed (for tests and scripts).
    #[arg(long)]
    exit_after_setup: bool,
}

/// One demo participant: a node and its user.
struct Participant {
    running: Running,
    url: String,
    handle: &'static str,
    secret: UserSecret,
    client: Client,
}

fn ports(base: u16, index: usize) -> Result<(u16, u16)> {
    if base == 0 {
        return Ok((0, 0));
    }
    let http = base
        .checked_add(index as u16)
        .context("--base-port too high")?;
    let p2p = http
        .checked_sub(P2P_PORT_OFFSET)
        .filter(|p| *p > 0)
        .context("--base-port must be above 600 (p2p ports are 600 lower)")?;
    Ok((http, p2p))
}

async fn start_node(
    dir: &Path,
    index: usize,
    base: u16,
    bootstrap: Vec<String>,
) -> Result<Running> {
    let (http, p2p) = ports(base, index)?;
    let overrides = Overrides {
        data_dir: Some(dir.join(format!("node{}", index + 1))),
        listen: vec![format!("/ip4/127.0.0.1/tcp/{p2p}")],
        bootstrap,
        http: Some(format!("127.0.0.1:{http}")),
        ..Overrides::default()
    };
    let config = Config::from_parts(ConfigFile::default(), overrides)?;
    daemon::start(&config)
        .await
        .with_context(|| format!("starting node {}", index + 1))
}

/// The node's p2p addresses, ending in its peer id, for others to bootstrap from.
async fn p2p_addresses(running: &Running) -> Result<Vec<String>> {
    let peer = running.net.peer_id();
    let addrs = running.net.listen_addrs().await?;
    Ok(addrs.iter().map(|a| format!("{a}/p2p/{peer}")).collect())
}

/// Polls `check` until it returns `Some` or the setup timeout passes.
async fn wait_for<T, F, Fut>(what: &str, mut check: F) -> Result<T>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = Instant::now() + SETUP_TIMEOUT;
    loop {
        if let Some(value) = check().await {
            return Ok(value);
        }
        if Instant::now() >= deadline {
            bail!("timed out after {SETUP_TIMEOUT:?} waiting for {what}");
        }
        tokio::time::sleep(POLL_INTERVAL).await;
    }
}

fn read_or_create_key(path: &Path) -> Result<UserSecret> {
    if path.exists() {
        return Ok(UserSecret::read(path)?);
    }
    let secret = UserSecret::generate()?;
    secret.write_new(path)?;
    Ok(secret)
}

/// Registers the user, or logs in when a previous demo in this directory already did.
async fn sign_in(url: &str, secret: &UserSecret, handle: &str, name: &str) -> Result<Client> {
    let mut client = Client::new(url)?;
    match client.register(secret, handle, Some(name)).await {
        Ok(_) => {}
        Err(ClientError::Refused { reason, .. }) if reason == "already_registered" => {
            client.login(secret).await?;
        }
        Err(e) => return Err(e.into()),
    }
    Ok(client)
}

/// Joins through the invite link; retries while the network is still forming (`join_failed`).
async fn join_by_link(client: &Client, secret: &UserSecret, link: &str) -> Result<RoomId> {
    let target = JoinTarget::parse(link)?;
    let deadline = Instant::now() + SETUP_TIMEOUT;
    loop {
        match client.join(secret, &target).await {
            Ok(room) => return Ok(room),
            Err(ClientError::Refused { reason, .. })
                if reason == "join_failed" && Instant::now() < deadline =>
            {
                tokio::time::sleep(POLL_INTERVAL * 5).await;
            }
            Err(e) => return Err(e.into()),
        }
    }
}

/// Sends a message, retrying while the room is still arriving at this node.
async fn say(participant: &Participant, room: &RoomId, text: &str) -> Result<()> {
    let deadline = Instant::now() + SETUP_TIMEOUT;
    loop {
        match participant
            .client
            .send_message(&participant.secret, room, text)
            .await
        {
            Ok(_) => return Ok(()),
            Err(e) if e.is_refusal() && Instant::now() < deadline => {
                tracing::debug!(reason = e.reason(), "message not accepted yet; retrying");
                tokio::time::sleep(POLL_INTERVAL * 5).await;
            }
            Err(e) => return Err(e.into()),
        }
    }
}

fn messages(events: &[ApiEvent]) -> Vec<String> {
    events
        .iter()
        .filter(|e| e.kind == "room.message")
        .filter_map(|e| {
            e.content
                .get("body")
                .and_then(|b| b.as_str())
                .map(str::to_owned)
        })
        .collect()
}

/// `causerie demo`.
pub(crate) async fn run(cx: &Context, args: DemoArgs) -> Result<ExitCode> {
    let dir = match args.dir {
        Some(dir) => dir,
        None => std::env::temp_dir().join(format!("causerie-demo-{}", std::process::id())),
    };
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    let mut participants: Vec<Participant> = Vec::with_capacity(NODES);
    let result = setup(
        cx,
        args.base_port,
        &dir,
        &mut participants,
        args.exit_after_setup,
    )
    .await;
    for participant in participants {
        participant.running.shutdown().await;
    }
    result
}

async fn setup(
    cx: &Context,
    base_port: u16,
    dir: &Path,
    participants: &mut Vec<Participant>,
    exit_after_setup: bool,
) -> Result<ExitCode> {
    let mut bootstrap: Vec<String> = Vec::new();
    for (index, (handle, name)) in USERS.iter().enumerate() {
        let running = start_node(dir, index, base_port, bootstrap.clone()).await?;
        bootstrap.extend(p2p_addresses(&running).await?);
        let url = format!("http://{}", running.http_addr);
        let secret = read_or_create_key(&dir.join(format!("{handle}.key")))?;
        let client = sign_in(&url, &secret, handle, name).await?;
        participants.push(Participant {
            running,
            url,
            handle,
            secret,
            client,
        });
    }
    // Joining dials the link's peers; wait until the bootstrap connections stand so the demo
    // does not race them.
    for participant in participants.iter().skip(1) {
        let net = participant.running.net.clone();
        wait_for("the nodes to connect", || {
            let net = net.clone();
            async move {
                let peers = net.connected_peers().await.ok()?;
                (!peers.is_empty()).then_some(())
            }
        })
        .await?;
    }

    let alice = &participants[0];
    let options = NewRoom {
        name: "Causerie demo".into(),
        join_rule: "public".into(),
        topic: Some("Three nodes, one room: every message is signed by its author".into()),
    };
    let room = alice.client.create_room(&alice.secret, &options).await?;
    let link = alice.client.invite_link(&room).await?;
    say(alice, &room, "Welcome! This room lives on node 1.").await?;
    for participant in participants.iter().skip(1) {
        join_by_link(&participant.client, &participant.secret, &link).await?;
    }
    say(&participants[1], &room, "Hi from node 2, joined by link.").await?;
    say(&participants[2], &room, "And hello from node 3!").await?;
    say(alice, &room, "Each of you sees this through your own node.").await?;

    let expected = 4;
    let mut seen: Vec<Vec<ApiEvent>> = Vec::with_capacity(NODES);
    for participant in participants.iter() {
        let client = participant.client.clone();
        let events = wait_for("every node to see every message", || {
            let client = client.clone();
            async move {
                let events = client.history(&room, 100).await.ok()?;
                (messages(&events).len() >= expected).then_some(events)
            }
        })
        .await?;
        seen.push(events);
    }

    if cx.out.json() {
        let nodes: Vec<_> = participants
            .iter()
            .zip(&seen)
            .enumerate()
            .map(|(index, (p, events))| {
                // A stopped node's address is of no use to anyone.
                let url = (!exit_after_setup).then_some(&p.url);
                json!({
                    "node": index + 1,
                    "url": url,
                    "user": p.secret.public().to_string(),
                    "handle": p.handle,
                    "key_file": dir.join(format!("{}.key", p.handle)),
                    "messages": messages(events),
                    "events": events,
                })
            })
            .collect();
        cx.out.line(
            &json!({ "dir": dir, "room": room.to_string(),
                     "link": (!exit_after_setup).then_some(&link), "nodes": nodes,
                     "running": !exit_after_setup })
            .to_string(),
        );
    } else {
        cx.out.text(&format!(
            "Causerie demo: three federated nodes on loopback (data and keys in {})\n\nroom {room}",
            dir.display()
        ));
        if !exit_after_setup {
            // The link names the first node's p2p address.
            cx.out.text(&format!("invite link: {link}"));
        }
        cx.out.line("");
        for (index, (p, events)) in participants.iter().zip(&seen).enumerate() {
            let place = if exit_after_setup {
                String::new()
            } else {
                format!(" ({})", p.url)
            };
            cx.out.text(&format!(
                "── node {}{place}: {} sees ──",
                index + 1,
                p.handle
            ));
            let mut timeline = Timeline::default();
            for event in events {
                cx.out.text(&format!("  {}", timeline.line(event)));
            }
            cx.out.line("");
        }
        if exit_after_setup {
            cx.out.text(&format!(
                "The nodes stop now (--exit-after-setup). Their data and the users' keys stay in {}; \
                 start them again with:\n  causerie demo --dir {}",
                dir.display(),
                shell_quote(&dir.display().to_string()),
            ));
        } else {
            cx.out
                .line("Open the web client of each node in your browser:");
            for (index, p) in participants.iter().enumerate() {
                cx.out.text(&format!("  node {}: {}/", index + 1, p.url));
            }
            let room = shell_quote(&room.to_string());
            cx.out.text(&format!(
                "\nOr chat from the command line, e.g.:\n  causerie --node {} --key {} send {room} {}\n  causerie --node {} --key {} tail {room} --follow",
                participants[1].url,
                shell_quote(&dir.join("bob.key").display().to_string()),
                shell_quote("hello"),
                participants[2].url,
                shell_quote(&dir.join("carol.key").display().to_string()),
            ));
        }
    }
    if !exit_after_setup {
        if !cx.out.json() {
            cx.out.line("\nThe nodes run until Ctrl-C.");
        }
        super::node::wait_for_signal().await?;
    }
    Ok(ExitCode::SUCCESS)
}

/// `text` as one POSIX shell word that nothing expands (`!`, `$`, spaces, quotes): single
/// quotes, with each `'` written as `'\''`.
fn shell_quote(text: &str) -> String {
    format!("'{}'", text.replace('\'', "'\\''"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shell_words_are_single_quoted() {
        assert_eq!(shell_quote("!abc"), "'!abc'");
        assert_eq!(shell_quote("it's $HOME"), "'it'\\''s $HOME'");
    }

    #[test]
    fn ports_follow_the_base() {
        assert_eq!(ports(8090, 0).unwrap(), (8090, 7490));
        assert_eq!(ports(8090, 2).unwrap(), (8092, 7492));
        assert_eq!(ports(0, 2).unwrap(), (0, 0));
        assert!(ports(600, 0).is_err());
        assert!(ports(u16::MAX, 1).is_err());
    }
}
