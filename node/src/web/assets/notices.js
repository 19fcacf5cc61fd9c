// Causerie web client: how room changes read in the timeline. Pure (no DOM, no state): the
// caller says how to name members; checked by tests/client_unit.mjs.

import { shortKey } from './text.js';

/** The name shown for an event's sender: display name, handle, or short key. */
export function senderName(event) {
  const sender = event.sender || {};
  return sender.display_name || sender.handle || shortKey(event.author);
}

/**
 * The sentence shown for a room change (any event but a message), or null for events not shown.
 * `context.nameOf(user)` names a member by key; `context.earlierMembership(event)` is the member
 * event for the same user before `event`, if known.
 */
export function noticeText(event, context) {
  const who = senderName(event);
  const content = event.content || {};
  switch (event.kind) {
    case 'room.create':
      return `${who} created the room`;
    case 'room.member': {
      const target = event.state_key;
      const self = target === event.author;
      const name = self ? who : context.nameOf(target);
      switch (content.membership) {
        case 'join': {
          const earlier = context.earlierMembership(event);
          if (earlier?.content?.membership === 'join') {
            const before = earlier.content.display_name || name;
            const after = content.display_name || name;
            return before === after ? `${after} updated their profile` : `${before} is now known as ${after}`;
          }
          return `${content.display_name || name} joined`;
        }
        case 'leave':
          return self ? `${who} left` : `${who} removed ${name}`;
        case 'ban':
          return `${who} banned ${name}`;
        case 'invite':
          return `${who} invited ${name}`;
        case 'knock':
          return `${who} asked to join`;
        default:
          return `${who} changed the membership of ${name}`;
      }
    }
    case 'room.name':
      return event.redacted ? `${who} renamed the room` : `${who} named the room “${content.name ?? ''}”`;
    case 'room.topic':
      return event.redacted ? `${who} changed the topic` : `${who} set the topic: ${content.topic ?? ''}`;
    case 'room.join_rules':
      return `${who} set the join rule to ${content.join_rule ?? 'unknown'}`;
    case 'room.power_levels':
      return `${who} changed the power levels`;
    default:
      return null;
  }
}
