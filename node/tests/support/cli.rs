//! Shared helpers of the `causerie` command-line tests: real nodes started in-process with
//! `daemon::start` (temp data dirs, HTTP on 127.0.0.1:0, p2p on /ip4/127.0.0.1/tcp/0), the
//! `causerie` binary run as a child process, and waits on conditions with timeouts.

#![allow(dead_code, clippy::unwrap_used, missing_docs, unreachable_pub)]

use std::future::Future;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use causerie_node::config::{Config, ConfigFile, Overrides};
use causerie_node::daemon::{self, Running};

/// Patience for network conditions (debug builds on 2 shared cores).
pub const WAIT: Duration = Duration::from_secs(60);
/// How often waits re-check.
pub const POLL: Duration = Duration::from_millis(50);

/// The binary under test.
pub fn binary() -> &'static str {
    env!("CARGO_BIN_EXE_causerie")
}

/// Starts a node on loopback with free ports, bootstrapping to `bootstrap`.
pub async fn start_node(data_dir: PathBuf, bootstrap: Vec<String>) -> Running {
    start_node_at(data_dir, bootstrap, "127.0.0.1:0").await
}

/// Starts a node with its HTTP server on `http` (to restart a node where clients expect it).
pub async fn start_node_at(data_dir: PathBuf, bootstrap: Vec<String>, http: &str) -> Running {
    let overrides = Overrides {
        data_dir: Some(data_dir),
        listen: vec!["/ip4/127.0.0.1/tcp/0".into()],
        bootstrap,
        http: Some(http.into()),
        ..Overrides::default()
    };
    let config = Config::from_parts(ConfigFile::default(), overrides).unwrap();
    daemon::start(&config).await.unwrap()
}

/// The node's p2p addresses with its peer id.
pub async fn p2p_addresses(running: &Running) -> Vec<String> {
    let peer = running.net.peer_id();
    let addrs = running.net.listen_addrs().await.unwrap();
    addrs.iter().map(|a| format!("{a}/p2p/{peer}")).collect()
}

/// The node's client API URL.
pub fn url(running: &Running) -> String {
    format!("http://{}", running.http_addr)
}

/// A node of its own: a fresh temporary home, the data directory under it, the node running on
/// that directory (no bootstrap peers) and its URL.
pub async fn own_node() -> (tempfile::TempDir, PathBuf, Running, String) {
    let home = tempfile::tempdir().expect("temp dir");
    let data = home.path().join("data");
    let running = start_node(data.clone(), Vec::new()).await;
    let node = url(&running);
    (home, data, running, node)
}

/// Two nodes in `dir` (data in `node1` and `node2`), the second bootstrapped to the first;
/// returns once they are connected.
pub async fn connected_pair(dir: &Path) -> (Running, Running) {
    let node1 = start_node(dir.join("node1"), Vec::new()).await;
    let node2 = start_node(dir.join("node2"), p2p_addresses(&node1).await).await;
    let net2 = node2.net.clone();
    wait_until("node 2 to connect to node 1", || {
        let net2 = net2.clone();
        async move { !net2.connected_peers().await.unwrap().is_empty() }
    })
    .await;
    (node1, node2)
}

/// Polls `condition` until it holds or `WAIT` passes.
pub async fn wait_until<F, Fut>(what: &str, mut condition: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    let deadline = Instant::now() + WAIT;
    loop {
        if condition().await {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "timed out after {WAIT:?} waiting for {what}"
        );
        tokio::time::sleep(POLL).await;
    }
}

/// What a finished `causerie` run printed.
#[derive(Debug)]
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    /// The last stdout line as JSON.
    pub fn json(&self) -> serde_json::Value {
        let line = self.stdout.lines().last().unwrap_or_default();
        serde_json::from_str(line).unwrap_or_else(|e| panic!("not JSON ({e}): {self:?}"))
    }

    /// Asserts success and returns the JSON.
    pub fn ok(&self) -> serde_json::Value {
        assert_eq!(self.code, 0, "{self:?}");
        self.json()
    }

    /// Asserts a refusal (exit 1) with `reason`.
    pub fn refused(&self, reason: &str) {
        assert_eq!(self.code, 1, "{self:?}");
        assert_eq!(self.json()["error"], reason, "{self:?}");
    }
}

/// A `causerie` command with an isolated environment (HOME and XDG_CONFIG_HOME in `home`).
pub fn command(home: &Path) -> tokio::process::Command {
    let mut command = tokio::process::Command::new(binary());
    command
        .env("HOME", home)
        .env("XDG_CONFIG_HOME", home.join("config"))
        .env("RUST_LOG", "warn")
        .stdin(Stdio::null())
        .kill_on_drop(true);
    command
}

/// Runs `causerie --json ARGS` to completion (with a timeout).
pub async fn causerie(home: &Path, args: &[&str]) -> Run {
    let mut command = command(home);
    command.arg("--json").args(args);
    let output = tokio::time::timeout(WAIT * 3, command.output())
        .await
        .unwrap_or_else(|_| panic!("causerie {args:?} did not finish"))
        .unwrap();
    Run {
        code: output.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

/// `causerie --json --key KEY key ARGS`: a key command on the key file `key`.
pub async fn key_command(home: &Path, key: &str, args: &[&str]) -> Run {
    let mut all = vec!["--key", key, "key"];
    all.extend_from_slice(args);
    causerie(home, &all).await
}

/// The arguments of `causerie demo` with its nodes in `dir` on free ports, exiting once they
/// are set up.
pub fn demo_args(dir: &Path) -> [&str; 6] {
    [
        "demo",
        "--base-port",
        "0",
        "--dir",
        dir.to_str().unwrap(),
        "--exit-after-setup",
    ]
}

/// The list `field` of a JSON answer.
pub fn entries<'a>(answer: &'a serde_json::Value, field: &str) -> &'a [serde_json::Value] {
    answer[field]
        .as_array()
        .unwrap_or_else(|| panic!("no list {field:?} in {answer}"))
}

/// The first entry of the list `field` of a JSON answer for which `matches` holds.
pub fn entry<'a>(
    answer: &'a serde_json::Value,
    field: &str,
    matches: impl Fn(&serde_json::Value) -> bool,
) -> &'a serde_json::Value {
    entries(answer, field)
        .iter()
        .find(|e| matches(e))
        .unwrap_or_else(|| panic!("no such entry in {field:?} of {answer}"))
}

/// The operator of a node: `causerie --node NODE admin --data-dir DATA ARGS`, the operator
/// token read from the node's data directory.
pub struct Operator {
    pub home: PathBuf,
    pub node: String,
    pub data_dir: PathBuf,
}

impl Operator {
    /// The operator of the node at `node` whose data directory is `data_dir`.
    pub fn new(home: &Path, node: &str, data_dir: &Path) -> Operator {
        Operator {
            home: home.to_owned(),
            node: node.to_owned(),
            data_dir: data_dir.to_owned(),
        }
    }

    /// Runs `causerie --json --node NODE admin --data-dir DATA ARGS`.
    pub async fn run(&self, args: &[&str]) -> Run {
        let data_dir = self.data_dir.to_str().unwrap();
        let mut all = vec!["--node", &self.node, "admin", "--data-dir", data_dir];
        all.extend_from_slice(args);
        causerie(&self.home, &all).await
    }
}

/// Alice and Bob, registered on `node` with their key files in `home`, and the public room
/// `name` Alice created (Bob has not joined it); returns them and the room's id.
pub async fn alice_bob_and_room(home: &Path, node: &str, name: &str) -> (User, User, String) {
    let alice = User::registered(home, "alice", node.to_owned()).await;
    let bob = User::registered(home, "bob", node.to_owned()).await;
    let room = alice.create_public_room(name).await;
    (alice, bob, room)
}

/// A user of the tests: a key file and the node they use.
pub struct User {
    pub home: PathBuf,
    pub key: PathBuf,
    pub node: String,
}

impl User {
    /// Creates the user's key file.
    pub async fn new(home: &Path, name: &str, node: String) -> User {
        let key = home.join(format!("{name}.key"));
        let user = User {
            home: home.to_owned(),
            key,
            node,
        };
        user.run(&["key", "new"]).await.ok();
        user
    }

    /// `--node NODE --key KEY ARGS`: `args` as this user on their node.
    pub fn args<'a>(&'a self, args: &[&'a str]) -> Vec<&'a str> {
        let mut all = vec!["--node", &self.node, "--key", self.key.to_str().unwrap()];
        all.extend_from_slice(args);
        all
    }

    /// A `causerie --node NODE --key KEY ARGS` command (text output unless `args` says
    /// `--json`), to run or spawn.
    pub fn command(&self, args: &[&str]) -> tokio::process::Command {
        let mut command = command(&self.home);
        command.args(self.args(args));
        command
    }

    /// Runs `causerie --json --node NODE --key KEY ARGS`.
    pub async fn run(&self, args: &[&str]) -> Run {
        causerie(&self.home, &self.args(args)).await
    }

    /// The user's public key (hex).
    pub async fn public(&self) -> String {
        self.run(&["key", "show"]).await.ok()["public_key"]
            .as_str()
            .unwrap()
            .to_owned()
    }

    /// A new user (see [`User::new`]) registered on `node` with the handle `name`.
    pub async fn registered(home: &Path, name: &str, node: String) -> User {
        let user = User::new(home, name, node).await;
        user.run(&["register", "--handle", name]).await.ok();
        user
    }

    /// `user`'s membership in `room` as this user sees it through their node ("" when not
    /// listed or not readable).
    pub async fn membership_of(&self, room: &str, user: &str) -> String {
        let run = self.run(&["members", room]).await;
        if run.code != 0 {
            return String::new();
        }
        entries(&run.json(), "members")
            .iter()
            .find(|m| m["user"] == user)
            .and_then(|m| m["membership"].as_str())
            .unwrap_or_default()
            .to_owned()
    }

    /// Creates a public room named `name`; returns its id.
    pub async fn create_public_room(&self, name: &str) -> String {
        let created = self.run(&["room", "create", name, "--public"]).await.ok();
        created["room"].as_str().unwrap().to_owned()
    }
}
