// Node.js checks of the timeline's pure modules: rows (grouping, date lines, collapsed room
// changes, the "new messages" line), relations applied live, the outbox's order, the virtual
// list's window math, mentions, emoji and typing. Run by client_unit.mjs.

import assert from 'node:assert/strict';
import { MAX_REACTION_USERS, Timeline, relationOf, shownBody } from '../assets/timeline.js';
import { GROUP_GAP_MS, buildRows, isRoutineNotice, isShownEvent, noticeSummary } from '../assets/timeline_rows.js';
import { MAX_OUTBOX, Outbox, OutboxFull } from '../assets/outbox.js';
import { MAX_WHOLE_ROWS, indexAt, prefixOffsets, visibleRange } from '../assets/virtual_list.js';
import { MAX_MENTIONS, applyCompletion, completionAt, mentionCandidates, mentionTokens, mentionsFor } from '../assets/mentions.js';
import { emojiCandidates } from '../assets/emoji.js';
import { TYPING_REFRESH_MS, TypingThrottle, typingText } from '../assets/typing.js';

const ROOM = `!${'aa'.repeat(32)}`;
const ALICE = 'a1'.repeat(32);
const BOB = 'b2'.repeat(32);
const DAY = 24 * 3600 * 1000;
const T0 = Date.UTC(2026, 11, 1, 10, 0, 0);
let depth = 0;
const id = (n) => `$${n.toString(16).padStart(64, '0')}`;
function ev(kind, author, ts, extra = {}) {
  depth += 1;
  return { id: id(depth), room: ROOM, kind, depth, author, origin_ts: ts, state_key: null, content: {}, ...extra };
}
const msg = (author, ts, body, extra = {}) => ev('room.message', author, ts, { content: { body }, ...extra });
const member = (user, ts, membership) => ev('room.member', user, ts, { state_key: user, content: { membership } });

function context(events, extra = {}) {
  const byId = new Map(events.map((e) => [e.id, e]));
  return {
    eventById: (i) => byId.get(i) ?? null,
    nameOf: (u) => (u === ALICE ? 'Alice' : u === BOB ? 'Bob' : u.slice(0, 4)),
    noticeText: (e) => `${e.kind} by ${e.author.slice(0, 2)}`,
    earlier: () => null,
    dayOf: (ms) => new Date(ms).toISOString().slice(0, 10),
    dayLabel: (ms) => new Date(ms).toISOString().slice(0, 10),
    expanded: new Set(),
    readEvent: null,
    me: ALICE,
    pending: [],
    ...extra,
  };
}
const kinds = (rows) => rows.map((r) => (r.kind === 'message' ? (r.head ? 'H' : 'c') : r.kind));

// Grouping: one header per run of one sender; a gap, another sender or a notice starts a run.
{
  const create = ev('room.create', ALICE, T0);
  const join = member(ALICE, T0 + 1, 'join');
  const power = ev('room.power_levels', ALICE, T0 + 2, { state_key: '' });
  const rules = ev('room.join_rules', ALICE, T0 + 3, { state_key: '' });
  const name = ev('room.name', ALICE, T0 + 4, { state_key: '' });
  const topic = ev('room.topic', ALICE, T0 + 5, { state_key: '' });
  const m1 = msg(ALICE, T0 + 60000, 'one');
  const m2 = msg(ALICE, T0 + 120000, 'two');
  const m3 = msg(BOB, T0 + 130000, 'three');
  const m4 = msg(BOB, T0 + 130000 + GROUP_GAP_MS, 'after a pause');
  const bobJoins = member(BOB, T0 + 130000 + GROUP_GAP_MS + 1, 'join');
  const m5 = msg(BOB, T0 + 130000 + GROUP_GAP_MS + 2, 'after a notice');
  const m6 = msg(BOB, T0 + DAY, 'next day');
  const events = [create, join, power, rules, name, topic, m1, m2, m3, m4, bobJoins, m5, m6];
  const rows = buildRows(events, context(events));
  assert.deepEqual(kinds(rows), ['date', 'notices', 'H', 'c', 'H', 'H', 'notice', 'H', 'date', 'H']);
  // Creating a room leaves one line, not six.
  assert.equal(rows[1].events.length, 6);
  assert.equal(rows[1].summary, 'Alice created the room, Alice joined, 4 room changes');
  // Opened, the run shows its notices under the summary.
  const opened = buildRows(events, context(events, { expanded: new Set([rows[1].key]) }));
  assert.deepEqual(kinds(opened).slice(0, 8), ['date', 'notices', 'notice', 'notice', 'notice', 'notice', 'notice', 'notice']);
  assert.ok(opened[2].inRun);
  // Unique keys (the virtual list relies on them).
  assert.equal(new Set(opened.map((r) => r.key)).size, opened.length);
  // The "new messages" line after the read marker, only if someone else wrote since.
  const unread = buildRows(events, context(events, { readEvent: m2.id }));
  assert.deepEqual(kinds(unread).slice(2, 6), ['H', 'c', 'unread', 'H']);
  assert.ok(!kinds(buildRows(events, context(events, { readEvent: m6.id }))).includes('unread'));
  // A marker behind the user's own message counts from that message.
  assert.deepEqual(kinds(buildRows(events, context(events, { readEvent: m1.id }))).slice(2, 6), ['H', 'c', 'unread', 'H']);
  // Pending outbox messages come last.
  const pending = buildRows(events, context(events, { pending: [{ id: 7, body: 'later', state: 'queued' }] }));
  assert.deepEqual(pending[pending.length - 1], { kind: 'pending', key: 'pending:7', item: { id: 7, body: 'later', state: 'queued' } });
}

// A moderator's act stands alone; routine changes fold.
{
  const joinA = member(ALICE, T0, 'join');
  const joinB = member(BOB, T0 + 1, 'join');
  const ban = ev('room.member', ALICE, T0 + 2, { state_key: BOB, content: { membership: 'ban' } });
  const leave = member(ALICE, T0 + 3, 'leave');
  const events = [joinA, joinB, ban, leave];
  assert.deepEqual(kinds(buildRows(events, context(events))), ['date', 'notices', 'notice', 'notice']);
  assert.ok(isRoutineNotice(leave, () => null));
  assert.ok(!isRoutineNotice(ban, () => null));
  const kick = ev('room.member', ALICE, T0 + 4, { state_key: BOB, content: { membership: 'leave' } });
  assert.ok(!isRoutineNotice(kick, () => null));
  const power = ev('room.power_levels', ALICE, T0 + 5, { state_key: '' });
  assert.ok(isRoutineNotice(power, () => null));
  assert.ok(!isRoutineNotice(power, () => power), 'a change of power is a moderator act');
}

// Summaries of room changes.
{
  const nameOf = (u) => u.slice(0, 3);
  const joins = ['u1', 'u2', 'u3'].map((u) => ({ kind: 'room.member', state_key: u, author: u, content: { membership: 'join' } }));
  assert.equal(noticeSummary(joins, nameOf), '3 people joined');
  assert.equal(noticeSummary(joins.slice(0, 2), nameOf), 'u1 and u2 joined');
  assert.equal(noticeSummary([...joins.slice(0, 1), { kind: 'room.member', state_key: 'u9', content: { membership: 'leave' } }, { kind: 'room.member', state_key: 'u8', content: { membership: 'invite' } }], nameOf), 'u1 joined, u9 left, 1 invitation');
}

// Relations: edits and reactions hidden as rows, applied once to held targets, taken back.
{
  const timeline = new Timeline(ROOM);
  const original = msg(BOB, T0, 'first text');
  timeline.insertMany([original]);
  const edit = msg(BOB, T0 + 10, 'second text', { replaces: original.id });
  const forged = msg(ALICE, T0 + 20, 'not yours', { replaces: original.id });
  const like = ev('room.reaction', ALICE, T0 + 30, { content: { relates_to: original.id.slice(1), key: '👍' } });
  const likeAgain = ev('room.reaction', ALICE, T0 + 31, { content: { relates_to: original.id.slice(1), key: '👍' } });
  const bobLike = ev('room.reaction', BOB, T0 + 32, { content: { relates_to: original.id.slice(1), key: '👍' } });
  assert.deepEqual(relationOf(edit), { type: 'edit', target: original.id });
  assert.deepEqual(relationOf(like), { type: 'reaction', target: original.id, key: '👍' });
  assert.equal(relationOf(original), null);
  assert.equal(timeline.applyRelation(edit, ALICE), original);
  assert.equal(timeline.applyRelation(edit, ALICE), null, 'once');
  assert.equal(timeline.applyRelation(forged, ALICE), null, 'only the author edits');
  assert.equal(shownBody(original), 'second text');
  assert.equal(timeline.applyRelation(like, ALICE), original);
  assert.equal(timeline.applyRelation(likeAgain, ALICE), null, 'one reaction per user and key');
  timeline.applyRelation(bobLike, ALICE);
  assert.deepEqual(original.reactions, [{ key: '👍', count: 2, users: [ALICE, BOB], mine: true }]);
  assert.equal(timeline.unapplyReaction(like.id, ALICE), original);
  assert.deepEqual(original.reactions, [{ key: '👍', count: 1, users: [BOB], mine: false }]);
  timeline.unapplyReaction(bobLike.id, ALICE);
  assert.deepEqual(original.reactions, []);
  // The node's later view of a message replaces what was applied live.
  const fresh = { ...original, reactions: [{ key: '🎉', count: 3, users: [BOB], mine: false }] };
  assert.ok(timeline.insert(fresh).updated);
  assert.equal(original.reactions[0].count, 3);
  // Edits and reactions are not rows; nor is the redaction of a reaction or of one's own message.
  const all = [original, edit, like];
  const byId = (i) => all.find((e) => e.id === i) ?? null;
  assert.ok(isShownEvent(original, byId));
  assert.ok(!isShownEvent(edit, byId));
  assert.ok(!isShownEvent(like, byId));
  const unlike = ev('room.redaction', ALICE, T0 + 40, { content: { redacts: like.id } });
  const selfDelete = ev('room.redaction', BOB, T0 + 41, { content: { redacts: original.id } });
  const modDelete = ev('room.redaction', ALICE, T0 + 42, { content: { redacts: original.id } });
  assert.ok(!isShownEvent(unlike, byId));
  assert.ok(!isShownEvent(selfDelete, byId));
  assert.ok(isShownEvent(modDelete, byId));
  // At most MAX_REACTION_USERS listed, all counted.
  const popular = msg(BOB, T0 + 50, 'popular');
  timeline.insertMany([popular]);
  for (let i = 0; i < MAX_REACTION_USERS + 5; i++) {
    timeline.applyRelation(ev('room.reaction', i.toString(16).padStart(64, '0'), T0 + 60 + i, { content: { relates_to: popular.id, key: '🔥' } }), ALICE);
  }
  assert.equal(popular.reactions[0].count, MAX_REACTION_USERS + 5);
  assert.equal(popular.reactions[0].users.length, MAX_REACTION_USERS);
}

// insertMany merges a batch in timeline order, deduplicated, with what is held.
{
  const timeline = new Timeline(ROOM);
  const events = Array.from({ length: 1000 }, (_, i) => msg(ALICE, T0 + i, `m${i}`));
  const shuffled = [...events].sort((a, b) => ((a.depth * 7919) % 1000) - ((b.depth * 7919) % 1000));
  timeline.insertMany(shuffled.slice(0, 600));
  timeline.insertMany(shuffled.slice(400).concat(shuffled.slice(0, 10)));
  assert.equal(timeline.events.length, 1000);
  assert.deepEqual(timeline.events.map((e) => e.id), events.map((e) => e.id));
  assert.equal(timeline.insertMany(events.slice(0, 5)), false);
}

// The outbox: order kept, one at a time, unreachable waits first in line, bounded.
{
  const outbox = new Outbox();
  const a = outbox.add(ROOM, { action: 'message', body: 'a' });
  const b = outbox.add(ROOM, { action: 'message', body: 'b' });
  assert.equal(outbox.next(), a);
  outbox.start(a);
  assert.equal(outbox.next(), null, 'one at a time');
  outbox.retryLater(a);
  assert.equal(outbox.next(), a, 'the unsent one stays first');
  outbox.start(a);
  outbox.sent(a, '$1');
  assert.equal(outbox.next(), b);
  outbox.start(b);
  outbox.fail(b, { reason: 'muted' });
  const c = outbox.add(ROOM, { action: 'message', body: 'c' });
  assert.equal(outbox.next(), c, 'a refused message does not hold the others');
  assert.deepEqual(outbox.pendingFor(ROOM, (item) => item.eventId === '$1').map((i) => i.body), ['b', 'c']);
  assert.ok(outbox.settle((item) => item.eventId === '$1'));
  assert.deepEqual(outbox.items.map((i) => i.body), ['b', 'c']);
  const full = new Outbox();
  for (let i = 0; i < MAX_OUTBOX; i++) full.add(ROOM, { action: 'message', body: String(i) });
  assert.throws(() => full.add(ROOM, { action: 'message', body: 'one too many' }), OutboxFull);
}

// Virtual list math.
{
  const offsets = prefixOffsets([10, 20, 30, 40]);
  assert.deepEqual([...offsets], [0, 10, 30, 60, 100]);
  assert.equal(indexAt(offsets, -5), 0);
  assert.equal(indexAt(offsets, 0), 0);
  assert.equal(indexAt(offsets, 10), 1);
  assert.equal(indexAt(offsets, 59.9), 2);
  assert.equal(indexAt(offsets, 1000), 3);
  assert.equal(indexAt(prefixOffsets([]), 0), -1);
  // Short lists are drawn whole.
  assert.deepEqual(visibleRange(offsets, 15, 20, 0), { start: 0, end: 4 });
  const long = prefixOffsets([10, 20, 30, 40].concat(new Array(MAX_WHOLE_ROWS).fill(50)));
  assert.deepEqual(visibleRange(long, 15, 20, 0), { start: 1, end: 3 });
  assert.deepEqual(visibleRange(long, 15, 20, 100), { start: 0, end: 5 });
  assert.deepEqual(visibleRange(prefixOffsets([]), 0, 100, 10), { start: 0, end: 0 });
  // 100,000 rows: a window of a few dozen.
  const big = prefixOffsets(new Array(100000).fill(30));
  const range = visibleRange(big, 1500000, 800, 800);
  assert.equal(range.start, Math.floor((1500000 - 800) / 30));
  assert.ok(range.end - range.start < 100);
}

// Mentions and completion.
{
  assert.deepEqual(mentionTokens('hi @alice and @bob.'), [
    { handle: 'alice', start: 3, end: 9 },
    { handle: 'bob', start: 14, end: 18 },
  ]);
  assert.deepEqual(mentionTokens('mail me at x@example.org'), []);
  const members = [{ user: ALICE, handle: 'alice', display_name: 'Alice' }, { user: BOB, handle: 'bob', display_name: 'Bobby' }];
  assert.deepEqual(mentionsFor('@bob and @alice and @bob, not `@nobody`', members), [BOB, ALICE]);
  assert.deepEqual(mentionsFor('```\n@bob\n```', members), []);
  const many = Array.from({ length: 40 }, (_, i) => ({ user: i.toString(16).padStart(64, '0'), handle: `u${i}` }));
  assert.equal(mentionsFor(many.map((m) => `@${m.handle}`).join(' '), many).length, MAX_MENTIONS);
  assert.deepEqual(completionAt('hello @al', 9), { kind: 'mention', query: 'al', start: 6 });
  assert.deepEqual(completionAt('nice :thu', 9), { kind: 'emoji', query: 'thu', start: 5 });
  assert.equal(completionAt('a@b', 3), null);
  assert.deepEqual(mentionCandidates('bo', members, ALICE).map((m) => m.handle), ['bob']);
  assert.deepEqual(mentionCandidates('', members, ALICE).map((m) => m.handle), ['bob'], 'never oneself');
  assert.deepEqual(mentionCandidates('obb', members, ALICE).map((m) => m.handle), ['bob'], 'by display name');
  assert.deepEqual(applyCompletion('hi @bo!', 3, 6, '@bob'), { text: 'hi @bob !', caret: 8 });
  assert.equal(emojiCandidates('thumbsu')[0].emoji, '👍');
  assert.ok(emojiCandidates('s').length <= 8);
}

// Typing: throttled refreshes, one stop.
{
  const throttle = new TypingThrottle();
  assert.equal(throttle.input(0, true), true);
  assert.equal(throttle.input(100, true), null);
  assert.equal(throttle.input(TYPING_REFRESH_MS, true), true);
  assert.equal(throttle.input(TYPING_REFRESH_MS + 1, false), false);
  assert.equal(throttle.stop(), null);
  const nameOf = (u) => u.handle;
  const users = ['alice', 'bob', 'carol', 'dave'].map((handle) => ({ user: handle, handle }));
  assert.equal(typingText(users.slice(0, 1), 'me', nameOf), 'alice is typing…');
  assert.equal(typingText(users.slice(0, 2), 'me', nameOf), 'alice and bob are typing…');
  assert.equal(typingText(users.slice(0, 3), 'me', nameOf), 'alice, bob and carol are typing…');
  assert.equal(typingText(users, 'me', nameOf), '4 people are typing…');
  assert.equal(typingText(users.slice(0, 1), 'alice', nameOf), '');
}

console.log('timeline unit checks passed');
