//! The WebDriver client of the browser tests ([`causerie_tests::browser`]) on its own, against
//! a small page served on loopback: navigation, elements, typing (inside and outside the Basic
//! Multilingual Plane), scripts, alerts, downloads, screenshots, timeouts and window sizes.
//! Skipped with a SKIP line when Chromium is missing, unless `CAUSERIE_REQUIRE_BROWSER=1`.

use std::time::{Duration, Instant};

use causerie_tests::browser::chat::{OrFail, setup, type_text};
use causerie_tests::browser::{Browser, BrowserError, DEFAULT_WAIT, Element, LaunchOptions};
use serde_json::json;

const TEST_PAGE: &str = r#"<!doctype html>
<html><head><meta charset="utf-8"><title>driver test</title><script src="/page.js"></script></head>
<body><input id="name" value=""><button id="greet" data-kind="button">Greet</button>
<p id="out"></p><a id="download" href="/notes.txt" download="notes.txt">notes</a><ul id="list"><li class="item">one</li><li class="item">two</li></ul></body></html>"#;

const TEST_SCRIPT: &str = r#"
document.addEventListener('DOMContentLoaded', () => {
  document.getElementById('greet').addEventListener('click', () => {
    document.getElementById('out').textContent = 'Hello, ' + document.getElementById('name').value;
  });
  setTimeout(() => { document.body.dataset.ready = '1'; }, 300);
});
"#;

/// A loopback server for the test page; returns its address.
async fn serve_test_page() -> std::net::SocketAddr {
    use axum::http::header::CONTENT_TYPE;
    let router = axum::Router::new()
        .route(
            "/",
            axum::routing::get(|| async {
                ([(CONTENT_TYPE, "text/html; charset=utf-8")], TEST_PAGE)
            }),
        )
        .route(
            "/notes.txt",
            axum::routing::get(|| async { ([(CONTENT_TYPE, "text/plain")], "downloaded notes") }),
        )
        .route(
            "/page.js",
            axum::routing::get(|| async { ([(CONTENT_TYPE, "text/javascript")], TEST_SCRIPT) }),
        );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind the test page server");
    let addr = listener.local_addr().expect("test page address");
    tokio::spawn(async move {
        let _ = axum::serve(listener, router).await;
    });
    addr
}

/// The element matching `selector`, which the test page has.
async fn present<'a>(browser: &'a Browser, selector: &str) -> Element<'a> {
    browser
        .find(selector)
        .await
        .or_fail(&format!("find {selector}"))
        .unwrap_or_else(|| panic!("{selector} is on the page"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn webdriver_client_drives_a_page() {
    let Some(setup) = setup("webdriver_client_drives_a_page") else {
        return;
    };
    let started = Instant::now();
    let addr = serve_test_page().await;
    let browser = Browser::launch(&setup, LaunchOptions::desktop("driver"))
        .await
        .or_fail("launch");
    browser
        .goto(&format!("http://{addr}/"))
        .await
        .or_fail("goto");
    // The ready flag comes 300 ms after load: the wait must poll, not check once.
    let ready = browser
        .wait_script(
            "the ready flag",
            DEFAULT_WAIT,
            "return document.body.dataset.ready",
            vec![],
        )
        .await
        .or_fail("ready");
    assert_eq!(ready, json!("1"));
    assert_eq!(
        browser.current_url().await.or_fail("url"),
        format!("http://{addr}/")
    );

    let name = browser
        .wait_element("#name", DEFAULT_WAIT)
        .await
        .or_fail("find #name");
    name.send_keys("wörld <b>&amp;</b> ☃").await.or_fail("type");
    assert_eq!(
        name.property("value").await.or_fail("value"),
        json!("wörld <b>&amp;</b> ☃")
    );
    let button = present(&browser, "#greet").await;
    assert_eq!(
        button.attribute("data-kind").await.or_fail("attribute"),
        Some("button".to_owned())
    );
    assert_eq!(
        button.attribute("data-none").await.or_fail("attribute"),
        None
    );
    assert!(button.is_displayed().await.or_fail("displayed"));
    button.click().await.or_fail("click");
    let out = present(&browser, "#out").await;
    assert_eq!(
        out.text().await.or_fail("text"),
        "Hello, wörld <b>&amp;</b> ☃"
    );
    assert_eq!(
        browser
            .execute("return document.querySelectorAll('#out *').length", vec![])
            .await
            .or_fail("no markup"),
        json!(0)
    );
    name.clear().await.or_fail("clear");
    assert_eq!(name.property("value").await.or_fail("value"), json!(""));
    // Outside the BMP (which ChromeDriver cannot type): inserted through the page, the keys
    // around it still typed, every character kept.
    let mixed = "crab 🦀, wave 👋🏽, key 🔑!";
    type_text(&browser, &name, mixed)
        .await
        .or_fail("type non-BMP");
    assert_eq!(name.property("value").await.or_fail("value"), json!(mixed));
    name.clear().await.or_fail("clear");

    let items = browser.find_all("#list .item").await.or_fail("find all");
    assert_eq!(items.len(), 2);
    assert_eq!(items[1].text().await.or_fail("item text"), "two");
    assert!(
        browser
            .find("#missing")
            .await
            .or_fail("find missing")
            .is_none()
    );
    assert!(
        browser
            .find_all("#missing")
            .await
            .or_fail("find all missing")
            .is_empty()
    );

    // Scripts: arguments (including an element) in, JSON out; asynchronous callback.
    let echoed = browser
        .execute(
            "return [arguments[0] + 1, arguments[1].id, typeof arguments[2]]",
            vec![json!(41), items[0].as_argument(), json!({"a": 1})],
        )
        .await
        .or_fail("execute");
    assert_eq!(echoed, json!([42, "", "object"]));
    let later = browser
        .execute_async(
            "const done = arguments[arguments.length - 1]; setTimeout(() => done(arguments[0] * 2), 50);",
            vec![json!(21)],
        )
        .await
        .or_fail("execute async");
    assert_eq!(later, json!(42));
    let thrown = browser.execute("throw new Error('boom')", vec![]).await;
    assert_eq!(
        thrown.as_ref().err().and_then(BrowserError::webdriver_code),
        Some("javascript error"),
        "{thrown:?}"
    );

    // Alerts: none, then one (seen by the test, not dismissed behind its back).
    assert_eq!(browser.alert_text().await.or_fail("no alert"), None);
    browser
        .execute("setTimeout(() => alert('xss-probe'), 0)", vec![])
        .await
        .or_fail("open alert");
    let alert = browser
        .wait_for("the alert", DEFAULT_WAIT, || browser.alert_text())
        .await
        .or_fail("alert");
    assert_eq!(alert, "xss-probe");
    let blocked = browser.execute("return 1", vec![]).await;
    assert_eq!(
        blocked
            .as_ref()
            .err()
            .and_then(BrowserError::webdriver_code),
        Some("unexpected alert open"),
        "{blocked:?}"
    );
    browser.dismiss_alert().await.or_fail("dismiss");
    assert_eq!(browser.alert_text().await.or_fail("alert gone"), None);

    // Downloads land in the browser's own directory.
    let link = browser.find("#download").await.or_fail("find #download");
    link.expect("#download").click().await.or_fail("download");
    let file = browser
        .wait_download(DEFAULT_WAIT)
        .await
        .or_fail("wait download");
    assert_eq!(file.file_name().and_then(|n| n.to_str()), Some("notes.txt"));
    assert_eq!(std::fs::read_to_string(&file).unwrap(), "downloaded notes");

    // Screenshots are PNG files in the artifact directory.
    let shot = browser.screenshot("page").await.or_fail("screenshot");
    let bytes = std::fs::read(&shot).unwrap();
    assert!(bytes.starts_with(b"\x89PNG"), "{shot:?}");
    assert!(shot.starts_with(setup.artifacts.dir()));

    // A wait that cannot succeed says what it waited for and leaves a screenshot.
    let short = Duration::from_millis(500);
    let timeout = browser
        .wait_element("#never", short)
        .await
        .map(|_| ())
        .expect_err("#never does not exist");
    assert_eq!(timeout.reason(), "timeout");
    let message = timeout.to_string();
    assert!(message.contains("`#never`"), "{message}");
    let BrowserError::Timeout { screenshot, .. } = &timeout else {
        unreachable!()
    };
    assert!(std::path::Path::new(screenshot).exists(), "{message}");

    // A phone-sized window.
    browser.set_viewport_size(375, 667).await.or_fail("resize");
    browser
        .wait_script(
            "a 375x667 viewport",
            DEFAULT_WAIT,
            "return window.innerWidth === 375 && window.innerHeight === 667",
            vec![],
        )
        .await
        .or_fail("viewport");

    let profile = browser.profile_dir().to_path_buf();
    assert!(profile.exists());
    browser.close().await.or_fail("close");
    assert!(
        !profile.exists(),
        "the profile directory is removed with the browser"
    );
    eprintln!("webdriver_client_drives_a_page: {:?}", started.elapsed());
}
