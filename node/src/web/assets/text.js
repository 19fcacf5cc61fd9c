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
