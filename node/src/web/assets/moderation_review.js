// Causerie web client: the review queue tab of the moderator panel (specs/moderation.md §7,
// `/api/v1/rooms/{room}/review`). Held submissions (not in the room), flagged events (shown)
// and hidden ones (kept off this node's screens), each with the classifier's reason and labels,
// and the moderator's choices: approve, reject, ban, or ban and purge. Approve and reject are
// calls of the node (a held event is ingested as its author signed it); a rejected event that
// is in the room is deleted with an ordinary signed redaction, and a ban is an ordinary signed
// ban (with `purge`, the purge deletes the rest). The queue is node-local state with no event
// on the stream: the tab reloads it while it is shown.

import { askModeration } from './dialogs.js';
import { $, h } from './dom.js';
import { DURATIONS, momentText } from './moderation.js';
import { keepingFocus, panelOpen, perform } from './moderation_panel.js';
import { act, call, roomPath } from './session.js';
import { state } from './state.js';
import { shortKey } from './text.js';
import { cborEqual } from './cbor.js';
import * as keys from './keys.js';

/** Items fetched at once (the first page, oldest first). */
const REVIEW_PAGE = 50;
/** How often the shown queue is fetched again. */
const REVIEW_POLL_MS = 2000;

/** The items of the room shown last, and the timer that fetches them again. */
const review = { room: null, items: [], count: 0, error: null, timer: null, shown: null };

/** What an item's state means, in words. */
const STATE_WORDS = {
  held: 'held: not in the room until approved',
  flagged: 'flagged: shown in the room',
  hidden: 'hidden on this node',
};

/** The name of a member by key (the member list of the active room), else a short key. */
function authorName(user) {
  const member = state.members.find((m) => m.user === user);
  return member?.display_name || member?.handle || shortKey(user);
}

/** Fetches the active room's queue and shows it; again in REVIEW_POLL_MS while it is shown. */
async function loadReview() {
  clearTimeout(review.timer);
  const room = state.active;
  if (!room || !panelOpen() || $('moderation-review').hidden) return;
  try {
    const page = await call('GET', `${roomPath(room)}/review?limit=${REVIEW_PAGE}`);
    review.items = Array.isArray(page.items) ? page.items : [];
    review.count = Number.isSafeInteger(page.count) ? page.count : review.items.length;
    review.error = null;
  } catch (error) {
    review.error = error;
  }
  review.room = room;
  if (state.active === room && panelOpen() && !$('moderation-review').hidden) {
    showItems();
    review.timer = setTimeout(loadReview, REVIEW_POLL_MS);
  }
}

/** One queued item: who, what, why, and the moderator's buttons. */
function itemRow(item) {
  const event = item.event || {};
  const name = authorName(event.author);
  const body = typeof event.content?.body === 'string' ? event.content.body : `(${event.kind ?? 'event'})`;
  const why = [item.reason, ...(Array.isArray(item.labels) ? item.labels : [])].filter((t) => typeof t === 'string' && t).join(' · ');
  const queued = Number.isSafeInteger(item.queued_ms) ? momentText(item.queued_ms, Date.now()) : '';
  const row = h(
    'li',
    { className: 'review-item', data: { key: String(item.item), item: String(item.item), eventId: event.id ?? '' } },
    h(
      'div',
      { className: 'mod-entry-main' },
      h(
        'div',
        { className: 'mod-member-main' },
        h('span', { className: 'name', text: name }),
        h('span', { className: `mod-badge mod-badge-${item.state === 'flagged' ? 'added' : 'muted'}`, text: STATE_WORDS[item.state] ?? String(item.state) }),
        queued ? h('span', { className: 'hint', text: queued }) : null,
      ),
      h('div', { className: 'body', text: body }),
      why ? h('div', { className: 'reason hint', text: `Why: ${why}` }) : null,
    ),
  );
  const actions = h('div', { className: 'mod-actions', attrs: { role: 'group', 'aria-label': `Review of the message from ${name}` } });
  for (const [label, run, danger] of [
    ['Approve', () => approve(item), false],
    ['Reject', () => reject(item), true],
    ['Ban…', () => banAuthor(item, false), true],
    ['Ban and purge…', () => banAuthor(item, true), true],
  ]) {
    actions.append(h('button', { type: 'button', className: `small${danger ? ' danger' : ''}`, text: label, onClick: run }));
  }
  row.append(actions);
  return row;
}

/** Shows the fetched queue. */
function showItems() {
  // Fetched again every few seconds: the list is rebuilt only when it changed, keeping the focus.
  const signature = JSON.stringify([review.room, review.count, review.items.map((i) => [i.item, i.state]), review.error?.reason]);
  if (signature === review.shown && $('moderation-review-list').childElementCount === review.items.length) return;
  review.shown = signature;
  keepingFocus($('moderation-review-list'), () => review.items.map(itemRow));
  const more = review.count > review.items.length ? ` Showing the oldest ${review.items.length} of ${review.count}.` : '';
  $('moderation-review-empty').hidden = review.items.length > 0;
  $('moderation-review-count').textContent = review.error ? '' : review.items.length ? `${review.count} waiting.${more}` : '';
  if (review.error) $('moderation-review-count').textContent = `Could not load the queue: ${review.error.reason ?? review.error.message}`;
}

/** Shows the tab (from the last fetch at once, then fresh from the node). */
export function renderReviewTab() {
  if (review.room === state.active) showItems();
  else {
    $('moderation-review-list').replaceChildren();
    $('moderation-review-empty').hidden = true;
  }
  loadReview();
}

/** Drops an item from the shown list at once (the next fetch confirms it). */
function forget(item) {
  review.items = review.items.filter((i) => i.item !== item.item);
  review.count = Math.max(0, review.count - 1);
  showItems();
}

/** Approve: a held message enters the room as its author signed it; a flagged one stays. */
async function approve(item) {
  const room = state.active;
  await perform(`The message from ${authorName(item.event?.author)} is approved.`, async () => {
    await call('POST', `${roomPath(room)}/review/${item.item}/approve`, {});
    forget(item);
  });
  loadReview();
}

/** Deletes an event that is in the room with a signed redaction (`reason` given to the room). */
async function redact(room, eventId, reason) {
  const target = keys.hexToBytes(eventId.slice(1));
  const action = { action: 'redact', event: eventId };
  if (reason) action.reason = reason;
  await act(room, action, { kind: 'room.redaction', content: (c) => c.redacts instanceof Uint8Array && cborEqual(c.redacts, target) });
}

/** Takes the item out of the queue; an event already in the room is deleted unless `keep`. */
async function rejectItem(room, item, reason, keep) {
  const answer = await call('POST', `${roomPath(room)}/review/${item.item}/reject`, reason ? { reason } : {});
  if (answer?.needs_redaction && !keep) await redact(room, answer.event_id, reason);
  forget(item);
}

/** Reject: a held message never enters the room; one in the room is deleted. */
async function reject(item) {
  const room = state.active;
  await perform(`The message from ${authorName(item.event?.author)} is rejected.`, () => rejectItem(room, item, null, false));
  loadReview();
}

/** Ban the item's author (for a chosen time, with a reason), rejecting the item; with `purge`,
 *  everything they wrote in the room is deleted too. */
async function banAuthor(item, purge) {
  const room = state.active;
  const user = item.event?.author;
  const name = authorName(user);
  const answer = await askModeration({
    title: purge ? `Ban ${name} and delete their messages` : `Ban ${name}`,
    text: purge ? `${name} is banned and every message they sent in this room is deleted.` : `${name} is banned; this message is rejected.`,
    ok: purge ? 'Ban and purge' : 'Ban',
    durations: DURATIONS,
  });
  if (!answer) return;
  const action = { action: 'ban', user };
  if (answer.reason) action.reason = answer.reason;
  if (answer.duration !== null) action.duration_ms = answer.duration;
  if (purge) action.purge = true;
  await perform(`${name} is banned${purge ? ' and their messages are deleted' : ''}.`, async () => {
    await rejectItem(room, item, answer.reason, purge);
    await act(room, action, {
      kind: 'room.member',
      stateKey: user,
      content: (c) => c.membership === 'ban' && (c.purge === true) === purge,
    });
  });
  loadReview();
}
