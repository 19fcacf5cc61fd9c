// Causerie web client: the bar above the conversation: the invite link, and Leave (or Join, or
// Close for a room the user was banned from).

import { loadDirectory } from './directory.js';
import { banOver } from './moderation.js';
import { $, canFocus, showPlainError } from './dom.js';
import { joinRoom, loadRooms, renderRoomList, setActive } from './rooms.js';
import { act, call, roomPath } from './session.js';
import { state } from './state.js';

/** Shows the active room's invite link: its web form when the node has a public origin. */
async function onInviteLink() {
  const room = state.active;
  if (!room) return;
  try {
    const response = await call('GET', `${roomPath(room)}/invite`);
    if (state.active !== room) return;
    $('invite-link').value = response.web_link || response.link;
    $('invite-link').select();
  } catch (error) {
    showPlainError('composer-error', error);
  }
}

/** Copies the invite link to the clipboard (fetching it first if needed). */
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

/** Leaves the active room, joins it when we are not a member, or closes it when banned. */
async function onLeaveOrJoin() {
  const room = state.active;
  if (!room) return;
  const info = state.activeInfo || state.rooms.get(room);
  if (info?.membership === 'ban' && !banOver(info, Date.now())) {
    // Kept open only to say why (rooms.js, loadRooms): nothing to leave.
    state.rooms.delete(room);
    state.timelines.delete(room);
    setActive(null);
    renderRoomList();
    return;
  }
  const button = $('leave-room');
  button.disabled = true;
  showPlainError('composer-error', null);
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
        [$('room-list').querySelector('button'), $('toggle-sidebar'), $('new-room-open')].find(canFocus)?.focus();
      }
    } else {
      const joined = await joinRoom({ room });
      // Asking to join is a success: the room says so where its messages would be.
      if (joined.knocked) $('timeline-status').textContent = joined.knocked;
    }
  } catch (error) {
    showPlainError('composer-error', error);
  } finally {
    button.disabled = false;
  }
}

/** Binds the room bar's buttons. */
export function bindRoomBar() {
  $('invite-link-button').addEventListener('click', onInviteLink);
  $('copy-invite-link').addEventListener('click', onCopyInviteLink);
  $('leave-room').addEventListener('click', onLeaveOrJoin);
}
