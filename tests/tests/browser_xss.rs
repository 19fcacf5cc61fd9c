//! Browser test of the web client against hostile content: a corpus of XSS payloads, typed in the
//! composer and sent by another user through the client API, is shown as literal text and runs
//! nothing, live and from history; the page is served with a strict CSP, has no inline script,
//! and the browser enforces the CSP. Bodies are rich text (Markdown, web/assets/markdown.js), so
//! every payload is also sent inside Markdown: emphasis, a quote, a link's text and its target,
//! an inline code span and a code block; the only markup a body may hold is the renderer's short
//! allowlist, links only to http(s) or mailto, opening in a new tab without referrer. Skipped
//! with a SKIP line when Chromium is missing, unless `CAUSERIE_REQUIRE_BROWSER=1`.

use causerie_tests::api::ApiUser;
use causerie_tests::browser::DEFAULT_WAIT;
use causerie_tests::browser::chat::{Chat, ChatTest, OrFail};
use serde_json::{Value, json};

/// The XSS corpus: each payload sets `window.__xss` (or calls `alert`) if it ever runs.
/// The first [`COMPOSER_PAYLOADS`] are typed in the composer (one line, characters WebDriver
/// types literally); the rest (multi-line, outside the BMP, invisible characters, 10 kB) go
/// through the client API as another user's messages.
fn xss_corpus() -> Vec<String> {
    let mut corpus: Vec<String> = [
        "<script>window.__xss=1</script>",
        "<img src=x onerror=\"window.__xss=2\">",
        "<svg onload=alert(3)>",
        "<svg><script>window.__xss=4</script></svg>",
        "<iframe srcdoc=\"<script>parent.__xss=5</script>\"></iframe>",
        "<a href=\"javascript:window.__xss=6\">click me</a>",
        "<body onload=\"window.__xss=7\">",
        "<div style=\"background:url(javascript:window.__xss=8)\">styled</div>",
        "<div style=\"width:expression(window.__xss=9)\">ie</div>",
        "&lt;script&gt;window.__xss=10&lt;/script&gt;",
        "&#60;img src=x onerror=window.__xss=11&#62;",
        "{{constructor.constructor('window.__xss=12')()}}",
        "</textarea><script>window.__xss=13</script>",
        "\"><script>window.__xss=14</script>",
        "'><img src=x onerror=window.__xss=15>",
        "<math><mtext><table><mglyph><style><img src=x onerror=window.__xss=16>",
        "<details open ontoggle=\"window.__xss=17\">",
        "<input autofocus onfocus=\"alert(18)\">",
        "<ScRiPt>window.__xss=19</sCrIpT>",
        "<scr<script>ipt>window.__xss=20</scr</script>ipt>",
        "${window.__xss=21}",
        "\u{FF1C}script\u{FF1E}window.__xss=22\u{FF1C}/script\u{FF1E}",
        "\u{202E}<img src=x onerror=window.__xss=23>",
        // Through the client API from here on.
        "<object data=\"javascript:window.__xss=24\"></object>",
        "<embed src=\"data:text/html,<script>parent.__xss=25</script>\">",
        "<style>@import 'javascript:window.__xss=26';</style>",
        "<meta http-equiv=\"refresh\" content=\"0;url=javascript:window.__xss=27\">",
        "<form action=\"javascript:window.__xss=28\"><button>go</button></form>",
        "<video><source onerror=\"window.__xss=29\"></video>",
        "<base href=\"javascript:window.__xss=30//\">",
        "<noscript><p title=\"</noscript><img src=x onerror=window.__xss=31>\">",
        "<img src=x\nonerror=window.__xss=32>",
        "</textarea>\n<script>\nwindow.__xss=33\n</script>",
        "<svg><animate onbegin=alert(34) attributeName=x dur=1s>",
        "<scr\u{200B}ipt>alert(35)</scr\u{200B}ipt> \u{1F525}<img src=x onerror=alert(35)>",
        "   <i onmouseover=window.__xss=36>spaces kept</i>   ",
        "javascript:alert(37)",
        "<img src=x onerror=window.__xss=38 \u{FEFF}>\u{E000}",
        "<a href=\"&#106;avascript:window.__xss=39\">entity href</a>",
    ]
    .iter()
    .map(|p| (*p).to_owned())
    .collect();
    let mut big = String::from("<div>");
    while big.len() < 10 * 1024 {
        big.push_str("<img src=x onerror=window.__xss=40>AAAAAAAA");
    }
    big.push_str("</div>");
    corpus.push(big);
    corpus
}

/// How many corpus payloads are typed in the composer.
const COMPOSER_PAYLOADS: usize = 23;

/// Elements that content must never create inside the timeline, and attributes that would run
/// script. Returns what it finds (empty when the page is clean).
const FIND_ACTIVE_CONTENT: &str = r#"
const found = [];
const timeline = document.querySelector('#timeline');
if (!timeline) { return ['no #timeline']; }
const dangerous = 'script, img, iframe, svg, math, object, embed, style, link, meta, base, form, input, video, audio, source, details, marquee, noscript, template';
for (const place of ['#timeline', '#room-list', '#members', '.room-heading', '#me']) {
  for (const area of document.querySelectorAll(place)) {
    for (const el of area.querySelectorAll(dangerous)) { found.push('element ' + el.tagName + ' in ' + place); }
  }
}
const allowedInBody = new Set(['P', 'BR', 'EM', 'STRONG', 'DEL', 'CODE', 'PRE', 'BLOCKQUOTE', 'UL', 'OL',
  'LI', 'A', 'HR', 'TABLE', 'THEAD', 'TBODY', 'TR', 'TH', 'TD', 'SPAN']);
const allowedAttributes = new Set(['href', 'title', 'class', 'rel', 'target', 'start']);
for (const body of timeline.querySelectorAll('.message .body')) {
  for (const el of body.querySelectorAll('*')) {
    if (!allowedInBody.has(el.tagName)) { found.push('element ' + el.tagName + ' in a message body'); }
    if (el.tagName === 'SPAN' && !el.classList.contains('mention')) { found.push('a span that is not a mention'); }
    for (const attr of el.getAttributeNames()) {
      if (!allowedAttributes.has(attr)) { found.push('attribute ' + attr + ' on ' + el.tagName + ' in a message body'); }
    }
    if (el.tagName === 'A') {
      const href = el.getAttribute('href') || '';
      if (!/^(https?:[/][/]|mailto:)/i.test(href)) { found.push('a link to ' + href); }
      if (el.rel !== 'noopener noreferrer' || el.target !== '_blank') { found.push('a link without rel=noopener noreferrer, target=_blank'); }
    }
  }
}
for (const sender of timeline.querySelectorAll('.message .sender')) {
  for (const el of sender.querySelectorAll('*')) {
    if (el.tagName !== 'SPAN') { found.push('element ' + el.tagName + ' in a sender'); }
  }
}
for (const el of document.querySelectorAll('*')) {
  for (const attr of el.getAttributeNames()) {
    if (attr.toLowerCase().startsWith('on')) { found.push('attribute ' + attr + ' on ' + el.tagName); }
  }
  for (const name of ['href', 'src', 'action', 'formaction', 'data', 'srcdoc']) {
    const url = el.getAttribute(name) || '';
    if (/^\s*javascript:/i.test(url)) { found.push('javascript: URL in ' + name + ' of ' + el.tagName); }
    if (timeline.contains(el) && /^\s*data:/i.test(url)) { found.push('data: URL in the timeline'); }
  }
}
return found;
"#;

/// The room name and the display name are shown as literal text: the active room's item in the
/// room list, and the sender of each of `messages` messages.
/// What the XSS test expects the page to show: every payload as literal text.
struct Expected<'a> {
    corpus: &'a [String],
    room_name: &'a str,
    display_name: &'a str,
}

impl Expected<'_> {
    /// Waits for `arrived` to be shown, then checks that every payload is inert and that the
    /// payload room and display names are literal (`step` names the screenshot and failures).
    async fn check(&self, chat: &Chat, arrived: &[String], step: &str) {
        for payload in arrived {
            chat.wait_message(&shown_text(payload), DEFAULT_WAIT).await;
        }
        chat.shot(&format!("all payloads, {step}")).await;
        assert_inert(chat, self.corpus, step).await;
        assert_names_literal(
            chat,
            self.room_name,
            self.display_name,
            self.corpus.len() - COMPOSER_PAYLOADS,
        )
        .await;
    }
}

async fn assert_names_literal(chat: &Chat, room_name: &str, display_name: &str, messages: usize) {
    let seen = chat
        .run(
            "names",
            "const item = document.querySelector('#room-list .room-item.active');
             const senders = Array.from(document.querySelectorAll('#timeline .message .sender'))
                 .filter(n => n.textContent.includes(arguments[1]));
             return [item ? item.textContent.includes(arguments[0]) : false, senders.length];",
            vec![json!(room_name), json!(display_name)],
        )
        .await;
    assert_eq!(seen, json!([true, messages]), "names shown literally");
}

/// A script function, `takeCspReports()`, returning the CSP violations the page reported since
/// its last call. It reads the Reporting API (`csp-violation` reports, a web standard), whose
/// observer is installed once per document with `buffered: true`, so violations from before the
/// first call (while the page loaded and rendered history) are reported too.
const TAKE_CSP_REPORTS: &str = "
function takeCspReports() {
  const describe = (r) => (r.body.effectiveDirective + ' ' + (r.body.blockedURL || '')).trim();
  if (!window.__cspObserver) {
    window.__cspReports = [];
    window.__cspObserver = new ReportingObserver(
      (reports) => window.__cspReports.push(...reports.map(describe)),
      { types: ['csp-violation'], buffered: true });
    window.__cspObserver.observe();
  }
  window.__cspReports.push(...window.__cspObserver.takeRecords().map(describe));
  return window.__cspReports.splice(0);
}
";

/// The CSP violations the page reported since the last look ([`TAKE_CSP_REPORTS`]).
async fn csp_reports(chat: &Chat) -> Vec<String> {
    let script = format!("{TAKE_CSP_REPORTS}\nreturn takeCspReports();");
    let value = chat.run("CSP reports", &script, vec![]).await;
    value
        .as_array()
        .into_iter()
        .flatten()
        .map(|report| report.as_str().unwrap_or_default().to_owned())
        .collect()
}

/// Checks that nothing from the corpus ran or became markup, and that every payload is shown
/// once as the text it is.
async fn assert_inert(chat: &Chat, corpus: &[String], step: &str) {
    assert_nothing_ran(chat, step).await;
    let shown = chat.timeline().await.or_fail("timeline");
    for payload in corpus {
        let text = shown_text(payload);
        let count = shown.iter().filter(|m| m.body == text).count();
        let near: Vec<&str> = shown
            .iter()
            .filter(|m| m.body.contains(trace(payload)))
            .map(|m| m.body.as_str())
            .collect();
        assert_eq!(
            count, 1,
            "{step}: payload shown once, as literal text: {payload:?} (as {text:?}); shown: {near:?}"
        );
    }
}

/// Checks that nothing ran: no CSP refusal, no alert, no `window.__xss`, no markup beyond the
/// renderer's allowlist.
async fn assert_nothing_ran(chat: &Chat, step: &str) {
    let refusals = csp_reports(chat).await;
    assert!(refusals.is_empty(), "{step}: CSP refusals: {refusals:?}");
    assert_eq!(
        chat.browser.alert_text().await.or_fail("alert check"),
        None,
        "{step}: an alert is open"
    );
    let xss = chat
        .run(
            "window.__xss",
            "return typeof window.__xss === 'undefined' ? null : String(window.__xss);",
            vec![],
        )
        .await;
    assert_eq!(xss, Value::Null, "{step}: payload {xss} ran");
    let found = chat
        .run("active content", FIND_ACTIVE_CONTENT, vec![])
        .await;
    assert_eq!(found, json!([]), "{step}: content became markup");
}

/// Every payload inside Markdown, as three messages: a quote with emphasis and an inline code
/// span; a link whose text is the payload, a link and an image whose target is the payload; a
/// code block. A payload too long to repeat within a message's 16 KiB appears once in each.
fn markdown_variants(corpus: &[String]) -> Vec<String> {
    let mut out = Vec::new();
    for (i, payload) in corpus.iter().enumerate() {
        if payload.len() > 4096 {
            out.push(format!("> **{payload}** (quoted {i})"));
            out.push(format!("[{payload}](https://example.org/{i})"));
        } else {
            out.push(format!("> **{payload}** `{payload}` (quoted {i})"));
            out.push(format!(
                "[{payload}](https://example.org/{i}) [target {i}]({payload}) ![{payload}]({payload})"
            ));
        }
        out.push(format!("```\n{payload}\n```"));
    }
    out
}

/// Waits until the timeline shows at least `count` messages.
async fn wait_messages(chat: &Chat, count: usize) {
    chat.wait_until_with(
        &format!("{count} messages in the timeline"),
        "const n = document.querySelectorAll('#timeline .message[data-event-id^=\"$\"]').length;
         return n >= arguments[0] || {waiting: n};",
        vec![json!(count)],
    )
    .await;
}

/// The part of a payload that names it (`__xss=N` or `alert(N`).
fn trace(payload: &str) -> &str {
    let at = payload
        .find("__xss=")
        .or_else(|| payload.find("alert("))
        .unwrap_or(0);
    let end = payload[at..]
        .find(|c: char| !c.is_ascii_alphanumeric() && c != '_' && c != '=' && c != '(')
        .map_or(payload.len(), |e| at + e);
    &payload[at..end]
}

/// The text a payload reads as in the timeline: itself, except that Markdown turns character
/// references outside HTML into the characters they stand for (shown as text, never markup).
fn shown_text(payload: &str) -> String {
    if payload.starts_with('&') {
        return payload
            .replace("&lt;", "<")
            .replace("&gt;", ">")
            .replace("&#60;", "<")
            .replace("&#62;", ">");
    }
    payload.to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn xss_corpus_is_inert() {
    let Some(test) = ChatTest::start("xss_corpus_is_inert", 1).await else {
        return;
    };
    let node = test.node(0);

    // The page itself: a strict CSP header, no inline script.
    let page = reqwest::Client::builder()
        .no_proxy()
        .build()
        .unwrap()
        .get(format!("http://{node}/"))
        .send()
        .await
        .expect("GET /");
    assert_eq!(page.status(), 200);
    let header = |name: &str| {
        page.headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned()
    };
    let csp = header("content-security-policy");
    for directive in [
        "default-src 'none'",
        "script-src 'self'",
        "frame-ancestors 'none'",
        "base-uri 'none'",
    ] {
        assert!(csp.contains(directive), "CSP {csp:?} lacks {directive}");
    }
    for loose in ["unsafe-inline", "unsafe-eval", "http:", "https:", "*"] {
        assert!(!csp.contains(loose), "CSP {csp:?} allows {loose}");
    }
    assert_eq!(header("x-content-type-options"), "nosniff");
    let html = page.text().await.expect("page body");
    assert!(html.contains("<script"), "the page loads its script");

    let chat = test.open("alice", 0).await;
    let scripts = chat
        .run(
            "scripts",
            "return Array.from(document.scripts).map(s => [s.src, s.textContent.trim().length]);",
            vec![],
        )
        .await;
    let scripts = scripts.as_array().cloned().unwrap_or_default();
    assert!(!scripts.is_empty(), "the page has its script");
    for script in &scripts {
        let src = script[0].as_str().unwrap_or_default();
        assert!(
            src.starts_with(&chat.url),
            "script from the node itself: {script}"
        );
        assert_eq!(
            script[1],
            json!(0),
            "no inline code in a <script src>: {script}"
        );
    }
    // The CSP is enforced, not only sent: an injected inline script and a string timer (which
    // needs 'unsafe-eval') are refused, and the page's reports say so.
    assert_eq!(
        csp_reports(&chat).await,
        Vec::<String>::new(),
        "a clean page"
    );
    let enforced = chat
        .browser
        .execute_async(
            "const done = arguments[arguments.length - 1];
             const s = document.createElement('script');
             s.textContent = 'window.__inlineRan = true;';
             document.head.appendChild(s);
             s.remove();
             setTimeout('window.__stringTimerRan = true;', 0);
             setTimeout(() => done({inline: window.__inlineRan === true,
                                    stringTimer: window.__stringTimerRan === true}), 0);",
            vec![],
        )
        .await
        .or_fail("csp enforcement");
    assert_eq!(
        enforced,
        json!({"inline": false, "stringTimer": false}),
        "refused by the CSP"
    );
    // From here on the page must report no violation (a payload turned into markup would be
    // refused by the CSP too, and reported).
    let reported = chat
        .wait_until(
            "the page to report both CSP refusals",
            &format!(
                "{TAKE_CSP_REPORTS}
                 window.__enforced = (window.__enforced || []).concat(takeCspReports());
                 const directives = window.__enforced.map(r => r.split(' ')[0]);
                 const both = directives.some(d => d.startsWith('script-src'))
                     && window.__enforced.length >= 2;
                 return both ? window.__enforced : {{waiting: window.__enforced}};"
            ),
        )
        .await;
    eprintln!("CSP refusals reported: {reported}");

    chat.create_identity("alice", "Alice").await;
    // User content outside messages too: the room name and a display name.
    let room_name = "<img src=x onerror=window.__xss=41>";
    let display_name = "<svg onload=window.__xss=42>";
    let room = chat.create_room(room_name, true).await;
    chat.shot("room ready").await;
    let corpus = xss_corpus();
    assert!(corpus.len() >= 30);
    let distinct: std::collections::BTreeSet<&String> = corpus.iter().collect();
    assert_eq!(
        distinct.len(),
        corpus.len(),
        "payloads are told apart by their text"
    );
    for payload in &corpus {
        assert!(
            payload.contains("__xss=") || payload.contains("alert("),
            "a payload that runs leaves a trace: {payload:?}"
        );
    }
    for payload in &corpus[..COMPOSER_PAYLOADS] {
        let typable = |c: char| c != '\n' && !('\u{E000}'..='\u{F8FF}').contains(&c);
        assert!(
            payload.chars().all(typable),
            "typed literally by WebDriver: {payload:?}"
        );
    }

    // A good part through the composer, as a user types them.
    for payload in &corpus[..COMPOSER_PAYLOADS] {
        chat.type_and_send(payload).await;
        chat.wait_message(&shown_text(payload), DEFAULT_WAIT).await;
    }
    chat.shot("composer payloads sent").await;
    assert_inert(
        &chat,
        &corpus[..COMPOSER_PAYLOADS],
        "after the composer payloads",
    )
    .await;

    // The rest as another user's messages, sent through the client API (arriving on the live
    // stream); the display name is a payload too.
    let mallory = ApiUser::register(node, "mallory", display_name).await;
    mallory.join(&room).await;
    for payload in &corpus[COMPOSER_PAYLOADS..] {
        mallory.say(&room, payload).await;
    }
    let expected = Expected {
        corpus: &corpus,
        room_name,
        display_name,
    };
    expected
        .check(&chat, &corpus[COMPOSER_PAYLOADS..], "live")
        .await;

    // Once more from history (a different rendering path than the live stream).
    chat.browser.refresh().await.or_fail("reload");
    chat.wait_ready().await;
    chat.wait_active_room_or_select(&room).await;
    expected.check(&chat, &corpus, "from history").await;

    // Inside Markdown: a quote, emphasis, code, link texts and targets, images, code blocks.
    let variants = markdown_variants(&corpus);
    for variant in &variants {
        mallory.say(&room, variant).await;
    }
    wait_messages(&chat, corpus.len() + variants.len()).await;
    chat.shot("payloads inside Markdown").await;
    assert_nothing_ran(&chat, "inside Markdown").await;
    let code = chat
        .run(
            "code blocks",
            "return Array.from(document.querySelectorAll('#timeline .message .body pre code'))
               .map(c => c.textContent);",
            vec![],
        )
        .await;
    let code: Vec<&str> = code
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .collect();
    for payload in &corpus {
        assert_eq!(
            code.iter().filter(|c| **c == payload.as_str()).count(),
            1,
            "a code block shows the payload as it is: {payload:?}"
        );
    }

    chat.close().await;
    eprintln!(
        "xss_corpus_is_inert: {} payloads ({COMPOSER_PAYLOADS} typed), {} Markdown variants",
        corpus.len(),
        variants.len()
    );
    test.finish().await;
}
