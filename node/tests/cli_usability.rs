//! What a new user meets on the command line, each through the real `causerie` binary: a second
//! node on a data directory in use, ports already taken, `--node HOST:PORT`, registering twice,
//! usage errors under `--json`, the export passphrase rule, causes printed once, the demo's
//! copy-pasteable commands (and no addresses of stopped nodes), moderation in the timeline
//! written as people would write it, and logs as JSON lines on request.

#![allow(clippy::unwrap_used, missing_docs, unreachable_pub)]

#[path = "support/cli.rs"]
mod cli_support;

use std::collections::BTreeSet;
use std::path::Path;

use cli_support::*;
use tokio::io::{AsyncBufReadExt, BufReader};

/// Runs `causerie ARGS` without `--json`, as a person would; returns (code, stdout, stderr).
async fn text(home: &Path, args: &[&str]) -> (i32, String, String) {
    let output = tokio::time::timeout(WAIT * 3, command(home).args(args).output())
        .await
        .unwrap_or_else(|_| panic!("causerie {args:?} did not finish"))
        .unwrap();
    (
        output.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

/// The arguments of `causerie run` on `data_dir` with the given p2p and HTTP addresses.
fn run_args<'a>(data_dir: &'a Path, listen: &'a str, http: &'a str) -> [&'a str; 7] {
    let data_dir = data_dir.to_str().unwrap();
    [
        "run",
        "--data-dir",
        data_dir,
        "--listen",
        listen,
        "--http",
        http,
    ]
}

/// `causerie --json run` on `data_dir` with the given p2p and HTTP addresses.
async fn run_node(home: &Path, data_dir: &Path, listen: &str, http: &str) -> Run {
    causerie(home, &run_args(data_dir, listen, http)).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_node_on_a_data_dir_in_use_is_refused_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("node");
    let node = start_node(data.clone(), Vec::new()).await;
    let second = run_node(dir.path(), &data, "/ip4/127.0.0.1/tcp/0", "127.0.0.1:0").await;
    assert_eq!(second.code, 2, "{second:?}");
    assert_eq!(second.json()["error"], "data_dir_locked", "{second:?}");
    let message = second.json()["message"].as_str().unwrap().to_owned();
    assert!(
        message.contains(&format!("process {}", std::process::id())),
        "names the node holding it: {message}"
    );
    assert!(message.contains("--data-dir"), "{message}");
    // Once the first node has stopped, the directory is free again.
    node.shutdown().await;
    let again = start_node(data, Vec::new()).await;
    again.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ports_in_use_say_so_and_what_to_do() {
    let dir = tempfile::tempdir().unwrap();
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port();

    let p2p = run_node(
        dir.path(),
        &dir.path().join("a"),
        &format!("/ip4/127.0.0.1/tcp/{port}"),
        "127.0.0.1:0",
    )
    .await;
    assert_eq!(p2p.code, 2, "{p2p:?}");
    assert_eq!(p2p.json()["error"], "listen_address_in_use", "{p2p:?}");
    let message = p2p.json()["message"].as_str().unwrap().to_owned();
    assert!(message.contains("already in use"), "{message}");
    assert!(message.contains("--listen"), "{message}");

    let http = run_node(
        dir.path(),
        &dir.path().join("b"),
        "/ip4/127.0.0.1/tcp/0",
        &format!("127.0.0.1:{port}"),
    )
    .await;
    assert_eq!(http.code, 2, "{http:?}");
    assert_eq!(http.json()["error"], "http_address_in_use", "{http:?}");
    assert!(
        http.json()["message"].as_str().unwrap().contains("--http"),
        "{http:?}"
    );
}

/// Starts `causerie run` with `extra` arguments and environment, reads its stderr until a line
/// contains `until`, stops it and returns the lines read.
async fn log_lines(home: &Path, data: &Path, extra: &[&str], env: &[(&str, &str)]) -> Vec<String> {
    let mut command = command(home);
    command.env("RUST_LOG", "info").envs(env.iter().copied());
    command
        .args(extra)
        .args(run_args(data, "/ip4/127.0.0.1/tcp/0", "127.0.0.1:0"));
    let mut node = command
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(node.stderr.take().unwrap()).lines();
    let mut read = Vec::new();
    while !read
        .last()
        .is_some_and(|l: &String| l.contains("node started"))
    {
        let line = tokio::time::timeout(WAIT * 2, lines.next_line())
            .await
            .unwrap_or_else(|_| panic!("the node did not start in time: {read:#?}"))
            .unwrap()
            .unwrap_or_else(|| panic!("the node stopped: {read:#?}"));
        read.push(line);
    }
    node.kill().await.unwrap();
    read
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn logs_are_one_json_object_per_line_on_request() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("node");
    let lines = log_lines(dir.path(), &data, &["--log-format", "json"], &[]).await;
    let logs: Vec<serde_json::Value> = lines
        .iter()
        .map(|line| serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}")))
        .collect();
    let created = logs
        .iter()
        .find(|log| log["fields"]["message"] == "created node key")
        .unwrap_or_else(|| panic!("no line for the new node key: {lines:#?}"));
    assert_eq!(created["level"], "INFO", "{created}");
    assert!(created["timestamp"].is_string(), "{created}");
    assert!(created["fields"]["path"].is_string(), "{created}");
    let started = logs.last().unwrap();
    assert!(
        started["fields"]["http"]
            .as_str()
            .is_some_and(|http| http.starts_with("127.0.0.1:")),
        "{started}"
    );

    // Text by default; JSON also through the environment, as a service manager would set it.
    let text = log_lines(dir.path(), &data, &[], &[]).await;
    assert!(text.iter().all(|line| !line.starts_with('{')), "{text:#?}");
    let from_env = log_lines(dir.path(), &data, &[], &[("CAUSERIE_LOG_FORMAT", "json")]).await;
    for line in &from_env {
        serde_json::from_str::<serde_json::Value>(line).unwrap_or_else(|e| panic!("{e}: {line}"));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_start_names_each_cause_once() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("node");
    std::fs::create_dir(&data).unwrap();
    let key = data.join("node.key");
    std::fs::write(&key, "not a key").unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o600)).unwrap();
    }
    let run = run_node(dir.path(), &data, "/ip4/127.0.0.1/tcp/0", "127.0.0.1:0").await;
    assert_eq!(run.code, 2, "{run:?}");
    let message = run.json()["message"].as_str().unwrap().to_owned();
    assert!(message.starts_with("node key: "), "{message}");
    let parts: Vec<&str> = message.split(": ").collect();
    let distinct: BTreeSet<&str> = parts.iter().copied().collect();
    assert_eq!(parts.len(), distinct.len(), "a cause repeated: {message}");
    // The same in text mode, on stderr.
    let args = run_args(&data, "/ip4/127.0.0.1/tcp/0", "127.0.0.1:0");
    let (code, _, stderr) = text(dir.path(), &args).await;
    assert_eq!(code, 2);
    let line = stderr
        .lines()
        .find(|l| l.starts_with("causerie: "))
        .unwrap();
    assert_eq!(line.matches("not a causerie").count(), 1, "{line}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nodes_named_by_host_and_port_and_registering_twice() {
    let dir = tempfile::tempdir().unwrap();
    let node = start_node(dir.path().join("node"), Vec::new()).await;
    // `--node HOST:PORT` means http://HOST:PORT.
    let user = User::new(dir.path(), "alice", node.http_addr.to_string()).await;
    let account = user.run(&["register", "--handle", "alice"]).await.ok();
    assert_eq!(account["handle"], "alice");

    // Registering again is refused, and the hint says what to do (there is no login command).
    let again = user.run(&["register", "--handle", "alice"]).await;
    again.refused("already_registered");
    let message = again.json()["message"].as_str().unwrap().to_owned();
    assert!(!message.contains("log in"), "{message}");
    assert!(message.contains("as @alice"), "{message}");
    assert!(message.contains("causerie rooms"), "{message}");
    user.run(&["rooms"]).await.ok();

    // Something that is not a node address says which forms are.
    let ftp = causerie(
        dir.path(),
        &[
            "--node",
            "ftp://127.0.0.1:21",
            "--key",
            user.key.to_str().unwrap(),
            "rooms",
        ],
    )
    .await;
    ftp.refused("bad_node_url");
    assert!(
        ftp.json()["message"]
            .as_str()
            .unwrap()
            .contains("HOST:PORT"),
        "{ftp:?}"
    );
    node.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn usage_errors_are_json_under_json() {
    let dir = tempfile::tempdir().unwrap();
    // `causerie()` puts --json first.
    for args in [
        &["send"][..],
        &["nonsense"],
        &["history", "!x", "--limit", "0"],
    ] {
        let run = causerie(dir.path(), args).await;
        assert_eq!(run.code, 2, "{args:?}: {run:?}");
        assert_eq!(run.json()["error"], "usage", "{args:?}: {run:?}");
        assert!(!run.json()["message"].as_str().unwrap().is_empty());
    }
    // --json after the command counts too.
    let (code, stdout, _) = text(dir.path(), &["send", "--json"]).await;
    assert_eq!(code, 2);
    let answer: serde_json::Value = serde_json::from_str(stdout.trim()).unwrap();
    assert_eq!(answer["error"], "usage");
    // Without --json: clap's text on stderr, nothing on stdout.
    let (code, stdout, stderr) = text(dir.path(), &["send"]).await;
    assert_eq!(code, 2);
    assert!(stdout.is_empty(), "{stdout}");
    assert!(stderr.contains("Usage"), "{stderr}");
    // Help is not an error, with or without --json.
    let (code, stdout, _) = text(dir.path(), &["--json", "--help"]).await;
    assert_eq!(code, 0);
    assert!(stdout.contains("Usage"), "{stdout}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_export_needs_a_passphrase_of_eight_characters() {
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path();
    let key = home.join("user.key");
    let key_arg = key.to_str().unwrap();
    key_command(home, key_arg, &["new"]).await.ok();
    let export = |name: &'static str, passphrase: &'static str| async move {
        let pass = home.join(format!("{name}.pass"));
        std::fs::write(&pass, format!("{passphrase}\n")).unwrap();
        let out = home.join(format!("{name}.json"));
        let (out_arg, pass_arg) = (out.to_str().unwrap(), pass.to_str().unwrap());
        let run = key_command(
            home,
            key_arg,
            &["export", "--out", out_arg, "--passphrase-file", pass_arg],
        )
        .await;
        (run, out)
    };
    let (short, out) = export("short", "abc").await;
    short.refused("passphrase_too_short");
    assert!(!out.exists(), "nothing written");
    // Characters, not bytes: seven accented letters are too few.
    let (accented, _) = export("accented", "ééééééé").await;
    accented.refused("passphrase_too_short");
    let (eight, out) = export("eight", "abcdefgh").await;
    eight.ok();
    assert!(out.exists());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_demo_prints_commands_that_paste_and_no_stopped_addresses() {
    let dir = tempfile::tempdir().unwrap();
    let demo_dir = dir.path().join("demo dir with 'quotes'");
    let mut demo = command(dir.path())
        .args([
            "demo",
            "--base-port",
            "0",
            "--dir",
            demo_dir.to_str().unwrap(),
        ])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(demo.stdout.take().unwrap()).lines();
    let mut printed = Vec::new();
    loop {
        let line = tokio::time::timeout(WAIT * 2, lines.next_line())
            .await
            .expect("the demo finished its setup in time")
            .unwrap()
            .expect("the demo kept running");
        let done = line.contains("The nodes run until Ctrl-C");
        printed.push(line);
        if done {
            break;
        }
    }
    let send = printed
        .iter()
        .find(|l| l.contains(" send "))
        .unwrap_or_else(|| panic!("no send example: {printed:#?}"))
        .trim()
        .to_owned();
    assert!(send.contains(" send '!"), "the room id is quoted: {send}");
    assert!(send.ends_with(" 'hello'"), "{send}");
    // Pasted into a shell, it works as printed (the binary standing in for `causerie`).
    let pasted = send.replacen("causerie", &format!("'{}'", binary()), 1);
    let output = tokio::process::Command::new("sh")
        .arg("-c")
        .arg(&pasted)
        .env("HOME", dir.path())
        .env("RUST_LOG", "warn")
        .output()
        .await
        .unwrap();
    assert!(
        output.status.success(),
        "{pasted}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(String::from_utf8_lossy(&output.stdout).starts_with("sent $"));
    demo.kill().await.unwrap();

    // With --exit-after-setup the nodes are gone by the time anyone reads the output: no
    // addresses of them, and how to start them again.
    let (code, stdout, stderr) = text(dir.path(), &demo_args(&demo_dir)).await;
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.contains("Welcome!"), "{stdout}");
    assert!(!stdout.contains("http://"), "{stdout}");
    assert!(!stdout.contains("/p2p/"), "{stdout}");
    assert!(stdout.contains("causerie demo --dir '"), "{stdout}");
    let report = causerie(dir.path(), &demo_args(&demo_dir)).await.ok();
    assert_eq!(report["running"], false);
    assert!(report["link"].is_null(), "{report}");
    assert!(
        entries(&report, "nodes").iter().all(|n| n["url"].is_null()),
        "{report}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn moderation_reads_as_people_write_it() {
    let dir = tempfile::tempdir().unwrap();
    let node = start_node(dir.path().join("node"), Vec::new()).await;
    let (alice, bob, room) = alice_bob_and_room(dir.path(), &url(&node), "Mods").await;
    bob.run(&["room", "join", &room]).await.ok();
    alice
        .run(&["mod", "ban", &room, "bob", "--reason", "spam"])
        .await
        .ok();
    let bob_key = bob.public().await;
    alice.run(&["mod", "unban", &room, &bob_key]).await.ok();
    bob.run(&["room", "join", &room]).await.ok();
    alice.run(&["mod", "power", &room, "bob", "50"]).await.ok();
    let sent = bob.run(&["send", &room, "buy now"]).await.ok();
    let message = sent["event_id"].as_str().unwrap().to_owned();
    alice
        .run(&["mod", "redact", &room, &message, "--reason", "ads"])
        .await
        .ok();
    alice
        .run(&["mod", "kick", &room, "bob", "--reason", "bye"])
        .await
        .ok();

    let (code, history, stderr) = text(dir.path(), &alice.args(&["history", &room])).await;
    assert_eq!(code, 0, "{stderr}");
    for expected in [
        "* bob joined",
        "* alice banned bob: spam",
        "* alice unbanned bob",
        "* alice changed bob's power from 0 to 50",
        "bob: (message deleted)",
        "* alice deleted a message by bob: ads",
        "* alice removed bob from the room: bye",
    ] {
        assert!(history.contains(expected), "{expected:?} in:\n{history}");
    }
    assert!(
        !history.contains(&bob_key[..12]),
        "no keys where names are known:\n{history}"
    );

    // `tail` shows the last lines with the same context: an unban whose ban came before them.
    let (code, tail, _) = text(dir.path(), &alice.args(&["tail", &room, "-n", "1"])).await;
    assert_eq!(code, 0);
    assert!(
        tail.trim_end()
            .ends_with("* alice removed bob from the room: bye"),
        "{tail}"
    );
    let (_, tail, _) = text(dir.path(), &alice.args(&["tail", &room, "-n", "6"])).await;
    assert!(tail.contains("* alice unbanned bob"), "{tail}");
    assert!(!tail.contains("banned bob: spam"), "only 6 lines: {tail}");
    node.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreadable_ca_file_is_refused_before_anything_is_sent() {
    let home = tempfile::tempdir().unwrap();
    // No node listens there: the file is read, and refused, first.
    let user = User::new(home.path(), "alice", "https://localhost:9".to_owned()).await;
    let missing = home.path().join("missing-ca.pem");
    user.run(&[
        "--ca-file",
        missing.to_str().unwrap(),
        "register",
        "--handle",
        "alice",
    ])
    .await
    .refused("bad_ca_file");
}
