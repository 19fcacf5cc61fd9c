// Causerie web client: abuse reports (specs/accountability.md §1.1, §1.4). "Report…" on another
// member's message, on a member of the room (with their latest messages in it as evidence) and
// "Report room…" on the room ask for a category and the user's words, have the node prepare the
// unsigned report, decode it (cbor.js) and compare it with what was asked (target, category,
// text, room, user, reporter and the embedded events' ids) before this browser's key signs it;
// a refusal stays in the dialog in plain words. "My reports" lists the user's reports with each
// recipient queue's answer in plain words.

import { cborEqual, decodeCbor } from './cbor.js';
import { runDialog } from './dialogs.js';
import { $, h, showPlainError } from './dom.js';
import { EVENT_PREFIX } from './draft.js';
import * as keys from './keys.js';
import { call } from './session.js';
import { state } from './state.js';
import { formatTime, shortKey } from './text.js';

/** Longest report text, in UTF-8 bytes (crypto report::MAX_REPORT_TEXT_BYTES). */
export const MAX_REPORT_TEXT_BYTES = 2000;
/** Most reports shown in "My reports" (the node answers at most its own bound). */
const MAX_SHOWN_REPORTS = 500;

/** The categories, as the spec names them and as the user reads them. */
export const CATEGORIES = [
  ['spam', 'spam'],
  ['harassment', 'harassment'],
  ['threats', 'threats'],
  ['csam', 'sexual content involving minors'],
  ['scam', 'scam'],
  ['illegal', 'illegal content'],
  ['impersonation', 'impersonation'],
  ['other', 'other'],
];

/** Report signing-input prefix (specs/accountability.md §1.1). */
const REPORT_PREFIX = new TextEncoder().encode('causerie/v1/report\0');

/** The node prepared another report than the one asked for. */
export class ReportMismatch extends Error {
  constructor(message) {
    super(message);
    this.reason = 'draft_mismatch';
  }
}

function categoryText(name) {
  return CATEGORIES.find(([n]) => n === name)?.[1] ?? name;
}

function concat(...parts) {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
  }
  return out;
}

/** Length of the CBOR head of a text key (all keys here are under 24 bytes). */
function keyHead(key) {
  return 1 + new TextEncoder().encode(key).length;
}

/**
 * The id of an embedded `room.message` event (hex): SHA-256(event prefix ‖ the map without
 * `signature` and with content redacted to `{}` ‖ signature). The map is canonical, so the
 * unsigned map is the same bytes with the `signature` entry cut out, the count one less and the
 * content value replaced by `{}`.
 */
async function messageEventId(bytes) {
  const spans = Object.create(null);
  const event = decodeCbor(bytes, spans);
  if (event === null || typeof event !== 'object' || event.kind !== 'room.message') {
    throw new ReportMismatch('the report embeds something other than a message');
  }
  const signature = event.signature;
  const count = Object.keys(event).length;
  if (!(signature instanceof Uint8Array) || signature.length !== 64 || count >= 24 || bytes[0] !== 0xa0 + count) {
    throw new ReportMismatch('the embedded message is not a signed event');
  }
  const [contentStart, contentEnd] = spans.content;
  const [sigEnd] = [spans.signature[1]];
  const sigStart = spans.signature[0] - keyHead('signature');
  const cuts = [
    [contentStart, contentEnd, Uint8Array.of(0xa0)],
    [sigStart, sigEnd, new Uint8Array(0)],
  ].sort((a, b) => a[0] - b[0]);
  const parts = [Uint8Array.of(0xa0 + count - 1)];
  let at = 1;
  for (const [start, end, replacement] of cuts) {
    parts.push(bytes.subarray(at, start), replacement);
    at = end;
  }
  parts.push(bytes.subarray(at));
  const input = concat(EVENT_PREFIX, ...parts, signature);
  return keys.bytesToHex(new Uint8Array(await crypto.subtle.digest('SHA-256', input)));
}

/** Most of a member's latest messages a report of that member embeds as evidence. */
export const MAX_MEMBER_EVIDENCE = 5;

/** What a report is about, as the checks word it. */
const TARGET_WORDS = { event: 'a message', user: 'a member', room: 'a room' };

/**
 * Checks the node's unsigned report against what was asked (`ask`: target, category, text,
 * room or null, user or null, events: their ids) and returns the bytes to sign. Throws
 * ReportMismatch (or CborError).
 */
export async function checkReport(prepared, ask, me) {
  const bytes = keys.hexToBytes(prepared.draft);
  const draft = decodeCbor(bytes);
  if (draft === null || typeof draft !== 'object' || Array.isArray(draft)) throw new ReportMismatch('the report is not a map');
  if (draft.v !== 1) throw new ReportMismatch('unknown report version');
  if ('signature' in draft) throw new ReportMismatch('the report is already signed');
  if (draft.target !== ask.target) throw new ReportMismatch(`the report is not about ${TARGET_WORDS[ask.target]}`);
  if (draft.category !== ask.category) throw new ReportMismatch('the report has another category');
  if (draft.text !== ask.text) throw new ReportMismatch('the report has other words');
  if (!cborEqual(draft.reporter, keys.hexToBytes(me))) throw new ReportMismatch('the report is not by your key');
  if (ask.room ? !cborEqual(draft.room, keys.hexToBytes(ask.room.slice(1))) : 'room' in draft) {
    throw new ReportMismatch('the report is about another room');
  }
  if (ask.user ? !cborEqual(draft.user, keys.hexToBytes(ask.user)) : 'user' in draft) {
    throw new ReportMismatch('the report is about another member');
  }
  if (!Array.isArray(draft.events) || draft.events.length !== ask.events.length || !draft.events.every((e) => e instanceof Uint8Array)) {
    throw new ReportMismatch('the report embeds other messages');
  }
  const embedded = [];
  for (const event of draft.events) embedded.push(`$${await messageEventId(event)}`);
  if (!cborEqual([...embedded].sort(), [...ask.events].sort())) throw new ReportMismatch('the report embeds other messages');
  const input = concat(REPORT_PREFIX, bytes);
  if (prepared.signing_input !== undefined && prepared.signing_input !== keys.bytesToHex(input)) {
    throw new ReportMismatch('the signing input is not the report');
  }
  return input;
}

/**
 * Asks what is wrong (the dialog titled `title`, saying `about`); resolves to `{category,
 * text}` or null (cancelled). `error`, from the previous try, is shown in plain words.
 */
function askReport({ title, about }, { category, text, error }) {
  const select = $('report-category');
  const words = $('report-text');
  select.value = category;
  words.value = text;
  $('report-title').textContent = title;
  $('report-about').textContent = about;
  const answer = runDialog('report', {
    focus: select,
    check: () => {
      const bytes = new TextEncoder().encode(words.value).length;
      if (bytes > MAX_REPORT_TEXT_BYTES) return { error: `At most ${MAX_REPORT_TEXT_BYTES} bytes (this text has ${bytes}).`, field: words };
      $('report-error-detail').hidden = true;
      return { value: { category: select.value, text: words.value } };
    },
  });
  showPlainError('report-error', error);
  return answer;
}

/** Shows `text` under the timeline. */
function notice(text) {
  const line = $('report-notice');
  line.textContent = text;
  line.hidden = !text;
}

/**
 * Asks, prepares, checks, signs and submits a report; `what` words the dialog (`title`,
 * `about`) and the confirmation (`sent`), `target` is `{target, room, user, events}` (room and
 * user hex or null, events their ids). Refusals are shown in the dialog, which stays open.
 */
async function sendReport(what, target) {
  notice('');
  let asked = { category: 'spam', text: '', error: null };
  for (;;) {
    const answer = await askReport(what, asked);
    if (answer === null) return;
    const ask = { ...target, ...answer };
    try {
      const body = { target: ask.target, category: ask.category, text: ask.text, events: ask.events };
      if (ask.room) body.room = ask.room;
      if (ask.user && ask.target !== 'event') body.user = ask.user;
      const prepared = await call('POST', '/reports/prepare', body);
      const input = await checkReport(prepared, ask, state.identity.user);
      const signature = await keys.sign(state.identity, input);
      await call('POST', '/reports', { draft: prepared.draft, signature: keys.bytesToHex(signature) });
      notice(`${what.sent} (${categoryText(ask.category)}). The operator and the moderators will look at it; "My reports" shows what they decide.`);
      return;
    } catch (error) {
      asked = { ...answer, error };
    }
  }
}

/** Reports `event` (another member's message). */
export function reportEvent(event) {
  const who = event.sender?.display_name || event.sender?.handle || shortKey(event.author);
  return sendReport(
    {
      title: 'Report this message',
      about: `The message from ${who} goes, with your words, to this node's operator and the room's moderators.`,
      sent: 'Report sent',
    },
    { target: 'event', room: event.room, user: event.author, events: [event.id] },
  );
}

/** The ids of `user`'s latest messages in the loaded timeline of `room` (at most MAX_MEMBER_EVIDENCE). */
function latestMessages(room, user) {
  const events = state.timelines.get(room)?.events ?? [];
  const theirs = events.filter((e) => e.author === user && e.kind === 'room.message' && e.id.startsWith('$'));
  return theirs.slice(-MAX_MEMBER_EVIDENCE).map((e) => e.id);
}

/** Reports `member` of the active room, with their latest messages in it as evidence. */
export function reportMember(member) {
  const room = state.active;
  const name = member.display_name || member.handle || shortKey(member.user);
  const events = latestMessages(room, member.user);
  const evidence = events.length ? ` with their latest ${events.length === 1 ? 'message' : `${events.length} messages`} in this room` : '';
  return sendReport(
    {
      title: `Report ${name}`,
      about: `Your report about ${name}${evidence} goes, with your words, to their home node's operator and the room's moderators.`,
      sent: `Report about ${name} sent`,
    },
    { target: 'user', room, user: member.user, events },
  );
}

/** Reports the active room itself. */
export function reportRoom() {
  const room = state.active;
  if (!room) return Promise.resolve();
  const name = state.activeInfo?.name || shortKey(room);
  return sendReport(
    {
      title: 'Report this room',
      about: `Your report about the room ${name} goes, with your words, to the operators of the nodes its moderators are homed on.`,
      sent: 'Report about this room sent',
    },
    { target: 'room', room, user: null, events: [] },
  );
}

/** A receipt's status in plain words. */
function statusText(status) {
  if (status === 'received') return 'received';
  if (status === 'actioned') return 'actioned: action was taken';
  if (status === 'dismissed') return 'dismissed: no action';
  return status;
}

/** One report of the user as a list item. */
function reportItem(sent) {
  const fields = sent.report;
  const message = fields.events?.[0];
  const body = (event) => (event.redacted ? 'deleted' : typeof event.content?.body === 'string' ? event.content.body : '');
  let what;
  if (fields.target === 'event' && message) what = `A message from ${shortKey(message.author)}: “${body(message)}”`;
  else if (fields.target === 'user') {
    const shown = (fields.events || []).map((e) => `“${body(e)}”`).join(', ');
    what = `The member ${shortKey(fields.user)}${shown ? `, for ${shown}` : ''}`;
  } else if (fields.target === 'room') what = `The room ${shortKey(fields.room)}`;
  else what = fields.target;
  const when = formatTime(sent.sent_ms);
  const statuses = h('ul', { className: 'report-statuses' });
  if (!sent.receipts.length) statuses.append(h('li', { className: 'report-status', data: { status: 'sent' }, text: 'sent, not yet received' }));
  for (const receipt of sent.receipts) {
    const queue = receipt.queue === 'operator' ? `the operator of node ${shortKey(receipt.node)}` : `the moderators' queue on node ${shortKey(receipt.node)}`;
    const note = receipt.note ? ` (“${receipt.note}”)` : '';
    statuses.append(h('li', { className: 'report-status', data: { status: receipt.status, queue: receipt.queue }, text: `${queue}: ${statusText(receipt.status)}${note}` }));
  }
  return h(
    'li',
    { className: 'report', data: { reportId: sent.id, status: sent.status, target: fields.target } },
    h('div', { className: 'report-what', text: what }),
    h('div', { className: 'hint', text: `${categoryText(fields.category)} · ${when.full}` }),
    fields.text ? h('div', { className: 'report-text', text: `Your words: ${fields.text}` }) : null,
    statuses,
  );
}

/** Opens "My reports": the user's reports, newest first, with every answer. */
async function onMyReports() {
  const list = $('reports-list');
  list.replaceChildren();
  $('reports-empty').hidden = true;
  const shown = runDialog('reports', { focus: $('reports-cancel'), check: () => ({ value: null }) });
  try {
    const answer = await call('GET', '/reports');
    const reports = (answer.reports || []).slice(0, MAX_SHOWN_REPORTS);
    list.replaceChildren(...reports.map(reportItem));
    $('reports-empty').hidden = reports.length > 0;
  } catch (error) {
    showPlainError('reports-error', error);
  }
  await shown;
}

/** Binds "My reports", "Report room…" and the report dialog's category list. */
export function bindReports() {
  $('report-category').replaceChildren(...CATEGORIES.map(([value, label]) => h('option', { attrs: { value }, text: label })));
  $('my-reports').addEventListener('click', onMyReports);
  $('report-room').addEventListener('click', reportRoom);
}
