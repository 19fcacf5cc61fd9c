//! The embedded web client: the static files of the browser chat client (issue 5, parts 3 and 4),
//! compiled into the binary so that every node serves it at `/` with no build step.
//!
//! The client talks only to this node's client API (specs/client-api.md) and keeps the user's
//! key in the browser (WebCrypto, IndexedDB); see `web/keys.js` for how the key is stored.
//! The files live in `web/`:
//! - `index.html`: the page skeleton and `<template>`s (no inline script or style);
//! - `assets/app.js`: the application (ES module entry point): state, rendering, actions;
//! - `assets/api.js`: the HTTP client and the `fetch()`-based server-sent events reader;
//! - `assets/keys.js`: key generation, IndexedDB storage, key export/import files;
//! - `assets/cbor.js`: a strict, bounded CBOR reader used to check drafts before signing;
//! - `assets/app.css`: the one stylesheet (light and dark);
//! - `tests/client_unit.mjs`: Node.js checks of the pure modules (not served);
//! - `assets/icon.svg`, `assets/manifest.webmanifest`: icon and web app manifest.
//!
//! The API layer adds the security headers (Content-Security-Policy, nosniff, no-referrer,
//! frame denial) and the Host/Origin checks to every response, these included. The files are
//! served with `Cache-Control: no-cache` so a node upgrade is picked up on the next load.

use axum::Router;
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::get;

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

/// Every file of the web client, in the order a browser asks for them.
pub const FILES: &[WebFile] = &[
    WebFile {
        path: "/",
        content_type: HTML,
        body: include_bytes!("web/index.html"),
    },
    WebFile {
        path: "/assets/app.css",
        content_type: CSS,
        body: include_bytes!("web/assets/app.css"),
    },
    WebFile {
        path: "/assets/app.js",
        content_type: JAVASCRIPT,
        body: include_bytes!("web/assets/app.js"),
    },
    WebFile {
        path: "/assets/api.js",
        content_type: JAVASCRIPT,
        body: include_bytes!("web/assets/api.js"),
    },
    WebFile {
        path: "/assets/keys.js",
        content_type: JAVASCRIPT,
        body: include_bytes!("web/assets/keys.js"),
    },
    WebFile {
        path: "/assets/cbor.js",
        content_type: JAVASCRIPT,
        body: include_bytes!("web/assets/cbor.js"),
    },
    WebFile {
        path: "/assets/icon.svg",
        content_type: SVG,
        body: include_bytes!("web/assets/icon.svg"),
    },
    WebFile {
        path: "/assets/manifest.webmanifest",
        content_type: MANIFEST,
        body: include_bytes!("web/assets/manifest.webmanifest"),
    },
];

/// The router serving [`FILES`] with `GET` (and `HEAD`). Mounted by the API next to `/api/v1`.
pub fn router<S: Clone + Send + Sync + 'static>() -> Router<S> {
    FILES.iter().fold(Router::new(), |router, file| {
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

    #[tokio::test]
    async fn every_embedded_file_is_served_with_its_type() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let server = tokio::spawn(async move {
            axum::serve(listener, router::<()>()).await.unwrap();
        });
        for file in FILES {
            let (status, headers, body) = fetch(addr, file.path).await;
            assert!(status.contains(" 200 "), "{}: {status}", file.path);
            assert_eq!(
                header_value(&headers, "content-type"),
                Some(file.content_type),
                "{}",
                file.path
            );
            assert_eq!(
                header_value(&headers, "cache-control"),
                Some("no-cache"),
                "{}",
                file.path
            );
            assert_eq!(body, file.body, "{}", file.path);
        }
        let (status, _, _) = fetch(addr, "/assets/missing.js").await;
        assert!(status.contains(" 404 "), "{status}");
        server.abort();
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
        for file in FILES.iter().filter(|f| f.content_type == JAVASCRIPT) {
            let js = std::str::from_utf8(file.body).unwrap();
            for banned in [
                "innerHTML",
                "outerHTML",
                "insertAdjacentHTML",
                "eval(",
                "new Function",
                "document.write",
                "EventSource",
            ] {
                assert!(!js.contains(banned), "{} uses {banned}", file.path);
            }
        }
    }
}
