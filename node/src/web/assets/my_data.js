// Causerie web client: the user's data-protection rights (specs/accountability.md §7). "Export my
// data" saves everything this node holds about the user as one JSON file; "Erase my data…" signs
// a redaction of every message the user wrote (with this browser's key, like every action) and
// then asks the node to erase the registration record, showing what the operator keeps and until
// when.

import { askConfirm } from './dialogs.js';
import { $, h } from './dom.js';
import { cborEqual } from './cbor.js';
import * as keys from './keys.js';
import { act, call } from './session.js';
import { errorText } from './text.js';

/** Most export pages read (500 events each). */
const MAX_EXPORT_PAGES = 10000;
/** Most waits after a rate-limited redaction, per event. */
const MAX_RATE_LIMITED_RETRIES = 120;
/** Pause after a rate-limited redaction, in ms. */
const RATE_LIMIT_PAUSE_MS = 500;

/** The whole export: the first page with every page's events. */
async function exportAll() {
  const document = await call('GET', '/me/export');
  let next = document.next;
  for (let pages = 1; next; pages += 1) {
    if (pages >= MAX_EXPORT_PAGES) throw new Error('export_too_large: more pages than this client reads');
    const page = await call('GET', `/me/export?after=${encodeURIComponent(next)}`);
    document.events.push(...page.events);
    next = page.next;
  }
  document.next = null;
  return document;
}

/** Saves `value` as a JSON file named `name`. */
function download(value, name) {
  const url = URL.createObjectURL(new Blob([JSON.stringify(value, null, 2)], { type: 'application/json' }));
  const link = h('a', { attrs: { href: url, download: name } });
  link.hidden = true;
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 60000);
}

async function onExportData() {
  const status = $('key-tools-status');
  status.textContent = 'Collecting your data…';
  try {
    const data = await exportAll();
    download(data, `causerie-export-${data.account?.handle || 'me'}.json`);
    status.textContent = `Exported your account and ${data.events.length} events.`;
  } catch (error) {
    status.textContent = errorText(error);
  }
}

/** Whether the erasure redacts an exported event (the CLI decides the same way). */
const toRedact = (event) =>
  (event.status === 'accepted' || event.status === 'soft_failed') &&
  event.redacted === false && event.kind !== 'room.redaction' && event.kind !== 'room.create';

/** Redacts one event, waiting and retrying while the node's rate limit refuses. */
async function redactOwn(event) {
  const target = keys.hexToBytes(event.id.slice(1));
  const action = { action: 'redact', event: event.id, reason: 'erasure' };
  const expect = { kind: 'room.redaction', content: (c) => c.redacts instanceof Uint8Array && cborEqual(c.redacts, target) };
  for (let attempt = 0; ; attempt += 1) {
    try {
      return await act(event.room, action, expect);
    } catch (error) {
      const limited = error?.reason === 'rate_limited' || error?.reason === 'slow_mode';
      if (!limited || attempt >= MAX_RATE_LIMITED_RETRIES) throw error;
      await new Promise((resolve) => setTimeout(resolve, RATE_LIMIT_PAUSE_MS));
    }
  }
}

/** What the operator keeps, in words. */
function keptText(kept) {
  if (!kept) return 'Nothing is kept.';
  const date = (ms) => (ms ? new Date(ms).toISOString().slice(0, 10) : 'while your account exists');
  const lines = [];
  if (kept.registration_time) lines.push(`registration time until ${date(kept.registration_time.expires_ms)}`);
  for (const c of kept.connections || []) lines.push(`${c.kind} from ${c.address} until ${date(c.expires_ms)}`);
  if (kept.contact) lines.push(`contact data until ${date(kept.contact.expires_ms)}`);
  return lines.length ? `Kept by the operator as the law requires: ${lines.join('; ')}.` : 'Nothing is kept.';
}

async function onEraseData() {
  const choice = await askConfirm({
    title: 'Erase your data?',
    text:
      'Every message you wrote that this node holds is redacted on every node (signed with your key), ' +
      'and your registration record is deleted except what the operator must keep. This cannot be undone.',
    ok: 'Erase my data',
  });
  if (choice !== 'ok') return;
  const status = $('key-tools-status');
  status.textContent = 'Redacting your messages…';
  try {
    const data = await exportAll();
    let redacted = 0;
    const left = [];
    for (const event of data.events.filter(toRedact)) {
      try {
        await redactOwn(event);
        redacted += 1;
        status.textContent = `Redacted ${redacted} events…`;
      } catch (error) {
        left.push(`${event.id}: ${error?.reason || errorText(error)}`);
      }
    }
    const answer = await call('POST', '/me/erase', {});
    const notDone = left.length ? ` Not redacted (${left.length}): ${left.join(', ')}.` : '';
    status.textContent = `Redacted ${redacted} events.${notDone} ${keptText(answer.kept)}`;
  } catch (error) {
    status.textContent = errorText(error);
  }
}

/** Binds the export and erase buttons. */
export function bindMyData() {
  $('export-data').addEventListener('click', onExportData);
  $('erase-data').addEventListener('click', onEraseData);
}
