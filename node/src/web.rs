//! The embedded web client: the static files of the browser chat client, compiled into the
//! binary so that every node serves it at `/` with no build step.
//!
//! The client talks only to this node's client API (specs/client-api.md) and keeps the user's
//! key in the browser (WebCrypto, IndexedDB); see `web/assets/keys.js` for how the key is stored.
//! The files live in `web/`:
//! - `index.html`: the page skeleton (no inline script or style);
//! - `assets/*.js`: ES modules loaded by the browser as they are, one per concern; `app.js` is
//!   the entry point and its header lists the others (state, session, connection, timeline,
//!   rooms, notifications, composer, members, the moderator panel, dialogs, identity and key
//!   tools, layout, and the pure `api.js`, `keys.js`, `cbor.js`, `draft.js`, `text.js`, `notices.js`,
//!   `moderation.js`, `timeline.js`, `timeline_rows.js`, `virtual_list.js`, `outbox.js`,
//!   `mentions.js`, `emoji.js`, `typing.js`); `markdown.js` renders message bodies;
//! - `assets/vendor/`: released third-party browser builds, unmodified, each with its licence
//!   (`vendor/README.md`): marked 18.3.0 (Markdown to HTML) and DOMPurify 3.5.0 (the sanitizer
//!   every rendered body goes through); the only code here allowed to parse HTML strings;
//! - `assets/app.css`, `assets/timeline.css`, `assets/shell.css`: the stylesheets (light and
//!   dark), loaded in that order: the base and panels, the timeline and composer, the shell;
//! - `assets/icon.svg`, `assets/manifest.webmanifest`: icon and web app manifest;
//! - `tests/client_unit.mjs` (with `tests/timeline_unit.mjs`): Node.js checks of the pure
//!   modules (not served).
//!
//! The API layer adds the security headers (Content-Security-Policy, nosniff, no-referrer,
//! frame denial) and the Host/Origin checks to every response, these included. The files are
//! served with `Cache-Control: no-cache` so a node upgrade is picked up on the next load.

use axum::Router;
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::get;
use causerie_crypto::address::{AddressError, InviteLink};

/// One embedded file: the path it is served at, its media type and its bytes.
#[derive(Debug, Clone, Copy)]
pub struct WebFile {
    /// URL path, starting with `/`.
    pub path: &'static str,
    /// `Content-Type` header value.
    pub content_type: &'static str,
    /// The file's bytes.
    pub body: &'static [u8],
}

const HTML: &str = "text/html; charset=utf-8";
const JAVASCRIPT: &str = "text/javascript; charset=utf-8";
const CSS: &str = "text/css; charset=utf-8";
const SVG: &str = "image/svg+xml";
const MANIFEST: &str = "application/manifest+json";
const TEXT: &str = "text/plain; charset=utf-8";

/// One file of `web/assets/`, served at `/assets/<name>`.
macro_rules! asset {
    ($name:literal, $content_type:expr) => {
        WebFile {
            path: concat!("/assets/", $name),
            content_type: $content_type,
            body: include_bytes!(concat!("web/assets/", $name)),
        }
    };
}

/// Every file of the web client: the page, then `web/assets/` (the test
/// `every_asset_file_is_embedded` keeps this list equal to the folder).
pub const FILES: &[WebFile] = &[
    WebFile {
        path: "/",
        content_type: HTML,
        body: include_bytes!("web/index.html"),
    },
    asset!("app.css", CSS),
    asset!("timeline.css", CSS),
    asset!("shell.css", CSS),
    asset!("app.js", JAVASCRIPT),
    asset!("api.js", JAVASCRIPT),
    asset!("cbor.js", JAVASCRIPT),
    asset!("composer.js", JAVASCRIPT),
    asset!("connection.js", JAVASCRIPT),
    asset!("dialogs.js", JAVASCRIPT),
    asset!("directory.js", JAVASCRIPT),
    asset!("dom.js", JAVASCRIPT),
    asset!("draft.js", JAVASCRIPT),
    asset!("emoji.js", JAVASCRIPT),
    asset!("history.js", JAVASCRIPT),
    asset!("identity.js", JAVASCRIPT),
    asset!("key_tools.js", JAVASCRIPT),
    asset!("my_data.js", JAVASCRIPT),
    asset!("notify.js", JAVASCRIPT),
    asset!("keys.js", JAVASCRIPT),
    asset!("layout.js", JAVASCRIPT),
    asset!("markdown.js", JAVASCRIPT),
    asset!("members.js", JAVASCRIPT),
    asset!("mentions.js", JAVASCRIPT),
    asset!("menus.js", JAVASCRIPT),
    asset!("moderation.js", JAVASCRIPT),
    asset!("moderation_lists.js", JAVASCRIPT),
    asset!("moderation_panel.js", JAVASCRIPT),
    asset!("moderation_review.js", JAVASCRIPT),
    asset!("moderation_rules.js", JAVASCRIPT),
    asset!("moderation_trust.js", JAVASCRIPT),
    asset!("notices.js", JAVASCRIPT),
    asset!("outbox.js", JAVASCRIPT),
    asset!("reports.js", JAVASCRIPT),
    asset!("room_bar.js", JAVASCRIPT),
    asset!("rooms.js", JAVASCRIPT),
    asset!("sending.js", JAVASCRIPT),
    asset!("session.js", JAVASCRIPT),
    asset!("state.js", JAVASCRIPT),
    asset!("text.js", JAVASCRIPT),
    asset!("timeline.js", JAVASCRIPT),
    asset!("timeline_rows.js", JAVASCRIPT),
    asset!("timeline_view.js", JAVASCRIPT),
    asset!("typing.js", JAVASCRIPT),
    asset!("virtual_list.js", JAVASCRIPT),
    asset!("vendor/README.md", TEXT),
    asset!("vendor/marked/marked.esm.js", JAVASCRIPT),
    asset!("vendor/marked/LICENSE", TEXT),
    asset!("vendor/dompurify/purify.min.js", JAVASCRIPT),
    asset!("vendor/dompurify/LICENSE", TEXT),
    asset!("icon.svg", SVG),
    asset!("manifest.webmanifest", MANIFEST),
];

/// The module specifiers a JavaScript file imports: static `import … from '…'`, `import '…'`
/// and `export … from '…'` statements (starting a line, ending at their `;`, possibly over
/// several lines), and dynamic `import('…')`. The web client's modules use only these forms.
pub fn import_specifiers(js: &str) -> Vec<&str> {
    const DECLARATIONS: [&str; 6] = [
        "export function",
        "export async",
        "export class",
        "export const",
        "export let",
        "export default",
    ];
    let mut out = Vec::new();
    let mut in_statement = false;
    for line in js.lines() {
        let trimmed = line.trim_start();
        let declaration = DECLARATIONS.iter().any(|d| trimmed.starts_with(d));
        if trimmed.starts_with("import ") || trimmed.starts_with("export ") && !declaration {
            in_statement = true;
        }
        if in_statement {
            for keyword in ["from ", "import "] {
                for (at, _) in trimmed.match_indices(keyword) {
                    out.extend(string_literal(&trimmed[at + keyword.len()..]));
                }
            }
            in_statement = !trimmed.contains(';');
        }
        for (at, _) in line.match_indices("import(") {
            out.extend(string_literal(&line[at + "import(".len()..]));
        }
    }
    out
}

/// The content of the string literal `text` starts with (single or double quotes), if any.
fn string_literal(text: &str) -> Option<&str> {
    let quote = text.chars().next().filter(|c| *c == '\'' || *c == '"')?;
    let body = &text[1..];
    body.find(quote).map(|end| &body[..end])
}

/// The URL path a module specifier found in the file served at `from` refers to, or `None`
/// for a bare specifier (`lib`), which a browser cannot load without an import map.
pub fn resolve_specifier(from: &str, specifier: &str) -> Option<String> {
    if specifier.starts_with('/') {
        return Some(specifier.to_owned());
    }
    if !specifier.starts_with("./") && !specifier.starts_with("../") {
        return None;
    }
    let mut parts: Vec<&str> = from.split('/').collect();
    parts.pop();
    for part in specifier.split('/') {
        match part {
            "." => {}
            ".." => {
                if parts.len() > 1 {
                    parts.pop();
                }
            }
            other => parts.push(other),
        }
    }
    Some(parts.join("/"))
}

/// Every import of every served module that is not served: `(module, specifier)` pairs.
pub fn unserved_imports(files: &[WebFile]) -> Vec<(&'static str, String)> {
    let mut missing = Vec::new();
    for file in files.iter().filter(|f| f.content_type == JAVASCRIPT) {
        let js = std::str::from_utf8(file.body).unwrap_or_default();
        for specifier in import_specifiers(js) {
            let served = resolve_specifier(file.path, specifier).is_some_and(|path| {
                files
                    .iter()
                    .any(|f| f.path == path && f.content_type == JAVASCRIPT)
            });
            if !served {
                missing.push((file.path, specifier.to_owned()));
            }
        }
    }
    missing
}

/// `GET /join/<room>?via=…` (the web form of an invite link, specs/client-api.md, "Invite
/// pages"): the page itself, whose script reads the link from its address and prefills the join
/// form (after sign-up or sign-in); or, for a link the shared parser refuses, a plain
/// `400` page naming the reason.
async fn join_page(uri: axum::http::Uri) -> axum::response::Response {
    let room = uri
        .path()
        .strip_prefix(causerie_crypto::address::WEB_JOIN_PATH)
        .unwrap_or_default();
    match InviteLink::from_join_path(room, uri.query().unwrap_or_default()) {
        Ok(_) => (
            [
                (header::CONTENT_TYPE, HTML),
                (header::CACHE_CONTROL, "no-cache"),
            ],
            PAGE,
        )
            .into_response(),
        Err(error) => (
            axum::http::StatusCode::BAD_REQUEST,
            [
                (header::CONTENT_TYPE, HTML),
                (header::CACHE_CONTROL, "no-cache"),
            ],
            bad_link_page(&error),
        )
            .into_response(),
    }
}

/// The page's bytes (the first of [`FILES`]).
const PAGE: &[u8] = include_bytes!("web/index.html");

/// The plain page for a refused invite link: the reason name and its explanation, escaped.
fn bad_link_page(error: &AddressError) -> String {
    let escape = |text: &str| {
        text.replace('&', "&amp;")
            .replace('<', "&lt;")
            .replace('>', "&gt;")
            .replace('"', "&quot;")
    };
    format!(
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <title>Causerie: bad invite link</title></head><body>\n\
         <h1>This invite link does not work</h1>\n<p id=\"reason\">{}</p>\n<p>{}</p>\n\
         <p><a href=\"/\">Open Causerie</a></p>\n</body></html>\n",
        escape(error.reason()),
        escape(&error.to_string())
    )
}

/// The router serving [`FILES`] with `GET` (and `HEAD`), and the invite pages
/// (`/join/<room>`). Mounted by the API next to `/api/v1`.
pub fn router<S: Clone + Send + Sync + 'static>() -> Router<S> {
    let pages = Router::new().route("/join/{room}", get(join_page));
    FILES.iter().fold(pages, |router, file| {
        let file = *file;
        router.route(
            file.path,
            get(move || async move {
                (
                    [
                        (header::CONTENT_TYPE, file.content_type),
                        (header::CACHE_CONTROL, "no-cache"),
                    ],
                    file.body,
                )
                    .into_response()
            }),
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    /// Sends one HTTP/1.1 request over a real socket and returns (status line, headers, body).
    async fn fetch(
        addr: std::net::SocketAddr,
        path: &str,
    ) -> (String, Vec<(String, String)>, Vec<u8>) {
        let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
        let request = format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
        stream.write_all(request.as_bytes()).await.unwrap();
        let mut raw = Vec::new();
        tokio::time::timeout(
            std::time::Duration::from_secs(10),
            stream.read_to_end(&mut raw),
        )
        .await
        .unwrap()
        .unwrap();
        let split = raw.windows(4).position(|w| w == b"\r\n\r\n").unwrap();
        let head = String::from_utf8(raw[..split].to_vec()).unwrap();
        let body = raw[split + 4..].to_vec();
        let mut lines = head.split("\r\n");
        let status = lines.next().unwrap().to_string();
        let headers = lines
            .map(|line| {
                let (name, value) = line.split_once(':').unwrap();
                (name.trim().to_ascii_lowercase(), value.trim().to_string())
            })
            .collect();
        (status, headers, body)
    }

    fn header_value<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
        headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// Every file and every module import is served by a running node with its type, the
    /// cache rule and the security headers the API layer adds to every response.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn every_file_and_every_import_is_served_by_a_node() {
        use crate::config::{Config, ConfigFile, Overrides};
        let dir = tempfile::tempdir().unwrap();
        let overrides = Overrides {
            data_dir: Some(dir.path().to_owned()),
            listen: vec!["/ip4/127.0.0.1/tcp/0".to_owned()],
            bootstrap: Vec::new(),
            http: Some("127.0.0.1:0".to_owned()),
            ..Overrides::default()
        };
        let config = Config::from_parts(ConfigFile::default(), overrides).unwrap();
        let running = crate::daemon::start(&config).await.unwrap();
        let addr = running.http_addr;
        let mut paths: Vec<(String, &str)> = FILES
            .iter()
            .map(|f| (f.path.to_owned(), f.content_type))
            .collect();
        for file in FILES.iter().filter(|f| f.content_type == JAVASCRIPT) {
            let js = std::str::from_utf8(file.body).unwrap();
            for specifier in import_specifiers(js) {
                let path = resolve_specifier(file.path, specifier)
                    .unwrap_or_else(|| panic!("{}: bare specifier {specifier}", file.path));
                paths.push((path, JAVASCRIPT));
            }
        }
        assert!(
            paths.len() > FILES.len() * 2,
            "the modules import each other"
        );
        for (path, content_type) in &paths {
            let (status, headers, body) = fetch(addr, path).await;
            assert!(status.contains(" 200 "), "{path}: {status}");
            let expected = [
                ("content-type", *content_type),
                ("cache-control", "no-cache"),
                (
                    "content-security-policy",
                    crate::api::CONTENT_SECURITY_POLICY_VALUE,
                ),
                ("x-content-type-options", "nosniff"),
            ];
            for (name, value) in expected {
                assert_eq!(header_value(&headers, name), Some(value), "{path}: {name}");
            }
            let file = FILES.iter().find(|f| f.path == path).unwrap();
            assert_eq!(body, file.body, "{path}");
        }
        let (status, _, _) = fetch(addr, "/assets/missing.js").await;
        assert!(status.contains(" 404 "), "{status}");
        // Invite pages: the page for a good link, a plain 400 naming the reason otherwise.
        let room = format!("!{}", "ab".repeat(32));
        let via = "via=/dns/chat.example.org/tcp/7447/p2p/12D3KooWQ";
        let (status, headers, body) = fetch(addr, &format!("/join/{room}?{via}")).await;
        assert!(status.contains(" 200 "), "{status}");
        assert_eq!(header_value(&headers, "content-type"), Some(HTML));
        assert_eq!(body, PAGE);
        for (path, reason) in [
            (format!("/join/{}?{via}", &room[..20]), "bad_room_id"),
            (format!("/join/{room}"), "via_count"),
            (format!("/join/{room}?via=%zz"), "bad_via"),
            (format!("/join/{room}?{via}&to=x"), "bad_via"),
        ] {
            let (status, headers, body) = fetch(addr, &path).await;
            assert!(status.contains(" 400 "), "{path}: {status}");
            assert_eq!(header_value(&headers, "content-type"), Some(HTML));
            let body = String::from_utf8(body).unwrap();
            assert!(
                body.contains(&format!("<p id=\"reason\">{reason}</p>")),
                "{path}: {body}"
            );
        }
        running.shutdown().await;
    }

    /// `FILES` lists exactly the files of `web/assets/` (and its folders), with their current
    /// bytes.
    #[test]
    fn every_asset_file_is_embedded() {
        let root = std::path::PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/src/web/assets"));
        let mut on_disk = Vec::new();
        let mut folders = vec![root.clone()];
        while let Some(folder) = folders.pop() {
            for entry in std::fs::read_dir(&folder).unwrap() {
                let entry = entry.unwrap();
                if entry.file_type().unwrap().is_dir() {
                    folders.push(entry.path());
                    continue;
                }
                let name = entry
                    .path()
                    .strip_prefix(&root)
                    .unwrap()
                    .display()
                    .to_string();
                let path = format!("/assets/{name}");
                let file = FILES
                    .iter()
                    .find(|f| f.path == path)
                    .unwrap_or_else(|| panic!("web/assets/{name} is not in web::FILES"));
                assert_eq!(file.body, std::fs::read(entry.path()).unwrap(), "{name}");
                on_disk.push(path);
            }
        }
        for file in FILES.iter().filter(|f| f.path.starts_with("/assets/")) {
            assert!(
                on_disk.contains(&file.path.to_owned()),
                "{} has no file",
                file.path
            );
        }
        let html = std::str::from_utf8(FILES[0].body).unwrap();
        for (at, _) in html.match_indices("=\"/assets/") {
            let rest = &html[at + 2..];
            let path = &rest[..rest.find('"').unwrap()];
            assert!(
                FILES.iter().any(|f| f.path == path),
                "index.html names {path}"
            );
        }
    }

    /// Every module's imports name served modules; an import of a missing file, or a bare
    /// specifier, is reported.
    #[test]
    fn every_import_names_a_served_module() {
        assert_eq!(unserved_imports(FILES), Vec::<(&str, String)>::new());
        let entry = FILES.iter().find(|f| f.path == "/assets/app.js").unwrap();
        assert!(import_specifiers(std::str::from_utf8(entry.body).unwrap()).len() > 5);

        let module = |path, body: &'static str| WebFile {
            path,
            content_type: JAVASCRIPT,
            body: body.as_bytes(),
        };
        let files = [
            module(
                "/assets/a.js",
                "import { b } from './b.js';\nimport {\n  c,\n} from \"./c.js\";\n\
                 import './gone.js';\nexport { d } from '../assets/d.js';\n\
                 export function f() {\n  return 'from \\'./not-an-import.js\\'';\n}\n\
                 const later = () => import('./lazy.js');\nimport lib from 'lib';\n",
            ),
            module("/assets/b.js", ""),
            module("/assets/d.js", ""),
        ];
        assert_eq!(
            import_specifiers(std::str::from_utf8(files[0].body).unwrap()),
            [
                "./b.js",
                "./c.js",
                "./gone.js",
                "../assets/d.js",
                "./lazy.js",
                "lib"
            ]
        );
        let missing: Vec<String> = unserved_imports(&files)
            .into_iter()
            .map(|(from, specifier)| format!("{from} {specifier}"))
            .collect();
        assert_eq!(
            missing,
            [
                "/assets/a.js ./c.js",
                "/assets/a.js ./gone.js",
                "/assets/a.js ./lazy.js",
                "/assets/a.js lib"
            ]
        );
        assert_eq!(
            resolve_specifier("/assets/x/y.js", "../z.js").as_deref(),
            Some("/assets/z.js")
        );
    }

    /// The pure JavaScript modules (CBOR reader, SSE parser, key file format) checked by
    /// `web/tests/client_unit.mjs` in Node.js; the browser tests cover the rest in Chromium.
    #[test]
    fn client_modules_pass_their_unit_checks() {
        let script = concat!(env!("CARGO_MANIFEST_DIR"), "/src/web/tests/client_unit.mjs");
        let output = match std::process::Command::new("node").arg(script).output() {
            Ok(output) => output,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                eprintln!("node is not installed: web client unit checks skipped");
                return;
            }
            Err(e) => panic!("cannot run node: {e}"),
        };
        assert!(
            output.status.success(),
            "{}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
    }

    /// The element ids the browser tests and the scripts rely on (the "DOM contract") are in the
    /// page skeleton, each exactly once; the ones built at run time (`#me`) are not listed.
    #[test]
    fn page_keeps_the_dom_contract_ids() {
        let html = std::str::from_utf8(FILES[0].body).unwrap();
        for id in [
            "handle-input",
            "display-name-input",
            "create-identity",
            "new-room-name",
            "new-room-public",
            "create-room",
            "join-link-input",
            "join-button",
            "room-list",
            "invite-link-button",
            "invite-link",
            "timeline",
            "composer",
            "send-button",
            "members",
            "connection",
            "export-key",
            "import-key-file",
            "passphrase-input",
            "passphrase-confirm",
            "passphrase-ok",
            "logout",
            "login-again",
            "forget-identity",
            "confirm-ok",
            "confirm-cancel",
            "profile-open",
            "profile-dialog",
            "profile-close",
            "new-room-open",
            "new-room-dialog",
            "join-open",
            "join-dialog",
            "directory-open",
            "directory-dialog",
            "directory",
            "dm-list",
            "notify-toggle",
            "moderation-alerts",
        ] {
            let attribute = format!("id=\"{id}\"");
            assert_eq!(html.matches(&attribute).count(), 1, "{attribute}");
        }
    }

    /// The page must work under the node's CSP: no inline script, no inline style, no external
    /// host, and no HTML parsing of strings in the scripts.
    #[test]
    fn files_respect_the_content_security_policy() {
        let html = std::str::from_utf8(FILES[0].body).unwrap();
        assert!(!html.contains("style="), "inline style attribute");
        assert!(!html.contains("<style"), "inline stylesheet");
        assert!(
            !html.contains("http://") && !html.contains("https://"),
            "external host"
        );
        for (index, _) in html.match_indices("<script") {
            let tag_end = html[index..].find('>').unwrap() + index;
            assert!(html[index..tag_end].contains("src="), "inline script");
        }
        let bytes = html.as_bytes();
        for (index, _) in html.match_indices(" on") {
            let name_end = bytes[index + 3..]
                .iter()
                .position(|b| !b.is_ascii_lowercase())
                .map_or(bytes.len(), |p| p + index + 3);
            assert!(
                name_end == index + 3 || bytes.get(name_end) != Some(&b'='),
                "inline event handler attribute at byte {index}"
            );
        }
        // The vendored sanitizer parses HTML by design (in an inert document, to clean it);
        // the client's own modules never do, and nothing runs strings as code.
        for file in FILES.iter().filter(|f| f.content_type == JAVASCRIPT) {
            let js = std::str::from_utf8(file.body).unwrap();
            let vendored = file.path.starts_with("/assets/vendor/");
            for banned in [
                "innerHTML",
                "outerHTML",
                "insertAdjacentHTML",
                "EventSource",
            ] {
                assert!(
                    vendored || !js.contains(banned),
                    "{} uses {banned}",
                    file.path
                );
            }
            for banned in ["eval(", "new Function", "document.write"] {
                assert!(!js.contains(banned), "{} uses {banned}", file.path);
            }
        }
    }
}
