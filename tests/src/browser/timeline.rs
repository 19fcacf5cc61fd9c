//! The web client's timeline and composer in a browser (`tests/tests/browser_timeline.rs`):
//! keys pressed where the focus is, the rows of the timeline as the page draws them, and waits on
//! what a message shows (rich text, a reply's quote, "edited", reactions). Through the DOM
//! contract only: `.message[data-event-id]`, `.body`, `.reply-quote`, `.edited`, `.reaction`,
//! `.notice`, `#composer`, `#composer-completion`, `#composer-mode`.

use serde_json::{Value, json};

use super::DEFAULT_WAIT;
use super::chat::{Chat, OrFail};

/// WebDriver's codes of the keys the tests press (the ones [`Chat::press`] takes too).
pub mod keys {
    pub use super::super::chat::{ARROW_DOWN as DOWN, ARROW_UP as UP, ENTER, ESCAPE, SHIFT, TAB};
}

/// Sends `keys` to the element that has the focus (the page's `document.activeElement`), as a
/// user pressing them would.
pub async fn press(chat: &Chat, keys: &str) {
    chat.run(
        "mark the focus",
        "for (const e of document.querySelectorAll('[data-key-target]')) e.removeAttribute('data-key-target');
         (document.activeElement || document.body).setAttribute('data-key-target', '1');",
        vec![],
    )
    .await;
    let target = chat.element("[data-key-target]").await;
    target.send_keys(keys).await.or_fail("press keys");
}

/// A description of the focused element: its tag, classes and text (for waits and failures).
pub async fn focused(chat: &Chat) -> String {
    let value = chat
        .run(
            "focus",
            "const a = document.activeElement;
             return a ? a.tagName + '.' + Array.from(a.classList).join('.') + ' ' + (a.textContent || '').slice(0, 60) : '';",
            vec![],
        )
        .await;
    value.as_str().unwrap_or_default().to_owned()
}

/// Presses Tab until the focused element matches `selector` (at most `max` times).
pub async fn tab_until(chat: &Chat, selector: &str, max: usize) {
    for _ in 0..max {
        if chat.focused_matches(selector).await {
            return;
        }
        press(chat, keys::TAB).await;
    }
    panic!(
        "Tab never reached {selector}; the focus is on {}",
        focused(chat).await
    );
}

/// What the page shows of the message `event_id`, once `check` (a script expression over `m`,
/// the message element) holds: `[textContent of the body, classes, row text]`.
pub async fn wait_row(chat: &Chat, event_id: &str, what: &str, check: &str) -> Value {
    chat.wait_until_with(
        &format!("message {event_id}: {what}"),
        &format!(
            "const m = document.querySelector(\"#timeline .message[data-event-id='\" + arguments[0] + \"']\");
             if (!m) {{ return {{waiting: 'no row'}}; }}
             const body = m.querySelector('.body');
             return ({check}) ? [body ? body.textContent : null, m.className, m.textContent]
                 : {{waiting: [m.className, m.textContent.slice(0, 200)]}};"
        ),
        vec![json!(event_id)],
    )
    .await
}

/// Waits until the message `event_id` shows one reaction counted `count`, pressed (the user's
/// own among them) or not.
pub async fn wait_reaction(chat: &Chat, event_id: &str, what: &str, count: u32, pressed: bool) {
    wait_row(
        chat,
        event_id,
        what,
        &format!(
            "m.querySelector('.reaction .reaction-count')?.textContent === '{count}'
             && m.querySelector('.reaction').getAttribute('aria-pressed') === '{pressed}'"
        ),
    )
    .await;
}

/// Waits until the focused element reads `text` (a menu item reached by keyboard).
pub async fn wait_focus_reads(chat: &Chat, text: &str) {
    chat.wait_until_with(
        &format!("the focus on {text:?}"),
        "return document.activeElement?.textContent === arguments[0];",
        vec![json!(text)],
    )
    .await;
}

/// Gives the timeline the focus (where the arrow keys move between messages).
pub async fn focus_timeline(chat: &Chat) {
    chat.run(
        "focus the timeline",
        "document.getElementById('timeline').focus();",
        vec![],
    )
    .await;
}

/// What the composer holds (its `value`).
pub async fn composer_value(chat: &Chat) -> Value {
    chat.element("#composer")
        .await
        .property("value")
        .await
        .or_fail("composer value")
}

/// The id of the newest confirmed message whose body's text is `body`.
pub async fn message_id(chat: &Chat, body: &str) -> String {
    chat.wait_message(body, DEFAULT_WAIT).await.event_id
}
