//! Timeline scrolling benchmark of the web client (node/src/web/assets/virtual_list.js): a room
//! of `--events N` events (default 100,000) in headless Chromium, scrolled, with the frame rate
//! measured in the page by the Performance API (`requestAnimationFrame` timestamps).
//!
//! A node serves the web client; a user signs up and creates a room through the page; then the
//! events (messages of five senders with plain, Markdown, multi-line and code bodies, some
//! replies and reactions, a room change every 97 events, spread over several days) are fed to the
//! page's own timeline code (`history.js`'s `timelineFor`, `timeline_view.js`'s `applyEvents`,
//! loaded in the page as modules), not fetched: the network is not what is measured. Printed:
//! - the time to take in the events and draw the first screen;
//! - **flick**: the timeline scrolled up by `--step PX` (default 40) each frame for
//!   `--seconds S` (default 5): frames per second, p50/p95/max frame time, most rows in the DOM;
//! - **jumps**: the scroll position moved to a random place each frame (the worst case: every
//!   frame draws a new window), the same figures.
//!
//! `cargo bench -p causerie-tests --bench timeline_scroll` (release profile), or with
//! `--profile dev` (the page's code runs in Chromium either way). The figures depend on the
//! machine's load: Chromium draws with software rendering here. Skipped with a SKIP line when
//! Chromium is missing.

use causerie_tests::bench::{for_each_number_flag, runtime, say};
use causerie_tests::browser::chat::{ChatTest, OrFail};
use serde_json::{Value, json};

/// Feeds `arguments[0]` synthetic events into the active room's timeline through the page's own
/// modules; answers the time it took (ms), the rows and the rows drawn.
const FEED: &str = r#"
const [count, done] = [arguments[0], arguments[arguments.length - 1]];
(async () => {
  const { state } = await import('/assets/state.js');
  const { timelineFor } = await import('/assets/history.js');
  const { applyEvents, timelineView } = await import('/assets/timeline_view.js');
  const room = state.active;
  const timeline = timelineFor(room);
  const authors = ['a1', 'b2', 'c3', 'd4', 'e5'].map((p) => p.repeat(32));
  const handles = ['alice', 'bob', 'carol', 'dave', 'erin'];
  const bodies = [
    'Good morning everyone, how is the release going?',
    'I pushed the fix, **please** review it when you have a minute: https://example.org/pull/42',
    'Short one.',
    'A longer message that wraps on a narrow screen: we measured the scroll performance of the timeline with a hundred thousand events, and it has to stay smooth.',
    'Two lines\nof text',
    '```\nfn main() {\n    println!("hello");\n}\n```',
    '- a list\n- of items\n- in Markdown',
    'Thanks @alice, that works :)',
  ];
  const hex = (n) => n.toString(16).padStart(64, '0');
  const start = Date.now() - count * 20000;
  const events = [];
  const t0 = performance.now();
  for (let i = 0; i < count; i++) {
    const a = Math.floor(i / 3) % authors.length;
    const event = {
      id: '$' + hex(i + 1), room, depth: 100 + i, author: authors[a], origin_ts: start + i * 20000,
      sender: { handle: handles[a], display_name: handles[a][0].toUpperCase() + handles[a].slice(1) },
      state_key: null, kind: 'room.message', content: { body: bodies[i % bodies.length] },
      mentions: [], edited: null, reactions: [], deleted: false, replaces: null, reply_to: null,
    };
    if (i % 97 === 96) {
      event.kind = 'room.member'; event.state_key = event.author; event.content = { membership: 'join' };
    }
    if (i % 13 === 5 && i > 10) event.reply_to = { id: '$' + hex(i - 4), author: authors[0], handle: 'alice', body: bodies[0] };
    if (i % 11 === 3) event.reactions = [{ key: '👍', count: 2, users: [authors[1], authors[2]], mine: false }];
    events.push(event);
  }
  timeline.prev = null;
  applyEvents(timeline, events);
  await new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)));
  const view = timelineView();
  done({ ms: performance.now() - t0, rows: view.rows.length, drawn: document.querySelectorAll('#messages > li').length, events: timeline.events.length });
})().catch((e) => done({ error: String(e && e.stack || e) }));
"#;

/// Scrolls for `arguments[1]` ms, moving by `arguments[0]` px up each frame (or, when it is 0,
/// to a random place); answers the frame times (ms), the most rows drawn at once, and how often
/// and how long the virtual list redrew its window (script time, layout for measuring included).
const SCROLL: &str = r#"
(async () => {
const [step, duration, done] = [arguments[0], arguments[1], arguments[arguments.length - 1]];
const scroller = document.getElementById('timeline');
const list = document.getElementById('messages');
scroller.scrollTop = scroller.scrollHeight;
const { timelineView } = await import('/assets/timeline_view.js');
const view = timelineView();
let work = 0;
let updates = 0;
const update = view.update;
view.update = function (...args) {
  const t = performance.now();
  update.apply(this, args);
  work += performance.now() - t;
  updates += 1;
};
const times = [];
let most = 0;
let end = null;
function frame(now) {
  times.push(now);
  most = Math.max(most, list.childElementCount);
  if (end === null) end = now + duration;
  if (now >= end) {
    const gaps = times.slice(1).map((t, i) => t - times[i]).sort((a, b) => a - b);
    view.update = update;
    done({ frames: times.length - 1, ms: times[times.length - 1] - times[0], gaps, most, top: scroller.scrollTop, work, updates });
    return;
  }
  if (step > 0) {
    scroller.scrollTop = scroller.scrollTop > step ? scroller.scrollTop - step : scroller.scrollHeight;
  } else {
    scroller.scrollTop = Math.random() * (scroller.scrollHeight - scroller.clientHeight);
  }
  requestAnimationFrame(frame);
}
requestAnimationFrame(frame);
})();
"#;

fn main() {
    let mut events = 100_000u64;
    let mut step = 40u64;
    let mut seconds = 5u64;
    for_each_number_flag(|name, value| {
        match name {
            "--events" => events = value,
            "--step" => step = value,
            "--seconds" => seconds = value,
            _ => return false,
        }
        true
    });
    runtime()
        .expect("runtime")
        .block_on(run(events, step.max(1), seconds.max(1)));
}

async fn run(events: u64, step: u64, seconds: u64) {
    let Some(test) = ChatTest::start("bench_timeline_scroll", 1).await else {
        return;
    };
    let chat = test.open("reader", 0).await;
    chat.create_identity("reader", "Reader").await;
    chat.create_room("Scrolling", false).await;
    let fed = chat
        .browser
        .execute_async(FEED, vec![json!(events)])
        .await
        .or_fail("feed the timeline");
    assert!(fed.get("error").is_none(), "feeding failed: {fed}");
    say(&format!(
        "timeline_scroll: {} events held, {} rows, {} drawn; taken in and first screen in {:.0} ms",
        fed["events"],
        fed["rows"],
        fed["drawn"],
        fed["ms"].as_f64().unwrap_or_default()
    ));
    chat.shot("100k events loaded").await;
    for (name, px) in [("flick", step), ("jumps", 0)] {
        let measured = chat
            .browser
            .execute_async(SCROLL, vec![json!(px), json!(seconds * 1000)])
            .await
            .or_fail("scroll");
        print_frames(name, px, &measured);
        chat.shot(&format!("after {name}")).await;
    }
    chat.close().await;
    test.finish().await;
}

/// Prints the frame rate and frame times of one scroll run.
fn print_frames(name: &str, step: u64, measured: &Value) {
    let frames = measured["frames"].as_f64().unwrap_or_default();
    let ms = measured["ms"].as_f64().unwrap_or(1.0).max(1.0);
    let gaps: Vec<f64> = measured["gaps"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_f64)
        .collect();
    let at = |p: f64| -> f64 {
        if gaps.is_empty() {
            return 0.0;
        }
        let rank = ((p / 100.0) * gaps.len() as f64).ceil() as usize;
        gaps[rank.clamp(1, gaps.len()) - 1]
    };
    let how = if step > 0 {
        format!("{step} px a frame")
    } else {
        "a random place each frame".to_owned()
    };
    say(&format!(
        "timeline_scroll {name} ({how}): {:.1} frames/s over {:.1} s; frame time p50 {:.1} ms, \
         p95 {:.1} ms, max {:.1} ms; at most {} rows in the DOM; {} redraws of the window, \
         {:.1} ms of script each",
        frames * 1000.0 / ms,
        ms / 1000.0,
        at(50.0),
        at(95.0),
        gaps.last().copied().unwrap_or_default(),
        measured["most"],
        measured["updates"],
        measured["work"].as_f64().unwrap_or_default()
            / measured["updates"].as_f64().unwrap_or(1.0).max(1.0)
    ));
}
