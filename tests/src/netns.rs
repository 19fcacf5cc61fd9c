//! Linux network namespaces as test hosts (specs/federation.md, "Addresses, reachability and
//! relays"): a [`Lab`] creates namespaces with unique names, joins them with veth pairs and
//! bridges, runs commands and node processes inside them, and deletes every namespace it made
//! when dropped, also when the test fails. Addresses are private test subnets that exist only
//! inside the lab's own namespaces; nothing touches the host's network.
//!
//! The test process itself stays in the host's namespace. It reaches a node's HTTP API (bound
//! to 127.0.0.1 inside the node's namespace) through a [`Forward`]: a listener on the host's
//! loopback whose connections are opened inside the namespace by a thread that entered it
//! (`setns`). A socket belongs to the namespace it was created in, whichever thread uses it
//! afterwards, so the copying runs on the test's own runtime.
//!
//! Needs root and `ip` (iproute2); NAT needs `nft` (nftables). [`available`] is the skip rule:
//! without them a test prints a SKIP line and passes, unless `CAUSERIE_REQUIRE_NETNS=1` (CI),
//! in which case it fails. A node's log is printed when its test fails, or always with
//! `CAUSERIE_NETNS_LOGS=1`.

use std::io::Write as _;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use thiserror::Error;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, BufReader};
use tokio::sync::{Semaphore, oneshot};

use crate::cluster::{CHILD_START_TIMEOUT, ChildReady};

/// Set to `1` to make missing root or tools a failure instead of a skip (CI sets it).
pub const REQUIRE_NETNS_VAR: &str = "CAUSERIE_REQUIRE_NETNS";
/// Connections one [`Forward`] carries at once; beyond it new ones wait.
pub const MAX_FORWARDED_CONNECTIONS: usize = 64;
/// How long a forwarded connection may take to open inside the namespace.
pub const FORWARD_CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// Longest ready line a node process may print.
const MAX_READY_LINE_BYTES: u64 = 16 * 1024;
/// How much of a node's log is printed when a test fails.
const LOG_TAIL_LINES: usize = 60;
/// Set to `1` to print every node's whole log when its test ends, passed or not.
pub const SHOW_LOGS_VAR: &str = "CAUSERIE_NETNS_LOGS";

/// Why a lab operation failed.
#[derive(Debug, Error)]
pub enum NetnsError {
    /// A required tool or privilege is missing (and `CAUSERIE_REQUIRE_NETNS=1`).
    #[error("network namespaces unavailable: {0}")]
    Unavailable(String),
    /// A command exited with a failure.
    #[error("`{command}` failed ({status}): {stderr}")]
    Command {
        /// The command line.
        command: String,
        /// Its exit status.
        status: String,
        /// What it printed on stderr.
        stderr: String,
    },
    /// An IO error (spawning, files, sockets).
    #[error(transparent)]
    Io(#[from] std::io::Error),
    /// A node process failed to start.
    #[error("node: {0}")]
    Node(String),
}

/// Result of lab operations.
pub type Result<T> = std::result::Result<T, NetnsError>;

/// The skip rule: `Ok(true)` when running as root with `ip` and `nft` at hand. Otherwise
/// `Ok(false)` after printing a SKIP line for `test`, or the error when
/// `CAUSERIE_REQUIRE_NETNS=1`.
pub fn available(test: &str) -> Result<bool> {
    let required = std::env::var(REQUIRE_NETNS_VAR).is_ok_and(|v| v == "1");
    let missing = if !nix::unistd::Uid::effective().is_root() {
        Some("not running as root".to_owned())
    } else {
        ["ip", "nft"]
            .into_iter()
            .find(|tool| {
                std::process::Command::new(tool)
                    .arg("-V")
                    .stdout(Stdio::null())
                    .stderr(Stdio::null())
                    .status()
                    .is_err()
            })
            .map(|tool| format!("`{tool}` not found (Debian: iproute2, nftables)"))
    };
    match missing {
        None => Ok(true),
        Some(reason) if required => Err(NetnsError::Unavailable(reason)),
        Some(reason) => {
            // Straight to stderr: the harness captures the printing macros of passing tests.
            let _ = writeln!(
                std::io::stderr(),
                "SKIP {test}: {reason} (set {REQUIRE_NETNS_VAR}=1 to fail instead)"
            );
            Ok(false)
        }
    }
}

/// Runs a program to completion; its stdout on success.
pub fn run(program: &str, args: &[&str]) -> Result<String> {
    let output = std::process::Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .output()?;
    stdout_of(program, args, output)
}

/// Runs a program with `input` on its stdin (an nftables ruleset, say).
pub fn run_with_input(program: &str, args: &[&str], input: &str) -> Result<String> {
    let mut child = std::process::Command::new(program)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()?;
    if let Some(mut stdin) = child.stdin.take() {
        stdin.write_all(input.as_bytes())?;
    }
    let output = child.wait_with_output()?;
    stdout_of(program, args, output)
}

/// The stdout of a finished `program` run with `args`, or its failure with its stderr.
fn stdout_of(program: &str, args: &[&str], output: std::process::Output) -> Result<String> {
    if !output.status.success() {
        return Err(NetnsError::Command {
            command: format!("{program} {}", args.join(" ")),
            status: output.status.to_string(),
            stderr: String::from_utf8_lossy(&output.stderr).trim().to_owned(),
        });
    }
    Ok(String::from_utf8_lossy(&output.stdout).into_owned())
}

/// A set of namespaces made for one test, deleted (in reverse order) when dropped.
pub struct Lab {
    prefix: String,
    namespaces: Vec<String>,
}

/// Labs made by this process (part of every name, with the process id).
static LABS: AtomicU32 = AtomicU32::new(0);

impl Lab {
    /// A lab whose namespace names start with a prefix unique to this process and lab.
    pub fn new() -> Lab {
        let n = LABS.fetch_add(1, Ordering::Relaxed);
        Lab {
            prefix: format!("cz{}x{n}", std::process::id()),
            namespaces: Vec::new(),
        }
    }

    /// Creates the namespace `<prefix>-<name>` with its loopback up; returns its full name.
    pub fn namespace(&mut self, name: &str) -> Result<String> {
        let full = format!("{}-{name}", self.prefix);
        run("ip", &["netns", "add", &full])?;
        self.namespaces.push(full.clone());
        run("ip", &["-n", &full, "link", "set", "lo", "up"])?;
        Ok(full)
    }

    /// A bridge `name` (up) inside namespace `ns`.
    pub fn bridge(&self, ns: &str, name: &str) -> Result<()> {
        run("ip", &["-n", ns, "link", "add", name, "type", "bridge"])?;
        run("ip", &["-n", ns, "link", "set", name, "up"])?;
        Ok(())
    }

    /// A veth pair: `a_if` in `a_ns` with `a_cidr` (if any), `b_if` in `b_ns` with `b_cidr`
    /// (if any), both up.
    pub fn link(
        &self,
        (a_ns, a_if, a_cidr): (&str, &str, Option<&str>),
        (b_ns, b_if, b_cidr): (&str, &str, Option<&str>),
    ) -> Result<()> {
        run(
            "ip",
            &[
                "link", "add", a_if, "netns", a_ns, "type", "veth", "peer", "name", b_if, "netns",
                b_ns,
            ],
        )?;
        for (ns, interface, cidr) in [(a_ns, a_if, a_cidr), (b_ns, b_if, b_cidr)] {
            if let Some(cidr) = cidr {
                run("ip", &["-n", ns, "addr", "add", cidr, "dev", interface])?;
            }
            run("ip", &["-n", ns, "link", "set", interface, "up"])?;
        }
        Ok(())
    }

    /// Puts interface `interface` of `ns` into the bridge `bridge` of the same namespace.
    pub fn enslave(&self, ns: &str, interface: &str, bridge: &str) -> Result<()> {
        run(
            "ip",
            &["-n", ns, "link", "set", interface, "master", bridge],
        )?;
        Ok(())
    }

    /// Runs `program args` inside `ns`.
    pub fn exec(&self, ns: &str, program: &str, args: &[&str]) -> Result<String> {
        let mut all = vec!["netns", "exec", ns, program];
        all.extend_from_slice(args);
        run("ip", &all)
    }

    /// Makes `ns` a NAT router: it forwards from `lan` to `wan`, rewrites the sources of what
    /// it forwards to its own `wan` address (masquerade), and lets nothing in from `wan` unless
    /// it answers a connection the LAN opened: unsolicited packets are dropped without an
    /// answer, as most home routers do (a dial to the router's address times out; TCP
    /// simultaneous open through the mapping, which hole punching relies on, works).
    pub fn nat_router(&self, ns: &str, lan: &str, wan: &str) -> Result<()> {
        self.exec(ns, "sysctl", &["-q", "-w", "net.ipv4.ip_forward=1"])?;
        let rules = format!(
            "table ip causerie_nat {{\n\
             \x20 chain postrouting {{ type nat hook postrouting priority srcnat; policy accept; oifname \"{wan}\" masquerade; }}\n\
             \x20 chain forward {{ type filter hook forward priority filter; policy drop; ct state established,related accept; iifname \"{lan}\" oifname \"{wan}\" accept; }}\n\
             \x20 chain input {{ type filter hook input priority filter; policy accept; iifname \"{wan}\" ct state new drop; }}\n\
             }}\n"
        );
        run_with_input("ip", &["netns", "exec", ns, "nft", "-f", "-"], &rules)?;
        Ok(())
    }

    /// A [`Forward`] from the host's loopback to `target` inside `ns`.
    pub async fn forward(&self, ns: &str, target: SocketAddr) -> Result<Forward> {
        Forward::start(ns, target).await
    }
}

impl Default for Lab {
    fn default() -> Self {
        Lab::new()
    }
}

impl Drop for Lab {
    fn drop(&mut self) {
        for ns in self.namespaces.iter().rev() {
            if let Err(e) = run("ip", &["netns", "del", ns]) {
                let _ = writeln!(std::io::stderr(), "cleaning up namespace {ns}: {e}");
            }
        }
    }
}

/// Asks the connector thread for a connection opened inside its namespace.
type ConnectRequest = oneshot::Sender<std::io::Result<std::net::TcpStream>>;

/// A listener on the host's loopback whose connections are carried to an address inside a
/// namespace. Stops when dropped.
pub struct Forward {
    /// Where the test connects.
    pub addr: SocketAddr,
    task: tokio::task::JoinHandle<()>,
}

impl Forward {
    async fn start(ns: &str, target: SocketAddr) -> Result<Forward> {
        let (requests, inbox) = std::sync::mpsc::channel::<ConnectRequest>();
        let (entered, entered_answer) = oneshot::channel();
        let path = PathBuf::from("/run/netns").join(ns);
        std::thread::Builder::new()
            .name(format!("netns-{ns}"))
            .spawn(move || connector(&path, target, inbox, entered))?;
        entered_answer
            .await
            .map_err(|_| NetnsError::Node("connector thread died".into()))??;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let permits = Arc::new(Semaphore::new(MAX_FORWARDED_CONNECTIONS));
        let task = tokio::spawn(async move {
            loop {
                let Ok(permit) = permits.clone().acquire_owned().await else {
                    return;
                };
                let Ok((mut inbound, _)) = listener.accept().await else {
                    return;
                };
                let (reply, answer) = oneshot::channel();
                if requests.send(reply).is_err() {
                    return;
                }
                tokio::spawn(async move {
                    let _permit = permit;
                    let Ok(Ok(stream)) = answer.await else {
                        return;
                    };
                    if stream.set_nonblocking(true).is_err() {
                        return;
                    }
                    let Ok(mut outbound) = tokio::net::TcpStream::from_std(stream) else {
                        return;
                    };
                    let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
                });
            }
        });
        Ok(Forward { addr, task })
    }
}

impl Drop for Forward {
    fn drop(&mut self) {
        // The request sender goes with the task; the connector thread then ends.
        self.task.abort();
    }
}

/// The connector thread: enters the namespace, then opens one connection per request until
/// the forward is dropped.
fn connector(
    path: &Path,
    target: SocketAddr,
    inbox: std::sync::mpsc::Receiver<ConnectRequest>,
    entered: oneshot::Sender<Result<()>>,
) {
    let enter = std::fs::File::open(path)
        .map_err(NetnsError::from)
        .and_then(|file| {
            nix::sched::setns(&file, nix::sched::CloneFlags::CLONE_NEWNET)
                .map_err(|e| NetnsError::Io(std::io::Error::from(e)))
        });
    let failed = enter.is_err();
    let _ = entered.send(enter);
    if failed {
        return;
    }
    for reply in inbox {
        let _ = reply.send(std::net::TcpStream::connect_timeout(
            &target,
            FORWARD_CONNECT_TIMEOUT,
        ));
    }
}

/// A node process (`causerie-cluster-node`, the daemon of `causerie run`) inside a namespace,
/// its HTTP API reached through a [`Forward`]. Killed when dropped; its log is printed when a
/// test fails.
pub struct NsNode {
    /// A short name for logs.
    pub name: String,
    /// What it reported once started.
    pub ready: ChildReady,
    /// Its HTTP API, as the test reaches it.
    pub api: SocketAddr,
    log: PathBuf,
    child: tokio::process::Child,
    _forward: Forward,
}

impl NsNode {
    /// Starts `binary` in `ns` with `--data-dir <dir>/data --config <dir>/causerie.toml --http
    /// <http>`, where the config file holds `config` plus the `http_allowed_hosts` entry the
    /// forward needs, and waits for its ready line.
    pub async fn start(
        lab: &Lab,
        name: &str,
        ns: &str,
        binary: &Path,
        dir: &Path,
        http: SocketAddr,
        config: &str,
    ) -> Result<NsNode> {
        let forward = lab.forward(ns, http).await?;
        let config_path = dir.join(format!("{name}.toml"));
        // The test reaches the API under the forward's address: that Host must be allowed.
        std::fs::write(
            &config_path,
            format!("http_allowed_hosts = [\"{}\"]\n{config}", forward.addr),
        )?;
        let data = dir.join(name);
        let log = dir.join(format!("{name}.log"));
        let mut command = tokio::process::Command::new("ip");
        command
            .args(["netns", "exec", ns])
            .arg(binary)
            .arg("--data-dir")
            .arg(&data)
            .arg("--config")
            .arg(&config_path)
            .arg("--http")
            .arg(http.to_string())
            .env(
                "RUST_LOG",
                std::env::var("RUST_LOG").unwrap_or_else(|_| "warn,causerie_node::net=info".into()),
            )
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(std::fs::File::create(&log)?)
            .kill_on_drop(true);
        let mut child = command.spawn()?;
        let stdout = child
            .stdout
            .take()
            .ok_or_else(|| NetnsError::Node("no stdout pipe".into()))?;
        let mut lines = BufReader::new(stdout.take(MAX_READY_LINE_BYTES)).lines();
        let line = tokio::time::timeout(CHILD_START_TIMEOUT, lines.next_line())
            .await
            .map_err(|_| NetnsError::Node(format!("{name}: no ready line")))??
            .ok_or_else(|| NetnsError::Node(format!("{name} exited: {}", tail(&log).join("\n"))))?;
        let ready = crate::cluster::parse_ready(&line)
            .map_err(|e| NetnsError::Node(format!("{name}: {e}")))?;
        Ok(NsNode {
            name: name.to_owned(),
            ready,
            api: forward.addr,
            log,
            child,
            _forward: forward,
        })
    }

    /// The process id.
    pub fn id(&self) -> Option<u32> {
        self.child.id()
    }
}

impl Drop for NsNode {
    fn drop(&mut self) {
        if std::env::var(SHOW_LOGS_VAR).is_ok_and(|v| v == "1") {
            let log = std::fs::read_to_string(&self.log).unwrap_or_default();
            let _ = writeln!(std::io::stderr(), "--- {} log\n{log}", self.name);
        } else if std::thread::panicking() {
            let _ = writeln!(
                std::io::stderr(),
                "--- {} log (last {LOG_TAIL_LINES} lines)\n{}",
                self.name,
                tail(&self.log).join("\n")
            );
        }
    }
}

/// The last lines of a log file.
fn tail(path: &Path) -> Vec<String> {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let lines: Vec<String> = text.lines().map(str::to_owned).collect();
    lines[lines.len().saturating_sub(LOG_TAIL_LINES)..].to_vec()
}
