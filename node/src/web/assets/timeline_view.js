// Causerie web client: the timeline on screen. The shown room's Timeline (timeline.js) as a list
// of `.message` and `.notice` items, updated in place as events arrive or are redacted; the view
// follows new messages while it is at the bottom and offers a jump otherwise.

import { $, h } from './dom.js';
import { loadOlder } from './history.js';
import { canRedactOthers, redactEvent } from './members.js';
import { menuFor } from './menus.js';
import { noticeText, senderName } from './notices.js';
import { reportEvent } from './reports.js';
import { state } from './state.js';
import { attestationText, formatTime, shortKey } from './text.js';
import { compareEvents, purgeTarget, redactionTarget } from './timeline.js';

/** Older history is fetched when the timeline is scrolled this close to its top. */
export const LOAD_OLDER_THRESHOLD_PX = 300;
/** Within this distance of the bottom the timeline counts as "at the bottom" and follows. */
const STICK_TO_BOTTOM_PX = 48;

/** Applies events to a timeline and, if it is shown, to the DOM. */
export function applyEvents(timeline, events) {
  const shown = state.active === timeline.room;
  const view = $('timeline');
  const atBottom = view.scrollHeight - view.scrollTop - view.clientHeight <= STICK_TO_BOTTOM_PX;
  const newestBefore = timeline.newest();
  let changed = false;
  for (const event of events) {
    const target = redactionTarget(event);
    if (target) {
      timeline.redacted.add(target);
      const victim = timeline.byId.get(target);
      if (victim && !victim.redacted) {
        victim.redacted = true;
        victim.content = {};
        if (shown) replaceEventNode(victim);
      }
    }
    const purged = purgeTarget(event);
    if (purged) {
      for (const victim of timeline.purgedBy(event, purged)) {
        timeline.redacted.add(victim.id);
        victim.redacted = true;
        victim.content = {};
        if (shown) replaceEventNode(victim);
      }
    }
    if (timeline.redacted.has(event.id)) {
      event.redacted = true;
      event.content = {};
    }
    const result = timeline.insert(event);
    if (!result) continue;
    changed = true;
    if (shown) {
      if (result.updated) replaceEventNode(timeline.events[result.index]);
      else insertEventNode(timeline, result.index);
    }
  }
  if (changed && shown) {
    if (atBottom) view.scrollTop = view.scrollHeight;
    else if (newestBefore && events.some((e) => e.kind === 'room.message' && compareEvents(e, newestBefore) > 0)) {
      // Something arrived below while the user reads older messages: offer to jump, never yank.
      $('jump-to-bottom').hidden = false;
    }
  }
  return changed;
}

/** Whether the user may delete `event` (their own message, or anyone's with the power to). */
function canRedact(event) {
  if (event.redacted || event.kind !== 'room.message') return false;
  return event.author === state.identity.user || canRedactOthers();
}

/**
 * A member's name by key: ours from the account, others from the member list, else from what the
 * shown timeline knows of them (a message they sent, their member event), else their short key.
 */
export function memberName(user) {
  if (user === state.identity?.user && state.account) return state.account.display_name || state.account.handle;
  const member = state.members.find((m) => m.user === user);
  if (member && (member.display_name || member.handle)) return member.display_name || member.handle;
  const timeline = state.active ? state.timelines.get(state.active) : null;
  for (let i = (timeline?.events.length ?? 0) - 1; i >= 0; i--) {
    const event = timeline.events[i];
    if (event.author === user && (event.sender?.display_name || event.sender?.handle)) return senderName(event);
    if (event.kind === 'room.member' && event.state_key === user && event.content?.display_name) return event.content.display_name;
  }
  return shortKey(user);
}

/** The event of the same kind and state key just before `event` in its timeline, if loaded. */
function earlierState(event) {
  const timeline = state.timelines.get(event.room);
  if (!timeline) return null;
  let index = timeline.events.indexOf(event);
  if (index < 0) index = timeline.events.length;
  for (let i = index - 1; i >= 0; i--) {
    const earlier = timeline.events[i];
    if (earlier.kind === event.kind && earlier.state_key === event.state_key) return earlier;
  }
  return null;
}

/** What the notices of the shown timeline know (notices.js). */
const noticeContext = {
  nameOf: memberName,
  earlier: earlierState,
  eventById: (id) => (state.active ? state.timelines.get(state.active)?.byId.get(id) ?? null : null),
};

/** The DOM node of one event: a `.message` for messages, a `.notice` for room changes. */
function eventNode(event) {
  const time = formatTime(event.origin_ts);
  const timeNode = h('time', { className: 'time', text: time.short, attrs: { title: time.full } });
  if (time.iso) timeNode.dateTime = time.iso;
  if (event.kind !== 'room.message') {
    const text = noticeText(event, noticeContext);
    if (text === null) return null;
    return h('li', { className: 'notice', data: { eventId: event.id } }, h('span', { text }), timeNode);
  }
  const sender = event.sender || {};
  const own = event.author === state.identity.user;
  const item = h('li', {
    className: `message${own ? ' own' : ''}${event.redacted ? ' redacted' : ''}`,
    data: { eventId: event.id, author: event.author },
  });
  const attestation = h('div', {
    className: 'attestation',
    text: `${attestationText(sender)} · key ${shortKey(event.author)}`,
  });
  attestation.hidden = true;
  const senderButton = h(
    'button',
    {
      className: 'sender',
      type: 'button',
      attrs: { title: attestationText(sender), 'aria-expanded': 'false' },
      onClick: () => {
        attestation.hidden = !attestation.hidden;
        senderButton.setAttribute('aria-expanded', String(!attestation.hidden));
      },
    },
    h('span', { className: 'name', text: senderName(event) }),
    sender.handle ? h('span', { className: 'handle', text: `@${sender.handle}` }) : null,
  );
  const meta = h('div', { className: 'meta' }, senderButton, timeNode);
  const actions = [];
  if (canRedact(event)) actions.push({ label: 'Delete message', danger: true, run: () => redactEvent(event) });
  if (!own && !event.redacted) actions.push({ label: 'Report…', run: () => reportEvent(event) });
  if (actions.length) meta.append(menuFor(`Actions for the message from ${senderName(event)}`, actions));
  const body = event.redacted
    ? h('div', { className: 'body deleted', text: 'message deleted' })
    : h('div', { className: 'body', text: typeof event.content?.body === 'string' ? event.content.body : '' });
  item.append(meta, attestation, body);
  return item;
}

/** Event id → DOM node of the shown timeline (rebuilt by renderTimeline). */
const eventNodes = new Map();

/** The shown DOM node of the event `id`, or null. */
function nodeOf(id) {
  return eventNodes.get(id) ?? null;
}

/** Shows the event at `index` of the shown timeline in its place. */
function insertEventNode(timeline, index) {
  const event = timeline.events[index];
  const node = eventNode(event);
  if (!node) return;
  eventNodes.set(event.id, node);
  const list = $('messages');
  // The next event in timeline order that has a node marks where this one goes.
  for (let i = index + 1; i < timeline.events.length; i++) {
    const next = nodeOf(timeline.events[i].id);
    if (next) {
      list.insertBefore(node, next);
      return;
    }
  }
  list.append(node);
}

/** Shows `event` again after a change (a redaction). */
function replaceEventNode(event) {
  const old = nodeOf(event.id);
  if (!old) return;
  const node = eventNode(event);
  if (node) {
    old.replaceWith(node);
    eventNodes.set(event.id, node);
  } else {
    old.remove();
    eventNodes.delete(event.id);
  }
}

/** Shows the active room's timeline afresh, keeping the scroll position. */
export function renderTimeline() {
  const list = $('messages');
  const view = $('timeline');
  const scrollTop = view.scrollTop;
  list.replaceChildren();
  eventNodes.clear();
  const timeline = state.active ? state.timelines.get(state.active) : null;
  if (timeline) {
    const nodes = [];
    for (const event of timeline.events) {
      const node = eventNode(event);
      if (!node) continue;
      eventNodes.set(event.id, node);
      nodes.push(node);
    }
    list.append(...nodes);
    renderTimelineStatus(timeline);
  }
  view.scrollTop = scrollTop;
}

/** The line above the timeline: loading, or the beginning of the room. */
export function renderTimelineStatus(timeline) {
  if (state.active !== timeline.room) return;
  $('timeline-status').textContent = !timeline.loaded
    ? 'Loading…'
    : timeline.loadingOlder
      ? 'Loading older messages…'
      : timeline.prev
        ? ''
        : 'This is the beginning of the room.';
}

/** Binds the timeline's scrolling: older pages near the top, the jump button near the bottom. */
export function bindTimeline() {
  const view = $('timeline');
  $('jump-to-bottom').addEventListener('click', () => {
    view.scrollTop = view.scrollHeight;
    $('jump-to-bottom').hidden = true;
    $('composer').focus();
  });
  view.addEventListener('scroll', () => {
    if (view.scrollHeight - view.scrollTop - view.clientHeight <= STICK_TO_BOTTOM_PX) $('jump-to-bottom').hidden = true;
    const timeline = state.active && state.timelines.get(state.active);
    if (timeline && timeline.loaded && view.scrollTop < LOAD_OLDER_THRESHOLD_PX) loadOlder(timeline);
  });
}
