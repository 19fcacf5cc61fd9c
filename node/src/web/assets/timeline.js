// Causerie web client: the timeline model. One `Timeline` per opened room holds its events in
// timeline order (depth, then id), deduplicated, bounded, with the redactions seen so far. Pure
// (no DOM): timeline_view.js shows it, history.js fills it.

/** Events kept per room timeline; beyond that the oldest are dropped (and can be refetched). */
const MAX_TIMELINE_EVENTS = 5000;

/** Whether a value from the network has the fields of an event (specs/client-api.md, Event). */
export function isEvent(event) {
  return (
    event !== null &&
    typeof event === 'object' &&
    typeof event.id === 'string' &&
    typeof event.room === 'string' &&
    typeof event.kind === 'string' &&
    Number.isSafeInteger(event.depth)
  );
}

/** Timeline order: depth, then id. */
export function compareEvents(a, b) {
  if (a.depth !== b.depth) return a.depth - b.depth;
  return a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
}

/** One room's events in timeline order (depth, then id), deduplicated by id. */
export class Timeline {
  constructor(room) {
    this.room = room;
    this.events = [];
    this.byId = new Map();
    /** Cursor of the page before the oldest event held; null at the start of the room. */
    this.prev = null;
    this.loaded = false;
    this.loadingOlder = false;
    /** Ids of redacted events (a redaction can arrive before or after its target). */
    this.redacted = new Set();
    /** The first load, while it runs. */
    this.opening = null;
    /** Live events that arrived during the first load, applied after it. */
    this.pending = [];
  }

  /** Inserts or updates an event; returns {index, updated} or null if nothing changed. */
  insert(event) {
    const known = this.byId.get(event.id);
    if (known) {
      if (event.redacted && !known.redacted) {
        Object.assign(known, event);
        return { index: this.events.indexOf(known), updated: true };
      }
      return null;
    }
    let low = 0;
    let high = this.events.length;
    while (low < high) {
      const middle = (low + high) >> 1;
      if (compareEvents(this.events[middle], event) < 0) low = middle + 1;
      else high = middle;
    }
    this.events.splice(low, 0, event);
    this.byId.set(event.id, event);
    return { index: low, updated: false };
  }

  /**
   * The messages of `user` before `ban` in timeline order that are not redacted yet: what a
   * ban-and-purge deletes from this timeline (the node serves them redacted from then on).
   */
  purgedBy(ban, user) {
    return this.events.filter((e) => e.author === user && e.kind === 'room.message' && !e.redacted && compareEvents(e, ban) < 0);
  }

  /** The last event in timeline order, or null. */
  newest() {
    return this.events.length ? this.events[this.events.length - 1] : null;
  }

  /** Drops the oldest events beyond MAX_TIMELINE_EVENTS; they can be paged in again. */
  trim() {
    const excess = this.events.length - MAX_TIMELINE_EVENTS;
    if (excess <= 0) return false;
    const dropped = this.events.splice(0, excess);
    for (const event of dropped) this.byId.delete(event.id);
    const oldest = this.events[0];
    this.prev = `${oldest.depth}:${oldest.id}`;
    return true;
  }
}

/**
 * The user whose messages a ban-and-purge deletes (`room.member` ban with `purge: true`,
 * specs/moderation.md §1), or null for any other event.
 */
export function purgeTarget(event) {
  const content = event.content;
  if (event.kind !== 'room.member' || !content || content.membership !== 'ban' || content.purge !== true) return null;
  return typeof event.state_key === 'string' ? event.state_key : null;
}

/** The id (`$…`) of the event a redaction deletes, or null if `event` is not a redaction. */
export function redactionTarget(event) {
  if (event.kind !== 'room.redaction' || !event.content || typeof event.content.redacts !== 'string') return null;
  const target = event.content.redacts;
  return target.startsWith('$') ? target : `$${target}`;
}
