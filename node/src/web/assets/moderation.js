// Causerie web client: moderation in people's words (specs/moderation.md). Role names for power
// levels, the durations a moderator picks from, what a muted, removed or refused user is told,
// and who may use which part of the moderator panel. Pure (no DOM, no state): the caller names
// members and gives the clock; checked by tests/client_unit.mjs.

import { CREATOR_POWER } from './text.js';

/** Power from which a member is called a moderator, and an admin (as in notices.js). */
export const MODERATOR_POWER = 50;
export const ADMIN_POWER = 100;

/** What each power threshold defaults to when a room's power levels do not say (rooms.md). */
const DEFAULT_LEVELS = { ban: 50, kick: 50, mute: 50, redact: 50, invite: 0, state_default: 50 };

/** The durations offered for a mute or a ban: [label, milliseconds or null for permanent]. */
export const DURATIONS = [
  ['10 minutes', 10 * 60 * 1000],
  ['1 hour', 60 * 60 * 1000],
  ['1 day', 24 * 60 * 60 * 1000],
  ['7 days', 7 * 24 * 60 * 60 * 1000],
  ['permanent', null],
];

/** A power level's name: creator, admin, moderator or member. */
export function roleName(power) {
  if (power >= CREATOR_POWER) return 'creator';
  if (power >= ADMIN_POWER) return 'admin';
  if (power >= MODERATOR_POWER) return 'moderator';
  return 'member';
}

/** The level a room needs for `action` (ban, kick, mute, redact, invite, state_default). */
export function levelFor(info, action) {
  const levels = info?.power_levels || {};
  return levels[action] ?? DEFAULT_LEVELS[action] ?? 50;
}

/** The level a room needs to set state of `kind` (its events override, else state_default). */
export function stateLevel(info, kind) {
  const events = info?.power_levels?.events;
  return (events && typeof events === 'object' && Number.isSafeInteger(events[kind]) ? events[kind] : null) ?? levelFor(info, 'state_default');
}

/**
 * What the user may do in the moderator panel of a room (`info`: its RoomInfo): each flag says
 * whether their power reaches the level. `any` says whether the panel is offered at all.
 */
export function moderatorRights(info) {
  const power = info?.membership === 'join' ? info.power ?? 0 : -1;
  const rights = {
    kick: power >= levelFor(info, 'kick'),
    ban: power >= levelFor(info, 'ban'),
    mute: power >= levelFor(info, 'mute'),
    redact: power >= levelFor(info, 'redact'),
    rules: power >= stateLevel(info, 'room.content_rules'),
    lists: power >= stateLevel(info, 'room.policy_subscriptions'),
    lockdown: power >= stateLevel(info, 'room.join_rules') && power >= stateLevel(info, 'room.content_rules'),
    join: power >= stateLevel(info, 'room.join_rules'),
  };
  // The node shows a room's review queue to those at or above both its kick and redact levels.
  rights.review = rights.kick && rights.redact;
  rights.any = Object.values(rights).some(Boolean);
  return rights;
}

/** A moment to come as people say it: "14:05" today, "Dec 4, 14:05" another day. */
export function momentText(ms, now) {
  const date = new Date(ms);
  const time = date.toLocaleTimeString(undefined, { hour: '2-digit', minute: '2-digit' });
  if (date.toDateString() === new Date(now).toDateString()) return time;
  return `${date.toLocaleDateString(undefined, { month: 'short', day: 'numeric' })}, ${time}`;
}

/** A wait in seconds as people say it: "12 s", "3 min", "2 h". */
export function waitText(seconds) {
  const s = Math.max(1, Math.ceil(seconds));
  if (s < 120) return `${s} s`;
  if (s < 2 * 3600) return `${Math.ceil(s / 60)} min`;
  return `${Math.ceil(s / 3600)} h`;
}

/** `text`, then ": reason" when there is one, else a full stop. */
function withReason(text, reason) {
  const trimmed = typeof reason === 'string' ? reason.trim() : '';
  return trimmed ? `${text}: ${trimmed}` : `${text}.`;
}

/** Whether a restriction ending at `expires` (ms, or null for never) still holds at `now`. */
export function stillHolds(expires, now) {
  return !Number.isSafeInteger(expires) || expires > now;
}

/** Whether the user's ban from a room (`info`: its RoomInfo) was temporary and is over. */
export function banOver(info, now) {
  const expires = info?.removed?.expires;
  return info?.membership === 'ban' && Number.isSafeInteger(expires) && !stillHolds(expires, now);
}

/**
 * What a muted user reads: "You are muted by Alice until 14:05: spam". `mute` is `{by, reason,
 * expires}` with `by` already a name; null when the mute has ended by `now`.
 */
export function mutedText(mute, now) {
  if (!mute || !stillHolds(mute.expires, now)) return null;
  const until = Number.isSafeInteger(mute.expires) ? ` until ${momentText(mute.expires, now)}` : '';
  return withReason(`You are muted by ${mute.by}${until}`, mute.reason);
}

/**
 * What a kicked or banned user reads where the composer was. `removed` is the RoomInfo's
 * `{membership, reason, expires?, purge?}` and `by` the moderator's name.
 */
export function removalText(removed, by, now) {
  if (removed.membership !== 'ban') return withReason(`${by} removed you from this room`, removed.reason);
  const purged = removed.purge ? ' and deleted your messages' : '';
  const until = Number.isSafeInteger(removed.expires)
    ? stillHolds(removed.expires, now)
      ? ` until ${momentText(removed.expires, now)}`
      : ` until ${momentText(removed.expires, now)} (over now: you may join again)`
    : '';
  return withReason(`${by} banned you from this room${until}${purged}`, removed.reason);
}

/** Plain words for the content rules' refusals (specs/moderation.md §2), by reason name. */
const RULE_WORDS = {
  blocked_word: 'it contains a blocked word',
  blocked_pattern: 'it contains something this room blocks',
  message_too_long: 'it is longer than this room allows',
  too_many_mentions: 'it mentions more people than this room allows',
  link_not_allowed: 'this room does not allow that link',
  new_member_links: 'new members may not post links yet',
  classifier_rejected: 'the node’s filter refused it',
};

/**
 * What a user reads when the node refused what they sent, in plain words, or null for a
 * refusal with nothing to explain here. `error` has `reason`, `message` and, for a rate
 * limit, `retryAfter` (seconds).
 */
export function refusalText(error) {
  const reason = error?.reason;
  if (reason === 'rate_limited' || reason === 'slow_mode') {
    const wait = Number.isFinite(error.retryAfter) && error.retryAfter > 0 ? error.retryAfter : null;
    const what = reason === 'slow_mode' ? 'Slow mode is on' : 'Slow down';
    return wait ? `${what}: try again in ${waitText(wait)}.` : `${what}: try again in a moment.`;
  }
  if (reason === 'muted') return 'Your message was not sent: you are muted in this room.';
  if (reason === 'banned') return 'Your message was not sent: you are banned from this room.';
  if (reason === 'ban_list') return `Your message was not sent: ${(error.message || 'a ban list this room follows names you').replace(/\.$/, '')}.`;
  if (reason === 'held_for_review') return 'Your message waits for a moderator to review it.';
  const words = RULE_WORDS[reason];
  if (!words) return null;
  const detail = reason === 'classifier_rejected' && error.message && error.message !== reason ? ` (${error.message})` : '';
  return `Your message was not sent: ${words}${detail}.`;
}

/** Bounds of the content rules (specs/moderation.md §2), checked before the node refuses. */
export const RULE_LIMITS = {
  maxMessageBytes: 65536,
  words: 64,
  wordBytes: 64,
  patterns: 16,
  patternBytes: 256,
  domains: 64,
  mentions: 1000,
  linkDelayMinutes: 30 * 24 * 60,
  slowModeSeconds: 24 * 60 * 60,
};

const utf8Length = (text) => new TextEncoder().encode(text).length;

/** Non-empty trimmed lines of `text`. */
const lines = (text) => text.split('\n').map((line) => line.trim()).filter(Boolean);

/** The editor's fields (all text) for `room.content_rules` content (absent fields: empty). */
export function rulesToForm(content) {
  const c = content && typeof content === 'object' ? content : {};
  const number = (value, unit = 1) => (Number.isSafeInteger(value) && value > 0 ? String(Math.round(value / unit)) : '');
  const links = c.links === 'deny' ? 'deny' : c.links && Array.isArray(c.links.allow_domains) ? 'domains' : 'allow';
  return {
    maxBytes: number(c.max_message_bytes),
    words: Array.isArray(c.blocked_words) ? c.blocked_words.join('\n') : '',
    patterns: Array.isArray(c.blocked_patterns) ? c.blocked_patterns.join('\n') : '',
    links,
    domains: links === 'domains' ? c.links.allow_domains.join(' ') : '',
    mentions: Number.isSafeInteger(c.max_mentions) ? String(c.max_mentions) : '',
    linkDelay: number(c.new_member_link_delay_ms, 60000),
    slowMode: number(c.slow_mode_ms, 1000),
    classifier: ['fail_open', 'fail_closed'].includes(c.classifier) ? c.classifier : 'off',
  };
}

/**
 * The `room.content_rules` content the editor's fields say, keeping the fields the editor does
 * not show (exempt level, join wave, lockdown) from `current`. Returns `{content}`, or
 * `{error, field}` naming the field at fault.
 */
export function rulesFromForm(form, current) {
  const content = {};
  for (const key of ['exempt_level', 'join_wave', 'lockdown']) {
    if (current && current[key] !== undefined) content[key] = current[key];
  }
  const whole = (field, text, max, label) => {
    const trimmed = text.trim();
    if (!trimmed) return null;
    const n = Number(trimmed);
    if (!/^\d+$/.test(trimmed) || !Number.isSafeInteger(n) || n > max) throw { error: `${label}: a whole number from 0 to ${max}.`, field };
    return n;
  };
  try {
    const maxBytes = whole('maxBytes', form.maxBytes, RULE_LIMITS.maxMessageBytes, 'Longest message');
    if (maxBytes !== null) content.max_message_bytes = maxBytes;
    const words = lines(form.words);
    if (words.length > RULE_LIMITS.words) throw { error: `At most ${RULE_LIMITS.words} blocked words.`, field: 'words' };
    const longWord = words.find((w) => utf8Length(w) > RULE_LIMITS.wordBytes);
    if (longWord) throw { error: `A blocked word has at most ${RULE_LIMITS.wordBytes} bytes: “${longWord.slice(0, 20)}…”.`, field: 'words' };
    if (words.length) content.blocked_words = words;
    const patterns = lines(form.patterns);
    if (patterns.length > RULE_LIMITS.patterns) throw { error: `At most ${RULE_LIMITS.patterns} blocked patterns.`, field: 'patterns' };
    if (patterns.some((p) => utf8Length(p) > RULE_LIMITS.patternBytes)) throw { error: `A pattern has at most ${RULE_LIMITS.patternBytes} bytes.`, field: 'patterns' };
    if (patterns.length) content.blocked_patterns = patterns;
    if (form.links === 'deny') content.links = 'deny';
    if (form.links === 'domains') {
      const domains = form.domains.toLowerCase().split(/[\s,]+/).filter(Boolean);
      const dns = /^(?=.{1,253}$)([a-z0-9-]{1,63})(\.[a-z0-9-]{1,63})*$/;
      const bad = domains.find((d) => !dns.test(d));
      if (!domains.length || domains.length > RULE_LIMITS.domains || bad) {
        throw { error: bad ? `Not a domain name: “${bad}”.` : `Name 1 to ${RULE_LIMITS.domains} domains.`, field: 'domains' };
      }
      content.links = { allow_domains: domains };
    }
    const mentions = whole('mentions', form.mentions, RULE_LIMITS.mentions, 'Most mentions');
    if (mentions !== null) content.max_mentions = mentions;
    const delay = whole('linkDelay', form.linkDelay, RULE_LIMITS.linkDelayMinutes, 'Link delay');
    if (delay) content.new_member_link_delay_ms = delay * 60000;
    const slow = whole('slowMode', form.slowMode, RULE_LIMITS.slowModeSeconds, 'Slow mode');
    if (slow) content.slow_mode_ms = slow * 1000;
  } catch (problem) {
    return problem;
  }
  if (form.classifier !== 'off') content.classifier = form.classifier;
  return { content };
}

/** A duration in ms as people say it: "30 s", "5 min", "2 h". */
function spanText(ms) {
  return waitText(ms / 1000);
}

/** The content rules as [label, value] lines for the panel (an empty list: no rules). */
export function rulesSummary(content) {
  const c = content && typeof content === 'object' ? content : {};
  const out = [];
  if (Number.isSafeInteger(c.max_message_bytes)) out.push(['Longest message', `${c.max_message_bytes} bytes`]);
  if (Array.isArray(c.blocked_words) && c.blocked_words.length) out.push(['Blocked words', c.blocked_words.join(', ')]);
  if (Array.isArray(c.blocked_patterns) && c.blocked_patterns.length) out.push(['Blocked patterns', c.blocked_patterns.join('  ')]);
  if (c.links === 'deny') out.push(['Links', 'not allowed']);
  else if (c.links && Array.isArray(c.links.allow_domains)) out.push(['Links', `only to ${c.links.allow_domains.join(', ')}`]);
  if (Number.isSafeInteger(c.max_mentions)) out.push(['Most mentions', String(c.max_mentions)]);
  if (Number.isSafeInteger(c.new_member_link_delay_ms) && c.new_member_link_delay_ms > 0) {
    out.push(['New members’ links', `after ${spanText(c.new_member_link_delay_ms)}`]);
  }
  if (Number.isSafeInteger(c.slow_mode_ms) && c.slow_mode_ms > 0) out.push(['Slow mode', `one message every ${spanText(c.slow_mode_ms)}`]);
  if (c.classifier === 'fail_open' || c.classifier === 'fail_closed') {
    out.push(['Classifier', c.classifier === 'fail_open' ? 'on (passes if it fails)' : 'on (holds for review if it fails)']);
  }
  if (c.lockdown && typeof c.lockdown === 'object') out.push(['Lockdown', 'on: only invited people join, slow mode on']);
  return out;
}
