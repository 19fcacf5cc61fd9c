//! The service unit in `scripts/deploy/` as an operator installs it: systemd accepts it (every
//! directive known, the command executable), and its `ExecStart` command line, pointed at a
//! scratch config, runs a node that answers `/api/v1/node`, logs JSON lines, and stops cleanly on
//! the unit's stop signal. The container image (`scripts/deploy/Containerfile`, built by
//! `scripts/deploy/build-image.sh`) builds, and its node answers `/api/v1/node` and stops
//! cleanly on `podman stop`.

#![allow(clippy::unwrap_used, missing_docs)]

use std::path::{Path, PathBuf};
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, BufReader};

const UNIT: &str = include_str!("../../scripts/deploy/causerie.service");
/// Where the unit expects the binary and the config.
const INSTALLED_BINARY: &str = "/usr/local/bin/causerie";
const INSTALLED_CONFIG: &str = "/etc/causerie/causerie.toml";
const WAIT: Duration = Duration::from_secs(30);

/// The value of the unit's first `key=` line.
fn directive(key: &str) -> &'static str {
    UNIT.lines()
        .find_map(|line| line.strip_prefix(key)?.strip_prefix('='))
        .unwrap_or_else(|| panic!("the unit has no {key}="))
}

#[test]
fn systemd_accepts_the_unit() {
    assert_eq!(
        directive("ExecStart").split_whitespace().next(),
        Some(INSTALLED_BINARY)
    );
    let dir = tempfile::tempdir().unwrap();
    let unit = dir.path().join("causerie.service");
    std::fs::write(
        &unit,
        UNIT.replace(INSTALLED_BINARY, env!("CARGO_BIN_EXE_causerie")),
    )
    .unwrap();
    let output = std::process::Command::new("systemd-analyze")
        .arg("verify")
        .arg(&unit)
        .output()
        .expect("systemd-analyze (Debian package systemd; .ci/run installs it)");
    let stderr = String::from_utf8_lossy(&output.stderr);
    // Unknown directives are only warned about: any output is a finding.
    assert!(
        output.status.success() && stderr.trim().is_empty(),
        "{stderr}"
    );
    assert_eq!(directive("KillSignal"), "SIGTERM");
}

/// A config for a node in `data_dir` on loopback ports the system picks.
fn scratch_config(dir: &Path, data_dir: &Path) -> PathBuf {
    let config = dir.join("causerie.toml");
    std::fs::write(
        &config,
        format!(
            "data_dir = {:?}\nlisten = [\"/ip4/127.0.0.1/tcp/0\"]\nhttp = \"127.0.0.1:0\"\n",
            data_dir.to_str().unwrap()
        ),
    )
    .unwrap();
    config
}

/// Whether every line of the node's stderr must be a JSON log line.
#[derive(Clone, Copy, PartialEq, Eq)]
enum JsonLines {
    /// Every line (the node's own stderr).
    Only,
    /// The node's lines among others (a container runtime's warnings).
    AmongOthers,
}

/// The node process `command` starts (stdin closed, stderr piped, killed if the test ends
/// first), once it has logged `node started` and its HTTP address answers `/api/v1/node` with a
/// node key. Returns it with the rest of its stderr, to keep open while the node runs: a closed
/// pipe would fail its last log lines at shutdown.
async fn answering_node(
    command: &mut tokio::process::Command,
    lines_are: JsonLines,
) -> (
    tokio::process::Child,
    tokio::io::Lines<BufReader<tokio::process::ChildStderr>>,
) {
    let mut node = command
        .stdin(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(node.stderr.take().unwrap()).lines();
    let http = loop {
        let line = tokio::time::timeout(WAIT, lines.next_line())
            .await
            .expect("the node started in time")
            .unwrap()
            .expect("the node kept running");
        let log: serde_json::Value = match serde_json::from_str(&line) {
            Ok(log) => log,
            Err(_) if lines_are == JsonLines::AmongOthers => continue,
            Err(e) => panic!("not a JSON log line ({e}): {line}"),
        };
        if log["fields"]["message"] == "node started" {
            break log["fields"]["http"].as_str().unwrap().to_owned();
        }
    };
    let info: serde_json::Value = reqwest::get(format!("http://{http}/api/v1/node"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(info["node_key"].is_string(), "{info}");
    (node, lines)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_units_command_runs_a_node_that_stops_on_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    let config = scratch_config(dir.path(), &dir.path().join("state"));
    let mut words = directive("ExecStart")
        .split_whitespace()
        .map(|word| match word {
            INSTALLED_BINARY => env!("CARGO_BIN_EXE_causerie").to_owned(),
            INSTALLED_CONFIG => config.to_str().unwrap().to_owned(),
            other => other.to_owned(),
        });
    let mut command = tokio::process::Command::new(words.next().unwrap());
    command
        .args(words)
        .current_dir(dir.path())
        .env("HOME", dir.path())
        .env("RUST_LOG", "info");
    let (mut node, _stderr) = answering_node(&mut command, JsonLines::Only).await;

    let pid = node.id().unwrap().to_string();
    let killed = std::process::Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .unwrap();
    assert!(killed.success());
    let status = tokio::time::timeout(WAIT, node.wait())
        .await
        .expect("the node stopped in time")
        .unwrap();
    assert!(status.success(), "{status}");
    assert!(dir.path().join("state/node.key").exists());
}

/// Runs `podman` and returns its output; a missing podman names the packages to install.
fn podman(args: &[&str]) -> std::process::Output {
    std::process::Command::new("podman")
        .args(args)
        .output()
        .expect("podman (Debian packages podman and runc; .ci/run installs them)")
}

/// Removes an image or a container by name when the test ends, passed or failed.
struct Removed {
    kind: &'static str,
    name: String,
}

impl Drop for Removed {
    fn drop(&mut self) {
        let _ = podman(&[self.kind, "rm", "--force", &self.name]);
    }
}

/// A base image made of the shared libraries `binary` links (as `ldd` lists them) and nothing
/// else: the test machine reaches no image registry, so the Containerfile's default base
/// (debian:bookworm-slim) cannot be pulled here. It is what that base gives the binary.
fn local_base_image(binary: &str, dir: &Path, name: &str) -> Removed {
    let ldd = std::process::Command::new("ldd")
        .arg(binary)
        .output()
        .unwrap();
    assert!(ldd.status.success(), "ldd {binary}");
    let root = dir.join("base");
    let libraries = String::from_utf8(ldd.stdout).unwrap();
    for library in libraries
        .split_whitespace()
        .filter(|word| word.starts_with('/'))
    {
        let target = root.join(library.trim_start_matches('/'));
        std::fs::create_dir_all(target.parent().unwrap()).unwrap();
        std::fs::copy(library, &target).unwrap();
    }
    let archive = dir.join("base.tar");
    let tar = std::process::Command::new("tar")
        .arg("-C")
        .arg(&root)
        .arg("-cf")
        .arg(&archive)
        .arg(".")
        .status()
        .unwrap();
    assert!(tar.success());
    let imported = podman(&["import", archive.to_str().unwrap(), name]);
    assert!(imported.status.success(), "{imported:?}");
    Removed {
        kind: "image",
        name: name.to_owned(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_container_image_builds_and_its_node_answers() {
    let binary = env!("CARGO_BIN_EXE_causerie");
    let dir = tempfile::tempdir().unwrap();
    let unique = format!("{}-{}", std::process::id(), causerie_node::clock::now_ms());
    let base = local_base_image(
        binary,
        dir.path(),
        &format!("localhost/causerie-base:{unique}"),
    );

    let tag = format!("localhost/causerie-test:{unique}");
    let script = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../scripts/deploy/build-image.sh"
    );
    let built = std::process::Command::new(script)
        .arg(&tag)
        .env("CAUSERIE_BINARY", binary)
        .env("RUNTIME_IMAGE", &base.name)
        .output()
        .unwrap();
    assert!(built.status.success(), "{built:?}");
    let _image = Removed {
        kind: "image",
        name: tag.clone(),
    };

    // The image's own entry point and config, with the HTTP and p2p addresses moved to
    // loopback ports the system picks (host networking: nothing leaves the machine). runc and
    // the lowered limits are for this sandbox, which refuses raising a container's rlimits and
    // crun's cgroup setup; on a normal host `podman run` needs neither.
    let name = format!("causerie-test-{unique}");
    let _container = Removed {
        kind: "container",
        name: name.clone(),
    };
    let mut command = tokio::process::Command::new("podman");
    command
        .args(["--runtime", "runc", "run", "--rm", "--name", &name])
        .args(["--network", "host", "--ulimit", "nofile=4096:4096"])
        .args(["--ulimit", "nproc=4096:4096", &tag])
        .args(["run", "--config", "/etc/causerie/causerie.toml"])
        .args(["--http", "127.0.0.1:0", "--listen", "/ip4/127.0.0.1/tcp/0"]);
    // podman's own warnings on the same stderr are not JSON; the node's log lines are.
    let (mut node, _stderr) = answering_node(&mut command, JsonLines::AmongOthers).await;

    // `podman stop` sends the image's STOPSIGNAL (SIGTERM): the node flushes and exits 0.
    let stopped = podman(&["stop", "--time", "30", &name]);
    assert!(stopped.status.success(), "{stopped:?}");
    let status = tokio::time::timeout(WAIT, node.wait())
        .await
        .expect("the container stopped in time")
        .unwrap();
    assert!(status.success(), "{status}");
}
