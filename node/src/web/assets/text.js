// Causerie web client: how keys, times, power levels, attestations and errors are written for
// people. Pure functions (no DOM), checked by tests/client_unit.mjs.

import { ApiError } from './api.js';
import { CborError } from './cbor.js';
import * as keys from './keys.js';
import { DraftError } from './draft.js';

/** Names of the attestation assurance levels (specs/identity.md), by level. */
export const ASSURANCE_NAMES = ['key', 'contact', 'identity', 'in_person'];

/** The largest power level the API reports: the room's creator. */
export const CREATOR_POWER = 9007199254740991;

/** A hex key or id cut to its first 8 and last 4 digits, for display. */
export function shortKey(hex) {
  return typeof hex === 'string' && hex.length > 12 ? `${hex.slice(0, 8)}…${hex.slice(-4)}` : String(hex ?? '');
}

/** An error as shown to the user: the stable reason name first, then the explanation. */
export function errorText(error) {
  if (error instanceof ApiError) return error.message && error.message !== error.reason ? `${error.reason}: ${error.message}` : error.reason;
  if (error instanceof keys.KeyError || error instanceof DraftError) return `${error.reason}: ${error.message}`;
  if (error instanceof CborError) return `bad_draft: ${error.message}`;
  return error && error.message ? error.message : String(error);
}

/** An origin timestamp as {short, full, iso} texts (the time alone for today). */
export function formatTime(ms) {
  if (!Number.isSafeInteger(ms) || ms <= 0) return { short: '', full: '' };
  const date = new Date(ms);
  const today = new Date();
  const sameDay = date.toDateString() === today.toDateString();
  const time = date.toLocaleTimeString(undefined, { hour: '2-digit', minute: '2-digit' });
  return {
    short: sameDay ? time : `${date.toLocaleDateString(undefined, { month: 'short', day: 'numeric' })} ${time}`,
    full: date.toLocaleString(),
    iso: date.toISOString(),
  };
}

/** Who vouches for a sender: their home node and assurance level. */
export function attestationText(sender) {
  if (!sender || !sender.home_node) return 'attestation unknown';
  const level = ASSURANCE_NAMES[sender.assurance] ?? String(sender.assurance);
  return `home node ${shortKey(sender.home_node)} · assurance ${level}`;
}

/** A power level as a number, or `creator` for the creator's unbounded power. */
export function levelText(power) {
  return power >= CREATOR_POWER ? 'creator' : String(power);
}

/** A wait in seconds as people say it: "12 s", "3 min", "2 h". */
function waitWords(seconds) {
  const s = Math.max(1, Math.ceil(seconds));
  if (s < 120) return `${s} s`;
  if (s < 2 * 3600) return `${Math.ceil(s / 60)} min`;
  return `${Math.ceil(s / 3600)} h`;
}

/** Plain words for refusals, by reason name (the node's own message is used otherwise). */
const REASON_WORDS = {
  unreachable: 'The node cannot be reached. Check the connection and try again.',
  draft_mismatch: 'The node prepared something other than what you asked for, so nothing was signed or sent.',
  bad_draft: 'The node prepared something this page cannot read, so nothing was signed or sent.',
  reporting_muted: 'This node no longer takes reports from you.',
  not_found: 'It is no longer on this node.',
  busy: 'The node is too busy to take this now. Try again later.',
  unavailable: 'This node does not offer this.',
  report_text_too_long: 'Your words are too long: at most 2,000 bytes.',
  attestation_not_accepted: 'This room does not accept members vouched for by your home node.',
  not_moderator: 'Only the room’s moderators may do this.',
  insufficient_power: 'Your power level in this room is too low for this.',
  bad_denied_attester: 'That is not a valid node key.',
  bad_allowed_attester: 'That is not a valid node key.',
  too_many_denied_attesters: 'The list is full.',
  too_many_allowed_attesters: 'The list is full.',
};

/**
 * An error for people: `words`, a plain sentence, and `detail`, the stable reason name with the
 * technical message (for a details line, or a bug report).
 */
export function plainError(error) {
  const reason = error?.reason ?? null;
  const detail = errorText(error);
  if (reason === 'rate_limited' || reason === 'slow_mode') {
    const wait = Number.isFinite(error.retryAfter) && error.retryAfter > 0 ? `in ${waitWords(error.retryAfter)}` : 'in a moment';
    return { words: `Too many at once: try again ${wait}.`, detail };
  }
  if (reason && REASON_WORDS[reason]) return { words: REASON_WORDS[reason], detail };
  const message = error instanceof ApiError && error.message && error.message !== reason ? error.message.trim() : '';
  if (message) {
    const sentence = message[0].toUpperCase() + message.slice(1);
    return { words: /[.!?]$/.test(sentence) ? sentence : `${sentence}.`, detail };
  }
  return { words: 'Something went wrong.', detail };
}
