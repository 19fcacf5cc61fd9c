// Causerie web client: the timeline on screen. The shown room's Timeline (timeline.js) becomes
// rows (timeline_rows.js: grouped messages, date lines, collapsed room changes, the "new
// messages" line, the outbox's pending messages) drawn by a virtual list (virtual_list.js): only
// the rows near the viewport are in the DOM. Message bodies are rich text (markdown.js). Each
// message offers, through its "⋯" menu (keyboard: Tab to it, arrows, Enter), Reply, React, Edit
// and Delete for one's own, Report for others'; reactions are buttons that add or take back the
// user's own. The view follows new messages while it is at the bottom and offers a jump
// otherwise; while the user sees the bottom of the room, the read marker moves there.

import { $, h } from './dom.js';
import { QUICK_REACTIONS } from './emoji.js';
import { loadOlder } from './history.js';
import { plainExcerpt, renderBody } from './markdown.js';
import { canRedactOthers, redactEvent } from './members.js';
import { menuFor } from './menus.js';
import { noticeText, senderName } from './notices.js';
import { reportEvent } from './reports.js';
import { deleteOwnMessage, dismissOutboxItem, outbox, react, sendRead, unreact } from './sending.js';
import { state } from './state.js';
import { attestationText, formatTime, plainError, shortKey } from './text.js';
import { compareEvents, purgeTarget, redactionTarget, relationOf, shownBody } from './timeline.js';
import { buildRows } from './timeline_rows.js';
import { VirtualList } from './virtual_list.js';
import { startEdit, startReply } from './composer.js';
import { askConfirm } from './dialogs.js';

/** Older history is fetched when the timeline is scrolled this close to its top. */
export const LOAD_OLDER_THRESHOLD_PX = 300;
/** Within this distance of the bottom the timeline counts as "at the bottom" and follows. */
const STICK_TO_BOTTOM_PX = 48;
/** The read marker is posted at most this often per room. */
const READ_POST_INTERVAL_MS = 1500;
/** A refused read marker is posted again after at most this long. */
const MAX_READ_RETRY_MS = 30_000;
/** Pages fetched at most to find the message a reply quotes. */
const MAX_JUMP_PAGES = 20;
/** How long a message reached by a jump stays highlighted. */
const FLASH_MS = 2000;

/** The virtual list of #messages (made by bindTimeline). */
let view = null;
/** The room the list shows. */
let shownRoom = null;
/** Keys of the collapsed runs of room changes the user opened. */
const expanded = new Set();

/** Applies events to a timeline and, if it is shown, redraws it. `live`: from the stream. */
export function applyEvents(timeline, events, { live = false } = {}) {
  const me = state.identity?.user ?? null;
  const shown = state.active === timeline.room;
  const atBottom = shown && view ? view.atBottom(STICK_TO_BOTTOM_PX) : true;
  const newestBefore = timeline.newest();
  let changed = false;
  const batch = new Set(events.map((e) => e.id));
  const relations = [];
  for (const event of events) {
    const target = redactionTarget(event);
    if (target) {
      timeline.redacted.add(target);
      if (timeline.unapplyReaction(target, me)) changed = true;
      const victim = timeline.byId.get(target);
      if (victim && !victim.redacted) {
        redact(victim, victim.author === event.author);
        changed = true;
      }
    }
    const purged = purgeTarget(event);
    if (purged) {
      for (const victim of timeline.purgedBy(event, purged)) {
        timeline.redacted.add(victim.id);
        redact(victim, false);
        changed = true;
      }
    }
    if (timeline.redacted.has(event.id)) redact(event, false);
    const relation = relationOf(event);
    if (relation) {
      // Applied only to a target held before (and not in this batch, whose messages come with
      // their relations applied by the node); otherwise only remembered (for unreact).
      if (timeline.byId.has(relation.target) && !batch.has(relation.target) && (live || !timeline.byId.has(event.id))) relations.push(event);
      else noteRelation(timeline, event, relation);
    }
  }
  if (timeline.insertMany(events)) changed = true;
  if (!live && changed) {
    // A page of history can tell what an event shown before replaced: sentences are redone.
    noticeTexts = new WeakMap();
    earlierCache = new WeakMap();
  }
  for (const event of relations) if (timeline.applyRelation(event, me)) changed = true;
  if (changed && shown) {
    scheduleRender(atBottom);
    if (!atBottom && newestBefore && events.some((e) => e.kind === 'room.message' && !relationOf(e) && compareEvents(e, newestBefore) > 0)) {
      // Something arrived below while the user reads older messages: offer to jump, never yank.
      $('jump-to-bottom').hidden = false;
    }
  }
  return changed;
}

/** Marks `event` as redacted (`deleted`: by its own author). */
function redact(event, deleted) {
  event.redacted = true;
  if (deleted) event.deleted = true;
  event.content = {};
  event.edited = null;
  event.reactions = [];
}

/** Remembers a relation without applying it (its target shows it already, or is not loaded). */
function noteRelation(timeline, event, relation) {
  timeline.applied.add(event.id);
  if (relation.type === 'reaction') timeline.reactions.set(event.id, { target: relation.target, key: relation.key, author: event.author });
}

/** Whether the user may delete `event`: their own message, or anyone's with the power to. */
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
  const events = timeline?.events ?? [];
  // The newest few hundred events are enough to find a name; a huge room is not scanned.
  for (let i = events.length - 1, seen = 0; i >= 0 && seen < 500; i--, seen++) {
    const event = events[i];
    if (event.author === user && (event.sender?.display_name || event.sender?.handle)) return senderName(event);
    if (event.kind === 'room.member' && event.state_key === user && event.content?.display_name) return event.content.display_name;
  }
  return shortKey(user);
}

/** Earlier state events by event (found once per render: a search back through the timeline). */
let earlierCache = new WeakMap();

/** The event of the same kind and state key just before `event` in its timeline, if loaded. */
function earlierState(event) {
  if (earlierCache.has(event)) return earlierCache.get(event);
  const timeline = state.timelines.get(event.room);
  let found = null;
  if (timeline) {
    const events = timeline.events;
    let low = 0;
    let high = events.length;
    while (low < high) {
      const middle = (low + high) >> 1;
      if (compareEvents(events[middle], event) < 0) low = middle + 1;
      else high = middle;
    }
    for (let i = low - 1; i >= 0; i--) {
      const earlier = events[i];
      if (earlier.kind === event.kind && earlier.state_key === event.state_key) {
        found = earlier;
        break;
      }
    }
  }
  earlierCache.set(event, found);
  return found;
}

/** What the notices of the shown timeline know (notices.js). */
const noticeContext = {
  nameOf: memberName,
  earlier: earlierState,
  eventById: (id) => (state.active ? state.timelines.get(state.active)?.byId.get(id) ?? null : null),
};

/** Notice sentences by event (a sentence reads the events before it: computed once). */
let noticeTexts = new WeakMap();

function cachedNoticeText(event) {
  if (!noticeTexts.has(event)) noticeTexts.set(event, noticeText(event, noticeContext));
  return noticeTexts.get(event);
}

/** The local day of `ms` as a key, and in words. */
const dayOf = (ms) => {
  const date = new Date(Number.isSafeInteger(ms) ? ms : 0);
  return `${date.getFullYear()}-${date.getMonth() + 1}-${date.getDate()}`;
};

function dayLabel(ms) {
  const date = new Date(Number.isSafeInteger(ms) ? ms : 0);
  const today = new Date();
  const yesterday = new Date(today.getFullYear(), today.getMonth(), today.getDate() - 1);
  if (date.toDateString() === today.toDateString()) return 'Today';
  if (date.toDateString() === yesterday.toDateString()) return 'Yesterday';
  const sameYear = date.getFullYear() === today.getFullYear();
  return date.toLocaleDateString(undefined, { weekday: 'long', month: 'long', day: 'numeric', year: sameYear ? undefined : 'numeric' });
}

/** The user's handle, for the mentions of them. */
const myHandle = () => state.account?.handle ?? state.identity?.handle ?? null;

/** Whether `event` mentions the user or replies to them. */
function mentionsMe(event) {
  const me = state.identity?.user;
  if (!me || event.author === me) return false;
  const mentions = event.editedMentions ?? event.mentions;
  if (Array.isArray(mentions) && mentions.includes(me)) return true;
  const replied = event.reply_to?.id ? state.timelines.get(event.room)?.byId.get(event.reply_to.id) : null;
  return (event.reply_to?.author ?? replied?.author) === me;
}

/** The time of an event, short, with the full date in its title. */
function timeNode(ms) {
  const time = formatTime(ms);
  const node = h('time', { className: 'time', text: time.short, attrs: { title: time.full } });
  if (time.iso) node.dateTime = time.iso;
  return node;
}

/** The sender of `event` with their full handle; the button shows who vouches for them. */
function senderButton(event, attestation) {
  const sender = event.sender || {};
  const button = h(
    'button',
    {
      className: 'sender',
      type: 'button',
      attrs: { title: attestationText(sender), 'aria-expanded': 'false' },
      data: { focusKey: 'sender' },
      onClick: () => {
        attestation.hidden = !attestation.hidden;
        button.setAttribute('aria-expanded', String(!attestation.hidden));
      },
    },
    h('span', { className: 'name', text: senderName(event) }),
    sender.handle ? h('span', { className: 'handle', text: `@${sender.handle}` }) : null,
  );
  return button;
}

/** The actions of the "⋯" menu of a message. */
function messageActions(event) {
  const own = event.author === state.identity.user;
  const actions = [];
  if (event.redacted) {
    if (!own) actions.push({ label: 'Report…', run: () => reportEvent(event) });
    return actions;
  }
  actions.push({ label: 'Reply', run: () => startReply(event) });
  actions.push({ label: 'React…', run: () => openReactionPicker(event) });
  if (own) {
    actions.push({ label: 'Edit', run: () => startEdit(event) });
    actions.push({ label: 'Delete', danger: true, run: () => deleteOwn(event) });
  } else {
    if (canRedact(event)) actions.push({ label: 'Delete message', danger: true, run: () => redactEvent(event) });
    actions.push({ label: 'Report…', run: () => reportEvent(event) });
  }
  return actions;
}

/** Asks, then deletes the user's own message. */
async function deleteOwn(event) {
  const choice = await askConfirm({ title: 'Delete this message?', text: 'Everyone in the room will see “message deleted” instead.', ok: 'Delete' });
  if (choice !== 'ok') return;
  try {
    await deleteOwnMessage(event);
  } catch (error) {
    showActionError(error);
  }
}

/** Shows why an action on a message failed, under the composer. */
function showActionError(error) {
  const plain = plainError(error);
  $('composer-error').textContent = plain.detail && plain.detail !== plain.words ? `${plain.words} (${plain.detail})` : plain.words;
}

/**
 * The quote above a reply: who and what it answers; a click jumps to it. The live stream names
 * only the replied message's id: what it says then comes from the timeline, when it is held.
 */
function replyQuote(reply, room) {
  const target = state.timelines.get(room)?.byId.get(reply.id) ?? null;
  const author = reply.author ?? target?.author ?? null;
  const handle = reply.handle ?? target?.sender?.handle ?? null;
  const who = handle ? `@${handle}` : author ? memberName(author) : 'a message';
  const body = target && !target.redacted ? shownBody(target) : reply.body;
  const text = typeof body === 'string' ? plainExcerpt(body, 120) : target?.redacted ? 'a deleted message' : 'a message not shown';
  return h(
    'button',
    {
      className: 'reply-quote',
      type: 'button',
      data: { focusKey: 'quote' },
      attrs: { title: 'Show the message this answers' },
      onClick: () => jumpTo(reply.id),
    },
    h('span', { className: 'visually-hidden', text: 'In reply to ' }),
    h('span', { className: 'reply-author', text: who }),
    h('span', { className: 'reply-text', text }),
  );
}

/** The reactions of `event` as buttons: the emoji and the count; pressed for the user's own. */
function reactionsNode(event) {
  const list = h('div', { className: 'reactions', attrs: { role: 'group', 'aria-label': 'Reactions' } });
  for (const reaction of event.reactions) {
    if (!reaction || typeof reaction.key !== 'string' || !(reaction.count > 0)) continue;
    const names = (reaction.users ?? []).map(memberName);
    const more = reaction.count - names.length;
    const who = names.join(', ') + (more > 0 ? ` and ${more} more` : '');
    const button = h('button', {
      className: `reaction${reaction.mine ? ' mine' : ''}`,
      type: 'button',
      data: { focusKey: `reaction:${reaction.key}`, key: reaction.key },
      attrs: {
        'aria-pressed': String(Boolean(reaction.mine)),
        'aria-label': `${reaction.key} ${reaction.count}: ${who}${reaction.mine ? '. Press to take back yours' : '. Press to add yours'}`,
        title: who,
      },
      onClick: () => toggleReaction(event, reaction.key, reaction.mine),
    });
    button.append(h('span', { className: 'reaction-key', text: reaction.key }), h('span', { className: 'reaction-count', text: String(reaction.count) }));
    list.append(button);
  }
  return list.childElementCount ? list : null;
}

/** Adds or takes back the user's reaction. */
async function toggleReaction(event, key, mine) {
  try {
    await (mine ? unreact(event, key) : react(event, key));
  } catch (error) {
    showActionError(error);
  }
}

/** The row of a message. */
function messageNode(event, head) {
  const own = event.author === state.identity.user;
  const classes = ['message', head ? 'head' : 'continued'];
  if (own) classes.push('own');
  if (event.redacted) classes.push('redacted');
  if (!event.redacted && mentionsMe(event)) classes.push('mentions-me');
  const item = h('li', { className: classes.join(' '), data: { eventId: event.id, author: event.author }, attrs: { tabindex: '-1' } });
  if (event.reply_to && typeof event.reply_to === 'object' && typeof event.reply_to.id === 'string' && !event.redacted) {
    item.append(replyQuote(event.reply_to, event.room));
  }
  const attestation = h('div', { className: 'attestation', text: `${attestationText(event.sender)} · key ${shortKey(event.author)}` });
  attestation.hidden = true;
  const actions = messageActions(event);
  const menu = actions.length ? menuFor(`Actions for the message from ${senderName(event)}`, actions) : null;
  menu?.querySelector('.menu-button')?.setAttribute('data-focus-key', 'menu');
  if (head) {
    item.append(h('div', { className: 'meta' }, senderButton(event, attestation), timeNode(event.origin_ts), menu), attestation);
  } else {
    // The sender is not repeated on screen, but read out to screen readers with each message.
    const sender = event.sender || {};
    const hidden = h('span', { className: 'sender visually-hidden' }, h('span', { className: 'name', text: senderName(event) }));
    if (sender.handle) hidden.append(h('span', { className: 'handle', text: `@${sender.handle}` }));
    item.append(h('div', { className: 'meta compact' }, hidden, timeNode(event.origin_ts), menu));
  }
  let body;
  if (event.redacted) {
    body = h('div', { className: 'body deleted', text: event.deleted ? 'message deleted' : 'message removed' });
  } else {
    body = h('div', { className: 'body' });
    body.append(renderBody(shownBody(event), myHandle()));
  }
  item.append(body);
  if (event.edited && !event.redacted) {
    const when = formatTime(event.edited.origin_ts);
    item.append(h('span', { className: 'edited', text: '(edited)', attrs: { title: when.full ? `edited ${when.full}` : 'edited' } }));
  }
  if (Array.isArray(event.reactions) && event.reactions.length && !event.redacted) {
    const reactions = reactionsNode(event);
    if (reactions) item.append(reactions);
  }
  return item;
}

/** The row of an outbox message not yet taken by the node. */
function pendingNode(item) {
  const node = h('li', { className: `message head own pending ${item.state}`, data: { outboxId: String(item.id) } });
  const status =
    item.state === 'failed'
      ? `Not sent: ${plainError(item.error).words}`
      : item.state === 'sending'
        ? 'Sending…'
        : state.connection === 'online'
          ? 'Waiting to be sent…'
          : 'Waiting for the node: sent as soon as it is back';
  const meta = h('div', { className: 'meta' }, h('span', { className: 'sender' }, h('span', { className: 'name', text: memberName(state.identity.user) })), h('span', { className: 'pending-status', text: status }));
  const body = h('div', { className: 'body' });
  body.append(renderBody(item.body, myHandle()));
  node.append(meta, body);
  if (item.state === 'failed') {
    node.append(
      h(
        'div',
        { className: 'row pending-actions' },
        h('button', { className: 'small', type: 'button', text: 'Edit and resend', data: { focusKey: 'resend' }, onClick: () => startResend(item) }),
        h('button', { className: 'small', type: 'button', text: 'Discard', data: { focusKey: 'discard' }, onClick: () => dismissOutboxItem(item.id) }),
      ),
    );
  }
  return node;
}

/** Puts a refused message back into the composer and drops it from the outbox. */
function startResend(item) {
  dismissOutboxItem(item.id);
  const composer = $('composer');
  composer.value = item.body;
  composer.focus();
}

/** The row of a collapsed run of room changes; the button shows or hides them. */
function noticesNode(row) {
  const button = h(
    'button',
    {
      className: 'notices-toggle',
      type: 'button',
      data: { focusKey: 'toggle' },
      attrs: { 'aria-expanded': String(row.expanded) },
      onClick: () => {
        if (expanded.has(row.key)) expanded.delete(row.key);
        else expanded.add(row.key);
        scheduleRender(false);
      },
    },
    h('span', { className: 'notices-summary', text: row.summary }),
    h('span', { className: 'notices-more', text: row.expanded ? 'hide' : `show all ${row.events.length}` }),
  );
  const last = row.events[row.events.length - 1];
  return h('li', { className: 'notice notices', data: { count: String(row.events.length) } }, button, timeNode(last.origin_ts));
}

/** The DOM node of one row. */
function renderRow(row) {
  switch (row.kind) {
    case 'date':
      return h('li', { className: 'day-separator' }, h('span', { text: row.label }));
    case 'unread':
      return h('li', { className: 'unread-line' }, h('span', { text: 'New messages' }));
    case 'notices':
      return noticesNode(row);
    case 'notice':
      return h('li', { className: `notice${row.inRun ? ' in-run' : ''}`, data: { eventId: row.event.id } }, h('span', { text: row.text }), timeNode(row.event.origin_ts));
    case 'pending':
      return pendingNode(row.item);
    default:
      return messageNode(row.event, row.head);
  }
}

/** What changes when a shown row must be drawn again. */
function rowSignature(row) {
  switch (row.kind) {
    case 'message': {
      const e = row.event;
      return `${row.head}|${e.redacted}|${e.deleted}|${e.edited?.event ?? ''}|${JSON.stringify(e.reactions ?? [])}|${state.members.length}`;
    }
    case 'notices':
      return `${row.expanded}|${row.summary}`;
    case 'notice':
      return row.text;
    case 'pending':
      return `${row.item.state}|${row.item.error?.reason ?? ''}|${state.connection}`;
    default:
      return row.label ?? '';
  }
}

/** A guess of a row's height before it was drawn (px). */
function estimateRow(row) {
  switch (row.kind) {
    case 'date':
      return 40;
    case 'unread':
      return 30;
    case 'notices':
    case 'notice':
      return 26;
    case 'pending':
      return 60;
    default: {
      const body = row.event.redacted ? '' : shownBody(row.event);
      const lines = Math.max(1, Math.ceil(body.length / 70)) + (body.match(/\n/g)?.length ?? 0);
      let height = 10 + lines * 22 + (row.head ? 26 : 0);
      if (row.event.reply_to) height += 28;
      if (row.event.reactions?.length) height += 34;
      return height;
    }
  }
}

/** The rows of `timeline` as the view shows them. */
function rowsOf(timeline) {
  return buildRows(timeline.events, {
    eventById: (id) => timeline.byId.get(id) ?? null,
    nameOf: memberName,
    noticeText: cachedNoticeText,
    earlier: earlierState,
    dayOf,
    dayLabel,
    expanded,
    readEvent: timeline.readMarker ?? null,
    me: state.identity?.user ?? null,
    pending: outbox.pendingFor(timeline.room, (item) => timeline.byId.has(item.eventId)),
  });
}

let renderQueued = false;
let renderKeepBottom = false;

/** Redraws the shown timeline after the current task (many events arrive in one go). */
export function scheduleRender(keepBottom) {
  renderKeepBottom ||= keepBottom;
  if (renderQueued) return;
  renderQueued = true;
  queueMicrotask(() => {
    renderQueued = false;
    const keep = renderKeepBottom;
    renderKeepBottom = false;
    drawActive(keep);
  });
}

/** Draws the active room's rows; `keepBottom`: stay at the newest. */
function drawActive(keepBottom) {
  if (!view) return;
  const timeline = state.active ? state.timelines.get(state.active) : null;
  if (!timeline) {
    view.reset();
    shownRoom = null;
    return;
  }
  if (shownRoom !== timeline.room) {
    view.reset();
    shownRoom = timeline.room;
    keepBottom = true;
  }
  outbox.settle((item) => timeline.byId.has(item.eventId));
  view.setRows(rowsOf(timeline), { keepBottom });
  renderTimelineStatus(timeline);
  maybeMarkRead();
}

/** Shows the active room's timeline afresh (another room, or changed names). */
export function renderTimeline() {
  noticeTexts = new WeakMap();
  earlierCache = new WeakMap();
  const timeline = state.active ? state.timelines.get(state.active) : null;
  const keepBottom = shownRoom !== state.active || (view ? view.atBottom(STICK_TO_BOTTOM_PX) : true);
  drawActive(keepBottom);
  if (timeline) renderTimelineStatus(timeline);
}

/** The outbox changed for `room`: its pending rows are redrawn. */
export function renderPending(room) {
  if (room === state.active) scheduleRender(view ? view.atBottom(STICK_TO_BOTTOM_PX) : true);
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

/** Scrolls to the newest message. */
export function scrollToBottom() {
  const timeline = $('timeline');
  timeline.scrollTop = timeline.scrollHeight;
  view?.onScroll();
  timeline.scrollTop = timeline.scrollHeight;
}

/** Shows the message `id` (paging back to find it), focused and briefly highlighted. */
export async function jumpTo(id) {
  const timeline = state.active ? state.timelines.get(state.active) : null;
  if (!timeline) return;
  for (let i = 0; i < MAX_JUMP_PAGES && !timeline.byId.has(id) && timeline.prev; i++) await loadOlder(timeline);
  if (!timeline.byId.has(id) || state.active !== timeline.room) return;
  drawActive(false);
  const node = view.reveal(id);
  if (!node) return;
  node.classList.add('flash');
  node.focus({ preventScroll: true });
  setTimeout(() => node.classList.remove('flash'), FLASH_MS);
}

/** The newest message of the active timeline, if it is shown as a row (not an edit, a reaction). */
function newestShown(timeline) {
  for (let i = timeline.events.length - 1; i >= 0; i--) {
    const event = timeline.events[i];
    if (!relationOf(event) && event.kind !== 'room.reaction') return event;
  }
  return null;
}

/** Read marker already posted per room, and when. */
const readPosted = new Map();
let readTimer = null;

/**
 * Moves the read marker to the newest event while the user sees the bottom of the active room
 * (page visible, window focused), at most every READ_POST_INTERVAL_MS.
 */
function maybeMarkRead() {
  const timeline = state.active ? state.timelines.get(state.active) : null;
  if (!timeline?.loaded || !view || document.visibilityState !== 'visible' || !document.hasFocus()) return;
  if (!view.atBottom(STICK_TO_BOTTOM_PX)) return;
  const newest = newestShown(timeline);
  if (!newest || newest.id === timeline.readMarkerPosted) return;
  const last = readPosted.get(timeline.room) ?? 0;
  const wait = last + READ_POST_INTERVAL_MS - Date.now();
  if (wait > 0) {
    clearTimeout(readTimer);
    readTimer = setTimeout(maybeMarkRead, wait);
    return;
  }
  readPosted.set(timeline.room, Date.now());
  timeline.readMarkerPosted = newest.id;
  sendRead(timeline.room, newest.id).then((error) => {
    if (!error || timeline.readMarkerPosted !== newest.id) return;
    // Not moved (signals come too fast, or the node is away): tried again later, so the
    // marker and the unread counts catch up without a new message.
    timeline.readMarkerPosted = null;
    const wait = Number.isFinite(error.retryAfter) && error.retryAfter > 0 ? error.retryAfter * 1000 : READ_POST_INTERVAL_MS;
    clearTimeout(readTimer);
    readTimer = setTimeout(maybeMarkRead, Math.min(wait, MAX_READ_RETRY_MS));
  });
}

/** The small reaction picker of a message (quick reactions), by keyboard or pointer. */
function openReactionPicker(event) {
  closeReactionPicker();
  const anchor = view?.shown.get(event.id)?.node ?? null;
  const picker = h('div', { className: 'reaction-picker', attrs: { role: 'dialog', 'aria-label': 'React to the message' } });
  for (const emoji of QUICK_REACTIONS) {
    const mine = event.reactions?.some((r) => r.key === emoji && r.mine);
    picker.append(
      h('button', {
        className: 'reaction-choice',
        type: 'button',
        text: emoji,
        attrs: { 'aria-label': `React with ${emoji}`, 'aria-pressed': String(Boolean(mine)) },
        onClick: () => {
          closeReactionPicker();
          anchor?.focus();
          toggleReaction(event, emoji, Boolean(mine));
        },
      }),
    );
  }
  picker.addEventListener('keydown', (e) => {
    const buttons = [...picker.querySelectorAll('button')];
    const at = buttons.indexOf(document.activeElement);
    if (e.key === 'Escape') {
      closeReactionPicker();
      anchor?.focus();
    } else if (e.key === 'ArrowRight' || e.key === 'ArrowDown') buttons[(at + 1) % buttons.length].focus();
    else if (e.key === 'ArrowLeft' || e.key === 'ArrowUp') buttons[(at - 1 + buttons.length) % buttons.length].focus();
    else if (e.key === 'Tab') {
      e.preventDefault();
      buttons[(at + (e.shiftKey ? -1 : 1) + buttons.length) % buttons.length].focus();
    } else return;
    e.preventDefault();
    e.stopPropagation();
  });
  document.body.append(picker);
  const rect = (anchor ?? $('timeline')).getBoundingClientRect();
  const top = Math.max(8, Math.min(rect.top + 8, window.innerHeight - picker.offsetHeight - 8));
  picker.style.top = `${top}px`;
  picker.style.left = `${Math.max(8, Math.min(rect.right - picker.offsetWidth - 8, window.innerWidth - picker.offsetWidth - 8))}px`;
  picker.querySelector('button').focus();
}

function closeReactionPicker() {
  document.querySelector('.reaction-picker')?.remove();
}

/**
 * Arrow keys move between the messages while the timeline or a message has the focus; Home and
 * End go to the first and last shown.
 */
function onTimelineKey(e) {
  if (!['ArrowUp', 'ArrowDown'].includes(e.key) || !view) return;
  const target = e.target;
  const row = target.closest?.('li[data-row-key]');
  if (target !== $('timeline') && row !== target) return;
  const keys = view.rows.filter((r) => r.kind === 'message').map((r) => r.key);
  if (!keys.length) return;
  let at = row ? keys.indexOf(row.dataset.rowKey) : -1;
  if (at < 0) at = e.key === 'ArrowUp' ? keys.length : -1;
  const next = keys[Math.max(0, Math.min(keys.length - 1, at + (e.key === 'ArrowUp' ? -1 : 1)))];
  e.preventDefault();
  view.reveal(next)?.focus();
}

/** Binds the timeline's scrolling: older pages near the top, the jump button near the bottom. */
export function bindTimeline() {
  const scroller = $('timeline');
  view = new VirtualList({
    scroller,
    list: $('messages'),
    render: renderRow,
    estimate: estimateRow,
    signature: rowSignature,
  });
  $('jump-to-bottom').addEventListener('click', () => {
    scrollToBottom();
    $('jump-to-bottom').hidden = true;
    $('composer').focus();
  });
  scroller.addEventListener('scroll', () => {
    view.onScroll();
    if (view.atBottom(STICK_TO_BOTTOM_PX)) {
      $('jump-to-bottom').hidden = true;
      maybeMarkRead();
    }
    const timeline = state.active && state.timelines.get(state.active);
    if (timeline && timeline.loaded && scroller.scrollTop < LOAD_OLDER_THRESHOLD_PX) loadOlder(timeline);
  });
  scroller.addEventListener('keydown', onTimelineKey);
  window.addEventListener('resize', () => view.onScroll());
  window.addEventListener('focus', maybeMarkRead);
  document.addEventListener('visibilitychange', maybeMarkRead);
  document.addEventListener('click', (e) => {
    if (!e.target.closest?.('.reaction-picker')) closeReactionPicker();
  });
}

/** The virtual list (for the bench and tests of the page: how many rows are drawn). */
export function timelineView() {
  return view;
}
