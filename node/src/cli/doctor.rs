//! `causerie admin doctor`: checks that a node can run (or runs) well on this machine, reading
//! the config like `causerie run` (`--config`, `--data-dir`, `--listen`, `--http`), whether the
//! node is running or not. Each check prints `ok`, `warn` or `fail` with what it found and, when
//! not ok, a fix in plain words; `--json` prints `{ok, checks: [{name, status, detail, fix}]}`.
//! Exit code 0 when nothing failed (warnings included), 1 when a check failed.
//!
//! Checks: `data_dir` (a writable directory), `disk` (free space under
//! [`MIN_FREE_DISK_BYTES`] warns), `store` (opens, or is locked by a running node, which must
//! then answer over HTTP), `http` and `p2p` (each address bindable, or in use by this node),
//! `reachability` (loopback-only addresses warn: other machines cannot reach the node; a running
//! node's AutoNAT verdict says whether other nodes reached it, directly or through a relay
//! circuit; without one, an address beyond loopback with neither `external_addresses` nor
//! `relays` warns), `client_address` (a node with `public_origin`, a loopback `http` and no TLS
//! of its own is behind a reverse proxy: without `trusted_proxies` it warns), `clock`
//! (the node exposes no peer clocks, so this asks `timedatectl show -p NTPSynchronized` when it
//! exists; otherwise unknown, a warning) and `operator_token` (present, mode 0600).

use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Result;
use causerie_node::config::{Config, Overrides, TlsConfig};
use causerie_node::daemon::{DataDirLock, LockError};
use libp2p::Multiaddr;
use libp2p::multiaddr::Protocol;
use serde_json::{Value as JsonValue, json};

use super::Context;

/// Free space on the data directory's filesystem under which `disk` warns.
pub(crate) const MIN_FREE_DISK_BYTES: u64 = 1024 * 1024 * 1024;
/// How long the HTTP check waits for the running node's answer.
const NODE_ANSWER_TIMEOUT: Duration = Duration::from_secs(5);
/// How long `timedatectl` may take.
const TIMEDATECTL_TIMEOUT: Duration = Duration::from_secs(5);

/// `causerie admin doctor` flags (the same as `causerie run`'s, minus bootstrap).
#[derive(Debug, clap::Args)]
pub(crate) struct DoctorArgs {
    /// TOML config file.
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Data directory (default ./causerie-data).
    #[arg(long = "data-dir", value_name = "DIR")]
    data_dir: Option<PathBuf>,
    /// p2p listen address (repeatable).
    #[arg(long, value_name = "MULTIADDR")]
    listen: Vec<String>,
    /// HTTP address.
    #[arg(long, value_name = "ADDR")]
    http: Option<String>,
}

/// One check's verdict.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Status {
    Ok,
    Warn,
    Fail,
}

impl Status {
    fn name(self) -> &'static str {
        match self {
            Status::Ok => "ok",
            Status::Warn => "warn",
            Status::Fail => "fail",
        }
    }
}

/// One check: its name, verdict, what it found and how to fix it.
#[derive(Debug)]
struct Check {
    name: &'static str,
    status: Status,
    detail: String,
    fix: Option<String>,
}

impl Check {
    fn ok(name: &'static str, detail: impl Into<String>) -> Check {
        Check {
            name,
            status: Status::Ok,
            detail: detail.into(),
            fix: None,
        }
    }
    fn warn(name: &'static str, detail: impl Into<String>, fix: impl Into<String>) -> Check {
        Check {
            name,
            status: Status::Warn,
            detail: detail.into(),
            fix: Some(fix.into()),
        }
    }
    fn fail(name: &'static str, detail: impl Into<String>, fix: impl Into<String>) -> Check {
        Check {
            name,
            status: Status::Fail,
            detail: detail.into(),
            fix: Some(fix.into()),
        }
    }
    fn json(&self) -> JsonValue {
        json!({
            "name": self.name,
            "status": self.status.name(),
            "detail": self.detail,
            "fix": self.fix,
        })
    }
}

/// Runs `causerie admin doctor`.
pub(crate) async fn run(cx: &Context, args: DoctorArgs) -> Result<ExitCode> {
    let overrides = Overrides {
        data_dir: args.data_dir,
        listen: args.listen,
        bootstrap: Vec::new(),
        http: args.http,
        ..Overrides::default()
    };
    let config = Config::load(args.config.as_deref(), overrides)?;
    let mut checks = Vec::new();
    let writable = data_dir(&config.data_dir);
    let usable = writable.status == Status::Ok;
    checks.push(writable);
    if usable {
        checks.push(disk(&config.data_dir));
    }
    let (store, running, info) = if usable {
        store(&config).await
    } else {
        (
            Check::fail(
                "store",
                "not checked: the data directory is not usable",
                "fix data_dir first",
            ),
            false,
            None,
        )
    };
    checks.push(store);
    checks.push(http(config.http, running).await);
    checks.push(p2p(&config.listen, running));
    checks.push(reachability(&config, info.as_ref()));
    checks.push(client_address(&config));
    checks.push(clock().await);
    checks.push(operator_token(&config.operator_token_path()));
    let failed = checks.iter().any(|c| c.status == Status::Fail);
    cx.out.print(
        json!({
            "ok": !failed,
            "checks": checks.iter().map(Check::json).collect::<Vec<_>>(),
        }),
        || {
            checks
                .iter()
                .map(|c| {
                    let mut line = format!("{:<5} {:<15} {}", c.status.name(), c.name, c.detail);
                    if let Some(fix) = &c.fix {
                        line.push_str(&format!("\n      {:<15} fix: {fix}", ""));
                    }
                    line
                })
                .collect::<Vec<_>>()
                .join("\n")
        },
    );
    Ok(if failed {
        ExitCode::from(super::EXIT_REFUSED)
    } else {
        ExitCode::SUCCESS
    })
}

/// The data directory is a directory this user can write in (created if missing, as `run`
/// would).
fn data_dir(dir: &Path) -> Check {
    const NAME: &str = "data_dir";
    if dir.exists() && !dir.is_dir() {
        return Check::fail(
            NAME,
            format!("{} is not a directory", dir.display()),
            "set data_dir (or --data-dir) to a directory",
        );
    }
    if let Err(e) = std::fs::create_dir_all(dir) {
        return Check::fail(
            NAME,
            format!("{} cannot be created: {e}", dir.display()),
            "create it, owned by the user that runs causerie",
        );
    }
    let probe = dir.join(".causerie-doctor-probe");
    match std::fs::write(&probe, b"probe") {
        Ok(()) => {
            let _ = std::fs::remove_file(&probe);
            Check::ok(NAME, format!("{} is writable", dir.display()))
        }
        Err(e) => Check::fail(
            NAME,
            format!("{} is not writable: {e}", dir.display()),
            format!(
                "make it writable by the user that runs causerie (chown that user {})",
                dir.display()
            ),
        ),
    }
}

/// Free space on the data directory's filesystem.
fn disk(dir: &Path) -> Check {
    const NAME: &str = "disk";
    match nix::sys::statvfs::statvfs(dir) {
        Ok(stats) => {
            // The statvfs field types differ between platforms.
            #[allow(clippy::useless_conversion)]
            let free = u64::from(stats.blocks_available())
                .saturating_mul(u64::from(stats.fragment_size()));
            let text = format!("{} MiB free", free / (1024 * 1024));
            if free < MIN_FREE_DISK_BYTES {
                Check::warn(
                    NAME,
                    format!("{text}, under {} MiB", MIN_FREE_DISK_BYTES / (1024 * 1024)),
                    "free space on that disk, or move data_dir to a larger one",
                )
            } else {
                Check::ok(NAME, text)
            }
        }
        Err(e) => Check::warn(
            NAME,
            format!("free space unknown: {e}"),
            "check the disk with df",
        ),
    }
}

/// The store opens, or a running node holds it and answers. Answers whether the node runs.
/// The store check, whether a node holds the data directory, and that node's
/// `/api/v1/node` answer when it gave one.
async fn store(config: &Config) -> (Check, bool, Option<JsonValue>) {
    const NAME: &str = "store";
    match DataDirLock::acquire(&config.data_dir) {
        Ok(lock) => {
            let path = config.store_path();
            if !path.exists() {
                return (
                    Check::ok(NAME, "no store yet; the node creates it at first start"),
                    false,
                    None,
                );
            }
            let opened = tokio::task::spawn_blocking(move || {
                causerie_storage::SledStore::open(&path).map(drop)
            })
            .await;
            drop(lock);
            let check = match opened {
                Ok(Ok(())) => Check::ok(NAME, "the store opens (node not running)"),
                Ok(Err(e)) => Check::fail(
                    NAME,
                    format!("the store does not open: {e} [{}]", e.reason()),
                    "run the causerie version that wrote it, or restore a backup (causerie admin restore)",
                ),
                Err(e) => Check::fail(NAME, format!("opening failed: {e}"), "try again"),
            };
            (check, false, None)
        }
        Err(LockError::Locked { pid, .. }) => {
            let holder = pid.map(|p| format!(" (process {p})")).unwrap_or_default();
            let answer = node_answers(config.http).await;
            let check = match &answer {
                Ok(info) => Check::ok(
                    NAME,
                    format!(
                        "locked by the running node{holder}, which answers on http (node key {})",
                        info["node_key"].as_str().unwrap_or("?")
                    ),
                ),
                Err(e) => Check::fail(
                    NAME,
                    format!(
                        "locked by a running node{holder} that does not answer on http://{}: {e}",
                        config.http
                    ),
                    "check that node's logs; restart it (systemctl restart causerie) or stop the process",
                ),
            };
            (check, true, answer.ok())
        }
        Err(e) => (
            Check::fail(
                NAME,
                format!("the data directory cannot be locked: {e}"),
                "make the data directory writable by the user that runs causerie",
            ),
            false,
            None,
        ),
    }
}

/// The running node's `GET /api/v1/node` answer (its key, addresses and reachability).
async fn node_answers(addr: SocketAddr) -> Result<JsonValue> {
    let client = reqwest::Client::builder()
        .timeout(NODE_ANSWER_TIMEOUT)
        .build()?;
    let answer: JsonValue = client
        .get(format!("http://{addr}/api/v1/node"))
        .send()
        .await?
        .error_for_status()?
        .json()
        .await?;
    Ok(answer)
}

/// The HTTP address is bindable, or this node is serving on it.
async fn http(addr: SocketAddr, running: bool) -> Check {
    const NAME: &str = "http";
    match std::net::TcpListener::bind(addr) {
        Ok(_) => Check::ok(NAME, format!("{addr} is free to bind")),
        Err(_) if running && node_answers(addr).await.is_ok() => {
            Check::ok(NAME, format!("{addr} is in use by this node"))
        }
        Err(e) if e.kind() == std::io::ErrorKind::AddrInUse => Check::fail(
            NAME,
            format!("{addr} is in use by another program"),
            "stop that program (ss -ltnp shows which), or set another address with http = \"HOST:PORT\" (or --http)",
        ),
        Err(e) => Check::fail(
            NAME,
            format!("{addr} cannot be bound: {e}"),
            "use an address of this machine and a port above 1023, or run causerie with the right to bind it",
        ),
    }
}

/// The TCP socket address of a listen multiaddr (`/ip4|ip6/…/tcp/PORT`), if it has one.
fn tcp_addr(addr: &Multiaddr) -> Option<SocketAddr> {
    let mut ip = None;
    let mut port = None;
    for part in addr.iter() {
        match part {
            Protocol::Ip4(v4) => ip = Some(IpAddr::V4(v4)),
            Protocol::Ip6(v6) => ip = Some(IpAddr::V6(v6)),
            Protocol::Tcp(p) => port = Some(p),
            _ => {}
        }
    }
    Some(SocketAddr::new(ip?, port?))
}

/// Every p2p listen address is bindable, or (the node running) in use by it.
fn p2p(listen: &[Multiaddr], running: bool) -> Check {
    const NAME: &str = "p2p";
    let mut taken = Vec::new();
    let mut free = Vec::new();
    for addr in listen {
        let Some(socket) = tcp_addr(addr) else {
            continue;
        };
        match std::net::TcpListener::bind(socket) {
            Ok(_) => free.push(socket.to_string()),
            Err(e) => taken.push(format!("{socket} ({e})")),
        }
    }
    if taken.is_empty() {
        return Check::ok(NAME, format!("free to bind: {}", free.join(", ")));
    }
    if running {
        return Check::ok(
            NAME,
            format!("in use by the running node: {}", taken.join(", ")),
        );
    }
    Check::fail(
        NAME,
        format!("in use by another program: {}", taken.join(", ")),
        "stop that program (ss -ltnp shows which), or set other addresses with listen = [\"/ip4/0.0.0.0/tcp/PORT\"] (or --listen)",
    )
}

/// Warns when every address is loopback: only this machine can reach the node.
fn reachability(config: &Config, info: Option<&JsonValue>) -> Check {
    const NAME: &str = "reachability";
    let p2p_loopback = config
        .listen
        .iter()
        .filter_map(tcp_addr)
        .all(|a| a.ip().is_loopback());
    let http_loopback = config.http.ip().is_loopback();
    if p2p_loopback || http_loopback {
        let mut keys = Vec::new();
        if p2p_loopback {
            keys.push("listen = [\"/ip4/0.0.0.0/tcp/7447\"]");
        }
        if http_loopback {
            keys.push("http = \"0.0.0.0:8080\" (or a reverse proxy in front)");
        }
        return Check::warn(
            NAME,
            format!(
                "listening on loopback only ({}): other machines cannot reach this node",
                [(p2p_loopback, "p2p"), (http_loopback, "http")]
                    .iter()
                    .filter(|(on, _)| *on)
                    .map(|(_, name)| *name)
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            format!(
                "to be reachable, set in the config file: {}",
                keys.join("; ")
            ),
        );
    }
    let announced = if config.external_addresses.is_empty() {
        "no external_addresses".to_owned()
    } else {
        format!("announcing {}", join_addrs(&config.external_addresses))
    };
    // Without a running node only the config can be read; with one, its AutoNAT verdict says
    // whether other machines actually reached it (specs/federation.md §8.3).
    let Some(info) = info else {
        return if config.external_addresses.is_empty() && config.relays.is_empty() {
            Check::warn(
                NAME,
                format!("listening beyond loopback, {announced} and no relays (node not running)"),
                "set external_addresses to the address other machines reach (your public IP or \
                 name and the forwarded port), or relays if the machine is behind a router",
            )
        } else {
            Check::ok(
                NAME,
                format!(
                    "listening beyond loopback, {announced} (node not running: start it to learn whether it is reachable)"
                ),
            )
        };
    };
    let circuits = info["relay_circuits"]
        .as_array()
        .map(|c| c.iter().filter_map(JsonValue::as_str).collect::<Vec<_>>())
        .unwrap_or_default();
    match info["reachability"].as_str().unwrap_or("unknown") {
        "public" => Check::ok(
            NAME,
            format!("other nodes reached this node directly (AutoNAT: public); {announced}"),
        ),
        "private" if !circuits.is_empty() => Check::ok(
            NAME,
            format!(
                "not directly reachable (AutoNAT: private), reachable through the relay circuit {}",
                circuits.join(", ")
            ),
        ),
        "private" => Check::warn(
            NAME,
            "other nodes cannot reach this node (AutoNAT: private) and it holds no relay circuit",
            "forward the p2p port on the router and set external_addresses, or set relays to a \
             reachable node with relay_server = true",
        ),
        _ => Check::warn(
            NAME,
            format!("not known yet (AutoNAT needs connected peers to dial back); {announced}"),
            "connect the node to peers (bootstrap) and run doctor again in a minute",
        ),
    }
}

/// Whose address a request counts as: a node with a public origin, on a loopback HTTP address
/// and without TLS of its own sits behind a reverse proxy, and without `trusted_proxies` every
/// user counts as the proxy (one rate allowance for all, records that keep 127.0.0.1).
fn client_address(config: &Config) -> Check {
    const NAME: &str = "client_address";
    if !config.trusted_proxies.is_empty() {
        return Check::ok(
            NAME,
            "requests from trusted_proxies count as the address their X-Forwarded-For names",
        );
    }
    let proxied = config.public_origin.is_some()
        && config.http.ip().is_loopback()
        && matches!(config.tls, TlsConfig::Off);
    if proxied {
        return Check::warn(
            NAME,
            "public_origin on a loopback HTTP address without [tls]: a reverse proxy is in front, \
             and every user counts as its address (one rate allowance for all; registration \
             records keep the proxy's address)",
            "set trusted_proxies = [\"127.0.0.1\", \"::1\"] (the proxy's addresses) and have the \
             proxy send X-Forwarded-For (scripts/deploy/nginx.conf and Caddyfile do)",
        );
    }
    Check::ok(NAME, "each request counts as its connection's address")
}

/// Multiaddrs as one comma-separated text.
fn join_addrs(addrs: &[Multiaddr]) -> String {
    addrs
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

/// Whether the system clock is synchronised (the node exposes no peer clocks to compare).
async fn clock() -> Check {
    const NAME: &str = "clock";
    let asked = tokio::time::timeout(
        TIMEDATECTL_TIMEOUT,
        tokio::process::Command::new("timedatectl")
            .args(["show", "-p", "NTPSynchronized", "--value"])
            .kill_on_drop(true)
            .output(),
    )
    .await;
    let unknown = |why: &str| {
        Check::warn(
            NAME,
            format!(
                "clock synchronisation unknown ({why}); the node exposes no peer clocks to compare"
            ),
            "run an NTP client (systemd-timesyncd, chrony): rooms expire and order events by time",
        )
    };
    match asked {
        Ok(Ok(output)) if output.status.success() => {
            match String::from_utf8_lossy(&output.stdout).trim() {
                "yes" => Check::ok(NAME, "the system clock is synchronised (NTP)"),
                "no" => Check::warn(
                    NAME,
                    "the system clock is not synchronised",
                    "enable NTP: timedatectl set-ntp true",
                ),
                _ => unknown("timedatectl gave no answer"),
            }
        }
        Ok(Ok(_)) => unknown("timedatectl failed"),
        Ok(Err(_)) => unknown("no timedatectl"),
        Err(_) => unknown("timedatectl did not answer"),
    }
}

/// The operator token file exists and only its owner can read it.
fn operator_token(path: &Path) -> Check {
    const NAME: &str = "operator_token";
    match std::fs::metadata(path) {
        Err(_) => Check::warn(
            NAME,
            format!("no operator token at {}", path.display()),
            "start the node once: it writes the token (mode 0600)",
        ),
        Ok(meta) => {
            #[cfg(unix)]
            {
                use std::os::unix::fs::PermissionsExt;
                let mode = meta.permissions().mode() & 0o777;
                if mode != 0o600 {
                    return Check::fail(
                        NAME,
                        format!("{} has mode {mode:o}: others may read it", path.display()),
                        format!("chmod 600 {}", path.display()),
                    );
                }
            }
            #[cfg(not(unix))]
            let _ = meta;
            Check::ok(NAME, format!("{} present, mode 600", path.display()))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use causerie_node::config::ConfigFile;

    fn config(toml: &str) -> Config {
        Config::from_parts(
            toml::from_str::<ConfigFile>(toml).unwrap(),
            Overrides::default(),
        )
        .unwrap()
    }

    const PUBLIC: &str = "listen = [\"/ip4/0.0.0.0/tcp/7447\"]\nhttp = \"0.0.0.0:8080\"\n";

    #[test]
    fn reachability_reads_the_running_nodes_autonat_verdict() {
        let relayed = "/ip4/203.0.113.7/tcp/7447/p2p/12D3KooWDpJ7As7BWAwRMfu1VU2WCqNjvq387JEYKDBj4kx6nXTN/p2p-circuit";
        let cases = [
            (json!({"reachability": "public"}), Status::Ok, "directly"),
            (
                json!({"reachability": "private", "relay_circuits": [relayed]}),
                Status::Ok,
                "relay circuit",
            ),
            (
                json!({"reachability": "private", "relay_circuits": []}),
                Status::Warn,
                "no relay circuit",
            ),
            (
                json!({"reachability": "unknown"}),
                Status::Warn,
                "not known yet",
            ),
        ];
        for (info, status, words) in cases {
            let check = reachability(&config(PUBLIC), Some(&info));
            assert_eq!(check.status, status, "{info}: {check:?}");
            assert!(check.detail.contains(words), "{info}: {check:?}");
        }
    }

    #[test]
    fn a_node_behind_a_proxy_is_told_to_trust_it() {
        let origin = "public_origin = \"https://chat.example.org\"\n";
        let behind = client_address(&config(origin));
        assert_eq!(behind.status, Status::Warn, "{behind:?}");
        assert!(behind.fix.unwrap().contains("trusted_proxies"));
        let trusting = client_address(&config(&format!(
            "{origin}trusted_proxies = [\"127.0.0.1\"]\n"
        )));
        assert_eq!(trusting.status, Status::Ok, "{trusting:?}");
        for direct in ["", PUBLIC] {
            assert_eq!(
                client_address(&config(direct)).status,
                Status::Ok,
                "{direct}"
            );
        }
    }

    #[test]
    fn reachability_without_a_node_reads_the_config() {
        let loopback = reachability(&config(""), None);
        assert_eq!(loopback.status, Status::Warn);
        assert!(loopback.detail.contains("loopback only"), "{loopback:?}");
        let unannounced = reachability(&config(PUBLIC), None);
        assert_eq!(unannounced.status, Status::Warn);
        assert!(unannounced.fix.unwrap().contains("external_addresses"));
        let announced = reachability(
            &config(&format!(
                "{PUBLIC}external_addresses = [\"/dns/chat.example.org/tcp/7447\"]\n"
            )),
            None,
        );
        assert_eq!(announced.status, Status::Ok, "{announced:?}");
    }
}
