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

/** Whether `text` is non-empty lowercase hex of whole bytes. */
export function isHex(text) {
  return typeof text === 'string' && text.length > 0 && text.length % 2 === 0 && /^[0-9a-f]+$/.test(text);
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

/**
 * Plain words for refusals, by reason name: every name of the node's API (node/src/api/error.rs,
 * with the inner names it passes on from the room engine, content rules, the directory and the
 * network), and the client's own (keys.js, draft.js, the API client). Checked complete by
 * tests/client_unit.mjs against error.rs.
 */
export const REASON_WORDS = {
  // The API's own reasons.
  bad_request: 'The node did not understand the request. Reload the page and try again.',
  bad_host: 'The node did not recognise the address this page was opened at.',
  bad_handle: 'A handle is 1 to 32 characters: a–z, 0–9, dot, dash or underscore, starting with a letter or digit.',
  bad_display_name: 'A display name is at most 64 bytes, with no control characters.',
  bad_contact: 'The contact details are too long, empty, or contain control characters.',
  contact_required: 'This node asks for contact details when you sign up.',
  bad_user: 'That is not a valid user key (64 hex digits).',
  bad_room_id: 'That is not a valid room id.',
  bad_event_id: 'That is not a valid message id.',
  bad_cursor: 'The history position is not valid. Reload the room.',
  bad_content: 'The node cannot carry this content.',
  bad_draft: 'The node prepared something this page cannot read, so nothing was signed or sent.',
  bad_signature: 'The signature did not verify, so nothing was done.',
  bad_power: 'That power level is out of range.',
  bad_name: 'The room name is too long.',
  bad_topic: 'The topic is too long.',
  bad_join_rule: 'That is not a join rule this node knows.',
  bad_min_assurance: 'That is not an assurance level this node knows.',
  bad_denied_attester: 'That is not a valid node key.',
  bad_allowed_attester: 'That is not a valid node key.',
  body_too_long: 'The message is too long.',
  empty_message: 'The message has no visible text.',
  reason_too_long: 'The reason is too long: at most 1,024 bytes.',
  bad_expiry: 'That end date is not valid: it must be in the future, and not too far ahead.',
  over_limit: 'That asks for more than the node gives at once.',
  missing_token: 'You are not logged in on this node.',
  bad_token: 'Your session on this node has ended. Log in again.',
  unknown_challenge: 'The login took too long. Try again.',
  cross_origin: 'The node refused a request from another site.',
  not_member: 'Only the room’s members can do this.',
  not_your_key: 'This action was prepared for another key, so nothing was signed.',
  wrong_attestation: 'This action names another attestation than your account’s.',
  soft_failed: 'The room’s current state does not allow this any more.',
  ban_list: 'A ban list this room follows names you.',
  attestation_revoked: 'Your home node has withdrawn its word for your key.',
  not_found: 'It is no longer on this node.',
  unknown_room: 'This node does not hold that room. Join it by invite link or alias instead.',
  unknown_user: 'This node knows nobody with that key.',
  not_registered: 'This node does not know your key yet.',
  method_not_allowed: 'The node does not take this request.',
  body_timeout: 'The request did not arrive in time. Check the connection and try again.',
  already_registered: 'Your key already has an account on this node.',
  handle_taken: 'Someone else already has that handle on this node. Choose another.',
  missing_references: 'The node lacks part of the room’s history for this. Try again in a moment.',
  body_too_large: 'That is too large for the node.',
  unsupported_media_type: 'The node did not understand the request.',
  host_not_allowed: 'This node does not answer at the address this page was opened at.',
  rate_limited: 'Too many at once: try again in a moment.',
  slow_mode: 'This room is in slow mode: wait a moment before sending again.',
  bad_content_rules: 'Those content rules cannot be read: check the blocked patterns.',
  not_locked: 'This room is not locked down.',
  too_many_streams: 'Too many windows are connected to this node. Close some tabs.',
  too_many_challenges: 'Too many logins at once. Wait a moment and try again.',
  internal: 'The node hit a bug. Try again; if it persists, tell its operator.',
  join_failed: 'The room could not be reached through the nodes in the link. Check the link, or try again later.',
  unavailable: 'This node does not offer this right now.',
  busy: 'The node is too busy to take this now. Try again later.',
  no_randomness: 'The node cannot make random numbers right now. Tell its operator.',
  too_many_connections: 'Too many connections are open. Try again later.',
  classifier_rejected: 'The node’s content filter refused this message.',
  held_for_review: 'Your message waits for a moderator to review it.',
  review_full: 'The room’s review queue is full. Try again later.',
  not_moderator: 'Only the room’s moderators may do this.',
  no_such_review_item: 'That item is no longer waiting for review.',
  operator_auth_required: 'Only the node’s operator may do this.',
  operator_auth_failed: 'Only the node’s operator may do this.',
  reporting_muted: 'This node no longer takes reports from you.',
  // The room engine's reasons (passed on as they are).
  accepted: 'Done.',
  attestation_expired: 'Your home node’s word for your key has expired. Log in again to renew it.',
  attestation_mismatch: 'Your key and the attestation it was sent with do not match.',
  attestation_not_accepted: 'This room does not accept members vouched for by your home node.',
  auth_failed_own: 'The room’s rules do not allow this.',
  auth_failed_state: 'The room’s rules do not allow this.',
  bad_depth: 'The room’s history is inconsistent here. Try again.',
  bad_state_key: 'The node refused this change.',
  banned: 'You are banned from this room.',
  blocked_pattern: 'The room’s rules do not allow this message: it matches a blocked pattern.',
  blocked_word: 'The room’s rules do not allow this message: it contains a blocked word.',
  current_state_too_large: 'This room has grown too large for this node.',
  duplicate: 'That was already done.',
  duplicate_auth_event: 'The node refused this change.',
  evicted: 'The node had to drop this. Try again.',
  expired: 'That has expired.',
  foreign_reference: 'The node refused this change.',
  from_future: 'Your clock is ahead of the node’s. Check this device’s date and time.',
  insufficient_power: 'Your power level in this room is too low for this.',
  invalid_membership_change: 'That change of membership is not possible now.',
  join_not_allowed: 'This room cannot be joined without an invitation.',
  join_wave: 'Many people joined this room just now, so it takes new members by invitation for a while.',
  link_not_allowed: 'The room’s rules do not allow links in messages.',
  message_too_long: 'The message is longer than this room allows.',
  missing_auth_event: 'The node lacks part of the room’s history for this. Try again in a moment.',
  missing_event: 'The node lacks part of the room’s history for this. Try again in a moment.',
  muted: 'You are muted in this room.',
  new_member_links: 'New members may not post links in this room yet.',
  no_create: 'The node refused this change.',
  not_a_member: 'Only the room’s members can do this.',
  power_change_not_allowed: 'You cannot give or take that power level.',
  refused: 'The node refused this.',
  rejected: 'The room’s rules do not allow this.',
  rejected_reference: 'The node refused this change.',
  sender_not_target: 'You can only change your own membership this way.',
  state_res_too_large: 'This room has grown too large for this node.',
  too_many_attestations: 'The node refused this change.',
  too_many_extremities: 'The room’s history is too tangled right now. Try again in a moment.',
  too_many_held_by_author: 'Too many of your messages wait for review already.',
  too_many_held_from_source: 'Too many messages wait for review already.',
  too_many_mentions: 'This message mentions more people than the room allows.',
  too_many_outliers: 'The node refused this change.',
  wrong_auth_event: 'The node refused this change.',
  wrong_room: 'That belongs to another room.',
  undecided: 'The node cannot decide on this yet. Try again in a moment.',
  not_taken: 'The node cannot take this now. Try again in a moment.',
  // Names, aliases and links (the directory, invite links).
  unknown_server: 'No node with that server name is known here yet.',
  unknown_alias: 'No room has that alias.',
  unknown_handle: 'Nobody has that handle.',
  server_name_conflict: 'Two nodes claim that server name, so it cannot be trusted.',
  alias_taken: 'Another room already has that alias.',
  ambiguous_handle: 'More than one person has that handle.',
  bad_alias: 'A room alias looks like #lobby:example.org.',
  bad_via: 'The invite link’s addresses are not valid.',
  missing_peer_id: 'The invite link’s addresses are incomplete.',
  unknown_event: 'That message is not in this room any more.',
  not_a_message: 'That works on messages only.',
  not_your_message: 'You can only do this to your own messages.',
  not_editable: 'That message can no longer be edited.',
  already_reacted: 'You already reacted with that.',
  no_reaction: 'You had not reacted with that.',
  dm_full: 'A direct message is between two people: nobody else can be invited.',
  // One identity on many nodes, and signals.
  home_elsewhere: 'Your account lives on your home node: change this there.',
  bad_attestation: 'Your home node’s word for your key could not be read or verified.',
  read_markers_full: 'This node keeps no more read markers for you right now.',
  // This page's own reasons.
  unreachable: 'The node cannot be reached. Check the connection and try again.',
  draft_mismatch: 'The node prepared something other than what you asked for, so nothing was signed or sent.',
  wrong_passphrase: 'That passphrase does not open this key file. Try again.',
  bad_passphrase: 'That passphrase is too weak.',
  bad_export_file: 'That is not a Causerie key file.',
  bad_hex: 'That is not a Causerie key file.',
  key_mismatch: 'The key file is damaged: its key does not match.',
  weak_kdf: 'That key file is protected too weakly to be trusted.',
  report_text_too_long: 'Your words are too long: at most 2,000 bytes.',
  too_many_denied_attesters: 'The list is full.',
  too_many_allowed_attesters: 'The list is full.',
  export_too_large: 'Your data is larger than this page can export. Use the command line instead.',
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

/** Words for an attestation's assurance level, as a member line says it. */
export const ASSURANCE_WORDS = ['verified key', 'verified contact', 'verified identity', 'met in person'];

/**
 * How a member reads in the member list: "Alice · @alice · home node example.org, verified key".
 * `nodeName(key)` names a node (its server name, "this node", or a short key).
 */
export function memberWords(member, nodeName) {
  const parts = [];
  if (member.display_name) parts.push(member.display_name);
  if (member.handle) parts.push(`@${member.handle}`);
  if (!parts.length) parts.push(shortKey(member.user));
  if (member.home_node) {
    const level = ASSURANCE_WORDS[member.assurance] ?? member.assurance_name ?? 'key';
    parts.push(`home node ${nodeName(member.home_node)}, ${level}`);
  } else {
    parts.push('home node unknown');
  }
  return parts.join(' · ');
}

/** A membership other than `join`, in words (null for `join`). */
export const MEMBERSHIP_WORDS = {
  invite: 'invited',
  knock: 'asked to join',
  leave: 'left',
  ban: 'banned',
};

/** The tab title: the room (or app) name, after the count of unread messages when any. */
export function titleWith(unread, mentions, name) {
  if (mentions > 0) return `(${mentions > 99 ? '99+' : mentions}!) ${name}`;
  if (unread > 0) return `(${unread > 99 ? '99+' : unread}) ${name}`;
  return name;
}

/** A count as a badge shows it (at most "999+", as the node caps counts at 999). */
export function countText(n) {
  return n >= 999 ? '999+' : String(n);
}

/** Whether `text` mentions `@handle` as a word (not inside an e-mail address or a longer handle). */
export function mentionsHandle(text, handle) {
  if (typeof text !== 'string' || !handle) return false;
  const escaped = handle.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  return new RegExp(`(^|[^\\w@.])@${escaped}(?![\\w-]|\\.\\w)`, 'i').test(text);
}

/**
 * Whether a message is for `me` (`{user, handle}`): it lists the user's key in `mentions`,
 * replies to one of their messages, or names their `@handle` in its text.
 */
export function isMention(event, me) {
  if (!me?.user || event.author === me.user) return false;
  if (Array.isArray(event.mentions) && event.mentions.includes(me.user)) return true;
  if (event.reply_to && event.reply_to.author === me.user) return true;
  return mentionsHandle(event.content?.body, me.handle);
}

/** Whether a live event is a message that counts as unread: by someone else, visible, not an edit. */
export function countsAsUnread(event, me) {
  return (
    event.kind === 'room.message' &&
    event.author !== me &&
    !event.redacted &&
    !event.deleted &&
    !event.replaces &&
    !event.content?.replaces
  );
}

/** A room id: `!` and 64 hex digits. */
const ROOM_ID = /^![0-9a-f]{64}$/;
/** A room alias: `#local:server` (the node checks the rest). */
const ALIAS = /^#[^\s:]+:[^\s]+$/;
/** The web form of an invite link: `https://<host>/join/<room>?via=…` (the node checks the rest). */
const WEB_INVITE = /^https?:\/\/[^/?#]+\/join\//;

/** What the join box's text names: `{room}`, `{alias}`, `{link}`, or null when none of them. */
export function joinTarget(text) {
  const target = text.trim();
  if (ROOM_ID.test(target)) return { room: target };
  if (ALIAS.test(target)) return { alias: target };
  if (target.startsWith('causerie:join/') || WEB_INVITE.test(target)) return { link: target };
  return null;
}
