// Causerie web client: what the timeline shows, row by row. From a room's events in timeline
// order (timeline.js) to the rows the view draws (timeline_view.js): messages grouped by sender
// (one header per run), a date line where the day changes, runs of room changes collapsed into
// one expandable line ("Alice created the room, 3 people joined"), the "new messages" line at
// the read marker, and the outbox's messages not yet sent. Edit and reaction events are not
// rows: they show on the message they change. Pure (no DOM), checked by tests/client_unit.mjs.

import { redactionTarget, relationOf } from './timeline.js';

/** Messages of one sender closer than this together share one header. */
export const GROUP_GAP_MS = 5 * 60 * 1000;
/** Runs of at least this many room changes in a row are shown collapsed. */
export const MIN_COLLAPSED_NOTICES = 2;

/**
 * Whether `event` is shown as a row of its own: not an edit or a reaction, nor the redaction of
 * a reaction or of a message by its own author (the message says "deleted" itself).
 */
export function isShownEvent(event, eventById) {
  if (relationOf(event)) return false;
  const target = redactionTarget(event);
  if (target) {
    const victim = eventById(target);
    if (!victim || victim.kind === 'room.reaction' || relationOf(victim)) return false;
    if (victim.author === event.author) return false;
  }
  return true;
}

/**
 * Whether a room change is routine, and so may be folded into a run: the room's creation and
 * settings, people joining, leaving or asking to join, and the first power levels. An act of one
 * member on another (an invitation, a ban, a removal, a mute, a deletion, a change of someone's
 * power) always stands on its own line. `earlier(event)`: the state event it replaced, or null.
 */
export function isRoutineNotice(event, earlier) {
  switch (event.kind) {
    case 'room.create':
    case 'room.name':
    case 'room.topic':
    case 'room.join_rules':
      return true;
    case 'room.power_levels':
      return earlier(event) === null;
    case 'room.member': {
      const membership = event.content?.membership;
      if (membership === 'join' || membership === 'knock') return true;
      return membership === 'leave' && event.state_key === event.author && earlier(event)?.content?.membership !== 'ban';
    }
    default:
      return false;
  }
}

/**
 * The one line that stands for a run of room changes: who created the room, who joined, left,
 * was invited or banned, and how many other changes.
 */
export function noticeSummary(events, nameOf) {
  const joined = [];
  const left = [];
  let invited = 0;
  let banned = 0;
  let other = 0;
  let created = null;
  const distinctPush = (list, user) => {
    if (!list.includes(user)) list.push(user);
  };
  for (const event of events) {
    const membership = event.kind === 'room.member' ? event.content?.membership : null;
    if (event.kind === 'room.create') created = event.author;
    else if (membership === 'join') distinctPush(joined, event.state_key);
    else if (membership === 'leave') distinctPush(left, event.state_key);
    else if (membership === 'invite') invited += 1;
    else if (membership === 'ban') banned += 1;
    else other += 1;
  }
  const people = (users, verb) => {
    if (users.length === 1) return `${nameOf(users[0])} ${verb}`;
    if (users.length === 2) return `${nameOf(users[0])} and ${nameOf(users[1])} ${verb}`;
    return `${users.length} people ${verb}`;
  };
  const parts = [];
  if (created) parts.push(`${nameOf(created)} created the room`);
  if (joined.length) parts.push(people(joined, 'joined'));
  if (left.length) parts.push(people(left, 'left'));
  if (invited) parts.push(invited === 1 ? '1 invitation' : `${invited} invitations`);
  if (banned) parts.push(banned === 1 ? '1 ban' : `${banned} bans`);
  if (other) parts.push(other === 1 ? '1 room change' : `${other} room changes`);
  return parts.join(', ');
}

/**
 * The rows for `events` (timeline order). `context`:
 * - `eventById(id)`, `nameOf(user)`, `noticeText(event)` (null: not shown), `earlier(event)`
 *   (the state event it replaced, or null);
 * - `dayOf(ms)`: a key naming the local day; `dayLabel(ms)`: its words ("Today", …);
 * - `expanded`: keys of the collapsed runs the user opened;
 * - `readEvent`: the id of the user's read marker, or null; `me`: the user's key;
 * - `pending`: the outbox's messages for this room (`{id, body, state}`), shown last.
 *
 * Rows: `{kind: 'date', key, label}`, `{kind: 'message', key, event, head}`,
 * `{kind: 'notice', key, event, text}`, `{kind: 'notices', key, events, summary, expanded}`,
 * `{kind: 'unread', key}`, `{kind: 'pending', key, item}`.
 */
export function buildRows(events, context) {
  const rows = [];
  let day = null;
  let last = null;
  let run = [];
  let unreadPending = false;
  let readIndex = context.readEvent ? events.findIndex((e) => e.id === context.readEvent) : -1;
  // What the user wrote they have read, and all before it: the line never sits above their
  // own messages, even when the marker has not caught up with them yet.
  for (let i = events.length - 1; readIndex >= 0 && i > readIndex; i--) {
    if (events[i].author === context.me) readIndex = i;
  }
  const hasUnreadAfter = readIndex >= 0 && events.slice(readIndex + 1).some((e) => e.kind === 'room.message' && e.author !== context.me && !relationOf(e));

  const flushRun = () => {
    if (!run.length) return;
    if (run.length >= MIN_COLLAPSED_NOTICES) {
      const key = `notices:${run[0].event.id}`;
      const expanded = context.expanded.has(key);
      const summary = noticeSummary(
        run.map((r) => r.event),
        context.nameOf,
      );
      rows.push({ kind: 'notices', key, events: run.map((r) => r.event), summary, expanded });
      if (expanded) rows.push(...run.map((r) => ({ ...r, inRun: true })));
    } else {
      rows.push(...run);
    }
    run = [];
  };

  for (let i = 0; i < events.length; i++) {
    const event = events[i];
    if (i === readIndex + 1 && hasUnreadAfter) unreadPending = true;
    if (!isShownEvent(event, context.eventById)) continue;
    let row = null;
    if (event.kind === 'room.message') {
      row = { kind: 'message', key: event.id, event, head: true };
    } else {
      const text = context.noticeText(event);
      if (text === null) continue;
      row = { kind: 'notice', key: event.id, event, text };
    }
    const eventDay = context.dayOf(event.origin_ts);
    if (eventDay !== day) {
      flushRun();
      day = eventDay;
      rows.push({ kind: 'date', key: `date:${eventDay}`, label: context.dayLabel(event.origin_ts) });
      last = null;
    }
    if (unreadPending) {
      flushRun();
      rows.push({ kind: 'unread', key: 'unread' });
      unreadPending = false;
      last = null;
    }
    if (row.kind === 'notice') {
      if (isRoutineNotice(event, context.earlier)) run.push(row);
      else {
        flushRun();
        rows.push(row);
      }
      last = null;
      continue;
    }
    flushRun();
    row.head = !(
      last &&
      last.author === event.author &&
      event.origin_ts - last.origin_ts < GROUP_GAP_MS &&
      event.origin_ts >= last.origin_ts
    );
    rows.push(row);
    last = event;
  }
  flushRun();
  for (const item of context.pending) rows.push({ kind: 'pending', key: `pending:${item.id}`, item });
  return rows;
}
