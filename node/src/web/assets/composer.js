// Causerie web client: the composer. Enter sends, Shift+Enter makes a new line; a message that
// could not be sent stays in the field, and a refusal is told in plain words (moderation.js):
// muted, banned, a content rule, the classifier, a rate limit with a countdown. A muted, kicked
// or banned member reads who did it, why and until when where they would write.

import { ApiError } from './api.js';
import { $, showError } from './dom.js';
import { fillGap } from './history.js';
import { banOver, mutedText, refusalText, removalText } from './moderation.js';
import { scheduleActiveInfoRefresh } from './rooms.js';
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
      // A held message is in the room's review queue: it is not to be sent again.
      if (error instanceof ApiError && error.reason === 'held_for_review' && composer.value === body) composer.value = '';
      showRefusal(error);
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

/** The countdown of a rate limit shown under the composer, while it runs. */
let countdown = null;

/**
 * Shows why a message was not sent: plain words for moderation's refusals (a rate limit counts
 * down to zero, then clears), the reason and the node's message otherwise. A refusal that says
 * the user's standing changed (muted, banned) refetches the room, so the composer says why.
 */
function showRefusal(error) {
  clearInterval(countdown);
  countdown = null;
  const plain = refusalText(error);
  if (!plain) {
    showError('composer-error', error);
    return;
  }
  $('composer-error').textContent = plain;
  if (['muted', 'banned', 'not_a_member'].includes(error.reason)) scheduleActiveInfoRefresh();
  if (!Number.isSafeInteger(error.retryAfter) || error.retryAfter <= 0) return;
  const end = Date.now() + error.retryAfter * 1000;
  let shown = plain;
  countdown = setInterval(() => {
    const left = Math.ceil((end - Date.now()) / 1000);
    // Another message (or none) replaced the countdown: it stops.
    if ($('composer-error').textContent !== shown || left <= 0) {
      if ($('composer-error').textContent === shown) $('composer-error').textContent = '';
      clearInterval(countdown);
      countdown = null;
      return;
    }
    shown = refusalText({ reason: error.reason, retryAfter: left });
    $('composer-error').textContent = shown;
  }, 1000);
}

/** Re-checks the composer when a mute ends (at most this long from now, then again). */
const MAX_MUTE_TIMER_MS = 60 * 60 * 1000;
let muteTimer = null;

/** What stops the user writing in the active room, in plain words, or null. */
function standingText(info, now) {
  if (info?.membership === 'join' && info.muted) {
    return mutedText({ ...info.muted, by: memberName(info.muted.by) }, now);
  }
  if (info?.membership !== 'join' && info?.removed) return removalText(info.removed, memberName(info.removed.by), now);
  return null;
}

/** Enables the composer for members and says why it is disabled otherwise. */
export function renderComposerState() {
  const info = state.activeInfo || state.rooms.get(state.active);
  const membership = info?.membership;
  const composer = $('composer');
  const sending = composer.dataset.sending === '1';
  const now = Date.now();
  const standing = state.active ? standingText(info, now) : null;
  const muted = membership === 'join' && standing !== null;
  clearTimeout(muteTimer);
  if (muted && Number.isSafeInteger(info.muted.expires)) {
    muteTimer = setTimeout(renderComposerState, Math.min(info.muted.expires - now + 250, MAX_MUTE_TIMER_MS));
  }
  $('composer-notice').textContent = standing ?? '';
  $('composer-notice').hidden = standing === null;
  const canWrite = Boolean(state.active) && membership === 'join' && !muted;
  composer.disabled = !canWrite || sending;
  $('send-button').disabled = !canWrite || sending;
  composer.placeholder = !state.active
    ? ''
    : standing
      ? standing
      : membership === 'join'
        ? 'Message (Enter sends, Shift+Enter for a new line)'
        : membership === 'invite'
          ? 'You are invited: join the room (Join button in the room list) to write.'
          : 'Join the room to write.';
  const joinable = state.active && (membership === 'invite' || membership === null || membership === 'leave' || banOver(info, now));
  $('leave-room').textContent = joinable ? 'Join' : membership === 'ban' ? 'Close' : 'Leave';
}

/** Binds the composer. */
export function bindComposer() {
  $('composer-form').addEventListener('submit', onSend);
  $('composer').addEventListener('keydown', onComposerKey);
}
