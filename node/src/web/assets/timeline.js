// Causerie web client: the timeline model. One `Timeline` per opened room holds its events in
// timeline order (depth, then id), deduplicated, bounded, with the redactions seen so far, and
// applies the relations that arrive live (specs/rooms.md §1: edits, reactions, deletions) to
// the messages they relate to. Pure (no DOM): timeline_view.js shows it, history.js fills it.
//
// The node sends each message with its relations already applied (`edited`, `reactions`,
// `deleted`); the edit and reaction events themselves also come through, and are applied here
// only when their target was held before they arrived (each at most once), so a page fetched
// later never counts a reaction twice.

/**
 * Events kept per room timeline; beyond that the oldest are dropped (and can be refetched). The
 * view is virtual (virtual_list.js), so this bounds memory, not the DOM.
 */
export const MAX_TIMELINE_EVENTS = 100000;
/** Most users a reaction lists by key (the node sends at most this many too). */
export const MAX_REACTION_USERS = 20;

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
    /** Ids of the edit and reaction events already applied to their target. */
    this.applied = new Set();
    /** Reaction event id → {target, key, author}: what redacting it takes back. */
    this.reactions = new Map();
  }

  /**
   * Inserts a batch of events (any order): the new ones are merged in one pass, known ones are
   * updated as by insert(). Returns whether anything changed.
   */
  insertMany(events) {
    const fresh = [];
    let changed = false;
    const seen = new Set();
    for (const event of events) {
      if (this.byId.has(event.id)) {
        if (this.insert(event)) changed = true;
      } else if (!seen.has(event.id)) {
        seen.add(event.id);
        fresh.push(event);
      }
    }
    if (!fresh.length) return changed;
    fresh.sort(compareEvents);
    const old = this.events;
    const merged = new Array(old.length + fresh.length);
    let i = 0;
    let j = 0;
    let k = 0;
    while (i < old.length && j < fresh.length) merged[k++] = compareEvents(old[i], fresh[j]) <= 0 ? old[i++] : fresh[j++];
    while (i < old.length) merged[k++] = old[i++];
    while (j < fresh.length) merged[k++] = fresh[j++];
    this.events = merged;
    for (const event of fresh) this.byId.set(event.id, event);
    return true;
  }

  /**
   * Applies an edit or a reaction (relationOf) to its held target, once. Returns the target if
   * it changed, else null (no target held, already applied, or not honoured).
   */
  applyRelation(event, me) {
    const relation = relationOf(event);
    if (!relation || this.applied.has(event.id)) return null;
    const target = this.byId.get(relation.target);
    if (!target || target.kind !== 'room.message') return null;
    this.applied.add(event.id);
    if (relation.type === 'edit') {
      // Honoured only from the target's author, on an original (specs/rooms.md §1).
      if (target.author !== event.author || relationOf(target)) return null;
      const known = target.edited;
      const newer = !known || event.origin_ts > known.origin_ts || (event.origin_ts === known.origin_ts && event.id > known.event);
      if (!newer || typeof event.content?.body !== 'string') return null;
      target.edited = { body: event.content.body, event: event.id, origin_ts: event.origin_ts };
      if (Array.isArray(event.mentions)) target.editedMentions = event.mentions;
      return target;
    }
    this.reactions.set(event.id, { target: target.id, key: relation.key, author: event.author });
    const reactions = Array.isArray(target.reactions) ? target.reactions : (target.reactions = []);
    let entry = reactions.find((r) => r.key === relation.key);
    if (!entry) {
      entry = { key: relation.key, count: 0, users: [], mine: false };
      reactions.push(entry);
    }
    if (entry.users.includes(event.author)) return null;
    entry.count += 1;
    if (entry.users.length < MAX_REACTION_USERS) entry.users.push(event.author);
    if (event.author === me) entry.mine = true;
    return target;
  }

  /** Takes back a redacted reaction (`id`); returns the message it was on if that changed. */
  unapplyReaction(id, me) {
    const reaction = this.reactions.get(id);
    if (!reaction) return null;
    this.reactions.delete(id);
    const target = this.byId.get(reaction.target);
    const entry = target?.reactions?.find((r) => r.key === reaction.key);
    if (!entry) return null;
    entry.count = Math.max(0, entry.count - 1);
    entry.users = entry.users.filter((u) => u !== reaction.author);
    if (reaction.author === me) entry.mine = false;
    if (entry.count === 0) target.reactions = target.reactions.filter((r) => r !== entry);
    return target;
  }

  /**
   * Inserts or updates an event; returns {index, updated} or null if nothing changed. A known
   * event is updated when it was redacted since, or when the node's view of its relations
   * (edited, reactions, deleted) changed.
   */
  insert(event) {
    const known = this.byId.get(event.id);
    if (known) {
      const relationsChanged = RELATION_FIELDS.some((field) => field in event && JSON.stringify(event[field]) !== JSON.stringify(known[field]));
      if ((event.redacted && !known.redacted) || (relationsChanged && !known.redacted)) {
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
    for (const event of dropped) {
      this.byId.delete(event.id);
      this.applied.delete(event.id);
      this.reactions.delete(event.id);
    }
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

/** The fields of a message the node fills from its relations (specs/client-api.md, Event). */
const RELATION_FIELDS = ['edited', 'reactions', 'deleted'];

/** An event id (`$…`) from the forms the API uses for it: `$hex`, or the bare hex of its bytes. */
function eventId(value) {
  if (typeof value !== 'string' || !value) return null;
  return value.startsWith('$') ? value : `$${value}`;
}

/**
 * What an event relates to: `{type: 'edit', target}` for a message that replaces another,
 * `{type: 'reaction', target, key}` for a reaction, else null.
 */
export function relationOf(event) {
  if (event.kind === 'room.message') {
    const target = eventId(event.replaces) ?? eventId(event.content?.replaces);
    return target ? { type: 'edit', target } : null;
  }
  if (event.kind === 'room.reaction') {
    const target = eventId(event.content?.relates_to);
    const key = event.content?.key;
    return target && typeof key === 'string' && key ? { type: 'reaction', target, key } : null;
  }
  return null;
}

/** The text a message shows: its latest honoured edit, else its own body. */
export function shownBody(event) {
  if (event.edited && typeof event.edited.body === 'string') return event.edited.body;
  return typeof event.content?.body === 'string' ? event.content.body : '';
}

/** The id (`$…`) of the event a redaction deletes, or null if `event` is not a redaction. */
export function redactionTarget(event) {
  if (event.kind !== 'room.redaction' || !event.content || typeof event.content.redacts !== 'string') return null;
  const target = event.content.redacts;
  return target.startsWith('$') ? target : `$${target}`;
}
