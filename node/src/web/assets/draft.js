// Causerie web client: checking what the node asks us to sign. The node prepares every event
// (specs/client-api.md, "Prepare and submit"); before the user's key signs anything, the draft
// is decoded strictly (cbor.js) and compared with what the user asked for, so a node cannot
// make the user sign another event or another login than the one they meant. Pure (no DOM).

import { cborEqual, decodeCbor } from './cbor.js';
import * as keys from './keys.js';

/** Ed25519 signing-input prefixes (specs/events.md §4). */
export const EVENT_PREFIX = new TextEncoder().encode('causerie/v1/event\0');
const CHALLENGE_PREFIX = new TextEncoder().encode('causerie/v1/challenge\0');

/** The node asked us to sign something other than what we asked for. */
export class DraftError extends Error {
  constructor(message) {
    super(message);
    this.reason = 'draft_mismatch';
  }
}

function bytesStartWith(bytes, prefix) {
  return bytes.length >= prefix.length && prefix.every((b, i) => bytes[i] === b);
}

/**
 * Checks a Draft before signing it: the draft decodes strictly, is ours (author), is for the
 * room and kind we asked, its content satisfies `expect.content`, its content hash matches its
 * content, and `signing_input` is the event prefix followed by the same envelope with content
 * reduced to a subset of the draft's (the redacted form). `user` is our key (hex). Throws
 * DraftError or CborError; returns the signing input.
 */
export async function checkDraft(draft, expect, user) {
  const bytes = keys.hexToBytes(draft.draft);
  const spans = Object.create(null);
  const envelope = decodeCbor(bytes, spans);
  if (envelope === null || typeof envelope !== 'object' || Array.isArray(envelope) || envelope instanceof Uint8Array) {
    throw new DraftError('the draft is not a map');
  }
  if (envelope.v !== 1) throw new DraftError('unknown envelope version');
  if ('signature' in envelope) throw new DraftError('the draft is already signed');
  if (!cborEqual(envelope.author, keys.hexToBytes(user))) {
    throw new DraftError('the draft is not authored by your key');
  }
  if (expect.room === null) {
    if ('room' in envelope) throw new DraftError('a create draft names a room');
  } else if (!cborEqual(envelope.room, keys.hexToBytes(expect.room.slice(1)))) {
    throw new DraftError('the draft is for another room');
  }
  if (envelope.kind !== expect.kind) throw new DraftError(`the draft is a ${envelope.kind}, not a ${expect.kind}`);
  if (expect.stateKey !== undefined && envelope.state_key !== expect.stateKey) {
    throw new DraftError('the draft has another state key');
  }
  const content = envelope.content;
  if (content === null || typeof content !== 'object' || Array.isArray(content) || content instanceof Uint8Array) {
    throw new DraftError('the draft content is not a map');
  }
  if (expect.content && !expect.content(content)) throw new DraftError('the draft content is not what was asked');
  const [start, end] = spans.content;
  const hash = new Uint8Array(await crypto.subtle.digest('SHA-256', bytes.subarray(start, end)));
  if (!cborEqual(envelope.content_hash, hash)) throw new DraftError('the content hash does not match the content');

  const input = keys.hexToBytes(draft.signing_input);
  if (!bytesStartWith(input, EVENT_PREFIX)) throw new DraftError('the signing input is not an event');
  const signed = decodeCbor(input.subarray(EVENT_PREFIX.length));
  const keysSigned = Object.keys(signed).sort();
  const keysDraft = Object.keys(envelope).sort();
  if (!cborEqual(keysSigned, keysDraft)) throw new DraftError('the signing input has other fields');
  for (const key of keysDraft) {
    if (key === 'content') continue;
    if (!cborEqual(signed[key], envelope[key])) throw new DraftError(`the signing input differs in ${key}`);
  }
  const signedContent = signed.content;
  if (signedContent === null || typeof signedContent !== 'object' || Array.isArray(signedContent)) {
    throw new DraftError('the signing input content is not a map');
  }
  for (const key of Object.keys(signedContent)) {
    if (!(key in content) || !cborEqual(signedContent[key], content[key])) {
      throw new DraftError('the signing input content is not the redacted draft content');
    }
  }
  return input;
}

/** Checks a login challenge: for `user` (hex), for authentication, and signing_input = prefix ‖
 *  challenge. Returns the signing input. */
export function checkChallenge(response, user) {
  const challenge = keys.hexToBytes(response.challenge);
  const input = keys.hexToBytes(response.signing_input);
  if (input.length !== CHALLENGE_PREFIX.length + challenge.length || !bytesStartWith(input, CHALLENGE_PREFIX)) {
    throw new DraftError('the challenge signing input is not a challenge');
  }
  if (!cborEqual(input.subarray(CHALLENGE_PREFIX.length), challenge)) {
    throw new DraftError('the challenge signing input is not the challenge');
  }
  const decoded = decodeCbor(challenge);
  if (decoded.purpose !== 'causerie.auth' || decoded.v !== 1) throw new DraftError('not an authentication challenge');
  if (!cborEqual(decoded.user, keys.hexToBytes(user))) throw new DraftError('the challenge is for another key');
  return input;
}
