//! The moderator panel of the web client (`#moderation-dialog`, node/src/web/assets/
//! moderation_panel.js) through its DOM contract: opening it, choosing a tab, a member row's
//! action buttons, the moderation dialog (`#moderate-dialog`: reason and duration), and what an
//! affected user reads where they would write (`#composer-notice`, `#composer-error`).

use serde_json::json;

use super::chat::{Chat, OrFail};

impl Chat {
    /// Waits until dialog `#<name>-dialog` is open (`open == true`) or closed.
    pub async fn wait_dialog(&self, name: &str, open: bool) {
        self.wait_until_with(
            &format!(
                "#{name}-dialog to be {}",
                if open { "open" } else { "closed" }
            ),
            "const dialog = document.getElementById(arguments[0] + '-dialog');
             return dialog.open === arguments[1] || {waiting: dialog.open};",
            vec![json!(name), json!(open)],
        )
        .await;
    }

    /// Opens the moderator panel from the room bar (once its button is shown) on tab `tab`
    /// (`members`, `review`, `lists`, `rules`).
    pub async fn open_panel(&self, tab: &str) {
        self.click("#moderation-open:not([hidden])").await;
        self.wait_dialog("moderation", true).await;
        self.panel_tab(tab).await;
    }

    /// Shows tab `tab` of the open moderator panel.
    pub async fn panel_tab(&self, tab: &str) {
        self.click(&format!("#moderation-tab-{tab}")).await;
        self.wait_until_with(
            &format!("the panel's {tab} tab to be shown"),
            "const tab = document.getElementById('moderation-tab-' + arguments[0]);
             const panel = document.getElementById('moderation-' + arguments[0]);
             return (tab.getAttribute('aria-selected') === 'true' && !panel.hidden)
                 || {waiting: tab.getAttribute('aria-selected')};",
            vec![json!(tab)],
        )
        .await;
    }

    /// Closes the moderator panel.
    pub async fn close_panel(&self) {
        self.click("#moderation-close").await;
        self.wait_dialog("moderation", false).await;
    }

    /// Clicks the button labelled `label` in the panel's row of `user` (its members tab).
    pub async fn panel_member_action(&self, user: &str, label: &str) {
        self.panel_button(
            &format!("#moderation-members-list li[data-user='{user}']"),
            label,
        )
        .await;
    }

    /// Clicks the button labelled exactly `label` inside the first element matching `scope`,
    /// tried again while the panel re-renders.
    pub async fn panel_button(&self, scope: &str, label: &str) {
        self.wait_until_with(
            &format!("a button {label:?} in {scope}"),
            "const scope = document.querySelector(arguments[0]);
             if (!scope) return {waiting: 'no ' + arguments[0]};
             const buttons = Array.from(scope.querySelectorAll('button'));
             const button = buttons.find(b => b.textContent === arguments[1] && !b.disabled);
             if (!button) return {waiting: buttons.map(b => b.textContent)};
             button.click();
             return true;",
            vec![json!(scope), json!(label)],
        )
        .await;
    }

    /// Answers the open moderation dialog with `reason` and the duration labelled `duration`
    /// (when the dialog asks for one), then waits until it is closed.
    pub async fn answer_moderation(&self, reason: &str, duration: Option<&str>) {
        self.wait_dialog("moderate", true).await;
        self.fill("#moderate-reason", reason).await;
        if let Some(duration) = duration {
            let chosen = self
                .run(
                    "duration",
                    "const select = document.getElementById('moderate-duration');
                     const option = Array.from(select.options).find(o => o.textContent === arguments[0]);
                     if (!option) return false;
                     select.value = option.value;
                     select.dispatchEvent(new Event('change', {bubbles: true}));
                     return true;",
                    vec![json!(duration)],
                )
                .await;
            assert_eq!(chosen, json!(true), "no duration {duration:?}");
        }
        self.click("#moderate-ok").await;
        self.wait_dialog("moderate", false).await;
    }

    /// Clicks the button labelled `label` of the review queue's item whose message is `body`.
    pub async fn review_action(&self, body: &str, label: &str) {
        self.wait_until_with(
            &format!("a button {label:?} for {body:?} in the review queue"),
            "const item = Array.from(document.querySelectorAll('#moderation-review-list .review-item'))
                 .find(i => i.querySelector('.body').textContent === arguments[0]);
             if (!item) return {waiting: document.getElementById('moderation-review-list').textContent};
             const button = Array.from(item.querySelectorAll('button')).find(b => b.textContent === arguments[1]);
             if (!button) return {waiting: 'no button'};
             button.click();
             return true;",
            vec![json!(body), json!(label)],
        )
        .await;
    }

    /// Waits until the panel's row of `user` shows a badge or role containing `text`.
    pub async fn wait_panel_badge(&self, user: &str, text: &str) {
        self.wait_until_with(
            &format!("the panel's row of {user} to show {text:?}"),
            "const row = document.querySelector(\"#moderation-members-list li[data-user='\" + arguments[0] + \"']\");
             if (!row) return {waiting: 'no row'};
             const shown = Array.from(row.querySelectorAll('.role, .mod-badge')).map(b => b.textContent);
             return shown.some(t => t.includes(arguments[1])) || {waiting: shown};",
            vec![json!(user), json!(text)],
        )
        .await;
    }

    /// Waits until the element `#id` shows text containing every one of `parts`.
    pub async fn wait_text(&self, id: &str, parts: &[&str], timeout: std::time::Duration) {
        self.browser
            .wait_script(
                &format!("#{id} to say {parts:?}"),
                timeout,
                "const element = document.getElementById(arguments[0]);
                 const text = element ? element.textContent : '';
                 return (element && !element.hidden && arguments[1].every(p => text.includes(p)))
                     || {waiting: text};",
                vec![json!(id), json!(parts)],
            )
            .await
            .or_fail(id);
    }
}
