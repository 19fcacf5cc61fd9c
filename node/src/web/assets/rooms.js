// Causerie web client: the rooms. The room list (rooms, then direct messages, each with its
// unread and mention counts and, for moderators, waiting knocks and review items), the active
// room and its details and members, the "New room" and "Join" dialogs, joining by invite link,
// alias or id, and starting a direct message (specs/rooms.md: a two-member invite-only room
// whose create event says `dm: true`).
//
// Unread counts: the node's (`unread`, `mentions` of the room list) when it gives them, plus
// what arrived live since the list was fetched (connection.js counts it in `state.counts`).

import { ApiError } from './api.js';
import { renderComposerState } from './composer.js';
import { closeDialog, runTaskDialog } from './dialogs.js';
import { loadDirectory } from './directory.js';
import { $, canFocus, h, isTouchOnly, showPlainError } from './dom.js';
import { fillScreen, openTimeline, timelineFor } from './history.js';
import { closeDrawers } from './layout.js';
import { canRedactOthers, renderMembers } from './members.js';
import { refreshReviewAlerts, renderAlerts, renderTitle } from './notify.js';
import { act, call, roomPath, signAndSubmit } from './session.js';
import { ACTIVE_ROOM_KEY, state } from './state.js';
import { MEMBERSHIP_WORDS, countText, errorText, joinTarget, shortKey } from './text.js';
import { renderTimeline } from './timeline_view.js';

let roomsRefreshTimer = null;

/** Refetches the room list soon (several calls in a row make one request). */
export function scheduleRoomsRefresh() {
  clearTimeout(roomsRefreshTimer);
  roomsRefreshTimer = setTimeout(() => loadRooms().catch(() => {}), 300);
}

/** Fetches the room list; opens the remembered or first room if none is open. */
export async function loadRooms() {
  const response = await call('GET', '/rooms');
  const before = state.rooms.get(state.active)?.membership;
  state.rooms = new Map((response.rooms || []).map((room) => [room.room, room]));
  // The node's counts include the messages that arrived live until now. Mentions stay counted
  // here until the room is viewed: the node counts those by key and reply, this page also by
  // `@handle` in the text, and the larger of both is shown.
  for (const [id, info] of state.rooms) {
    const live = state.counts.get(id);
    if (live && Number.isSafeInteger(info.unread)) live.unread = 0;
  }
  const now = state.rooms.get(state.active)?.membership;
  if (state.active && state.rooms.has(state.active) && now !== before) {
    scheduleActiveInfoRefresh();
    // Let in while waiting at the door: say so where the messages will be.
    if (now === 'invite') $('timeline-status').textContent = 'You are invited: press Join to enter the room.';
  }
  if (!state.active) {
    const remembered = localStorage.getItem(ACTIVE_ROOM_KEY);
    const first = state.rooms.has(remembered) ? remembered : state.rooms.keys().next().value;
    // Not on a touch-only device: focusing the composer there pops the keyboard over the page.
    if (first) setActive(first, { focus: !isTouchOnly() });
  } else if (!state.rooms.has(state.active)) {
    // Removed by a moderator: the room stays open, out of the node's list, so that its reader
    // sees who removed them, why and until when (composer.js) until they open another room.
    const room = state.active;
    const info = await call('GET', roomPath(room)).catch(() => null);
    if (state.active === room && info?.removed) state.rooms.set(room, info);
    else if (state.active === room) setActive(null);
  }
  renderRoomList();
  renderRoomHeader();
  markActiveRead();
  refreshReviewAlerts();
}

/** The name a direct message is shown under: the other person's name or handle. */
function dmLabel(info) {
  const other = info.dm || {};
  const member = state.members.find((m) => m.user === other.with);
  if (!other.with) return info.name || 'Direct message';
  return member?.display_name || other.display_name || (other.handle ? `@${other.handle}` : shortKey(other.with));
}

/** A room's name (a direct message's: the other person's), or its short id. */
export function roomLabel(info) {
  if (info?.dm) return dmLabel(info);
  return info?.name || shortKey(info?.room);
}

/** Whether the user is looking at `room` now (it is open and the page is visible). */
export function isViewing(room) {
  return state.active === room && document.visibilityState === 'visible';
}

/** Unread messages and mentions of `room` as shown: none while the user is looking at it. */
export function countsOf(room) {
  if (isViewing(room)) return { unread: 0, mentions: 0 };
  const info = state.rooms.get(room) || {};
  const live = state.counts.get(room) || { unread: 0, mentions: 0 };
  const unread = (Number.isSafeInteger(info.unread) ? info.unread : 0) + live.unread;
  const mentions = Math.max(Number.isSafeInteger(info.mentions) ? info.mentions : 0, live.mentions);
  // A room with only the node's older "something new" mark (history.js) shows at least one.
  return { unread: Math.max(unread, mentions, state.unread.has(room) ? 1 : 0), mentions };
}

let roomListShown = '';

/** One room's entry in the room list. */
function roomItem(id, info) {
  const membership = info.membership && info.membership !== 'join' ? info.membership : null;
  const { unread, mentions } = countsOf(id);
  const alerts = state.alerts.get(id)?.size ?? 0;
  const label = roomLabel(info);
  // What the badges say, read with the room's name by a screen reader.
  const said = [
    membership ? MEMBERSHIP_WORDS[membership] ?? membership : null,
    mentions ? `${mentions} mention${mentions === 1 ? '' : 's'}` : null,
    unread ? `${countText(unread)} unread` : null,
    alerts ? `${alerts} waiting for a moderator` : null,
  ].filter(Boolean);
  const button = h(
    'button',
    {
      className: 'room-button',
      type: 'button',
      attrs: { 'aria-current': id === state.active ? 'true' : 'false', 'aria-label': [label, ...said].join(', ') },
      onClick: () => setActive(id, { focus: true }),
    },
    info.dm ? h('span', { className: 'dm-mark', text: '@', attrs: { 'aria-hidden': 'true' } }) : null,
    h('span', { className: 'room-name', text: label }),
    membership ? h('span', { className: 'badge', text: MEMBERSHIP_WORDS[membership] ?? membership }) : null,
    alerts ? h('span', { className: 'count-badge alert', text: `⚑ ${alerts}`, attrs: { title: 'Waiting for a moderator' } }) : null,
    mentions ? h('span', { className: 'count-badge mention', text: `@${countText(mentions)}`, attrs: { title: 'Mentions of you' } }) : null,
    unread && !mentions ? h('span', { className: 'count-badge unread', text: countText(unread), attrs: { title: 'Unread messages' } }) : null,
  );
  const data = { roomId: id, unread: String(unread), mentions: String(mentions), alerts: String(alerts) };
  return h('li', { className: `room-item${id === state.active ? ' active' : ''}${unread ? ' has-unread' : ''}`, data }, button);
}

/** Shows the room list and the direct messages (only when they changed), and the tab title. */
export function renderRoomList() {
  renderTitle();
  const rooms = [];
  const dms = [];
  for (const [id, info] of state.rooms) (info.dm ? dms : rooms).push([id, info]);
  // Re-render only on change, so a button is not replaced under the user's pointer.
  const counts = [...state.rooms.keys()].map((id) => [countsOf(id), state.alerts.get(id)?.size ?? 0]);
  const signature = JSON.stringify([[...state.rooms], state.active, counts, state.members.length]);
  if (signature === roomListShown) return;
  roomListShown = signature;
  $('room-list').replaceChildren(...rooms.map(([id, info]) => roomItem(id, info)));
  $('dm-list').replaceChildren(...dms.map(([id, info]) => roomItem(id, info)));
  $('room-list-empty').hidden = rooms.length > 0;
  $('dm-list-empty').hidden = dms.length > 0;
  renderAlerts();
}

/** Puts the keyboard in the open room: the composer, or the Join button if not a member. */
function focusRoomEntry() {
  if (canFocus($('composer'))) $('composer').focus();
  else if (canFocus($('leave-room'))) $('leave-room').focus();
}

/** Opens `room` (or none); with `focus`, the keyboard goes to the composer (focusRoomEntry). */
export function setActive(room, { focus = false } = {}) {
  if (state.active === room) {
    closeDrawers();
    if (focus) focusRoomEntry();
    return;
  }
  state.active = room;
  state.activeInfo = null;
  // Back in a room already loaded: the "new messages" line goes where the user stopped reading.
  const loaded = room ? state.timelines.get(room) : null;
  if (loaded?.loaded) loaded.readMarker = readMarkerOf(loaded, room);
  state.members = [];
  state.unread.delete(room);
  state.counts.delete(room);
  $('jump-to-bottom').hidden = true;
  if (room) localStorage.setItem(ACTIVE_ROOM_KEY, room);
  $('invite-link').value = '';
  showPlainError('composer-error', null);
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
    markActiveRead();
  } else {
    openTimeline(room)
      .then(() => markActiveRead())
      .catch((error) => {
        if (state.active === room) $('timeline-status').textContent = `Could not load messages: ${errorText(error)}`;
      });
  }
  refreshActiveInfo();
}

/**
 * Where the user stopped reading `room`: the later, in the timeline's order, of the node's marker
 * (the room list's `read_event`) and the one this client or another of the user's devices last
 * set (`readMarkerPosted`); null if neither is known.
 */
function readMarkerOf(timeline, room) {
  const known = [state.rooms.get(room)?.read_event, timeline.readMarkerPosted].filter(Boolean);
  const position = (id) => timeline.events.findIndex((e) => e.id === id);
  return known.reduce((best, id) => (best === null || position(id) > position(best) ? id : best), null);
}

/** Read markers already sent, by room: the newest event id. */
const readSent = new Map();

/**
 * While the user looks at a room the node counts as unread, moves the user's read marker to
 * its newest event (specs/client-api.md, read markers), so the count goes back to zero there
 * too. Only for a node that counts unread messages; a refusal is harmless and not shown.
 */
export function markActiveRead() {
  const room = state.active;
  if (!room || !isViewing(room)) return;
  const info = state.rooms.get(room);
  if (!info || !Number.isSafeInteger(info.unread)) return;
  const newest = state.timelines.get(room)?.newest();
  if (!newest || !newest.id?.startsWith('$') || readSent.get(room) === newest.id) return;
  if (info.unread === 0 && info.read_event === newest.id) return;
  readSent.set(room, newest.id);
  call('POST', `${roomPath(room)}/read`, { event: newest.id })
    .then(() => {
      const known = state.rooms.get(room);
      if (known && readSent.get(room) === newest.id) state.rooms.set(room, { ...known, unread: 0, mentions: 0, read_event: newest.id });
      renderRoomList();
    })
    .catch(() => {
      // Not moved (too fast, or the node is away): the next look at the room tries again.
      if (readSent.get(room) === newest.id) readSent.delete(room);
    });
}

/** Shows the active room, or the "no room" hint. */
export function renderActiveRoom() {
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

/** The title bar: the room's name and topic. */
function renderRoomHeader() {
  const info = state.activeInfo ? { ...state.rooms.get(state.active), ...state.activeInfo } : state.rooms.get(state.active);
  $('room-title').textContent = state.active ? roomLabel(info || { room: state.active }) : 'Causerie';
  $('room-topic').textContent = state.active && info?.topic ? info.topic : '';
  renderTitle();
}

let infoRefreshTimer = null;

/** Refetches the active room's details and members soon. */
export function scheduleActiveInfoRefresh() {
  clearTimeout(infoRefreshTimer);
  infoRefreshTimer = setTimeout(refreshActiveInfo, 300);
}

/** The names of the active room's members, to notice when they change. */
function memberNames() {
  return JSON.stringify(state.members.map((m) => [m.user, m.display_name, m.handle]));
}

/** Refreshes of the active room's details begun so far (the newest one's answer wins). */
let infoRefreshes = 0;

/** Fetches the active room's details and members. */
export async function refreshActiveInfo() {
  const room = state.active;
  if (!room) return;
  const started = ++infoRefreshes;
  const edits = state.infoEdits;
  try {
    const [info, members] = await Promise.all([call('GET', roomPath(room)), call('GET', `${roomPath(room)}/members`)]);
    if (state.active !== room || started !== infoRefreshes) return;
    if (edits !== state.infoEdits) {
      // Asked before a change this page made itself: it may not show that change yet.
      scheduleActiveInfoRefresh();
      return;
    }
    const couldRedact = canRedactOthers();
    const namesBefore = memberNames();
    state.activeInfo = info;
    state.members = Array.isArray(members.members) ? members.members : [];
    showPlainError('members-error', null);
    renderRoomHeader();
    renderMembers();
    renderComposerState();
    renderRoomList();
    refreshReviewAlerts();
    // Message menus depend on the right to redact others' messages, and notices name members.
    if (couldRedact !== canRedactOthers() || namesBefore !== memberNames()) renderTimeline();
  } catch (error) {
    if (state.active === room) showPlainError('members-error', error);
  }
}

/**
 * Signs and submits a new room's create event (`dm` for a direct message), then joins it and
 * sets the default power levels and `joinRule`. Resolves to the room id.
 */
async function createRoomWith(joinRule, { dm = false } = {}) {
  const draft = await call('POST', '/rooms/prepare_create', dm ? { dm: true } : {});
  const created = await signAndSubmit(draft, {
    room: null,
    kind: 'room.create',
    stateKey: '',
    content: dm ? (c) => c.dm === true : undefined,
  });
  const room = created.room || `!${created.event_id.slice(1)}`;
  const user = state.identity.user;
  await act(room, { action: 'join' }, { kind: 'room.member', stateKey: user, content: (c) => c.membership === 'join' });
  await act(room, { action: 'power_levels' }, { kind: 'room.power_levels', stateKey: '' });
  await act(
    room,
    { action: 'join_rule', join_rule: joinRule },
    { kind: 'room.join_rules', stateKey: '', content: (c) => c.join_rule === joinRule },
  );
  return room;
}

/** The "New room" dialog's work: create, join, power levels, join rule, name and topic. */
async function createRoom() {
  const name = $('new-room-name').value.trim();
  const topic = $('new-room-topic').value.trim();
  const joinRule = $('new-room-public').checked ? 'public' : $('new-room-private-rule').value;
  if (!name) throw new ApiError(400, 'empty_name', 'Give the room a name.');
  $('new-room-status').textContent = 'Creating the room…';
  try {
    const room = await createRoomWith(joinRule);
    await act(room, { action: 'name', name }, { kind: 'room.name', stateKey: '', content: (c) => c.name === name });
    if (topic) {
      await act(room, { action: 'topic', topic }, { kind: 'room.topic', stateKey: '', content: (c) => c.topic === topic });
    }
    state.rooms.set(room, { room, name, topic, join_rule: joinRule, membership: 'join', members: 1 });
    return room;
  } finally {
    $('new-room-status').textContent = '';
  }
}

/** Opens the "New room" dialog; a created room opens with the keyboard in its composer. */
export async function openNewRoom() {
  $('new-room-name').value = '';
  $('new-room-topic').value = '';
  $('new-room-public').checked = false;
  $('new-room-private-rule').disabled = false;
  const room = await runTaskDialog('new-room', { focus: $('new-room-name'), button: 'create-room', submit: createRoom });
  if (!room) return;
  setActive(room, { focus: true });
  await loadRooms().catch(() => {});
  loadDirectory();
}

/**
 * The direct message with `user`: an existing one is opened, else one is created (create with
 * `dm`, join, power levels, join rule invite, then the invitation). Resolves to the room id.
 */
export async function openDirectMessage(user) {
  for (const [id, info] of state.rooms) {
    if (info.dm?.with === user && info.membership === 'join') {
      setActive(id, { focus: true });
      return id;
    }
  }
  const room = await createRoomWith('invite', { dm: true });
  await act(room, { action: 'invite', user }, { kind: 'room.member', stateKey: user, content: (c) => c.membership === 'invite' });
  const member = state.members.find((m) => m.user === user);
  state.rooms.set(room, {
    room,
    name: null,
    join_rule: 'invite',
    membership: 'join',
    members: 1,
    dm: { with: user, handle: member?.handle ?? null, display_name: member?.display_name ?? null },
  });
  setActive(room, { focus: true });
  await loadRooms().catch(() => {});
  return room;
}

/** Whether a join was refused by the room's rules (rather than failing). */
function isRefusal(error) {
  return error instanceof ApiError && (error.status === 403 || error.reason === 'join_not_allowed' || error.reason === 'join_wave');
}

/** The room a join target names: its id, the id in its link, or what its alias resolves to. */
async function roomOf(body) {
  if (body.room) return body.room;
  if (body.link) return /!([0-9a-f]{64})/.exec(decodeURIComponent(body.link))?.[0] ?? null;
  if (body.alias) {
    const resolved = await call('GET', `/aliases/${encodeURIComponent(body.alias)}`).catch(() => null);
    return typeof resolved?.room === 'string' ? resolved.room : null;
  }
  return null;
}

/**
 * After a join was refused with `error`: a room whose join rule is `knock` cannot be joined
 * directly, nor an open room while a join wave is in force (too many joins at once), so the
 * user asks to join instead. Resolves to `{room, knocked: words}`; other refusals are thrown.
 */
async function knockInstead(room, error) {
  const wave = error.reason === 'join_wave';
  // Who is not a member may not read the room's rules: then the knock itself says whether
  // the room takes them (an invite-only room refuses it, and the join's refusal stands).
  const info = await call('GET', roomPath(room)).catch(() => null);
  if (info?.membership === 'knock' || (!wave && info && info.join_rule !== 'knock')) throw error;
  try {
    await act(room, { action: 'knock' }, { kind: 'room.member', stateKey: state.identity.user, content: (c) => c.membership === 'knock' });
  } catch (knockError) {
    throw info ? knockError : error;
  }
  await loadRooms();
  const knocked = wave
    ? 'Many people joined this room just now, so it takes new members by invitation for a while. You asked to join; a moderator of the room must let you in.'
    : 'You asked to join; a moderator of the room must let you in.';
  return { room, knocked };
}

/**
 * Joins a room (`target`: `{room}`, `{alias}` or `{link}`; a string is read by joinTarget): the
 * node replicates it if needed and prepares our join. A room that takes members by knocking (or
 * a join wave) is asked to join instead: that is a success too, answered `{room, knocked: words}`.
 * Resolves to `{room, knocked}`; the joined room is opened.
 */
export async function joinRoom(target, { focus = true } = {}) {
  const body = typeof target === 'string' ? joinTarget(target) ?? { link: target } : target;
  let response;
  try {
    response = await call('POST', '/rooms/join', body);
  } catch (error) {
    // Refused before anything was prepared (the node holds the room and its rules say no).
    if (!isRefusal(error)) throw error;
    const room = await roomOf(body);
    if (!room) throw error;
    return knockInstead(room, error);
  }
  try {
    await signAndSubmit(response.draft, {
      room: response.room,
      kind: 'room.member',
      stateKey: state.identity.user,
      content: (c) => c.membership === 'join',
    });
  } catch (error) {
    if (!isRefusal(error)) throw error;
    return knockInstead(response.room, error);
  }
  const known = state.rooms.get(response.room);
  state.rooms.set(response.room, { ...(known || { room: response.room }), membership: 'join' });
  // A rejoined room may have history we never saw; load it afresh.
  state.timelines.delete(response.room);
  if (state.active === response.room) state.active = null;
  closeDialog('directory');
  setActive(response.room, { focus });
  await loadRooms();
  return { room: response.room, knocked: null };
}

/**
 * Opened at an invite page (`/join/<room>?via=…`, served by the node): prefills the join box
 * with the link, so that after sign-up or sign-in the "Join" dialog offers the room. The
 * address goes back to `/`, so a reload does not offer the invitation again.
 */
export function prefillInvite() {
  if (!location.pathname.startsWith('/join/')) return;
  $('join-link-input').value = location.href;
  $('join-invite-hint').hidden = false;
  history.replaceState(null, '', '/');
}

/** With an invitation waiting in the join box, opens the "Join" dialog with the focus on Join. */
export function showPendingInvite() {
  if ($('join-invite-hint').hidden || $('join-dialog').open) return;
  openJoin({ keepText: true, focusJoin: true });
}

/** The "Join" dialog's work: the text must name a room; a knock is said in the room itself. */
async function joinFromDialog() {
  const target = joinTarget($('join-link-input').value);
  if (!target) {
    throw new ApiError(400, 'bad_join_target', 'Paste an invite link (https://…/join/… or causerie:join/…), a room alias (#name:server) or a room id (!…).');
  }
  $('join-status').textContent = target.link ? 'Reaching the room…' : 'Joining…';
  try {
    return await joinRoom(target, { focus: false });
  } finally {
    $('join-status').textContent = '';
  }
}

/** Opens the "Join" dialog; a joined room opens with the keyboard in its composer. */
export async function openJoin({ keepText = false, focusJoin = false } = {}) {
  if (!keepText) {
    $('join-link-input').value = '';
    $('join-invite-hint').hidden = true;
  }
  const focus = focusJoin ? $('join-button') : $('join-link-input');
  const joined = await runTaskDialog('join', { focus, button: 'join-button', submit: joinFromDialog });
  if (!joined) return;
  $('join-link-input').value = '';
  $('join-invite-hint').hidden = true;
  if (joined.knocked) {
    // Not an error: the room is listed as "asked to join", and says so when opened.
    setActive(joined.room, { focus: false });
    $('timeline-status').textContent = joined.knocked;
    (canFocus($('leave-room')) ? $('leave-room') : $('join-open')).focus();
    return;
  }
  if (state.active === joined.room) focusRoomEntry();
}

/** Binds the room list's buttons. */
export function bindRooms() {
  $('new-room-open').addEventListener('click', () => openNewRoom());
  $('join-open').addEventListener('click', () => openJoin());
  $('new-room-public').addEventListener('change', () => {
    $('new-room-private-rule').disabled = $('new-room-public').checked;
  });
}
