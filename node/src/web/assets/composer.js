// Causerie web client: the composer. Enter sends, Shift+Enter makes a new line; a message that
// could not be sent stays in the field.

import { ApiError } from './api.js';
import { $, showError } from './dom.js';
import { fillGap } from './history.js';
import { act } from './session.js';
import { state } from './state.js';
import { memberName } from './timeline_view.js';

/** Sends the composer's text as a message in the active room. */
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

/** Enter sends (not while an input method composes), Shift+Enter is a new line. */
function onComposerKey(e) {
  if (e.key === 'Enter' && !e.shiftKey && !e.isComposing) {
    e.preventDefault();
    onSend();
  }
}

/** Who removed the user from the room and why, in people's words. */
function removalText(removed) {
  const who = memberName(removed.by);
  const what = removed.membership === 'ban' ? 'banned you from this room' : 'removed you from this room';
  return removed.reason ? `${who} ${what}: ${removed.reason}` : `${who} ${what}.`;
}

/** Enables the composer for members and says why it is disabled otherwise. */
export function renderComposerState() {
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
        : info?.removed
          ? removalText(info.removed)
          : 'Join the room to write.';
  const joinable = state.active && (membership === 'invite' || membership === null || membership === 'leave');
  $('leave-room').textContent = joinable ? 'Join' : 'Leave';
}

/** Binds the composer. */
export function bindComposer() {
  $('composer-form').addEventListener('submit', onSend);
  $('composer').addEventListener('keydown', onComposerKey);
}
