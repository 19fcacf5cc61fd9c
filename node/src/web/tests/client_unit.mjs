// Unit checks of the web client's pure modules, run with Node.js (>= 20) by the `web` module's
// test `client_modules_pass_their_unit_checks` (skipped when `node` is not installed):
// the strict CBOR reader (cbor.js), the server-sent events parser (api.js), the key export
// file format and passphrase rule (keys.js, specs/client-api.md "Key export file"), decrypted
// here with Node's own PBKDF2 and AES-GCM so the file is checked against an independent
// implementation, the timeline model (timeline.js) and the wording of room changes (notices.js).
import assert from 'node:assert/strict';
import nodeCrypto from 'node:crypto';
import { cborEqual, decodeCbor } from '../assets/cbor.js';
import { SseParser } from '../assets/api.js';
import * as keys from '../assets/keys.js';
import { Timeline, purgeTarget, redactionTarget } from '../assets/timeline.js';
import { noticeText } from '../assets/notices.js';
import * as moderation from '../assets/moderation.js';

const hex = (s) => Uint8Array.from(Buffer.from(s, 'hex'));

// CBOR: {"a": 1, "b": [h'0102', "x", true, null, -5]} and the span of "b".
const spans = {};
const value = decodeCbor(hex('a26161016162854201026178f5f624'), spans);
assert.equal(value.a, 1);
assert.ok(cborEqual(value.b, [hex('0102'), 'x', true, null, -5]));
assert.deepEqual(spans.b, [6, 15]);
assert.equal(decodeCbor(hex('1b001fffffffffffff')), Number.MAX_SAFE_INTEGER);
const refused = [
  ['1817', 'non_canonical_encoding'], // 23 in a one-byte argument
  ['a2616101616102', 'malformed_cbor'], // duplicate key
  ['0000', 'trailing_bytes'],
  ['5a7fffffff', 'truncated'], // a 2 GiB byte string in 5 bytes
  ['9bffffffffffffffff', 'out_of_range'],
  ['1b0020000000000000', 'out_of_range'], // 2^53
  ['c100', 'non_canonical_encoding'], // tag
  ['fa00000000', 'malformed_cbor'], // float
  ['9f', 'non_canonical_encoding'], // indefinite array
  ['62c328', 'malformed_cbor'], // invalid UTF-8
  ['a10102', 'malformed_cbor'], // integer map key
];
for (const [input, reason] of refused) {
  assert.throws(() => decodeCbor(hex(input)), (e) => e.reason === reason, input);
}
const deep = new Uint8Array(100).fill(0x81);
deep[99] = 0;
assert.throws(() => decodeCbor(deep), (e) => e.reason === 'nesting_too_deep');
assert.throws(() => decodeCbor(new Uint8Array(70000)), (e) => e.reason === 'too_large');

// SSE: CR, LF and CRLF line ends, a CRLF split across chunks, comments, multi-line data.
const events = [];
const parser = new SseParser((name, data, id) => events.push([name, data, id]));
parser.push('event: event\r');
parser.push('\ndata: {"a":1}\r\nid: $x\r\n\r');
parser.push('\n: comment\nevent: ping\ndata: {}\n\ndata: a\ndata: b\n\nevent: lagged\rdata: {}\r\r');
assert.deepEqual(events, [
  ['event', '{"a":1}', '$x'],
  ['ping', '{}', ''],
  ['message', 'a\nb', ''],
  ['lagged', '{}', ''],
]);
assert.throws(() => new SseParser(() => {}).push('data: ' + 'x'.repeat(2 ** 20 + 1)));

// Key export file: written by keys.js, read back by Node's crypto.
const seed = nodeCrypto.randomBytes(32);
const pkcs8 = Buffer.concat([Buffer.from('302e020100300506032b657004220420', 'hex'), seed]);
const privateKey = nodeCrypto.createPrivateKey({ key: pkcs8, format: 'der', type: 'pkcs8' });
const publicKey = nodeCrypto.createPublicKey(privateKey).export({ format: 'der', type: 'spki' }).subarray(12);
const wrapKey = await crypto.subtle.generateKey({ name: 'AES-GCM', length: 256 }, false, ['encrypt', 'decrypt']);
const seedNonce = crypto.getRandomValues(new Uint8Array(12));
const atRest = new TextEncoder().encode('causerie seed at rest v1');
const seedSealed = new Uint8Array(
  await crypto.subtle.encrypt({ name: 'AES-GCM', iv: seedNonce, additionalData: atRest }, wrapKey, seed),
);
const record = { user: publicKey.toString('hex'), wrapKey, seedNonce, seedSealed };
const text = await keys.exportKeyFile(record, 'correct horse');
const file = JSON.parse(text);
assert.deepEqual(Object.keys(file), [
  'causerie_key_export', 'user', 'kdf', 'iterations', 'salt', 'cipher', 'nonce', 'ciphertext',
]);
assert.equal(file.iterations, 600000);
assert.match(file.salt, /^[0-9a-f]{32}$/);
assert.match(file.nonce, /^[0-9a-f]{24}$/);
assert.match(file.ciphertext, /^[0-9a-f]{96}$/);
const key = nodeCrypto.pbkdf2Sync('correct horse', Buffer.from(file.salt, 'hex'), file.iterations, 32, 'sha256');
const sealed = Buffer.from(file.ciphertext, 'hex');
const decipher = nodeCrypto.createDecipheriv('aes-256-gcm', key, Buffer.from(file.nonce, 'hex'));
decipher.setAAD(Buffer.from('causerie key export v1'));
decipher.setAuthTag(sealed.subarray(32));
assert.ok(Buffer.concat([decipher.update(sealed.subarray(0, 32)), decipher.final()]).equals(seed));

// The passphrase rule: at least 8 characters (code points, so 8 emoji pass), at most 1,024 bytes.
assert.equal(keys.MIN_PASSPHRASE_CHARS, 8);
assert.match(keys.passphraseProblem('1234567'), /at least 8 characters \(this one has 7\)/);
assert.equal(keys.passphraseProblem('12345678'), null);
assert.equal(keys.passphraseProblem('🔑'.repeat(8)), null);
assert.match(keys.passphraseProblem('🔑'.repeat(7)), /this one has 7/);
assert.match(keys.passphraseProblem('x'.repeat(1025)), /at most 1024 bytes/);
await assert.rejects(keys.exportKeyFile(record, 'short'), (e) => e.reason === 'bad_passphrase');

// Import refuses with the spec's reasons (a good file gets as far as storage, absent in Node).
const variant = (change) => JSON.stringify({ ...file, ...change });
const importFails = (input, passphrase, reason) =>
  assert.rejects(keys.importKeyFile(input, passphrase), (e) => e.reason === reason, reason);
await importFails(text, 'wrong', 'wrong_passphrase');
await importFails(variant({ iterations: 99999 }), 'correct horse', 'weak_kdf');
await importFails(variant({ iterations: 10000001 }), 'correct horse', 'weak_kdf');
await importFails(variant({ user: '00'.repeat(32) }), 'correct horse', 'key_mismatch');
await importFails(variant({ causerie_key_export: 2 }), 'correct horse', 'bad_export_file');
await importFails(variant({ nonce: 'zz' }), 'correct horse', 'bad_export_file');
await importFails('not json', 'correct horse', 'bad_export_file');
await assert.rejects(keys.importKeyFile(text, 'correct horse'), (e) => /indexedDB/.test(String(e)));

// Timeline model: ordered by depth then id, deduplicated, a redaction updates its target.
const timeline = new Timeline('!r');
const ev = (id, depth, extra = {}) => ({ id, room: '!r', kind: 'room.message', depth, content: { body: id }, ...extra });
assert.deepEqual(timeline.insert(ev('$b', 2)), { index: 0, updated: false });
assert.deepEqual(timeline.insert(ev('$a', 2)), { index: 0, updated: false });
assert.deepEqual(timeline.insert(ev('$c', 1)), { index: 0, updated: false });
assert.equal(timeline.insert(ev('$a', 2)), null);
assert.deepEqual(timeline.events.map((e) => e.id), ['$c', '$a', '$b']);
assert.deepEqual(timeline.insert({ ...ev('$a', 2), redacted: true, content: {} }), { index: 1, updated: true });
assert.equal(timeline.newest().id, '$b');
assert.equal(redactionTarget({ kind: 'room.redaction', content: { redacts: 'ab' } }), '$ab');
assert.equal(redactionTarget(ev('$x', 1)), null);

// A ban-and-purge deletes the target's messages before it, not others' nor later ones.
const purging = new Timeline('!r');
for (const [id, depth, author] of [['$m1', 1, 'u'], ['$m2', 2, 'v'], ['$m3', 3, 'u'], ['$m5', 5, 'u']]) purging.insert(ev(id, depth, { author }));
const ban = { id: '$ban', room: '!r', kind: 'room.member', state_key: 'u', depth: 4, content: { membership: 'ban', purge: true } };
assert.equal(purgeTarget(ban), 'u');
assert.equal(purgeTarget({ ...ban, content: { membership: 'ban' } }), null);
assert.deepEqual(purging.purgedBy(ban, 'u').map((e) => e.id), ['$m1', '$m3']);

// Room changes as people would write them, with the reason.
const A = 'a'.repeat(64);
const B = 'b'.repeat(64);
const C = 'c'.repeat(64);
const names = { [A]: 'alice', [B]: 'bob', [C]: 'carol' };
const history = [];
const context = {
  nameOf: (user) => names[user] ?? user.slice(0, 8),
  earlier: (event) => history.findLast((e) => e.kind === event.kind && e.state_key === event.state_key) ?? null,
  eventById: (id) => history.find((e) => e.id === id) ?? null,
};
let depth = 0;
const said = (author, kind, content, stateKey = null) => {
  const event = {
    id: `$${++depth}`, room: '!r', kind, depth, author, state_key: stateKey, content,
    sender: { handle: names[author] },
  };
  const text = noticeText(event, context);
  history.push(event);
  return text;
};
assert.equal(said(A, 'room.create', {}, ''), 'alice created the room');
assert.equal(said(A, 'room.member', { membership: 'join' }, A), 'alice joined');
assert.equal(said(A, 'room.power_levels', { users: {}, users_default: 0, ban: 50, kick: 50 }, ''), 'alice set the power levels');
assert.equal(said(A, 'room.join_rules', { join_rule: 'public' }, ''), 'alice made the room public: anyone can join');
assert.equal(said(B, 'room.member', { membership: 'join', display_name: 'Bob' }, B), 'Bob joined');
assert.equal(said(B, 'room.member', { membership: 'join', display_name: 'Bobby' }, B), 'Bob is now known as Bobby');
assert.equal(said(B, 'room.message', { body: 'hi' }), null);
assert.equal(
  said(A, 'room.power_levels', { users: { [B]: 50 }, users_default: 0, ban: 50, kick: 50 }, ''),
  'alice made bob a moderator (power 50)',
);
assert.equal(
  said(A, 'room.power_levels', { users: { [B]: 0, [C]: 100 }, users_default: 0, ban: 75, kick: 50 }, ''),
  'alice made bob a regular member (power 0), made carol an administrator (power 100), changed the power needed to ban people from 50 to 75',
);
assert.equal(said(A, 'room.redaction', { redacts: '7', reason: 'off topic' }), 'alice deleted a message by bob: off topic');
assert.equal(said(B, 'room.redaction', { redacts: '$7' }), 'bob deleted their own message');
assert.equal(said(A, 'room.redaction', { redacts: '$999' }), 'alice deleted a message');
assert.equal(said(A, 'room.member', { membership: 'leave', reason: 'cool down' }, B), 'alice removed bob from the room: cool down');
assert.equal(said(B, 'room.member', { membership: 'join' }, B), 'bob joined');
assert.equal(said(A, 'room.member', { membership: 'ban', reason: 'spam' }, B), 'alice banned bob: spam');
assert.equal(said(A, 'room.member', { membership: 'leave' }, B), 'alice unbanned bob');
assert.equal(
  said(A, 'room.member', { membership: 'ban', expires: 1764758400000, reason: 'flood' }, B),
  'alice banned bob until 2025-12-03 10:40 UTC: flood',
);
assert.equal(
  said(A, 'room.member', { membership: 'ban', purge: true, reason: 'scam' }, B),
  'alice banned bob and deleted everything they wrote here: scam',
);
assert.equal(said(A, 'room.mute', { muted: true, expires: 1764759000000, reason: 'calm down' }, B), 'alice muted bob until 2025-12-03 10:50 UTC: calm down');
assert.equal(said(A, 'room.mute', { muted: false }, B), 'alice unmuted bob');
assert.equal(said(A, 'room.member', { membership: 'invite' }, C), 'alice invited carol');
assert.equal(said(C, 'room.member', { membership: 'leave' }, C), 'carol declined the invitation');
assert.equal(said(C, 'room.member', { membership: 'knock' }, C), 'carol asked to join');
assert.equal(said(A, 'room.member', { membership: 'leave' }, C), 'alice turned down the request of carol to join');
assert.equal(said(B, 'room.member', { membership: 'leave' }, B), 'bob left');

// Moderation: role names, rights by power, plain words for the affected user.
assert.deepEqual([0, 49, 50, 99, 100, 9007199254740991].map(moderation.roleName), ['member', 'member', 'moderator', 'moderator', 'admin', 'creator']);
const roomInfo = (power, levels = {}) => ({ membership: 'join', power, power_levels: { ban: 50, kick: 50, redact: 50, state_default: 50, ...levels } });
assert.equal(moderation.moderatorRights(roomInfo(0)).any, false);
assert.equal(moderation.moderatorRights({ ...roomInfo(100), membership: 'leave' }).any, false);
const rights = moderation.moderatorRights(roomInfo(50, { ban: 75, events: { 'room.content_rules': 100 } }));
assert.deepEqual([rights.any, rights.kick, rights.ban, rights.mute, rights.rules, rights.lists], [true, true, false, true, false, true]);
const now = Date.UTC(2026, 0, 10, 12, 0);
const later = now + 65 * 60 * 1000;
const at = moderation.momentText(later, now);
assert.ok(/\d/.test(at) && !/,/.test(at), at);
assert.ok(moderation.momentText(now + 3 * 86400000, now).includes(','));
assert.equal(moderation.mutedText({ by: 'Alice', reason: ' spam ', expires: later }, now), `You are muted by Alice until ${at}: spam`);
assert.equal(moderation.mutedText({ by: 'Alice', reason: null, expires: null }, now), 'You are muted by Alice.');
assert.equal(moderation.mutedText({ by: 'Alice', expires: now - 1 }, now), null);
assert.equal(moderation.removalText({ membership: 'leave', reason: 'cool down' }, 'Alice', now), 'Alice removed you from this room: cool down');
assert.equal(
  moderation.removalText({ membership: 'ban', reason: 'spam', expires: later, purge: true }, 'Alice', now),
  `Alice banned you from this room until ${at} and deleted your messages: spam`,
);
assert.equal(moderation.removalText({ membership: 'ban' }, 'Alice', now), 'Alice banned you from this room.');
assert.equal(moderation.banOver({ membership: 'ban', removed: { expires: now - 1 } }, now), true);
assert.equal(moderation.banOver({ membership: 'ban', removed: { expires: later } }, now), false);
assert.equal(moderation.banOver({ membership: 'ban', removed: { expires: null } }, now), false);
assert.equal(moderation.refusalText({ reason: 'blocked_word' }), 'Your message was not sent: it contains a blocked word.');
assert.equal(moderation.refusalText({ reason: 'rate_limited', retryAfter: 12 }), 'Slow down: try again in 12 s.');
assert.equal(moderation.refusalText({ reason: 'rate_limited', retryAfter: null }), 'Slow down: try again in a moment.');
assert.equal(moderation.refusalText({ reason: 'muted' }), 'Your message was not sent: you are muted in this room.');
assert.equal(moderation.refusalText({ reason: 'bad_signature' }), null);
assert.equal(
  moderation.refusalText({ reason: 'ban_list', message: 'a ban list this room follows names you (rule r1): spam.' }),
  'Your message was not sent: a ban list this room follows names you (rule r1): spam.',
);
assert.deepEqual([5, 119, 121, 7300].map(moderation.waitText), ['5 s', '119 s', '3 min', '3 h']);

// The rules editor: fields to content and back; refusals name the field.
const rules = {
  max_message_bytes: 500,
  blocked_words: ['spam', 'scam'],
  links: { allow_domains: ['example.org'] },
  slow_mode_ms: 30000,
  new_member_link_delay_ms: 600000,
  classifier: 'fail_closed',
  exempt_level: 50,
};
const form = moderation.rulesToForm(rules);
assert.deepEqual(form, {
  maxBytes: '500', words: 'spam\nscam', patterns: '', links: 'domains', domains: 'example.org',
  mentions: '', linkDelay: '10', slowMode: '30', classifier: 'fail_closed',
});
assert.deepEqual(moderation.rulesFromForm(form, rules), { content: rules });
assert.deepEqual(moderation.rulesFromForm(moderation.rulesToForm(null), null), { content: {} });
assert.equal(moderation.rulesFromForm({ ...form, maxBytes: '12.5' }, null).field, 'maxBytes');
assert.equal(moderation.rulesFromForm({ ...form, slowMode: '-1' }, null).field, 'slowMode');
assert.equal(moderation.rulesFromForm({ ...form, domains: 'not a domain!' }, null).field, 'domains');
assert.equal(moderation.rulesFromForm({ ...form, words: 'x'.repeat(65) }, null).field, 'words');
assert.deepEqual(moderation.rulesSummary({ links: 'deny', slow_mode_ms: 30000 }), [['Links', 'not allowed'], ['Slow mode', 'one message every 30 s']]);


// Plain-word errors keep the reason name in the details.
{
  const { plainError } = await import('../assets/text.js');
  const { ApiError } = await import('../assets/api.js');
  const refused = plainError(new ApiError(403, 'attestation_not_accepted', "this room does not accept your home node's attestation"));
  assert.equal(refused.words, 'This room does not accept members vouched for by your home node.');
  assert.ok(refused.detail.startsWith('attestation_not_accepted'), refused.detail);
  const limited = plainError(new ApiError(429, 'rate_limited', 'too many reports', 90));
  assert.equal(limited.words, 'Too many at once: try again in 90 s.');
  assert.equal(plainError(new ApiError(403, 'some_rule', 'the node says why')).words, 'The node says why.');
  assert.equal(plainError(new Error('boom')).words, 'Something went wrong.');
}

// The timeline's pure modules (rows, relations, outbox, virtual list, mentions, typing).
await import('./timeline_unit.mjs');

// Human words (text.js): every reason name of the node's API (node/src/api/error.rs, the names
// of `Reason::name`, and the inner names passed on from the room engine) and the client's own
// has a plain sentence; the code stays in the details line.
{
  const { readFileSync } = await import('node:fs');
  const { REASON_WORDS, plainError, memberWords, titleWith, countText, joinTarget, isMention, mentionsHandle, countsAsUnread } =
    await import('../assets/text.js');
  const { ApiError } = await import('../assets/api.js');
  const here = new URL('.', import.meta.url);
  const errorRs = readFileSync(new URL('../../api/error.rs', here), 'utf8');
  const table = errorRs.slice(errorRs.indexOf('pub fn name(self)'), errorRs.indexOf('pub fn closes_connection'));
  const apiNames = [...table.matchAll(/=> "([a-z_]+)"/g)].map((m) => m[1]);
  assert.ok(apiNames.length > 60, `read ${apiNames.length} reason names from error.rs`);
  // The room engine's reason names (node/room/src), passed on by RoomRule and CannotPrepare.
  const roomNames = [];
  const { readdirSync } = await import('node:fs');
  const roomDir = new URL('../../../room/src/', here);
  for (const name of readdirSync(roomDir).filter((n) => n.endsWith('.rs'))) {
    const source = readFileSync(new URL(name, roomDir), 'utf8');
    for (const block of source.split('fn reason(&self)').slice(1)) {
      const body = block.slice(0, block.indexOf('\n    }\n'));
      roomNames.push(...[...body.matchAll(/=> "([a-z_]+)"/g)].map((m) => m[1]));
    }
  }
  assert.ok(roomNames.length > 20, `read ${roomNames.length} room engine reason names`);
  const client = ['unreachable', 'draft_mismatch', 'wrong_passphrase', 'bad_export_file', 'weak_kdf', 'key_mismatch', 'bad_passphrase'];
  const missing = [...new Set([...apiNames, ...roomNames, ...client])].filter((name) => !REASON_WORDS[name]);
  assert.deepEqual(missing, [], 'reason names without plain words');
  for (const [name, words] of Object.entries(REASON_WORDS)) {
    assert.match(words, /^[A-Z].*[.!?]$/, `${name}: a sentence`);
    assert.ok(!words.includes('_'), `${name}: no code in the words`);
  }
  const taken = plainError(new ApiError(409, 'handle_taken', 'the handle is taken'));
  assert.equal(taken.words, 'Someone else already has that handle on this node. Choose another.');
  assert.equal(taken.detail, 'handle_taken: the handle is taken');

  // Members in words.
  const nodeName = (key) => (key === 'aa' ? 'example.org' : `node ${key}`);
  assert.equal(
    memberWords({ user: 'ab'.repeat(32), display_name: 'Alice', handle: 'alice', home_node: 'aa', assurance: 0 }, nodeName),
    'Alice · @alice · home node example.org, verified key',
  );
  assert.equal(memberWords({ user: 'ab'.repeat(32), display_name: null, handle: 'bob', home_node: 'bb', assurance: 3 }, nodeName), '@bob · home node node bb, met in person');
  assert.equal(memberWords({ user: 'ab'.repeat(32), display_name: null, handle: null, home_node: null }, nodeName), 'abababab…abab · home node unknown');

  // The tab title and counts.
  assert.equal(titleWith(0, 0, 'Lobby · Causerie'), 'Lobby · Causerie');
  assert.equal(titleWith(3, 0, 'Lobby · Causerie'), '(3) Lobby · Causerie');
  assert.equal(titleWith(3, 1, 'Causerie'), '(1!) Causerie');
  assert.equal(titleWith(250, 0, 'Causerie'), '(99+) Causerie');
  assert.equal(countText(999), '999+');
  assert.equal(countText(12), '12');

  // What the join box accepts.
  const room = `!${'0a'.repeat(32)}`;
  assert.deepEqual(joinTarget(` ${room} `), { room });
  assert.deepEqual(joinTarget('#lobby:example.org'), { alias: '#lobby:example.org' });
  assert.deepEqual(joinTarget('#lobby:127.0.0.1:8080'), { alias: '#lobby:127.0.0.1:8080' });
  assert.deepEqual(joinTarget(`https://chat.example.org/join/${room}?via=x`), { link: `https://chat.example.org/join/${room}?via=x` });
  assert.deepEqual(joinTarget(`causerie:join/${room}?via=x`), { link: `causerie:join/${room}?via=x` });
  for (const bad of ['', 'lobby', '#lobby', '!abc', 'http://example.org/room']) assert.equal(joinTarget(bad), null, bad);

  // Mentions: the key in `mentions`, a reply to one's message, or the @handle as a word.
  const me = { user: 'me', handle: 'alice' };
  const message = (body, extra = {}) => ({ kind: 'room.message', author: 'bob', content: { body }, ...extra });
  assert.ok(isMention(message('hi', { mentions: ['me'] }), me));
  assert.ok(isMention(message('hi', { reply_to: { author: 'me' } }), me));
  assert.ok(isMention(message('hello @alice!'), me));
  assert.ok(isMention(message('@Alice: look'), me));
  assert.ok(!isMention(message('mail alice@alice.org'), me));
  assert.ok(!isMention(message('@alicette'), me));
  assert.ok(!isMention(message('@alice.dev is someone else'), me));
  assert.ok(!isMention({ ...message('@alice'), author: 'me' }, me));
  assert.ok(mentionsHandle('(@alice)', 'alice'));
  assert.ok(mentionsHandle('hi @a.b', 'a.b'));
  assert.ok(!mentionsHandle('hi @aXb', 'a.b'));
  assert.ok(countsAsUnread(message('x'), 'me'));
  assert.ok(!countsAsUnread({ ...message('x'), author: 'me' }, 'me'));
  assert.ok(!countsAsUnread(message('x', { replaces: '$e' }), 'me'));
  assert.ok(!countsAsUnread({ kind: 'room.member', author: 'bob' }, 'me'));
}

console.log('web client unit checks passed');
