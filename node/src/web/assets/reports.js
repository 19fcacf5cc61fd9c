// Causerie web client: abuse reports (specs/accountability.md §1.1, §1.4). "Report…" on another
// member's message asks for a category and the user's words, has the node prepare the unsigned
// report, decodes it (cbor.js) and compares it with what was asked (category, target, text, room,
// reporter and the embedded events' ids) before this browser's key signs it; "My reports" lists
// the user's reports with each recipient queue's answer in plain words.

import { cborEqual, decodeCbor } from './cbor.js';
import { runDialog } from './dialogs.js';
import { $, h } from './dom.js';
import * as keys from './keys.js';
import { call } from './session.js';
import { state } from './state.js';
import { errorText, formatTime, shortKey } from './text.js';

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
/** Event signing-input prefix (specs/events.md §3). */
const EVENT_PREFIX = new TextEncoder().encode('causerie/v1/event\0');

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

/**
 * Checks the node's unsigned report against what was asked (`ask`: category, text, room, event
 * id, author) and returns the bytes to sign. Throws ReportMismatch (or CborError).
 */
export async function checkReport(prepared, ask, me) {
  const bytes = keys.hexToBytes(prepared.draft);
  const draft = decodeCbor(bytes);
  if (draft === null || typeof draft !== 'object' || Array.isArray(draft)) throw new ReportMismatch('the report is not a map');
  if (draft.v !== 1) throw new ReportMismatch('unknown report version');
  if ('signature' in draft) throw new ReportMismatch('the report is already signed');
  if (draft.target !== 'event') throw new ReportMismatch('the report is not about a message');
  if (draft.category !== ask.category) throw new ReportMismatch('the report has another category');
  if (draft.text !== ask.text) throw new ReportMismatch('the report has other words');
  if (!cborEqual(draft.reporter, keys.hexToBytes(me))) throw new ReportMismatch('the report is not by your key');
  if (!cborEqual(draft.room, keys.hexToBytes(ask.room.slice(1)))) throw new ReportMismatch('the report is about another room');
  if (!cborEqual(draft.user, keys.hexToBytes(ask.author))) throw new ReportMismatch('the report is about another member');
  if (!Array.isArray(draft.events) || draft.events.length !== 1 || !(draft.events[0] instanceof Uint8Array)) {
    throw new ReportMismatch('the report embeds other messages');
  }
  if (`$${await messageEventId(draft.events[0])}` !== ask.event) throw new ReportMismatch('the report embeds another message');
  const input = concat(REPORT_PREFIX, bytes);
  if (prepared.signing_input !== undefined && prepared.signing_input !== keys.bytesToHex(input)) {
    throw new ReportMismatch('the signing input is not the report');
  }
  return input;
}

/** Asks what is wrong with `event`; resolves to `{category, text}` or null (cancelled). */
function askReport(event, { category, text, error }) {
  const select = $('report-category');
  const words = $('report-text');
  select.value = category;
  words.value = text;
  $('report-about').textContent = `The message from ${event.sender?.display_name || event.sender?.handle || shortKey(event.author)} goes, with your words, to this node's operator and the room's moderators.`;
  const answer = runDialog('report', {
    focus: select,
    check: () => {
      const bytes = new TextEncoder().encode(words.value).length;
      if (bytes > MAX_REPORT_TEXT_BYTES) return { error: `At most ${MAX_REPORT_TEXT_BYTES} bytes (this text has ${bytes}).`, field: words };
      return { value: { category: select.value, text: words.value } };
    },
  });
  if (error) $('report-error').textContent = error;
  return answer;
}

/** Shows `text` under the timeline. */
function notice(text) {
  const line = $('report-notice');
  line.textContent = text;
  line.hidden = !text;
}

/** Reports `event` (another member's message): ask, prepare, check, sign, submit. */
export async function reportEvent(event) {
  notice('');
  let asked = { category: 'spam', text: '', error: '' };
  for (;;) {
    const answer = await askReport(event, asked);
    if (answer === null) return;
    const ask = { ...answer, room: event.room, event: event.id, author: event.author };
    try {
      const prepared = await call('POST', '/reports/prepare', {
        target: 'event',
        category: ask.category,
        text: ask.text,
        room: event.room,
        events: [event.id],
      });
      const input = await checkReport(prepared, ask, state.identity.user);
      const signature = await keys.sign(state.identity, input);
      await call('POST', '/reports', { draft: prepared.draft, signature: keys.bytesToHex(signature) });
      notice(`Report sent (${categoryText(ask.category)}). The operator and the moderators will look at it; "My reports" shows what they decide.`);
      return;
    } catch (error) {
      asked = { ...answer, error: errorText(error) };
    }
  }
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
  const what = message
    ? `A message from ${shortKey(message.author)}: “${message.redacted ? 'deleted' : typeof message.content?.body === 'string' ? message.content.body : ''}”`
    : `${fields.target}${fields.user ? ` ${shortKey(fields.user)}` : ''}`;
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
    { className: 'report', data: { reportId: sent.id, status: sent.status } },
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
    $('reports-error').textContent = errorText(error);
  }
  await shown;
}

/** Binds "My reports" and the report dialog's category list. */
export function bindReports() {
  $('report-category').replaceChildren(...CATEGORIES.map(([value, label]) => h('option', { attrs: { value }, text: label })));
  $('my-reports').addEventListener('click', onMyReports);
}
