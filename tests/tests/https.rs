//! HTTPS without a browser (specs/client-api.md, "HTTPS" and "Invite pages"):
//!
//! - `tls_files_serve_https_and_count_failed_handshakes`: `[tls] mode = "files"`: the API answers
//!   over TLS with a certificate that verifies against the test authority; the Host allowlist
//!   holds the public origin's host; plain HTTP, a client that distrusts the certificate and a
//!   client that never starts the handshake are closed and counted by reason.
//! - `bad_certificate_files_stop_the_start`: unreadable files, a broken key and a key that is
//!   not the certificate's refuse the start with their reason.
//! - `behind_a_proxy_invite_links_have_the_web_form`: a plain node with `public_origin` (as
//!   behind a reverse proxy) answers to the public host, hands out the web form of its invite
//!   links beside the `causerie:` form (same room, same via list), and joins by either.
//! - `the_command_lines_client_talks_to_an_https_node`: the client behind `causerie` (the CLI)
//!   registers, creates a room, sends and reads over https when it trusts the node's authority
//!   (`--ca-file`); trusting only the system's roots it refuses the test certificate, and a file
//!   without certificates is refused as `bad_ca_file`.
//! - `nginx_in_front_of_a_node`: `scripts/deploy/nginx.conf`, with the test's names, ports and
//!   certificate, passes `nginx -t` and runs on loopback in front of a node; an API call and an
//!   invite page pass through it with the public Host, and a user registering through it from
//!   127.0.0.2 is recorded at 127.0.0.2 (the node trusts the proxy's `X-Forwarded-For`). Skipped with a SKIP line when nginx is
//!   missing, unless `CAUSERIE_REQUIRE_NGINX=1`.
//! - `caddy_in_front_of_a_node`: `scripts/deploy/Caddyfile` the same way (`caddy validate`, then
//!   `caddy run` with the test's certificate in place of ACME); skipped when caddy is missing,
//!   unless `CAUSERIE_REQUIRE_CADDY=1`.
//! - `acme_certificate_from_pebble`: `[tls] mode = "acme"` against Let's Encrypt's test server
//!   (`pebble`, on loopback, its own https signed by the test authority given as
//!   `directory_ca_file`, validations always passing as `PEBBLE_VA_ALWAYS_VALID=1` makes them):
//!   the node obtains a certificate for its domain, serves it (it verifies against pebble's
//!   root) and keeps it in its cache directory. Skipped with a SKIP line when pebble is missing,
//!   unless `CAUSERIE_REQUIRE_PEBBLE=1`.

#![allow(clippy::unwrap_used)]

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use causerie_crypto::UserSecret;
use causerie_crypto::address::InviteLink;
use causerie_node::config::{Config, ConfigFile, TlsFile};
use causerie_tests::api::{ApiNode, ApiUser};
use causerie_tests::tls::{self, LeafFiles, TestCa, free_port};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

const DOMAIN: &str = "causerie.test";
const WAIT: Duration = Duration::from_secs(30);

fn tls_config(dir: &Path, port: u16, cert_file: &Path, key_file: &Path) -> Config {
    tls::https_node_config(dir, DOMAIN, port, tls::files_mode(cert_file, key_file))
}

/// Whether `program`, a server a test drives, is installed. When it is not, the test is to be
/// skipped (a SKIP line says so), unless `CAUSERIE_REQUIRE_<PROGRAM>=1` asks for a failure.
fn installed(test: &str, program: &str) -> bool {
    if Path::new(program).exists() {
        return true;
    }
    let name = Path::new(program)
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or(program);
    let var = format!("CAUSERIE_REQUIRE_{}", name.to_uppercase());
    assert!(
        std::env::var(&var).as_deref() != Ok("1"),
        "{name} is required ({var}=1) but {program} is missing"
    );
    eprintln!("SKIP {test}: {program} is missing (apt-get install {name})");
    false
}

/// A refusal counter of `/metrics`, read over https.
async fn refused(addr: SocketAddr, host: &str, ca: &str, reason: &str) -> u64 {
    let (status, text) = tls::get(addr, host, "/metrics", ca).await.unwrap();
    assert_eq!(status, 200);
    let series = format!("causerie_api_refused_total{{reason=\"{reason}\"}}");
    text.lines()
        .find_map(|line| line.strip_prefix(series.as_str())?.trim().parse().ok())
        .unwrap_or(0)
}

/// Waits until `reason` was counted at least `at_least` times.
async fn wait_refused(addr: SocketAddr, host: &str, ca: &str, reason: &str, at_least: u64) {
    let started = Instant::now();
    loop {
        let count = refused(addr, host, ca, reason).await;
        if count >= at_least {
            return;
        }
        assert!(started.elapsed() < WAIT, "{reason}: {count} < {at_least}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tls_files_serve_https_and_count_failed_handshakes() {
    let dir = tempfile::tempdir().unwrap();
    let ca = TestCa::new().unwrap();
    let files = ca.write_leaf(dir.path(), &[DOMAIN, "other.test"]).unwrap();
    let port = free_port();
    let config = tls_config(dir.path(), port, &files.cert_file, &files.key_file);
    let node = causerie_node::daemon::start(&config).await.unwrap();
    let addr = node.http_addr;
    let host = format!("{DOMAIN}:{port}");
    let ca_pem = ca.pem();

    let (status, body) = tls::get(addr, &host, "/api/v1/node", &ca_pem)
        .await
        .unwrap();
    assert_eq!(status, 200, "{body}");
    let info: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert!(info["node_key"].is_string(), "{info}");
    // The invite page is served over TLS too.
    let page = format!("/join/!{}?via=/ip4/127.0.0.1/tcp/1/p2p/x", "ab".repeat(32));
    let (status, body) = tls::get(addr, &host, &page, &ca_pem).await.unwrap();
    assert_eq!(status, 200);
    assert!(body.contains("/assets/app.js"), "{body}");
    // A name the certificate holds but the allowlist does not: 421.
    let (status, body) = tls::get(addr, &format!("other.test:{port}"), "/api/v1/node", &ca_pem)
        .await
        .unwrap();
    assert_eq!(status, 421, "{body}");
    assert!(body.contains("host_not_allowed"), "{body}");

    // Plain HTTP on the TLS port: no answer, the connection closes, counted.
    let failed = refused(addr, &host, &ca_pem, "tls_handshake_failed").await;
    let mut plain = tokio::net::TcpStream::connect(addr).await.unwrap();
    plain
        .write_all(format!("GET /api/v1/node HTTP/1.1\r\nHost: {host}\r\n\r\n").as_bytes())
        .await
        .unwrap();
    let mut answer = Vec::new();
    let _ = tokio::time::timeout(WAIT, plain.read_to_end(&mut answer))
        .await
        .expect("closed");
    assert!(!answer.starts_with(b"HTTP/"), "no HTTP over the TLS port");
    wait_refused(addr, &host, &ca_pem, "tls_handshake_failed", failed + 1).await;
    // A client trusting another authority refuses the certificate; the server counts it.
    let stranger = TestCa::new().unwrap();
    let refused_by_client = tls::get(addr, &host, "/api/v1/node", &stranger.pem()).await;
    assert!(
        matches!(refused_by_client, Err(tls::TlsTestError::Tls(_))),
        "{refused_by_client:?}"
    );
    wait_refused(addr, &host, &ca_pem, "tls_handshake_failed", failed + 2).await;
    // A client that connects and never says hello is closed after the handshake timeout.
    let mut silent = tokio::net::TcpStream::connect(addr).await.unwrap();
    let started = Instant::now();
    let mut sink = Vec::new();
    let _ = tokio::time::timeout(
        causerie_node::api::tls::TLS_HANDSHAKE_TIMEOUT + WAIT,
        silent.read_to_end(&mut sink),
    )
    .await
    .expect("the silent connection is closed");
    assert!(
        started.elapsed()
            >= causerie_node::api::tls::TLS_HANDSHAKE_TIMEOUT - Duration::from_secs(1)
    );
    wait_refused(addr, &host, &ca_pem, "tls_handshake_timeout", 1).await;
    node.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_certificate_files_stop_the_start() {
    let dir = tempfile::tempdir().unwrap();
    let ca = TestCa::new().unwrap();
    let files = ca.write_leaf(dir.path(), &[DOMAIN]).unwrap();
    let (_, other_key) = ca.leaf(&[DOMAIN]).unwrap();
    let other_key_file = dir.path().join("other-key.pem");
    std::fs::write(&other_key_file, other_key).unwrap();
    let garbage = dir.path().join("garbage.pem");
    std::fs::write(&garbage, "not pem at all\n").unwrap();
    let missing = dir.path().join("missing.pem");
    for (cert, key, reason) in [
        (&missing, &files.key_file, "tls_file_unreadable"),
        (&garbage, &files.key_file, "tls_bad_certificates"),
        (&files.cert_file, &garbage, "tls_bad_key"),
        (&files.cert_file, &other_key_file, "tls_unusable_pair"),
    ] {
        let config = tls_config(dir.path(), free_port(), cert, key);
        match causerie_node::daemon::start(&config).await {
            Ok(running) => {
                running.shutdown().await;
                panic!("started with {cert:?} and {key:?}");
            }
            Err(e) => assert_eq!(e.reason(), reason, "{cert:?} {key:?}: {e}"),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn behind_a_proxy_invite_links_have_the_web_form() {
    let origin = "https://chat.example.org";
    let file = ConfigFile {
        public_origin: Some(origin.to_owned()),
        ..ConfigFile::default()
    };
    let node = ApiNode::start_configured(Vec::new(), file).await;
    let alice = ApiUser::register(node.http, "alice", "Alice").await;
    let room = alice.create_room("Lobby", "public").await;
    let answer = alice.get(&format!("/api/v1/rooms/{room}/invite")).await;
    assert_eq!(answer.status, 200, "{:?}", answer.body);
    let link = answer.body["link"].as_str().unwrap().to_owned();
    let web_link = answer.body["web_link"].as_str().unwrap().to_owned();
    assert!(link.starts_with("causerie:join/"), "{link}");
    assert!(
        web_link.starts_with(&format!("{origin}/join/{room}?via=")),
        "{web_link}"
    );
    assert_eq!(
        InviteLink::parse(&web_link).unwrap(),
        InviteLink::parse(&link).unwrap()
    );
    // The public host is in the allowlist, and its https origin is the node's own (as the
    // proxy forwards the browser's requests).
    let proxied = reqwest::Client::new()
        .get(node.url("/api/v1/node"))
        .header("host", "chat.example.org")
        .header("origin", origin)
        .send()
        .await
        .unwrap();
    assert_eq!(proxied.status().as_u16(), 200);
    let foreign = reqwest::Client::new()
        .get(node.url("/api/v1/node"))
        .header("host", "chat.example.org")
        .header("origin", "https://elsewhere.example")
        .send()
        .await
        .unwrap();
    assert_eq!(foreign.status().as_u16(), 403);
    // Joining by the web form.
    let bob = ApiUser::register(node.http, "bob", "Bob").await;
    let joined = bob
        .post(
            "/api/v1/rooms/join",
            serde_json::json!({ "link": web_link }),
        )
        .await;
    assert_eq!(joined.status, 200, "{:?}", joined.body);
    assert_eq!(joined.body["room"], serde_json::json!(room));
    let bad = bob
        .post(
            "/api/v1/rooms/join",
            serde_json::json!({ "link": format!("{origin}/join/{room}") }),
        )
        .await;
    assert_eq!(
        (bad.status, bad.reason()),
        (400, "via_count"),
        "{:?}",
        bad.body
    );
}

/// A child server (nginx, caddy, pebble) running in the foreground; killed when dropped.
struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

const NGINX: &str = "/usr/sbin/nginx";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nginx_in_front_of_a_node() {
    let Some(proxied) = behind_a_proxy("nginx_in_front_of_a_node", NGINX).await else {
        return;
    };
    let https_port = proxied.https_port;
    // The example as it is, with the test's names, addresses and certificate.
    let example = include_str!("../../scripts/deploy/nginx.conf")
        .lines()
        .filter(|line| !line.contains("[::]"))
        .collect::<Vec<_>>()
        .join("\n")
        .replace("chat.example.org", DOMAIN)
        .replace("127.0.0.1:8080", &proxied.node.http.to_string())
        .replace(
            "listen 443 ssl;",
            &format!("listen 127.0.0.1:{https_port} ssl;"),
        )
        .replace("listen 80;", &format!("listen 127.0.0.1:{};", free_port()))
        .replace(
            &format!("/etc/letsencrypt/live/{DOMAIN}/fullchain.pem"),
            &proxied.files.cert_file.display().to_string(),
        )
        .replace(
            &format!("/etc/letsencrypt/live/{DOMAIN}/privkey.pem"),
            &proxied.files.key_file.display().to_string(),
        );
    let site = proxied.dir.path().join("causerie.conf");
    std::fs::write(&site, example).unwrap();
    let prefix = proxied.dir.path().display().to_string();
    let main = format!(
        "pid {prefix}/nginx.pid;\nerror_log {prefix}/error.log;\nevents {{}}\nhttp {{\n\
         access_log off;\nclient_body_temp_path {prefix}/body;\nproxy_temp_path {prefix}/proxy;\n\
         fastcgi_temp_path {prefix}/fastcgi;\nuwsgi_temp_path {prefix}/uwsgi;\n\
         scgi_temp_path {prefix}/scgi;\ninclude {};\n}}\n",
        site.display()
    );
    let main_file = proxied.dir.path().join("nginx.conf");
    std::fs::write(&main_file, main).unwrap();
    let checked = Command::new(NGINX)
        .args(["-t", "-p", &prefix, "-c"])
        .arg(&main_file)
        .output()
        .unwrap();
    assert!(
        checked.status.success(),
        "nginx -t: {}",
        String::from_utf8_lossy(&checked.stderr)
    );
    let _nginx = Server(
        Command::new(NGINX)
            .args(["-p", &prefix, "-c"])
            .arg(&main_file)
            .args(["-g", "daemon off; master_process off;"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    through_the_proxy("nginx", &proxied.node, https_port, &proxied.ca).await;
}

/// A node to be reached through a reverse proxy on this machine at `https_port`, which it
/// trusts to name the client (as the examples' headers say), and the proxy's certificate (for
/// [`DOMAIN`], from `ca`, in `dir`).
struct Proxied {
    node: ApiNode,
    https_port: u16,
    dir: tempfile::TempDir,
    ca: TestCa,
    files: LeafFiles,
}

/// `None` (the test skips) when `proxy`, the proxy's program, is not installed.
async fn behind_a_proxy(test: &str, proxy: &str) -> Option<Proxied> {
    if !installed(test, proxy) {
        return None;
    }
    let https_port = free_port();
    let file = ConfigFile {
        public_origin: Some(format!("https://{DOMAIN}:{https_port}")),
        trusted_proxies: Some(vec!["127.0.0.1".into()]),
        ..ConfigFile::default()
    };
    let node = ApiNode::start_configured(Vec::new(), file).await;
    let dir = tempfile::tempdir().unwrap();
    let ca = TestCa::new().unwrap();
    let files = ca.write_leaf(dir.path(), &[DOMAIN]).unwrap();
    Some(Proxied {
        node,
        https_port,
        dir,
        ca,
        files,
    })
}

/// The node answers through a reverse proxy on `https_port` with the public Host: its info, and
/// the invite page of a good link (the web client); a user registering through the proxy from
/// 127.0.0.2 is recorded at that address (the proxy's `X-Forwarded-For`), not the proxy's.
async fn through_the_proxy(proxy_name: &str, node: &ApiNode, https_port: u16, ca: &TestCa) {
    let proxy: SocketAddr = format!("127.0.0.1:{https_port}").parse().unwrap();
    let host = format!("{DOMAIN}:{https_port}");
    let started = Instant::now();
    let (status, body) = loop {
        match tls::get(proxy, &host, "/api/v1/node", &ca.pem()).await {
            Ok(answer) => break answer,
            Err(e) => {
                assert!(started.elapsed() < WAIT, "{proxy_name} did not answer: {e}");
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    };
    assert_eq!(status, 200, "{body}");
    let info: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert!(info["node_key"].is_string(), "{info}");
    let page = format!("/join/!{}?via=/ip4/127.0.0.1/tcp/1/p2p/x", "ab".repeat(32));
    let (status, body) = tls::get(proxy, &host, &page, &ca.pem()).await.unwrap();
    assert_eq!(status, 200);
    assert!(body.contains("/assets/app.js"), "{body}");

    let client = IpAddr::V4(Ipv4Addr::new(127, 0, 0, 2));
    let http = reqwest::Client::builder()
        .no_proxy()
        .resolve(DOMAIN, proxy)
        .add_root_certificate(reqwest::Certificate::from_pem(ca.pem().as_bytes()).unwrap())
        .local_address(Some(client))
        .build()
        .unwrap();
    let secret = UserSecret::generate().unwrap();
    let key = secret.public();
    let mut user = ApiUser {
        secret,
        base: format!("https://{host}"),
        token: None,
        http,
    };
    let answer = user.try_register_with("rita", &[]).await;
    assert_eq!(answer.status, 201, "{:?}", answer.body);
    let record = node.running().node.records().get(key).await.unwrap();
    let addresses: Vec<String> = record
        .into_iter()
        .flat_map(|r| r.connections)
        .map(|c| c.address)
        .collect();
    assert_eq!(addresses, [client.to_string()], "through {proxy_name}");
    eprintln!("{proxy_name} in front of a node: {:?}", started.elapsed());
}

const CADDY: &str = "/usr/bin/caddy";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn caddy_in_front_of_a_node() {
    let Some(proxied) = behind_a_proxy("caddy_in_front_of_a_node", CADDY).await else {
        return;
    };
    let https_port = proxied.https_port;
    // The example as it is, with the test's names and addresses; the test's certificate instead
    // of ACME, no admin endpoint, and Caddy's state kept in the test's directory.
    let example = include_str!("../../scripts/deploy/Caddyfile")
        .replace(
            "\temail ops@example.org\n",
            &format!(
                "\tadmin off\n\thttp_port {}\n\thttps_port {https_port}\n\tstorage file_system {}\n",
                free_port(),
                proxied.dir.path().join("caddy").display()
            ),
        )
        .replace(
            "chat.example.org {\n",
            &format!(
                "{DOMAIN}:{https_port} {{\n\tbind 127.0.0.1\n\ttls {} {}\n",
                proxied.files.cert_file.display(),
                proxied.files.key_file.display()
            ),
        )
        .replace("127.0.0.1:8080", &proxied.node.http.to_string());
    assert!(
        example.contains("admin off") && example.contains("bind 127.0.0.1"),
        "{example}"
    );
    let config = proxied.dir.path().join("Caddyfile");
    std::fs::write(&config, example).unwrap();
    let home = proxied.dir.path().display().to_string();
    let caddy = |args: &[&str]| {
        let mut command = Command::new(CADDY);
        command
            .args(args)
            .arg("--config")
            .arg(&config)
            .args(["--adapter", "caddyfile"])
            .env("HOME", &home)
            .env("XDG_DATA_HOME", &home)
            .env("XDG_CONFIG_HOME", &home);
        command
    };
    let checked = caddy(&["validate"]).output().unwrap();
    assert!(
        checked.status.success(),
        "caddy validate: {}",
        String::from_utf8_lossy(&checked.stderr)
    );
    let _caddy = Server(
        caddy(&["run"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    through_the_proxy("caddy", &proxied.node, https_port, &proxied.ca).await;
}

const PEBBLE: &str = "/usr/bin/pebble";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acme_certificate_from_pebble() {
    if !installed("acme_certificate_from_pebble", PEBBLE) {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let ca = TestCa::new().unwrap();
    // Pebble's own https, for "localhost".
    let pebble_files = ca.write_leaf(dir.path(), &["localhost"]).unwrap();
    let (acme_port, management_port) = (free_port(), free_port());
    let pebble_config = serde_json::json!({
        "pebble": {
            "listenAddress": format!("127.0.0.1:{acme_port}"),
            "managementListenAddress": format!("127.0.0.1:{management_port}"),
            "certificate": pebble_files.cert_file,
            "privateKey": pebble_files.key_file,
            "httpPort": free_port(),
            "tlsPort": free_port(),
            "ocspResponderURL": "",
            "externalAccountBindingRequired": false
        }
    });
    let pebble_config_file = dir.path().join("pebble.json");
    std::fs::write(&pebble_config_file, pebble_config.to_string()).unwrap();
    let _pebble = Server(
        Command::new(PEBBLE)
            .arg("-config")
            .arg(&pebble_config_file)
            .env("PEBBLE_VA_ALWAYS_VALID", "1")
            .env("PEBBLE_VA_NOSLEEP", "1")
            .env("PEBBLE_WFE_NONCEREJECT", "0")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let management: SocketAddr = format!("127.0.0.1:{management_port}").parse().unwrap();
    let started = Instant::now();
    let root = loop {
        match tls::get(
            management,
            &format!("localhost:{management_port}"),
            "/roots/0",
            &ca.pem(),
        )
        .await
        {
            Ok((200, root)) => break root,
            other => {
                assert!(started.elapsed() < WAIT, "pebble did not start: {other:?}");
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    };

    let port = free_port();
    let acme = TlsFile {
        mode: Some("acme".to_owned()),
        contact: Some(vec!["ops@causerie.test".to_owned()]),
        directory_url: Some(format!("https://localhost:{acme_port}/dir")),
        directory_ca_file: Some(pebble_files.ca_file.clone()),
        ..TlsFile::default()
    };
    let config = tls::https_node_config(dir.path(), DOMAIN, port, acme);
    let node = causerie_node::daemon::start(&config).await.unwrap();
    let host = format!("{DOMAIN}:{port}");
    let started = Instant::now();
    let (status, body) = loop {
        match tls::get(node.http_addr, &host, "/api/v1/node", &root).await {
            Ok(answer) => break answer,
            Err(e) => {
                assert!(
                    started.elapsed() < WAIT * 2,
                    "no certificate from pebble: {e}"
                );
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
        }
    };
    assert_eq!(status, 200, "{body}");
    eprintln!(
        "acme_certificate_from_pebble: certificate served after {:?}",
        started.elapsed()
    );
    let cached = std::fs::read_dir(dir.path().join("node/acme"))
        .unwrap()
        .count();
    assert!(
        cached >= 2,
        "account and certificate cached: {cached} files"
    );
    node.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_command_lines_client_talks_to_an_https_node() {
    use causerie_node::client::{Client, NewRoom};
    let dir = tempfile::tempdir().unwrap();
    let ca = TestCa::new().unwrap();
    // `localhost` resolves without help, so the client names the node as a user would.
    let files = ca.write_leaf(dir.path(), &["localhost"]).unwrap();
    let port = free_port();
    let config = tls_config(dir.path(), port, &files.cert_file, &files.key_file);
    let node = causerie_node::daemon::start(&config).await.unwrap();
    let url = format!("https://localhost:{port}");
    let ca_pem = ca.pem();

    let secret = causerie_crypto::UserSecret::from_seed(&[7; 32]);
    let mut client = Client::trusting(&url, Some(ca_pem.as_bytes())).unwrap();
    client.register(&secret, "alice", None).await.unwrap();
    let room = client
        .create_room(
            &secret,
            &NewRoom {
                name: "Over TLS".into(),
                join_rule: "public".into(),
                topic: None,
            },
        )
        .await
        .unwrap();
    let sent = client
        .send_message(&secret, &room, "hello over https")
        .await
        .unwrap();
    let history = client.history(&room, 10).await.unwrap();
    assert!(
        history.iter().any(|event| event.id == sent.event_id),
        "{history:?}"
    );

    // The system's roots do not hold the test authority: the handshake is refused.
    let mut distrusting = Client::new(&url).unwrap();
    let refused = distrusting
        .register(
            &causerie_crypto::UserSecret::from_seed(&[8; 32]),
            "bob",
            None,
        )
        .await
        .unwrap_err();
    assert_eq!(refused.reason(), "node_unreachable", "{refused}");
    assert!(refused.to_string().contains("certificate"), "{refused}");
    let not_pem = Client::trusting(&url, Some(b"not a certificate")).unwrap_err();
    assert_eq!(not_pem.reason(), "bad_ca_file", "{not_pem}");
    node.shutdown().await;
}
