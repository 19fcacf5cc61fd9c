// Causerie web client: how room changes read in the timeline, as people would write them ("alice
// banned bob: spam", "alice made bob a moderator (power 50)", "alice deleted a message by bob").
// Pure (no DOM, no state): the caller says how to name members and what came before; checked
// by tests/client_unit.mjs.

import { CREATOR_POWER, shortKey } from './text.js';

/** Power level from which a member is called a moderator, and an administrator. */
const MODERATOR_POWER = 50;
const ADMINISTRATOR_POWER = 100;

/** What each power threshold of room.power_levels allows, as the end of "the power needed to …". */
const THRESHOLDS = [
  ['ban', 'ban people'],
  ['kick', 'remove people'],
  ['mute', 'mute people'],
  ['redact', "delete other people's messages"],
  ['invite', 'invite people'],
  ['events_default', 'send messages'],
  ['state_default', 'change the room settings'],
];

/** The name shown for an event's sender: display name, handle, or short key. */
export function senderName(event) {
  const sender = event.sender || {};
  return sender.display_name || sender.handle || shortKey(event.author);
}

/** `text`, followed by the event's reason when it has one: "alice banned bob: spam". */
function withReason(text, content) {
  const reason = typeof content.reason === 'string' ? content.reason.trim() : '';
  return reason ? `${text}: ${reason}` : text;
}

/** " until 2026-12-03 10:00 UTC" for a temporary ban or mute (`expires`, ms), else "". */
function untilText(content) {
  const end = content.expires;
  if (!Number.isSafeInteger(end) || end <= 0) return '';
  return ` until ${new Date(end).toISOString().slice(0, 16).replace('T', ' ')} UTC`;
}

/** A member's level under a power_levels content (absent users have `users_default`). */
function levelOf(content, user) {
  const users = content.users && typeof content.users === 'object' ? content.users : {};
  const level = users[user] ?? content.users_default ?? 0;
  return Number.isSafeInteger(level) ? level : 0;
}

/** "made bob a moderator (power 50)", or "set bob's power to 10". */
function powerChange(name, level, usersDefault) {
  if (level >= CREATOR_POWER) return `made ${name} a creator of the room`;
  if (level >= ADMINISTRATOR_POWER) return `made ${name} an administrator (power ${level})`;
  if (level >= MODERATOR_POWER) return `made ${name} a moderator (power ${level})`;
  if (level <= usersDefault) return `made ${name} a regular member (power ${level})`;
  return `set ${name}'s power to ${level}`;
}

/** What a power_levels event changed, against the one before it (null when that is unknown). */
function powerLevelsText(who, content, before, context) {
  if (!before) {
    const users = Object.keys(content.users && typeof content.users === 'object' ? content.users : {});
    const listed = users.filter((user) => levelOf(content, user) !== (content.users_default ?? 0));
    if (!listed.length) return `${who} set the power levels`;
    const levels = listed.map((user) => `${context.nameOf(user)} ${levelOf(content, user)}`);
    return `${who} set the power levels: ${levels.join(', ')}`;
  }
  const changes = [];
  const usersDefault = content.users_default ?? 0;
  const users = new Set([
    ...Object.keys(content.users && typeof content.users === 'object' ? content.users : {}),
    ...Object.keys(before.users && typeof before.users === 'object' ? before.users : {}),
  ]);
  for (const user of [...users].sort()) {
    const level = levelOf(content, user);
    if (level !== levelOf(before, user)) changes.push(powerChange(context.nameOf(user), level, usersDefault));
  }
  for (const [key, action] of THRESHOLDS) {
    if (content[key] !== undefined && before[key] !== undefined && content[key] !== before[key]) {
      changes.push(`changed the power needed to ${action} from ${before[key]} to ${content[key]}`);
    }
  }
  if ((before.users_default ?? 0) !== usersDefault) {
    changes.push(`changed the power of new members from ${before.users_default ?? 0} to ${usersDefault}`);
  }
  const events = content.events && typeof content.events === 'object' ? content.events : {};
  const eventsBefore = before.events && typeof before.events === 'object' ? before.events : {};
  for (const kind of [...new Set([...Object.keys(events), ...Object.keys(eventsBefore)])].sort()) {
    if (events[kind] !== eventsBefore[kind]) {
      changes.push(`changed the power needed for ${kind} events to ${events[kind] ?? 'the default'}`);
    }
  }
  return changes.length ? `${who} ${changes.join(', ')}` : `${who} set the power levels again, unchanged`;
}

/** A membership change: `name` is the member it is about, `earlier` their previous membership. */
function membershipText(event, who, name, earlier) {
  const content = event.content;
  const self = event.state_key === event.author;
  switch (content.membership) {
    case 'join': {
      if (earlier === 'join') {
        const before = event.earlierDisplayName || name;
        const after = content.display_name || name;
        return before === after ? `${after} updated their profile` : `${before} is now known as ${after}`;
      }
      return `${content.display_name || name} joined`;
    }
    case 'invite':
      return withReason(`${who} invited ${name}`, content);
    case 'knock':
      return withReason(`${who} asked to join`, content);
    case 'ban': {
      const purged = content.purge === true ? ' and deleted everything they wrote here' : '';
      return withReason(`${who} banned ${name}${untilText(content)}${purged}`, content);
    }
    case 'leave':
      if (self) {
        if (earlier === 'invite') return withReason(`${who} declined the invitation`, content);
        if (earlier === 'knock') return withReason(`${who} withdrew their request to join`, content);
        return withReason(`${who} left`, content);
      }
      if (earlier === 'ban') return withReason(`${who} unbanned ${name}`, content);
      if (earlier === 'invite') return withReason(`${who} withdrew the invitation of ${name}`, content);
      if (earlier === 'knock') return withReason(`${who} turned down the request of ${name} to join`, content);
      return withReason(`${who} removed ${name} from the room`, content);
    default:
      return `${who} changed the membership of ${name}`;
  }
}

/**
 * The sentence shown for a room change (any event but a message), or null for events not shown.
 * `context` tells what the timeline knows:
 * - `nameOf(user)`: a member's name by key;
 * - `earlier(event)`: the event of the same kind and state key before `event`, or null;
 * - `eventById(id)`: a loaded event, or null (the target of a redaction).
 */
export function noticeText(event, context) {
  const who = senderName(event);
  const content = event.content && typeof event.content === 'object' ? event.content : {};
  switch (event.kind) {
    case 'room.create':
      return `${who} created the room`;
    case 'room.member': {
      const self = event.state_key === event.author;
      const name = self ? who : context.nameOf(event.state_key);
      const earlier = context.earlier(event);
      const shown = { ...event, content, earlierDisplayName: earlier?.content?.display_name };
      return membershipText(shown, who, name, earlier?.content?.membership ?? null);
    }
    case 'room.name':
      return event.redacted ? `${who} renamed the room` : `${who} named the room “${content.name ?? ''}”`;
    case 'room.topic':
      return event.redacted ? `${who} changed the topic` : `${who} set the topic: ${content.topic ?? ''}`;
    case 'room.join_rules':
      switch (content.join_rule) {
        case 'public':
          return `${who} made the room public: anyone can join`;
        case 'invite':
          return `${who} made the room invite-only`;
        case 'knock':
          return `${who} let people ask to join the room`;
        default:
          return `${who} set the join rule to ${content.join_rule ?? 'unknown'}`;
      }
    case 'room.power_levels':
      return powerLevelsText(who, content, context.earlier(event)?.content ?? null, context);
    case 'room.mute': {
      const name = context.nameOf(event.state_key);
      if (content.muted === true) return withReason(`${who} muted ${name}${untilText(content)}`, content);
      if (content.muted === false) return withReason(`${who} unmuted ${name}`, content);
      return `${who} changed the mute of ${name}`;
    }
    case 'room.redaction': {
      const target = typeof content.redacts === 'string' ? context.eventById(content.redacts.startsWith('$') ? content.redacts : `$${content.redacts}`) : null;
      if (!target) return withReason(`${who} deleted a message`, content);
      if (target.author === event.author) return withReason(`${who} deleted their own message`, content);
      return withReason(`${who} deleted a message by ${senderName(target)}`, content);
    }
    default:
      return null;
  }
}
