// Causerie web client: the outbox. Messages the user sends wait here, in the order they were
// written, until the node has taken them: a message written while the node cannot be reached is
// kept (shown as pending in the timeline) and sent by itself once the node is back, without
// asking. One message is sent at a time, so they arrive in order; a message the node refuses
// (a moderation rule, a mute) is marked failed with the reason, and the ones after it go on.
// Pure (no DOM, no network): composer.js runs it; checked by tests/client_unit.mjs.

/** Most messages waiting at once; beyond, the composer keeps the text and says the outbox is full. */
export const MAX_OUTBOX = 50;

/** The outbox is full: the message was not queued. */
export class OutboxFull extends Error {
  constructor() {
    super(`at most ${MAX_OUTBOX} messages can wait to be sent`);
    this.reason = 'outbox_full';
  }
}

/**
 * The messages waiting to be sent. An item is `{id, room, action, body, state, error, eventId}`
 * with state `queued` (waiting its turn or for the node), `sending`, `failed` (refused: stays
 * until dismissed), or `sent` (the node took it as `eventId`; gone once the timeline shows it).
 */
export class Outbox {
  constructor() {
    this.items = [];
    this.nextId = 1;
  }

  /** Queues `action` (a prepare action: message, reply) for `room`; returns the item. */
  add(room, action) {
    const waiting = this.items.filter((item) => item.state !== 'sent').length;
    if (waiting >= MAX_OUTBOX) throw new OutboxFull();
    const item = { id: this.nextId++, room, action, body: action.body, state: 'queued', error: null, eventId: null };
    this.items.push(item);
    return item;
  }

  /** The next item to send: the oldest queued one, unless an older one is being sent. */
  next() {
    for (const item of this.items) {
      if (item.state === 'sending') return null;
      if (item.state === 'queued') return item;
    }
    return null;
  }

  /** Marks `item` as being sent. */
  start(item) {
    item.state = 'sending';
  }

  /** The node took `item` as the event `eventId`. */
  sent(item, eventId) {
    item.state = 'sent';
    item.eventId = eventId;
  }

  /** The node could not be reached: `item` waits again, first in line. */
  retryLater(item) {
    item.state = 'queued';
  }

  /** The node refused `item` (`error`): it stays, failed, until the user dismisses it. */
  fail(item, error) {
    item.state = 'failed';
    item.error = error;
  }

  /** Removes `id` (dismissed by the user); returns the item, or null. */
  remove(id) {
    const at = this.items.findIndex((item) => item.id === id);
    return at < 0 ? null : this.items.splice(at, 1)[0];
  }

  /** Drops the sent items whose event `isShown` (the timeline has them). */
  settle(isShown) {
    const before = this.items.length;
    this.items = this.items.filter((item) => !(item.state === 'sent' && isShown(item)));
    return this.items.length !== before;
  }

  /** The items of `room` the timeline shows as pending: all but those already shown. */
  pendingFor(room, isShown) {
    return this.items.filter((item) => item.room === room && !(item.state === 'sent' && isShown(item)));
  }
}
