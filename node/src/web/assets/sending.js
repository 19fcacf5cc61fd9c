// Causerie web client: what the user does to messages, signed (session.js: prepare → check →
// sign → submit). Sending goes through the outbox (outbox.js): one message at a time, in order,
// kept and sent again by itself when the node was unreachable. Replies, edits, reactions and
// deleting one's own message are the prepare actions of specs/client-api.md; each draft is
// checked to be exactly what was asked before it is signed.

import { ApiError } from './api.js';
import { cborEqual } from './cbor.js';
import * as keys from './keys.js';
import { Outbox } from './outbox.js';
import { act, call, roomPath } from './session.js';

/** A rate-limited message is tried again after the node's delay, but never later than this. */
const MAX_RETRY_WAIT_MS = 60 * 1000;

/** The messages waiting to be sent, for every room. */
export const outbox = new Outbox();

/** Called after every outbox change (the view redraws the pending rows; the composer its notice). */
const listeners = { changed: () => {}, refused: () => {} };

/** Sets what the outbox's changes (`changed(room)`) and refusals (`refused(item, error)`) call. */
export function onOutbox(changed, refused) {
  listeners.changed = changed;
  listeners.refused = refused;
}

/** The bytes of an event id (`$hex`). */
const idBytes = (id) => keys.hexToBytes(id.slice(1));

/** Whether a draft's `mentions` are exactly the keys `users` (hex), in order. */
function sameMentions(value, users) {
  if (!users.length) return value === undefined;
  return Array.isArray(value) && value.length === users.length && value.every((b, i) => cborEqual(b, keys.hexToBytes(users[i])));
}

/**
 * The checks a `message` action's draft must pass: the body, the reply target and the mentions
 * asked for, and nothing else of a relation.
 */
function messageExpect(action) {
  return {
    kind: 'room.message',
    content: (c) =>
      c.body === action.body &&
      (action.reply_to ? cborEqual(c.reply_to, idBytes(action.reply_to)) : c.reply_to === undefined) &&
      sameMentions(c.mentions, action.mentions ?? []) &&
      c.replaces === undefined,
  };
}

/** Queues a message (`{body, reply_to?, mentions?}`) for `room`; returns the outbox item. */
export function queueMessage(room, message) {
  const action = { action: 'message', body: message.body };
  if (message.reply_to) action.reply_to = message.reply_to;
  if (message.mentions?.length) action.mentions = message.mentions;
  const item = outbox.add(room, action);
  item.replyTo = message.replyPreview ?? null;
  listeners.changed(room);
  pumpOutbox();
  return item;
}

let pumping = false;
let retryTimer = null;

/**
 * Sends the queued messages one by one, oldest first. Stops at the first that cannot reach the
 * node (it stays first in line for resumeOutbox); a rate limit waits its delay and goes on.
 */
export async function pumpOutbox() {
  if (pumping) return;
  pumping = true;
  try {
    for (let item = outbox.next(); item; item = outbox.next()) {
      outbox.start(item);
      listeners.changed(item.room);
      try {
        const result = await act(item.room, item.action, messageExpect(item.action));
        outbox.sent(item, result.event_id);
      } catch (error) {
        if (error instanceof ApiError && error.unreachable) {
          outbox.retryLater(item);
          listeners.changed(item.room);
          return;
        }
        if (error instanceof ApiError && ['rate_limited', 'slow_mode'].includes(error.reason)) {
          outbox.retryLater(item);
          listeners.refused(item, error);
          listeners.changed(item.room);
          const wait = Math.min(Math.max(1, error.retryAfter ?? 1) * 1000, MAX_RETRY_WAIT_MS);
          clearTimeout(retryTimer);
          retryTimer = setTimeout(pumpOutbox, wait);
          return;
        }
        outbox.fail(item, error);
        // A held message is in the room's review queue: it is not to be sent again.
        if (error instanceof ApiError && error.reason === 'held_for_review') outbox.remove(item.id);
        listeners.refused(item, error);
      }
      listeners.changed(item.room);
    }
  } finally {
    pumping = false;
  }
}

/** After a reconnection: sends what waited for the node. */
export function resumeOutbox() {
  if (outbox.next()) pumpOutbox();
}

/** Dismisses a failed message of the outbox; returns it. */
export function dismissOutboxItem(id) {
  const item = outbox.remove(id);
  if (item) listeners.changed(item.room);
  return item;
}

/** Edits the user's own message `event` to `body`. */
export function editMessage(event, body) {
  return act(event.room, { action: 'edit', event: event.id, body }, {
    kind: 'room.message',
    content: (c) => c.body === body && cborEqual(c.replaces, idBytes(event.id)) && c.reply_to === undefined,
  });
}

/** Adds the reaction `key` to `event`. */
export function react(event, key) {
  return act(event.room, { action: 'react', event: event.id, key }, {
    kind: 'room.reaction',
    content: (c) => c.key === key && cborEqual(c.relates_to, idBytes(event.id)),
  });
}

/** Takes back the user's reaction `key` on `event` (the node finds the reaction to redact). */
export function unreact(event, key) {
  return act(event.room, { action: 'unreact', event: event.id, key }, {
    kind: 'room.redaction',
    content: (c) => c.redacts instanceof Uint8Array && c.redacts.length === 32,
  });
}

/** Deletes the user's own message `event` (a redaction by its author). */
export function deleteOwnMessage(event) {
  return act(event.room, { action: 'delete', event: event.id }, {
    kind: 'room.redaction',
    content: (c) => c.redacts instanceof Uint8Array && cborEqual(c.redacts, idBytes(event.id)),
  });
}

/** Signals typing (`typing`) in `room`; failures are not the user's concern. */
export function sendTyping(room, typing) {
  return call('POST', `${roomPath(room)}/typing`, { typing }).catch(() => {});
}

/** Moves the user's read marker in `room` to `event`; resolves to null, or to the error. */
export function sendRead(room, event) {
  return call('POST', `${roomPath(room)}/read`, { event }).then(
    () => null,
    (error) => error,
  );
}
