// Causerie web client: the rooms. The room list (joined, invited, knocking), the active room and
// its details and members, creating a room, and joining one by link or id.

import { ApiError } from './api.js';
import { renderComposerState } from './composer.js';
import { loadDirectory } from './directory.js';
import { $, canFocus, h, isTouchOnly, showError, showPlainError } from './dom.js';
import { fillScreen, openTimeline, timelineFor } from './history.js';
import { closeDrawers } from './layout.js';
import { canRedactOthers, renderMembers } from './members.js';
import { act, call, roomPath, signAndSubmit } from './session.js';
import { ACTIVE_ROOM_KEY, state } from './state.js';
import { errorText, shortKey } from './text.js';
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
  if (state.active && state.rooms.has(state.active) && state.rooms.get(state.active).membership !== before) {
    scheduleActiveInfoRefresh();
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
}

/** A room's name, or its short id. */
export function roomLabel(info) {
  return info?.name || shortKey(info?.room);
}

let roomListShown = '';

/** The room list's badge for a membership other than `join`. */
const BADGES = { invite: 'invited', ban: 'banned', leave: 'removed' };

/** Shows the room list (only when it changed). */
export function renderRoomList() {
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
      badge ? h('span', { className: 'badge', text: BADGES[badge] ?? badge }) : null,
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
export function setActive(room, { focus = false } = {}) {
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
  const info = state.activeInfo || state.rooms.get(state.active);
  $('room-title').textContent = state.active ? roomLabel(info || { room: state.active }) : 'Causerie';
  $('room-topic').textContent = state.active && info?.topic ? info.topic : '';
  document.title = state.active ? `${roomLabel(info || { room: state.active })} · Causerie` : 'Causerie';
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

/** Fetches the active room's details and members. */
export async function refreshActiveInfo() {
  const room = state.active;
  if (!room) return;
  try {
    const [info, members] = await Promise.all([call('GET', roomPath(room)), call('GET', `${roomPath(room)}/members`)]);
    if (state.active !== room) return;
    const couldRedact = canRedactOthers();
    const namesBefore = memberNames();
    state.activeInfo = info;
    state.members = Array.isArray(members.members) ? members.members : [];
    showError('members-error', null);
    renderRoomHeader();
    renderMembers();
    renderComposerState();
    // Message menus depend on the right to redact others' messages, and notices name members.
    if (couldRedact !== canRedactOthers() || namesBefore !== memberNames()) renderTimeline();
  } catch (error) {
    if (state.active === room) showError('members-error', error);
  }
}

/** Creates a room: create, join, power levels, join rule, name and topic events. */
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
export async function joinRoom(target) {
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
    // A room whose join rule is `knock` cannot be joined directly, nor an open room while a
    // join wave is in force (too many joins at once): ask to join instead.
    if (!(error instanceof ApiError) || error.status !== 403) throw error;
    const wave = error.reason === 'join_wave';
    const info = await call('GET', roomPath(response.room)).catch(() => null);
    if ((!wave && info?.join_rule !== 'knock') || info?.membership === 'knock') throw error;
    await act(
      response.room,
      { action: 'knock' },
      { kind: 'room.member', stateKey: state.identity.user, content: (c) => c.membership === 'knock' },
    );
    await loadRooms();
    throw new ApiError(
      202,
      'knocked',
      wave
        ? 'Many people joined this room just now, so it takes new members by invitation for a while. You asked to join; a moderator of the room must let you in.'
        : 'You asked to join; a moderator of the room must let you in.',
    );
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

/** The web form of an invite link: `https://<host>/join/<room>?via=…` (the node checks the rest). */
const WEB_INVITE = /^https?:\/\/[^/?#]+\/join\//;

/**
 * Opened at an invite page (`/join/<room>?via=…`, served by the node): prefills the join form
 * with the link, so that after sign-up or sign-in pressing Join enters the room. The address
 * goes back to `/`, so a reload does not offer the invitation again.
 */
export function prefillInvite() {
  if (!location.pathname.startsWith('/join/')) return;
  $('join-link-input').value = location.href;
  $('join-invite-hint').hidden = false;
  history.replaceState(null, '', '/');
}

/** With an invitation waiting in the join form, shows the form and puts the focus on Join. */
export function showPendingInvite() {
  if ($('join-invite-hint').hidden) return;
  $('join-form').scrollIntoView({ block: 'center' });
  $('join-button').focus();
}

/** The "Join by link" form. */
async function onJoin(e) {
  e.preventDefault();
  const target = $('join-link-input').value.trim();
  showPlainError('join-error', null);
  if (!target.startsWith('causerie:join/') && !WEB_INVITE.test(target) && !/^![0-9a-f]{64}$/.test(target)) {
    $('join-error').textContent = 'Paste an invite link (https://…/join/… or causerie:join/…) or a room id (!…).';
    return;
  }
  const button = $('join-button');
  button.disabled = true;
  try {
    await joinRoom(target);
    $('join-link-input').value = '';
    $('join-invite-hint').hidden = true;
  } catch (error) {
    showPlainError('join-error', error);
  } finally {
    button.disabled = false;
  }
}

/** Binds the create-room and join forms. */
export function bindRooms() {
  $('create-room-form').addEventListener('submit', onCreateRoom);
  $('join-form').addEventListener('submit', onJoin);
  $('new-room-public').addEventListener('change', () => {
    $('new-room-private-rule').disabled = $('new-room-public').checked;
  });
}
