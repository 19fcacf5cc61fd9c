// Causerie web client: the application (issue 5, parts 3 and 4; contract: specs/client-api.md).
//
// One ES module drives the page: identity (keys.js), the node's API and live stream (api.js),
// checks of what the node asks us to sign (cbor.js), and the DOM. Everything that comes from the
// network is rendered with createElement and textContent, never parsed as HTML, so message
// bodies, names and topics can only ever be text. The page runs under the node's CSP (no inline
// script or style, no eval, no other hosts).
//
// Shape: `state` holds the session, the rooms and one `Timeline` per opened room; the
// connection loop logs in, keeps the live stream open, and after every (re)connection fetches
// what was missed; UI handlers turn user intent into prepare → check → sign → submit.
//
// Keyboard: modal dialogs and the drawers shown over the conversation keep Tab inside them;
// Escape closes the innermost thing (menu, dialog, drawer) and the focus goes back to the control
// that opened it. Opening a room puts the focus in the composer, except at first paint on a
// touch-only device, where that would pop the on-screen keyboard over the page.

import { Api, ApiError } from './api.js';
import * as keys from './keys.js';
import { CborError, cborEqual, decodeCbor } from './cbor.js';

/** Events fetched per history page. */
const PAGE_LIMIT = 50;
/** Older history is fetched when the timeline is scrolled this close to its top. */
const LOAD_OLDER_THRESHOLD_PX = 300;
/** Within this distance of the bottom the timeline counts as "at the bottom" and follows. */
const STICK_TO_BOTTOM_PX = 48;
/** Reconnection backoff: first delay and cap. */
const BACKOFF_INITIAL_MS = 500;
const BACKOFF_MAX_MS = 15000;
/** A stream that ends sooner than this after opening counts as a failure (backoff applies). */
const MIN_STREAM_LIFE_MS = 5000;
/** The room list is refetched this often: the stream does not carry invitations and answers to
 *  knocks, which happen in rooms the user has not joined. */
const ROOMS_POLL_MS = 15000;
/** Pages fetched backwards to close a gap after a reconnection before starting afresh. */
const MAX_GAP_PAGES = 20;
/** Pages fetched in a row to fill a screen that is taller than the history shown. */
const MAX_FILL_PAGES = 10;
/** Events kept per room timeline; beyond that the oldest are dropped (and can be refetched). */
const MAX_TIMELINE_EVENTS = 5000;
/** The largest power level the API reports: the room's creator. */
const CREATOR_POWER = 9007199254740991;
/** Ed25519 signing-input prefixes (specs/events.md §4). */
const EVENT_PREFIX = new TextEncoder().encode('causerie/v1/event\0');
const CHALLENGE_PREFIX = new TextEncoder().encode('causerie/v1/challenge\0');
const HANDLE_PATTERN = /^[a-z0-9][a-z0-9._-]{0,31}$/;
const ASSURANCE_NAMES = ['key', 'contact', 'identity', 'in_person'];
const ACTIVE_ROOM_KEY = 'causerie.active-room';
/** Shortest passphrase accepted for a key export, in characters (code points). */
const MIN_EXPORT_PASSPHRASE_CHARS = 8;
/** What can take keyboard focus, for the focus traps of dialogs and drawers. */
const FOCUSABLE =
  'a[href], button:not([disabled]), input:not([disabled]), select:not([disabled]), textarea:not([disabled]), [tabindex]:not([tabindex="-1"])';
/** Devices whose text fields pop an on-screen keyboard: no focus on the composer at first paint. */
const TOUCH_ONLY_QUERY = '(hover: none) and (pointer: coarse)';

const api = new Api();

const state = {
  /** The identity record from IndexedDB (keys.js), or null before onboarding. */
  identity: null,
  /** The Account from the node, once logged in. */
  account: null,
  /** Joined, invited and knocking rooms: id → RoomInfo. */
  rooms: new Map(),
  /** The active room id, or null. */
  active: null,
  /** RoomInfo of the active room from GET /rooms/{room}. */
  activeInfo: null,
  /** Members of the active room. */
  members: [],
  /** Room id → Timeline. */
  timelines: new Map(),
  /** Rooms with events the user has not seen. */
  unread: new Set(),
  /** Connection: online | connecting | offline. */
  connection: 'connecting',
  /** Wakes the reconnection wait early (set while waiting). */
  wake: null,
  /** Aborts the current live stream. */
  streamAbort: null,
  /** The open popup menu: {menu, button}, or null. */
  openMenu: null,
  /** Whether the connection loop is running. */
  looping: false,
  /** Set by "Log out": the connection loop stops and nothing logs in again by itself. */
  signedOut: false,
  /** The toggle that opened the open drawer; Escape returns the focus to it. */
  drawerOpener: null,
};

const $ = (id) => document.getElementById(id);

/** Creates an element: `h('li', {className: 'x', text: 'y', data: {a: 'b'}, attrs: {...}}, ...children)`. */
function h(tag, props = {}, ...children) {
  const element = document.createElement(tag);
  if (props.className) element.className = props.className;
  if (props.text !== undefined) element.textContent = props.text;
  if (props.data) for (const [k, v] of Object.entries(props.data)) element.dataset[k] = v;
  if (props.attrs) for (const [k, v] of Object.entries(props.attrs)) element.setAttribute(k, v);
  if (props.type) element.type = props.type;
  if (props.onClick) element.addEventListener('click', props.onClick);
  for (const child of children) if (child) element.append(child);
  return element;
}

function shortKey(hex) {
  return typeof hex === 'string' && hex.length > 12 ? `${hex.slice(0, 8)}…${hex.slice(-4)}` : String(hex ?? '');
}

function errorText(error) {
  if (error instanceof ApiError) return error.message && error.message !== error.reason ? `${error.reason}: ${error.message}` : error.reason;
  if (error instanceof keys.KeyError || error instanceof DraftError) return `${error.reason}: ${error.message}`;
  if (error instanceof CborError) return `bad_draft: ${error.message}`;
  return error && error.message ? error.message : String(error);
}

function showError(id, error) {
  const element = $(id);
  element.textContent = error ? errorText(error) : '';
}

// ---------------------------------------------------------------------------------------------
// Checking what we sign

/** The node asked us to sign something other than what we asked for. */
class DraftError extends Error {
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
 * reduced to a subset of the draft's (the redacted form). Throws DraftError or CborError.
 */
async function checkDraft(draft, expect) {
  const bytes = keys.hexToBytes(draft.draft);
  const spans = Object.create(null);
  const envelope = decodeCbor(bytes, spans);
  if (envelope === null || typeof envelope !== 'object' || Array.isArray(envelope) || envelope instanceof Uint8Array) {
    throw new DraftError('the draft is not a map');
  }
  if (envelope.v !== 1) throw new DraftError('unknown envelope version');
  if ('signature' in envelope) throw new DraftError('the draft is already signed');
  if (!cborEqual(envelope.author, keys.hexToBytes(state.identity.user))) {
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

/** Checks a login challenge: ours, for authentication, and signing_input = prefix ‖ challenge. */
function checkChallenge(response) {
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
  if (!cborEqual(decoded.user, keys.hexToBytes(state.identity.user))) throw new DraftError('the challenge is for another key');
  return input;
}

// ---------------------------------------------------------------------------------------------
// Session

async function proveKey() {
  const response = await api.request('POST', '/auth/challenge', { user: state.identity.user }, { auth: false });
  const input = checkChallenge(response);
  const signature = await keys.sign(state.identity, input);
  return { challenge: response.challenge, signature: keys.bytesToHex(signature) };
}

/** Thrown by login() when this node does not know the key and no handle is on record. */
class NeedsRegistration extends Error {}

async function register(handle, displayName) {
  const body = { ...(await proveKey()), handle };
  if (displayName) body.display_name = displayName;
  try {
    const session = await api.request('POST', '/auth/register', body, { auth: false });
    await keys.saveHandle(state.identity, handle);
    acceptSession(session);
  } catch (error) {
    if (error instanceof ApiError && error.reason === 'already_registered') return login();
    throw error;
  }
}

async function login() {
  try {
    acceptSession(await api.request('POST', '/auth/login', await proveKey(), { auth: false }));
  } catch (error) {
    if (!(error instanceof ApiError) || error.reason !== 'not_registered') throw error;
    // The node forgot us (a wiped node) or the key was imported here: register again under the
    // handle we know, or ask for one.
    if (!state.identity.handle) throw new NeedsRegistration();
    try {
      await register(state.identity.handle, null);
    } catch (registerError) {
      if (registerError instanceof ApiError && registerError.reason === 'handle_taken') throw new NeedsRegistration();
      throw registerError;
    }
  }
}

function acceptSession(session) {
  // A login that was under way when the user logged out must not revive the session.
  if (state.signedOut) return;
  api.token = session.token;
  state.account = session.account;
  renderIdentity();
}

/** An authenticated API call that logs in again once if the node no longer knows the token. */
async function call(method, path, body) {
  try {
    return await api.request(method, path, body);
  } catch (error) {
    if (!(error instanceof ApiError) || error.status !== 401 || state.signedOut) throw error;
    api.token = null;
    await login();
    return api.request(method, path, body);
  }
}

const roomPath = (room) => `/rooms/${encodeURIComponent(room)}`;

/** Checks, signs and submits a draft; resolves to the API's `{event_id, room, visible}`. */
async function signAndSubmit(draft, expect) {
  const input = await checkDraft(draft, expect);
  const signature = await keys.sign(state.identity, input);
  return call('POST', '/events', { draft: draft.draft, signature: keys.bytesToHex(signature) });
}

/** Prepares an action in a room, checks it, signs it and submits it. */
async function act(room, action, expect) {
  const draft = await call('POST', `${roomPath(room)}/prepare`, action);
  return signAndSubmit(draft, { room, ...expect });
}

// ---------------------------------------------------------------------------------------------
// Connection

function setConnection(next) {
  state.connection = next;
  const element = $('connection');
  element.dataset.state = next;
  $('connection-label').textContent =
    next === 'online' ? 'Online' : next === 'connecting' ? 'Connecting…' : 'Node unreachable: retrying';
  $('retry-now').hidden = next !== 'offline';
  document.body.classList.toggle('offline', next === 'offline');
}

api.onUnreachable = () => {
  if (state.connection === 'online') {
    setConnection('offline');
    if (state.streamAbort) state.streamAbort.abort();
  }
};

function waitBackoff(attempt) {
  const delay = Math.min(BACKOFF_MAX_MS, BACKOFF_INITIAL_MS * 2 ** attempt) * (0.75 + Math.random() / 4);
  return new Promise((resolve) => {
    const timer = setTimeout(done, delay);
    function done() {
      clearTimeout(timer);
      state.wake = null;
      resolve();
    }
    state.wake = done;
  });
}

function wakeConnection() {
  if (state.wake) state.wake();
}

/** Logs in, keeps the live stream open, and resynchronises after every (re)connection. */
async function connectionLoop() {
  if (state.looping) return;
  state.looping = true;
  let attempt = 0;
  try {
    for (;;) {
      if (state.signedOut) return;
      if (state.connection !== 'online') setConnection('connecting');
      try {
        if (!api.token) await login();
        const controller = new AbortController();
        state.streamAbort = controller;
        let openedAt = 0;
        await api.stream(
          controller.signal,
          () => {
            openedAt = Date.now();
            setConnection('online');
            resync();
          },
          onStreamEvent,
        );
        // The stream ended (node restart, lag, idle): reconnect at once, unless streams keep
        // ending right after they open, which would otherwise become a tight loop.
        setConnection('connecting');
        if (openedAt && Date.now() - openedAt >= MIN_STREAM_LIFE_MS) {
          attempt = 0;
          continue;
        }
      } catch (error) {
        if (state.signedOut) return;
        if (error instanceof NeedsRegistration) {
          showOnboarding(true);
          return;
        }
        if (error instanceof ApiError && error.status === 401) {
          // A restarted node forgot our session: log in again with a fresh challenge.
          api.token = null;
          if (attempt === 0) {
            attempt++;
            continue;
          }
        }
        if (!(error instanceof ApiError) || error.status === 0 || error.status >= 500) setConnection('offline');
        else setConnection('connecting');
      }
      await waitBackoff(attempt);
      attempt = Math.min(attempt + 1, 16);
    }
  } finally {
    state.looping = false;
  }
}

function onStreamEvent(name, data) {
  if (name === 'lagged') {
    // We fell behind; the stream ends and the reconnection fetches the gap.
    if (state.streamAbort) state.streamAbort.abort();
    return;
  }
  if (name !== 'event') return;
  let event;
  try {
    event = JSON.parse(data);
  } catch {
    return;
  }
  if (!isEvent(event)) return;
  receiveEvent(event);
}

function isEvent(event) {
  return (
    event !== null &&
    typeof event === 'object' &&
    typeof event.id === 'string' &&
    typeof event.room === 'string' &&
    typeof event.kind === 'string' &&
    Number.isSafeInteger(event.depth)
  );
}

let resyncRunning = null;
/** After a (re)connection: the room list, the active room, and every opened timeline's gap. */
function resync() {
  if (resyncRunning) return resyncRunning;
  resyncRunning = (async () => {
    try {
      await loadRooms();
      loadDirectory();
      for (const timeline of state.timelines.values()) {
        if (timeline.loaded) await fillGap(timeline);
      }
      if (state.active) {
        if (!state.timelines.get(state.active)?.loaded) await openTimeline(state.active);
        refreshActiveInfo();
      }
    } catch (error) {
      if (!(error instanceof ApiError && error.unreachable)) console.warn('resync failed', errorText(error));
    } finally {
      resyncRunning = null;
    }
  })();
  return resyncRunning;
}

// ---------------------------------------------------------------------------------------------
// Timelines

function compareEvents(a, b) {
  if (a.depth !== b.depth) return a.depth - b.depth;
  return a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
}

/** One room's events in timeline order (depth, then id), deduplicated by id. */
class Timeline {
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

function timelineFor(room) {
  let timeline = state.timelines.get(room);
  if (!timeline) {
    timeline = new Timeline(room);
    state.timelines.set(room, timeline);
  }
  return timeline;
}

async function fetchPage(room, before) {
  const query = new URLSearchParams({ limit: String(PAGE_LIMIT) });
  if (before) query.set('before', before);
  const page = await call('GET', `${roomPath(room)}/messages?${query}`);
  return { events: Array.isArray(page.events) ? page.events.filter(isEvent) : [], prev: page.prev ?? null };
}

function redactionTarget(event) {
  if (event.kind !== 'room.redaction' || !event.content || typeof event.content.redacts !== 'string') return null;
  const target = event.content.redacts;
  return target.startsWith('$') ? target : `$${target}`;
}

/** Applies events to a timeline and, if it is shown, to the DOM. */
function applyEvents(timeline, events) {
  const shown = state.active === timeline.room;
  const view = $('timeline');
  const atBottom = view.scrollHeight - view.scrollTop - view.clientHeight <= STICK_TO_BOTTOM_PX;
  const newestBefore = timeline.newest();
  let changed = false;
  for (const event of events) {
    const target = redactionTarget(event);
    if (target) {
      timeline.redacted.add(target);
      const victim = timeline.byId.get(target);
      if (victim && !victim.redacted) {
        victim.redacted = true;
        victim.content = {};
        if (shown) replaceEventNode(victim);
      }
    }
    if (timeline.redacted.has(event.id)) {
      event.redacted = true;
      event.content = {};
    }
    const result = timeline.insert(event);
    if (!result) continue;
    changed = true;
    if (shown) {
      if (result.updated) replaceEventNode(timeline.events[result.index]);
      else insertEventNode(timeline, result.index);
    }
  }
  if (changed && shown) {
    if (atBottom) view.scrollTop = view.scrollHeight;
    else if (newestBefore && events.some((e) => e.kind === 'room.message' && compareEvents(e, newestBefore) > 0)) {
      // Something arrived below while the user reads older messages: offer to jump, never yank.
      $('jump-to-bottom').hidden = false;
    }
  }
  return changed;
}

function receiveEvent(event) {
  if (!state.rooms.has(event.room)) scheduleRoomsRefresh();
  const timeline = state.timelines.get(event.room);
  if (timeline && timeline.loaded) {
    applyEvents(timeline, [event]);
    if (timeline.trim() && state.active === timeline.room) renderTimeline();
  } else if (timeline && timeline.opening && timeline.pending.length < PAGE_LIMIT * 4) {
    timeline.pending.push(event);
  }
  if (event.room !== state.active && event.kind === 'room.message') {
    state.unread.add(event.room);
    renderRoomList();
  }
  if (event.state_key !== null && event.state_key !== undefined) {
    if (event.room === state.active) scheduleActiveInfoRefresh();
    if (event.kind === 'room.member' && event.state_key === state.identity.user) scheduleRoomsRefresh();
    if (event.kind === 'room.name' || event.kind === 'room.topic') scheduleRoomsRefresh();
  }
}

/** Loads the newest page of a room once (concurrent callers share the load). */
function openTimeline(room) {
  const timeline = timelineFor(room);
  if (timeline.loaded) return Promise.resolve(timeline);
  if (!timeline.opening) {
    timeline.opening = (async () => {
      try {
        const page = await fetchPage(room, null);
        timeline.prev = page.prev;
        timeline.loaded = true;
        if (state.active === room) renderTimeline();
        // Events streamed while the page was on its way may be newer than the page.
        applyEvents(timeline, page.events.concat(timeline.pending));
        timeline.pending = [];
        if (state.active === room) {
          const view = $('timeline');
          view.scrollTop = view.scrollHeight;
          await fillScreen(timeline);
        }
        return timeline;
      } finally {
        timeline.opening = null;
      }
    })();
  }
  return timeline.opening;
}

/** Fetches older pages while the history does not fill the view (so scrolling can start). */
async function fillScreen(timeline) {
  const view = $('timeline');
  for (let i = 0; i < MAX_FILL_PAGES && timeline.prev && state.active === timeline.room; i++) {
    if (view.scrollHeight > view.clientHeight + LOAD_OLDER_THRESHOLD_PX) break;
    await loadOlder(timeline);
  }
}

/** Loads the page before the oldest event shown, keeping what is on screen where it is. */
async function loadOlder(timeline) {
  if (timeline.loadingOlder || !timeline.prev) return;
  timeline.loadingOlder = true;
  renderTimelineStatus(timeline);
  try {
    const page = await fetchPage(timeline.room, timeline.prev);
    const view = $('timeline');
    const fromBottom = view.scrollHeight - view.scrollTop;
    timeline.prev = page.prev;
    applyEvents(timeline, page.events);
    if (state.active === timeline.room) view.scrollTop = view.scrollHeight - fromBottom;
  } catch (error) {
    if (state.active === timeline.room) $('timeline-status').textContent = `Could not load older messages: ${errorText(error)}`;
    return;
  } finally {
    timeline.loadingOlder = false;
  }
  renderTimelineStatus(timeline);
}

/**
 * After a reconnection: fetches pages from the newest backwards until one overlaps what we hold.
 * If the gap is larger than MAX_GAP_PAGES, the timeline starts afresh from the newest pages.
 */
async function fillGap(timeline) {
  const newest = timeline.newest();
  const pages = [];
  let before = null;
  let overlapped = !newest;
  for (let i = 0; i < MAX_GAP_PAGES; i++) {
    const page = await fetchPage(timeline.room, before);
    pages.push(page);
    if (!newest || page.events.some((event) => compareEvents(event, newest) <= 0) || !page.prev) {
      overlapped = true;
      break;
    }
    before = page.prev;
  }
  if (!overlapped) {
    timeline.events = [];
    timeline.byId.clear();
    timeline.prev = pages[pages.length - 1].prev;
    if (state.active === timeline.room) renderTimeline();
  }
  for (const page of pages.reverse()) applyEvents(timeline, page.events);
}

// ---------------------------------------------------------------------------------------------
// Rendering the timeline

function senderName(event) {
  const sender = event.sender || {};
  return sender.display_name || sender.handle || shortKey(event.author);
}

function memberName(user) {
  if (user === state.identity?.user && state.account) return state.account.display_name || state.account.handle;
  const member = state.members.find((m) => m.user === user);
  return member ? member.display_name || member.handle || shortKey(user) : shortKey(user);
}

function formatTime(ms) {
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

function attestationText(sender) {
  if (!sender || !sender.home_node) return 'attestation unknown';
  const level = ASSURANCE_NAMES[sender.assurance] ?? String(sender.assurance);
  return `home node ${shortKey(sender.home_node)} · assurance ${level}`;
}

/** The member event for the same user just before `event` in the shown timeline, if loaded. */
function previousMembership(event) {
  const timeline = state.timelines.get(event.room);
  if (!timeline) return null;
  let index = timeline.events.indexOf(event);
  if (index < 0) index = timeline.events.length;
  for (let i = index - 1; i >= 0; i--) {
    const earlier = timeline.events[i];
    if (earlier.kind === 'room.member' && earlier.state_key === event.state_key) return earlier;
  }
  return null;
}

function noticeText(event) {
  const who = senderName(event);
  const content = event.content || {};
  switch (event.kind) {
    case 'room.create':
      return `${who} created the room`;
    case 'room.member': {
      const target = event.state_key;
      const self = target === event.author;
      const name = self ? who : memberName(target);
      switch (content.membership) {
        case 'join': {
          const earlier = previousMembership(event);
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

function canRedactOthers() {
  const info = state.activeInfo;
  return Boolean(info && info.power >= (info.power_levels?.redact ?? 50));
}

function canRedact(event) {
  if (event.redacted || event.kind !== 'room.message') return false;
  return event.author === state.identity.user || canRedactOthers();
}

/** The DOM node of one event: a `.message` for messages, a `.notice` for room changes. */
function eventNode(event) {
  const time = formatTime(event.origin_ts);
  const timeNode = h('time', { className: 'time', text: time.short, attrs: { title: time.full } });
  if (time.iso) timeNode.dateTime = time.iso;
  if (event.kind !== 'room.message') {
    const text = noticeText(event);
    if (text === null) return null;
    return h('li', { className: 'notice', data: { eventId: event.id } }, h('span', { text }), timeNode);
  }
  const sender = event.sender || {};
  const own = event.author === state.identity.user;
  const item = h('li', {
    className: `message${own ? ' own' : ''}${event.redacted ? ' redacted' : ''}`,
    data: { eventId: event.id, author: event.author },
  });
  const attestation = h('div', {
    className: 'attestation',
    text: `${attestationText(sender)} · key ${shortKey(event.author)}`,
  });
  attestation.hidden = true;
  const senderButton = h(
    'button',
    {
      className: 'sender',
      type: 'button',
      attrs: { title: attestationText(sender), 'aria-expanded': 'false' },
      onClick: () => {
        attestation.hidden = !attestation.hidden;
        senderButton.setAttribute('aria-expanded', String(!attestation.hidden));
      },
    },
    h('span', { className: 'name', text: senderName(event) }),
    sender.handle ? h('span', { className: 'handle', text: `@${sender.handle}` }) : null,
  );
  const meta = h('div', { className: 'meta' }, senderButton, timeNode);
  if (canRedact(event)) {
    meta.append(
      menuFor(`Actions for the message from ${senderName(event)}`, [
        { label: 'Delete message', danger: true, run: () => redactEvent(event) },
      ]),
    );
  }
  const body = event.redacted
    ? h('div', { className: 'body deleted', text: 'message deleted' })
    : h('div', { className: 'body', text: typeof event.content?.body === 'string' ? event.content.body : '' });
  item.append(meta, attestation, body);
  return item;
}

/** Event id → DOM node of the shown timeline (rebuilt by renderTimeline). */
const eventNodes = new Map();

function nodeOf(id) {
  return eventNodes.get(id) ?? null;
}

function insertEventNode(timeline, index) {
  const event = timeline.events[index];
  const node = eventNode(event);
  if (!node) return;
  eventNodes.set(event.id, node);
  const list = $('messages');
  // The next event in timeline order that has a node marks where this one goes.
  for (let i = index + 1; i < timeline.events.length; i++) {
    const next = nodeOf(timeline.events[i].id);
    if (next) {
      list.insertBefore(node, next);
      return;
    }
  }
  list.append(node);
}

function replaceEventNode(event) {
  const old = nodeOf(event.id);
  if (!old) return;
  const node = eventNode(event);
  if (node) {
    old.replaceWith(node);
    eventNodes.set(event.id, node);
  } else {
    old.remove();
    eventNodes.delete(event.id);
  }
}

function renderTimeline() {
  const list = $('messages');
  const view = $('timeline');
  const scrollTop = view.scrollTop;
  list.replaceChildren();
  eventNodes.clear();
  const timeline = state.active ? state.timelines.get(state.active) : null;
  if (timeline) {
    const nodes = [];
    for (const event of timeline.events) {
      const node = eventNode(event);
      if (!node) continue;
      eventNodes.set(event.id, node);
      nodes.push(node);
    }
    list.append(...nodes);
    renderTimelineStatus(timeline);
  }
  view.scrollTop = scrollTop;
}

function renderTimelineStatus(timeline) {
  if (state.active !== timeline.room) return;
  $('timeline-status').textContent = !timeline.loaded
    ? 'Loading…'
    : timeline.loadingOlder
      ? 'Loading older messages…'
      : timeline.prev
        ? ''
        : 'This is the beginning of the room.';
}

// ---------------------------------------------------------------------------------------------
// Menus

/** A "⋯" button with a popup menu of actions; Escape or a click elsewhere closes it. */
function menuFor(label, items) {
  const wrapper = h('div', { className: 'menu-wrapper' });
  const menu = h('div', { className: 'menu', attrs: { role: 'menu' } });
  menu.hidden = true;
  const button = h('button', {
    className: 'menu-button',
    type: 'button',
    text: '⋯',
    attrs: { 'aria-label': label, 'aria-haspopup': 'menu', 'aria-expanded': 'false' },
  });
  button.addEventListener('click', (e) => {
    e.stopPropagation();
    if (state.openMenu?.menu === menu) closeMenu(true);
    else openMenu(menu, button);
  });
  for (const item of items) {
    menu.append(
      h('button', {
        className: `menu-item${item.danger ? ' danger' : ''}`,
        type: 'button',
        text: item.label,
        attrs: { role: 'menuitem' },
        onClick: (e) => {
          e.stopPropagation();
          // The item disappears with the menu: its button is where the focus returns after
          // the dialog the action may open.
          closeMenu(true);
          item.run();
        },
      }),
    );
  }
  menu.addEventListener('keydown', (e) => {
    const entries = [...menu.querySelectorAll('.menu-item')];
    const at = entries.indexOf(document.activeElement);
    if (e.key === 'ArrowDown') entries[(at + 1) % entries.length].focus();
    else if (e.key === 'ArrowUp') entries[(at - 1 + entries.length) % entries.length].focus();
    else return;
    e.preventDefault();
  });
  wrapper.append(button, menu);
  return wrapper;
}

function openMenu(menu, button) {
  closeMenu(false);
  menu.hidden = false;
  button.setAttribute('aria-expanded', 'true');
  state.openMenu = { menu, button };
  menu.querySelector('.menu-item')?.focus();
}

function closeMenu(restoreFocus) {
  const open = state.openMenu;
  if (!open) return false;
  open.menu.hidden = true;
  open.button.setAttribute('aria-expanded', 'false');
  state.openMenu = null;
  if (restoreFocus) open.button.focus();
  return true;
}

// ---------------------------------------------------------------------------------------------
// Dialogs

/** The elements of `container` that take keyboard focus and are shown. */
function focusableIn(container) {
  return [...container.querySelectorAll(FOCUSABLE)].filter((element) => element.getClientRects().length > 0);
}

/** Keeps Tab and Shift+Tab cycling inside `container` (a modal dialog or an open drawer). */
function trapTab(e, container) {
  if (e.key !== 'Tab') return;
  const items = focusableIn(container);
  if (!items.length) {
    e.preventDefault();
    return;
  }
  const first = items[0];
  const last = items[items.length - 1];
  const inside = container.contains(document.activeElement);
  if (e.shiftKey && (!inside || document.activeElement === first)) {
    e.preventDefault();
    last.focus();
  } else if (!e.shiftKey && (!inside || document.activeElement === last)) {
    e.preventDefault();
    first.focus();
  }
}

/** Whether `element` can take the focus back (still in the page, shown and enabled). */
function canFocus(element) {
  return Boolean(element) && element !== document.body && element.isConnected && !element.disabled && element.getClientRects().length > 0;
}

/**
 * Opens a modal dialog with the focus on `target`. Returns the function to call once it is
 * closed (OK, Cancel or Escape): it gives the focus back to the control that opened the dialog,
 * or to the composer if that control is gone. It is called before the dialog's promise resolves,
 * so that a dialog opened right after (a retry) records the right opener.
 */
function showDialog(dialog, target) {
  const opener = document.activeElement;
  dialog.showModal();
  target.focus();
  return () => {
    if (canFocus(opener)) opener.focus();
    else if (canFocus($('composer'))) $('composer').focus();
  };
}

/**
 * Asks for a passphrase; resolves to the text or null if cancelled. With `confirm` (a new
 * passphrase, for an export) it is asked twice and must have MIN_EXPORT_PASSPHRASE_CHARS.
 */
function askPassphrase(title, text, { confirm = false } = {}) {
  const input = $('passphrase-input');
  const again = $('passphrase-confirm');
  $('passphrase-title').textContent = title;
  $('passphrase-text').textContent = text;
  input.value = '';
  again.value = '';
  input.autocomplete = confirm ? 'new-password' : 'current-password';
  $('passphrase-confirm-row').hidden = !confirm;
  $('passphrase-error').textContent = '';
  return runFormDialog('passphrase', input, () => {
    const value = input.value;
    if (!value) return { error: 'Enter a passphrase.', field: input };
    if (confirm) {
      const length = [...value].length;
      if (length < MIN_EXPORT_PASSPHRASE_CHARS) {
        return { error: `Too short: at least ${MIN_EXPORT_PASSPHRASE_CHARS} characters (this one has ${length}).`, field: input };
      }
      if (again.value !== value) {
        return { error: again.value ? 'The two passphrases differ: type the same one twice.' : 'Type the passphrase a second time.', field: again };
      }
    }
    return { value };
  });
}

/** Asks for one value; `validate` returns an error text or null. Resolves to the value or null. */
function askValue(title, label, initial, validate) {
  $('prompt-title').textContent = title;
  $('prompt-label').textContent = label;
  const input = $('prompt-input');
  input.value = initial ?? '';
  $('prompt-error').textContent = '';
  const answer = runFormDialog('prompt', input, () => {
    const problem = validate ? validate(input.value) : null;
    return problem ? { error: problem, field: input } : { value: input.value };
  });
  input.select();
  return answer;
}

/**
 * Runs the form dialog `#<name>-dialog` (with `#<name>-form`, `#<name>-cancel`, `#<name>-error`)
 * until it is submitted with a valid answer or cancelled. `check()` returns `{ value }` to
 * finish, or `{ error, field }` to show the error and focus the field at fault. Resolves to the
 * value, or null when cancelled; focus returns to where it was.
 */
function runFormDialog(name, focus, check) {
  const dialog = $(`${name}-dialog`);
  const form = $(`${name}-form`);
  const cancel = $(`${name}-cancel`);
  return new Promise((resolve) => {
    let restoreFocus = () => {};
    const finish = (value) => {
      cleanup();
      if (dialog.open) dialog.close();
      restoreFocus();
      resolve(value);
    };
    const onSubmit = (e) => {
      e.preventDefault();
      const result = check();
      if ('error' in result) {
        $(`${name}-error`).textContent = result.error;
        result.field.focus();
        return;
      }
      finish(result.value);
    };
    const onCancel = () => finish(null);
    const cleanup = () => {
      form.removeEventListener('submit', onSubmit);
      cancel.removeEventListener('click', onCancel);
      dialog.removeEventListener('close', onCancel);
    };
    form.addEventListener('submit', onSubmit);
    cancel.addEventListener('click', onCancel);
    dialog.addEventListener('close', onCancel);
    restoreFocus = showDialog(dialog, focus);
  });
}

/**
 * Asks to confirm an action. Resolves to 'ok', 'alternative' (the optional middle button) or
 * null (Cancel, Escape). The focus starts on Cancel so that Enter alone does not confirm.
 */
function askConfirm({ title, text, ok, alternative }) {
  const dialog = $('confirm-dialog');
  $('confirm-title').textContent = title;
  $('confirm-text').textContent = text;
  $('confirm-ok').textContent = ok;
  $('confirm-alternative').textContent = alternative ?? '';
  $('confirm-alternative').hidden = !alternative;
  return new Promise((resolve) => {
    let restoreFocus = () => {};
    const finish = (value) => {
      cleanup();
      if (dialog.open) dialog.close();
      restoreFocus();
      resolve(value);
    };
    const onSubmit = (e) => {
      e.preventDefault();
      finish('ok');
    };
    const onAlternative = () => finish('alternative');
    const onCancel = () => finish(null);
    const cleanup = () => {
      $('confirm-form').removeEventListener('submit', onSubmit);
      $('confirm-alternative').removeEventListener('click', onAlternative);
      $('confirm-cancel').removeEventListener('click', onCancel);
      dialog.removeEventListener('close', onCancel);
    };
    $('confirm-form').addEventListener('submit', onSubmit);
    $('confirm-alternative').addEventListener('click', onAlternative);
    $('confirm-cancel').addEventListener('click', onCancel);
    dialog.addEventListener('close', onCancel);
    restoreFocus = showDialog(dialog, $('confirm-cancel'));
  });
}

// ---------------------------------------------------------------------------------------------
// Identity

async function renderIdentity() {
  const slot = $('me-slot');
  const account = state.account;
  const user = state.identity.user;
  const handle = account?.handle || state.identity.handle || '';
  const me = h(
    'div',
    { className: 'me', attrs: { id: 'me' }, data: { user } },
    h('span', { className: 'name', text: account?.display_name || handle || shortKey(user) }),
    handle ? h('span', { className: 'handle', text: `@${handle}` }) : null,
  );
  slot.replaceChildren(me);
  $('me-node').textContent = account?.attestation?.home_node ? shortKey(account.attestation.home_node) : '…';
  $('me-node').title = account?.attestation?.home_node ?? '';
  $('me-assurance').textContent = account?.attestation
    ? `${account.attestation.assurance_name ?? ASSURANCE_NAMES[account.attestation.assurance] ?? ''} (level ${account.attestation.assurance})`
    : '…';
  $('me-fingerprint').textContent = await keys.fingerprint(user);
  $('me-fingerprint').title = `public key ${user}`;
}

/** The key tools move between the onboarding card and the sidebar; what they offer depends on
 *  whether this browser holds an identity. */
function renderKeyTools(home) {
  $(home).append($('key-tools'));
  $('export-key').hidden = !state.identity;
  $('forget-identity').hidden = !state.identity;
}

function showOnboarding(registerExisting) {
  document.body.classList.remove('signed-in');
  $('app').hidden = true;
  $('onboarding').hidden = false;
  $('onboarding-form').hidden = false;
  $('signed-out-actions').hidden = true;
  $('onboarding-title').textContent = 'Welcome to Causerie';
  renderKeyTools('key-tools-home');
  $('create-identity').textContent = registerExisting ? 'Register this key' : 'Create identity';
  $('onboarding-intro').textContent = registerExisting
    ? 'This node does not know your key yet. Choose a handle to register it here.'
    : 'Choose a handle. Your key is created in this browser and never leaves it; this node vouches that you hold it.';
  if (state.identity?.handle) $('handle-input').value = state.identity.handle;
  // On a touch-only device the keyboard would cover the explanation above the field.
  if (!window.matchMedia(TOUCH_ONLY_QUERY).matches) $('handle-input').focus();
}

function showApp() {
  document.body.classList.add('signed-in');
  $('onboarding').hidden = true;
  $('app').hidden = false;
  renderKeyTools('key-tools-slot');
}

/** After "Log out": the key stays here, nothing runs until the user logs in again. */
function showSignedOut(message) {
  document.body.classList.remove('signed-in');
  $('app').hidden = true;
  $('onboarding').hidden = false;
  $('onboarding-form').hidden = true;
  $('signed-out-actions').hidden = false;
  $('login-error').textContent = '';
  $('key-tools-status').textContent = '';
  $('onboarding-title').textContent = 'Logged out';
  $('onboarding-intro').textContent = message;
  const handle = state.identity?.handle;
  $('login-again').textContent = handle ? `Log in again as @${handle}` : 'Log in again';
  renderKeyTools('key-tools-home');
  $('login-again').focus();
}

/** Drops everything the session showed: rooms, timelines, the account. */
function clearSessionState() {
  state.account = null;
  state.rooms.clear();
  state.timelines.clear();
  state.unread.clear();
  state.active = null;
  state.activeInfo = null;
  state.members = [];
  renderRoomList();
  renderActiveRoom();
}

/**
 * Stops the connection loop and ends the session on the node (POST /auth/logout). Resolves to
 * false if the node could not be told (the token is dropped here anyway and expires there).
 */
async function endSession() {
  state.signedOut = true;
  if (state.streamAbort) state.streamAbort.abort();
  wakeConnection();
  let ended = true;
  if (api.token) {
    try {
      await api.request('POST', '/auth/logout');
    } catch (error) {
      // A token the node no longer knows is as ended as it gets.
      ended = error instanceof ApiError && error.status === 401;
    }
  }
  api.token = null;
  clearSessionState();
  return ended;
}

async function onLogout() {
  const button = $('logout');
  button.disabled = true;
  try {
    const ended = await endSession();
    showSignedOut(
      ended
        ? 'Your session on this node is over. Your key stays in this browser: log in again whenever you like.'
        : 'You are logged out here, but the node could not be reached to end the session; it expires there by itself. Your key stays in this browser.',
    );
  } finally {
    button.disabled = false;
  }
}

/** Logs in before leaving the signed-out card, so that a failure is said where the user looks. */
async function onLoginAgain() {
  const button = $('login-again');
  button.disabled = true;
  $('login-error').textContent = '';
  state.signedOut = false;
  try {
    await login();
  } catch (error) {
    if (error instanceof NeedsRegistration) {
      showOnboarding(true);
      return;
    }
    state.signedOut = true;
    showError('login-error', error);
    button.disabled = false;
    button.focus();
    return;
  } finally {
    button.disabled = false;
  }
  showApp();
  renderIdentity();
  setConnection('connecting');
  connectionLoop();
}

async function onForgetIdentity() {
  const choice = await askConfirm({
    title: 'Forget this identity on this browser?',
    text:
      'This deletes your key from this browser. Export it first: without a key file and its passphrase, ' +
      'nobody (not even this node) can give this identity back to you, and your handle stays taken.',
    ok: 'Forget identity',
    alternative: 'Export key first…',
  });
  if (choice === 'alternative') {
    await onExportKey();
    return;
  }
  if (choice !== 'ok') return;
  const status = $('key-tools-status');
  await endSession();
  try {
    await keys.forgetIdentity();
  } catch (error) {
    showSignedOut('Logged out, but the key could not be deleted from this browser.');
    status.textContent = errorText(error);
    return;
  }
  state.identity = null;
  localStorage.removeItem(ACTIVE_ROOM_KEY);
  $('handle-input').value = '';
  $('display-name-input').value = '';
  $('onboarding-error').textContent = '';
  state.signedOut = false;
  setConnection('connecting');
  showOnboarding(false);
  status.textContent = 'This browser no longer holds that identity.';
}

async function onCreateIdentity(e) {
  e.preventDefault();
  const handle = $('handle-input').value.trim();
  const displayName = $('display-name-input').value.trim();
  showError('onboarding-error', null);
  if (!HANDLE_PATTERN.test(handle)) {
    $('onboarding-error').textContent = 'bad_handle: 1–32 characters of a–z, 0–9, dot, dash, underscore, starting with a letter or digit.';
    return;
  }
  const button = $('create-identity');
  button.disabled = true;
  try {
    // A key made by an earlier attempt whose registration failed (say, a taken handle) is reused.
    if (!state.identity) state.identity = await keys.createIdentity(null);
    await register(handle, displayName || null);
    showApp();
    renderIdentity();
    connectionLoop();
  } catch (error) {
    showError('onboarding-error', error);
  } finally {
    button.disabled = false;
  }
}

async function onExportKey() {
  const status = $('key-tools-status');
  const passphrase = await askPassphrase(
    'Export your key',
    `Choose a passphrase of at least ${MIN_EXPORT_PASSPHRASE_CHARS} characters to protect the key file. Anyone with the file and the passphrase can act as you.`,
    { confirm: true },
  );
  if (passphrase === null) return;
  status.textContent = 'Encrypting…';
  try {
    const text = await keys.exportKeyFile(state.identity, passphrase);
    const url = URL.createObjectURL(new Blob([text], { type: 'application/json' }));
    const link = h('a', { attrs: { href: url, download: `causerie-${state.account?.handle || 'key'}.json` } });
    link.hidden = true;
    document.body.append(link);
    link.click();
    link.remove();
    setTimeout(() => URL.revokeObjectURL(url), 60000);
    status.textContent = 'Key file saved. Keep it and its passphrase safe.';
  } catch (error) {
    status.textContent = errorText(error);
  }
}

async function onImportKey() {
  const input = $('import-key-file');
  const file = input.files && input.files[0];
  input.value = '';
  const status = $('key-tools-status');
  if (!file) return;
  if (file.size > keys.MAX_KEY_FILE_BYTES) {
    status.textContent = 'bad_export_file: this is not a Causerie key file (too large).';
    return;
  }
  const text = await file.text();
  const warning = state.identity ? ' It replaces the identity stored in this browser.' : '';
  for (;;) {
    const passphrase = await askPassphrase('Import a key', `Enter the passphrase of ${file.name}.${warning}`);
    if (passphrase === null) return;
    status.textContent = 'Decrypting…';
    try {
      state.identity = await keys.importKeyFile(text, passphrase);
      status.textContent = 'Key imported.';
      break;
    } catch (error) {
      status.textContent = errorText(error);
      if (!(error instanceof keys.KeyError && error.reason === 'wrong_passphrase')) return;
    }
  }
  // Start over as this identity: log in, or register if this node does not know the key.
  if (state.streamAbort) state.streamAbort.abort();
  api.token = null;
  state.signedOut = false;
  clearSessionState();
  localStorage.removeItem(ACTIVE_ROOM_KEY);
  showApp();
  renderIdentity();
  connectionLoop();
}

async function onEditProfile() {
  const current = state.account?.display_name || '';
  const name = await askValue('Display name', 'Display name (at most 64 bytes)', current, (value) =>
    new TextEncoder().encode(value).length > 64 ? 'At most 64 bytes.' : null,
  );
  if (name === null) return;
  try {
    state.account = await call('PUT', '/me', { display_name: name.trim() });
    renderIdentity();
    const failures = [];
    for (const [room, info] of state.rooms) {
      if (info.membership !== 'join') continue;
      try {
        await act(
          room,
          { action: 'profile', display_name: name.trim() },
          { kind: 'room.member', stateKey: state.identity.user, content: (c) => c.membership === 'join' },
        );
      } catch (error) {
        failures.push(`${info.name || shortKey(room)}: ${errorText(error)}`);
      }
    }
    $('key-tools-status').textContent = failures.length ? `Not updated in ${failures.join('; ')}` : 'Display name updated.';
  } catch (error) {
    $('key-tools-status').textContent = errorText(error);
  }
}

// ---------------------------------------------------------------------------------------------
// Rooms

let roomsRefreshTimer = null;
function scheduleRoomsRefresh() {
  clearTimeout(roomsRefreshTimer);
  roomsRefreshTimer = setTimeout(() => loadRooms().catch(() => {}), 300);
}

async function loadRooms() {
  const response = await call('GET', '/rooms');
  const before = state.rooms.get(state.active)?.membership;
  state.rooms = new Map((response.rooms || []).map((room) => [room.room, room]));
  if (state.active && state.rooms.has(state.active) && state.rooms.get(state.active).membership !== before) {
    scheduleActiveInfoRefresh();
  }
  if (!state.active) {
    const remembered = localStorage.getItem(ACTIVE_ROOM_KEY);
    const first = state.rooms.has(remembered) ? remembered : state.rooms.keys().next().value;
    // Not on a touch-only device: focusing the composer there pops the keyboard over the page.
    if (first) setActive(first, { focus: !window.matchMedia(TOUCH_ONLY_QUERY).matches });
  } else if (!state.rooms.has(state.active)) {
    setActive(null);
  }
  renderRoomList();
  renderRoomHeader();
}

function roomLabel(info) {
  return info?.name || shortKey(info?.room);
}

let roomListShown = '';
function renderRoomList() {
  const list = $('room-list');
  // Re-render only on change, so a button is not replaced under the user's pointer.
  const signature = JSON.stringify([[...state.rooms], state.active, [...state.unread]]);
  if (signature === roomListShown) return;
  roomListShown = signature;
  const items = [];
  for (const [id, info] of state.rooms) {
    const badge = info.membership && info.membership !== 'join' ? info.membership : null;
    const button = h(
      'button',
      {
        className: 'room-button',
        type: 'button',
        attrs: { 'aria-current': id === state.active ? 'true' : 'false' },
        onClick: () => setActive(id, { focus: true }),
      },
      h('span', { className: 'room-name', text: roomLabel(info) }),
      badge ? h('span', { className: 'badge', text: badge === 'invite' ? 'invited' : badge }) : null,
      state.unread.has(id) ? h('span', { className: 'unread-dot', attrs: { 'aria-label': 'unread messages' } }) : null,
    );
    items.push(
      h('li', { className: `room-item${id === state.active ? ' active' : ''}`, data: { roomId: id } }, button),
    );
  }
  list.replaceChildren(...items);
  $('room-list-empty').hidden = items.length > 0;
}

/** Puts the keyboard in the open room: the composer, or the Join button if not a member. */
function focusRoomEntry() {
  if (canFocus($('composer'))) $('composer').focus();
  else if (canFocus($('leave-room'))) $('leave-room').focus();
}

/** Opens `room` (or none); with `focus`, the keyboard goes to the composer (focusRoomEntry). */
function setActive(room, { focus = false } = {}) {
  if (state.active === room) {
    closeDrawers();
    if (focus) focusRoomEntry();
    return;
  }
  state.active = room;
  state.activeInfo = null;
  state.members = [];
  state.unread.delete(room);
  $('jump-to-bottom').hidden = true;
  if (room) localStorage.setItem(ACTIVE_ROOM_KEY, room);
  $('invite-link').value = '';
  showError('composer-error', null);
  renderRoomList();
  renderActiveRoom();
  closeDrawers();
  if (focus) focusRoomEntry();
  if (!room) return;
  const membership = state.rooms.get(room)?.membership;
  if (membership === 'invite' || membership === 'knock') {
    // Only members can read the history; say why it is empty.
    $('timeline-status').textContent =
      membership === 'invite' ? 'You are invited: press Join to enter the room.' : 'You asked to join; a moderator must let you in.';
    refreshActiveInfo();
    return;
  }
  const timeline = timelineFor(room);
  if (timeline.loaded) {
    const view = $('timeline');
    view.scrollTop = view.scrollHeight;
    fillScreen(timeline);
  } else {
    openTimeline(room).catch((error) => {
      if (state.active === room) $('timeline-status').textContent = `Could not load messages: ${errorText(error)}`;
    });
  }
  refreshActiveInfo();
}

function renderActiveRoom() {
  const has = Boolean(state.active);
  document.body.classList.toggle('has-room', has);
  $('no-room').hidden = has;
  $('timeline').hidden = !has;
  $('room-bar').hidden = !has;
  $('composer-form').hidden = !has;
  $('toggle-members').hidden = !has;
  $('members-empty').hidden = has;
  renderRoomHeader();
  renderTimeline();
  renderMembers();
  renderComposerState();
}

function renderRoomHeader() {
  const info = state.activeInfo || state.rooms.get(state.active);
  $('room-title').textContent = state.active ? roomLabel(info || { room: state.active }) : 'Causerie';
  $('room-topic').textContent = state.active && info?.topic ? info.topic : '';
  document.title = state.active ? `${roomLabel(info || { room: state.active })} · Causerie` : 'Causerie';
}

function renderComposerState() {
  const info = state.activeInfo || state.rooms.get(state.active);
  const membership = info?.membership;
  const composer = $('composer');
  const sending = composer.dataset.sending === '1';
  const canWrite = Boolean(state.active) && membership === 'join';
  composer.disabled = !canWrite || sending;
  $('send-button').disabled = !canWrite || sending;
  composer.placeholder = !state.active
    ? ''
    : membership === 'join'
      ? 'Message (Enter sends, Shift+Enter for a new line)'
      : membership === 'invite'
        ? 'You are invited: join the room (Join button in the room list) to write.'
        : 'Join the room to write.';
  const joinable = state.active && (membership === 'invite' || membership === null || membership === 'leave');
  $('leave-room').textContent = joinable ? 'Join' : 'Leave';
}

let infoRefreshTimer = null;
function scheduleActiveInfoRefresh() {
  clearTimeout(infoRefreshTimer);
  infoRefreshTimer = setTimeout(refreshActiveInfo, 300);
}

async function refreshActiveInfo() {
  const room = state.active;
  if (!room) return;
  try {
    const [info, members] = await Promise.all([call('GET', roomPath(room)), call('GET', `${roomPath(room)}/members`)]);
    if (state.active !== room) return;
    const couldRedact = canRedactOthers();
    state.activeInfo = info;
    state.members = Array.isArray(members.members) ? members.members : [];
    showError('members-error', null);
    renderRoomHeader();
    renderMembers();
    renderComposerState();
    // Message menus depend on the right to redact others' messages.
    if (couldRedact !== canRedactOthers()) renderTimeline();
  } catch (error) {
    if (state.active === room) showError('members-error', error);
  }
}

async function onCreateRoom(e) {
  e.preventDefault();
  const name = $('new-room-name').value.trim();
  const topic = $('new-room-topic').value.trim();
  const joinRule = $('new-room-public').checked ? 'public' : $('new-room-private-rule').value;
  showError('create-room-error', null);
  if (!name) {
    $('create-room-error').textContent = 'Give the room a name.';
    return;
  }
  const button = $('create-room');
  button.disabled = true;
  try {
    const draft = await call('POST', '/rooms/prepare_create', {});
    const created = await signAndSubmit(draft, { room: null, kind: 'room.create', stateKey: '' });
    const room = created.room || `!${created.event_id.slice(1)}`;
    const user = state.identity.user;
    await act(room, { action: 'join' }, { kind: 'room.member', stateKey: user, content: (c) => c.membership === 'join' });
    await act(room, { action: 'power_levels' }, { kind: 'room.power_levels', stateKey: '' });
    await act(
      room,
      { action: 'join_rule', join_rule: joinRule },
      { kind: 'room.join_rules', stateKey: '', content: (c) => c.join_rule === joinRule },
    );
    await act(room, { action: 'name', name }, { kind: 'room.name', stateKey: '', content: (c) => c.name === name });
    if (topic) {
      await act(room, { action: 'topic', topic }, { kind: 'room.topic', stateKey: '', content: (c) => c.topic === topic });
    }
    $('new-room-name').value = '';
    $('new-room-topic').value = '';
    state.rooms.set(room, { room, name, topic, join_rule: joinRule, membership: 'join', members: 1 });
    setActive(room, { focus: true });
    await loadRooms();
    loadDirectory();
  } catch (error) {
    showError('create-room-error', error);
  } finally {
    button.disabled = false;
  }
}

/** Joins a room by invite link or id: the node replicates it if needed and prepares our join. */
async function joinRoom(target) {
  const body = target.startsWith('!') ? { room: target } : { link: target };
  const response = await call('POST', '/rooms/join', body);
  try {
    await signAndSubmit(response.draft, {
      room: response.room,
      kind: 'room.member',
      stateKey: state.identity.user,
      content: (c) => c.membership === 'join',
    });
  } catch (error) {
    // A room whose join rule is `knock` cannot be joined directly: ask to join instead.
    if (!(error instanceof ApiError) || error.status !== 403) throw error;
    const info = await call('GET', roomPath(response.room)).catch(() => null);
    if (info?.join_rule !== 'knock' || info.membership === 'knock') throw error;
    await act(
      response.room,
      { action: 'knock' },
      { kind: 'room.member', stateKey: state.identity.user, content: (c) => c.membership === 'knock' },
    );
    await loadRooms();
    throw new ApiError(202, 'knocked', 'You asked to join; a moderator of the room must let you in.');
  }
  const known = state.rooms.get(response.room);
  state.rooms.set(response.room, { ...(known || { room: response.room }), membership: 'join' });
  // A rejoined room may have history we never saw; load it afresh.
  state.timelines.delete(response.room);
  if (state.active === response.room) state.active = null;
  setActive(response.room, { focus: true });
  await loadRooms();
  return response.room;
}

async function onJoin(e) {
  e.preventDefault();
  const target = $('join-link-input').value.trim();
  showError('join-error', null);
  if (!target.startsWith('causerie:join/') && !/^![0-9a-f]{64}$/.test(target)) {
    $('join-error').textContent = 'Paste an invite link (causerie:join/…) or a room id (!…).';
    return;
  }
  const button = $('join-button');
  button.disabled = true;
  try {
    await joinRoom(target);
    $('join-link-input').value = '';
  } catch (error) {
    showError('join-error', error);
  } finally {
    button.disabled = false;
  }
}

let directoryShown = '';
async function loadDirectory() {
  try {
    const response = await call('GET', '/directory');
    // Re-render only on change, so a button is not replaced under the user's pointer.
    const joinedIds = [...state.rooms].filter(([, info]) => info.membership === 'join').map(([id]) => id);
    const signature = JSON.stringify([response.rooms, joinedIds]);
    if (signature === directoryShown) return;
    directoryShown = signature;
    const items = (response.rooms || []).map((info) => {
      const joined = state.rooms.get(info.room)?.membership === 'join';
      const button = h('button', {
        className: 'small',
        type: 'button',
        text: joined ? 'Open' : 'Join',
        attrs: { 'aria-label': `${joined ? 'Open' : 'Join'} ${roomLabel(info)}` },
      });
      button.addEventListener('click', async () => {
        if (joined) {
          setActive(info.room, { focus: true });
          return;
        }
        button.disabled = true;
        showError('directory-error', null);
        try {
          await joinRoom(info.room);
          loadDirectory();
        } catch (error) {
          showError('directory-error', error);
        } finally {
          button.disabled = false;
        }
      });
      return h(
        'li',
        { className: 'directory-item', data: { roomId: info.room } },
        h(
          'div',
          { className: 'directory-text' },
          h('span', { className: 'room-name', text: roomLabel(info) }),
          h('span', { className: 'hint', text: `${info.members} member${info.members === 1 ? '' : 's'}${info.topic ? ` · ${info.topic}` : ''}` }),
        ),
        button,
      );
    });
    $('directory').replaceChildren(...items);
    if (!items.length) $('directory').append(h('li', { className: 'hint', text: 'No public rooms on this node yet.' }));
    showError('directory-error', null);
  } catch (error) {
    showError('directory-error', error);
  }
}

async function onInviteLink() {
  const room = state.active;
  if (!room) return;
  try {
    const response = await call('GET', `${roomPath(room)}/invite`);
    if (state.active !== room) return;
    $('invite-link').value = response.link;
    $('invite-link').select();
  } catch (error) {
    showError('composer-error', error);
  }
}

async function onCopyInviteLink() {
  if (!$('invite-link').value) await onInviteLink();
  const link = $('invite-link').value;
  if (!link) return;
  try {
    await navigator.clipboard.writeText(link);
    $('copy-invite-link').textContent = 'Copied';
    setTimeout(() => ($('copy-invite-link').textContent = 'Copy'), 1500);
  } catch {
    $('invite-link').select();
  }
}

async function onLeaveOrJoin() {
  const room = state.active;
  if (!room) return;
  const info = state.activeInfo || state.rooms.get(room);
  const button = $('leave-room');
  button.disabled = true;
  showError('composer-error', null);
  try {
    if (info?.membership === 'join' || info?.membership === 'knock') {
      await act(room, { action: 'leave' }, { kind: 'room.member', stateKey: state.identity.user, content: (c) => c.membership === 'leave' });
      state.rooms.delete(room);
      state.timelines.delete(room);
      setActive(null);
      await loadRooms();
      loadDirectory();
      // The Leave button is gone with the room; keep the keyboard in the page.
      if (!canFocus(document.activeElement)) {
        [$('room-list').querySelector('button'), $('toggle-sidebar'), $('new-room-name')].find(canFocus)?.focus();
      }
    } else {
      await joinRoom(room);
    }
  } catch (error) {
    showError('composer-error', error);
  } finally {
    button.disabled = false;
  }
}

// ---------------------------------------------------------------------------------------------
// Composer

async function onSend(e) {
  e?.preventDefault();
  const composer = $('composer');
  const body = composer.value;
  const room = state.active;
  if (!room || !body.trim() || composer.dataset.sending === '1') return;
  showError('composer-error', null);
  composer.dataset.sending = '1';
  renderComposerState();
  try {
    await act(room, { action: 'message', body }, { kind: 'room.message', content: (c) => c.body === body });
    if (composer.value === body) composer.value = '';
    // The stream brings the event; if it is down, fetch it so the sender sees their message.
    if (state.connection !== 'online') {
      const timeline = state.timelines.get(room);
      if (timeline?.loaded) fillGap(timeline).catch(() => {});
    }
  } catch (error) {
    if (error instanceof ApiError && error.status === 0) {
      $('composer-error').textContent = 'Not sent: the node cannot be reached. Your text stays here; send it again when the node is back.';
    } else {
      showError('composer-error', error);
    }
  } finally {
    composer.dataset.sending = '0';
    renderComposerState();
    if (state.active === room) composer.focus();
  }
}

function onComposerKey(e) {
  if (e.key === 'Enter' && !e.shiftKey && !e.isComposing) {
    e.preventDefault();
    onSend();
  }
}

// ---------------------------------------------------------------------------------------------
// Members and moderation

function levelText(power) {
  return power >= CREATOR_POWER ? 'creator' : String(power);
}

function renderMembers() {
  const list = $('members');
  const info = state.activeInfo;
  if (!state.active || !info) {
    list.replaceChildren();
    return;
  }
  const mine = info.power ?? 0;
  const levels = info.power_levels || {};
  const items = state.members.map((member) => {
    const name = member.display_name || member.handle || shortKey(member.user);
    const power = member.power ?? 0;
    const actions = [];
    const above = mine > power && member.user !== state.identity.user;
    if (above && ['join', 'invite', 'knock'].includes(member.membership) && mine >= (levels.kick ?? 50)) {
      actions.push({ label: 'Kick…', danger: true, run: () => moderate('kick', member) });
    }
    if (above && member.membership !== 'ban' && mine >= (levels.ban ?? 50)) {
      actions.push({ label: 'Ban…', danger: true, run: () => moderate('ban', member) });
    }
    if (member.membership === 'ban' && mine >= (levels.ban ?? 50) && mine > power) {
      actions.push({ label: 'Unban', run: () => moderate('unban', member) });
    }
    if (member.membership === 'knock' && mine >= (levels.invite ?? 0)) {
      actions.push({ label: 'Let in (invite)', run: () => moderate('invite', member) });
    }
    if ((above || member.user === state.identity.user) && power < CREATOR_POWER && mine >= (levels.state_default ?? 50)) {
      actions.push({ label: 'Change power…', run: () => moderate('power', member) });
    }
    const item = h(
      'li',
      { className: `member membership-${member.membership}`, data: { user: member.user, membership: member.membership } },
      h(
        'div',
        { className: 'member-main' },
        h('span', { className: 'name', text: name }),
        member.handle ? h('span', { className: 'handle', text: `@${member.handle}` }) : null,
        h('span', { className: 'power', text: levelText(power), attrs: { title: `power ${levelText(power)}` } }),
      ),
      h('div', {
        className: 'member-meta',
        text: `${member.membership} · ${attestationText({ home_node: member.home_node, assurance: member.assurance })}`,
        attrs: { title: `key ${member.user}` },
      }),
    );
    if (actions.length) item.append(menuFor(`Actions for ${name}`, actions));
    return item;
  });
  list.replaceChildren(...items);
  const canInvite = mine >= (levels.invite ?? 0) && info.membership === 'join';
  if (canInvite) {
    list.append(h('li', { className: 'member-invite' }, h('button', { type: 'button', className: 'small', text: 'Invite a user by key…', onClick: inviteByKey })));
  }
}

async function inviteByKey() {
  const user = await askValue('Invite', 'Public key of the user (64 hex digits)', '', (v) =>
    /^[0-9a-f]{64}$/.test(v.trim()) ? null : 'A key is 64 lowercase hex digits.',
  );
  if (user === null) return;
  await moderate('invite', { user: user.trim(), display_name: null, handle: null });
}

async function moderate(kind, member) {
  const room = state.active;
  const name = member.display_name || member.handle || shortKey(member.user);
  const action = { action: kind, user: member.user };
  let expect;
  if (kind === 'kick' || kind === 'ban') {
    const reason = await askValue(kind === 'kick' ? `Kick ${name}` : `Ban ${name}`, 'Reason (optional)', '', null);
    if (reason === null) return;
    if (reason.trim()) action.reason = reason.trim();
    const membership = kind === 'kick' ? 'leave' : 'ban';
    expect = { kind: 'room.member', stateKey: member.user, content: (c) => c.membership === membership };
  } else if (kind === 'unban') {
    expect = { kind: 'room.member', stateKey: member.user, content: (c) => c.membership === 'leave' };
  } else if (kind === 'invite') {
    expect = { kind: 'room.member', stateKey: member.user, content: (c) => c.membership === 'invite' };
  } else {
    const mine = state.activeInfo?.power ?? 0;
    const value = await askValue(`Power of ${name}`, `Power level (0 to ${levelText(mine)})`, String(member.power ?? 0), (v) => {
      const n = Number(v);
      return Number.isSafeInteger(n) && n >= 0 && n <= Math.min(mine, CREATOR_POWER) ? null : 'Enter a whole number within your own power.';
    });
    if (value === null) return;
    action.level = Number(value);
    expect = {
      kind: 'room.power_levels',
      stateKey: '',
      content: (c) => ((c.users && c.users[member.user]) ?? c.users_default ?? 0) === action.level,
    };
  }
  showError('members-error', null);
  try {
    await act(room, action, expect);
    scheduleActiveInfoRefresh();
  } catch (error) {
    showError('members-error', error);
  }
}

async function redactEvent(event) {
  const reason = await askValue('Delete message', 'Reason (optional)', '', null);
  if (reason === null) return;
  const action = { action: 'redact', event: event.id };
  if (reason.trim()) action.reason = reason.trim();
  const target = keys.hexToBytes(event.id.slice(1));
  try {
    await act(event.room, action, {
      kind: 'room.redaction',
      content: (c) => c.redacts instanceof Uint8Array && cborEqual(c.redacts, target),
    });
  } catch (error) {
    showError('composer-error', error);
  }
}

// ---------------------------------------------------------------------------------------------
// Layout: drawers and keyboard

function setDrawer(id, toggleId, open) {
  $(id).classList.toggle('open', open);
  $(toggleId).setAttribute('aria-expanded', String(open));
  const anyOpen = $('sidebar').classList.contains('open') || $('members-panel').classList.contains('open');
  $('scrim').hidden = !anyOpen;
  document.body.classList.toggle('drawer-open', anyOpen);
  if (open) {
    state.drawerOpener = $(toggleId);
    // In the room list, the keyboard starts on the open room, where a reader's eyes go.
    ($(id).querySelector('.room-item.active .room-button') ?? focusableIn($(id))[0])?.focus();
  }
}

/** Closes the drawers; with `restoreFocus`, the focus returns to the toggle that opened one. */
function closeDrawers(restoreFocus = false) {
  const wasOpen = $('sidebar').classList.contains('open') || $('members-panel').classList.contains('open');
  setDrawer('sidebar', 'toggle-sidebar', false);
  setDrawer('members-panel', 'toggle-members', false);
  const opener = state.drawerOpener;
  state.drawerOpener = null;
  if (wasOpen && restoreFocus && canFocus(opener)) opener.focus();
  return wasOpen;
}

/** The drawer shown over the conversation (narrow screens), or null. */
function overlayDrawer() {
  for (const id of ['sidebar', 'members-panel']) {
    const drawer = $(id);
    if (drawer.classList.contains('open') && getComputedStyle(drawer).position === 'absolute') return drawer;
  }
  return null;
}

function bindLayout() {
  $('toggle-sidebar').addEventListener('click', () => {
    const open = !$('sidebar').classList.contains('open');
    setDrawer('members-panel', 'toggle-members', false);
    setDrawer('sidebar', 'toggle-sidebar', open);
  });
  $('toggle-members').addEventListener('click', () => {
    const open = !$('members-panel').classList.contains('open');
    setDrawer('sidebar', 'toggle-sidebar', false);
    setDrawer('members-panel', 'toggle-members', open);
  });
  $('scrim').addEventListener('click', () => closeDrawers(true));
  for (const dialog of document.querySelectorAll('dialog')) dialog.addEventListener('keydown', (e) => trapTab(e, dialog));
  document.addEventListener('keydown', (e) => {
    // A modal dialog handles its own keys (its Tab trap above; Escape is its cancel).
    if (document.querySelector('dialog[open]')) return;
    if (e.key === 'Tab') {
      const drawer = overlayDrawer();
      if (drawer) trapTab(e, drawer);
      return;
    }
    if (e.key !== 'Escape') return;
    if (closeMenu(true)) return;
    closeDrawers(true);
  });
  document.addEventListener('click', (e) => {
    const open = state.openMenu;
    if (open && !open.menu.contains(e.target) && !open.button.contains(e.target)) closeMenu(false);
  });
  $('jump-to-bottom').addEventListener('click', () => {
    const view = $('timeline');
    view.scrollTop = view.scrollHeight;
    $('jump-to-bottom').hidden = true;
    $('composer').focus();
  });
  $('timeline').addEventListener('scroll', () => {
    const view = $('timeline');
    if (view.scrollHeight - view.scrollTop - view.clientHeight <= STICK_TO_BOTTOM_PX) $('jump-to-bottom').hidden = true;
    const timeline = state.active && state.timelines.get(state.active);
    if (timeline && timeline.loaded && $('timeline').scrollTop < LOAD_OLDER_THRESHOLD_PX) loadOlder(timeline);
  });
  $('retry-now').addEventListener('click', wakeConnection);
  window.addEventListener('online', wakeConnection);
  document.addEventListener('visibilitychange', () => {
    if (document.visibilityState === 'visible' && state.connection !== 'online') wakeConnection();
  });
  setInterval(() => {
    if (state.connection === 'online' && api.token) loadRooms().catch(() => {});
  }, ROOMS_POLL_MS);
  $('new-room-public').addEventListener('change', () => {
    $('new-room-private-rule').disabled = $('new-room-public').checked;
  });
}

function bindActions() {
  $('onboarding-form').addEventListener('submit', onCreateIdentity);
  $('export-key').addEventListener('click', onExportKey);
  $('import-key-file').addEventListener('change', onImportKey);
  $('edit-profile').addEventListener('click', onEditProfile);
  $('logout').addEventListener('click', onLogout);
  $('login-again').addEventListener('click', onLoginAgain);
  $('forget-identity').addEventListener('click', onForgetIdentity);
  $('create-room-form').addEventListener('submit', onCreateRoom);
  $('join-form').addEventListener('submit', onJoin);
  $('refresh-directory').addEventListener('click', loadDirectory);
  $('invite-link-button').addEventListener('click', onInviteLink);
  $('copy-invite-link').addEventListener('click', onCopyInviteLink);
  $('leave-room').addEventListener('click', onLeaveOrJoin);
  $('composer-form').addEventListener('submit', onSend);
  $('composer').addEventListener('keydown', onComposerKey);
}

async function main() {
  bindLayout();
  bindActions();
  if (!window.crypto?.subtle || !window.indexedDB) {
    $('onboarding').hidden = false;
    $('onboarding-error').textContent = 'This browser lacks WebCrypto or IndexedDB (open the page over http://127.0.0.1 or https).';
    document.body.dataset.ready = '1';
    return;
  }
  try {
    state.identity = await keys.loadIdentity();
  } catch (error) {
    $('onboarding-error').textContent = `Could not read the stored identity: ${errorText(error)}`;
  }
  renderActiveRoom();
  if (!state.identity) {
    setConnection('connecting');
    showOnboarding(false);
  } else {
    showApp();
    renderIdentity();
    connectionLoop();
  }
  document.body.dataset.ready = '1';
}

main();
