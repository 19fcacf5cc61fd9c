// Causerie web client: the composer. Enter sends, Shift+Enter makes a new line. A message goes
// to the outbox (sending.js): it shows at once as pending in the timeline and is sent in order,
// by itself again after the node comes back if it was unreachable. Typing `@` offers the room's
// members (the message then carries their keys as `mentions`), `:name` offers emoji; arrows,
// Enter or Tab pick, Escape closes. A reply or an edit shows a line above the field (Escape
// cancels it); ArrowUp in an empty field edits the user's last message. While the user types,
// the room is told (throttled, typing.js), and who else types shows above the field. A refusal
// is told in plain words (moderation.js): muted, banned, a content rule, the classifier, a rate
// limit with a countdown. A muted, kicked or banned member reads who did it, why and until when
// where they would write.

import { $, h } from './dom.js';
import { emojiCandidates } from './emoji.js';
import { plainExcerpt } from './markdown.js';
import { applyCompletion, completionAt, mentionCandidates, mentionsFor } from './mentions.js';
import { banOver, mutedText, refusalText, removalText } from './moderation.js';
import { OutboxFull } from './outbox.js';
import { scheduleActiveInfoRefresh } from './rooms.js';
import { editMessage, onOutbox, queueMessage, sendTyping } from './sending.js';
import { state } from './state.js';
import { plainError } from './text.js';
import { relationOf, shownBody } from './timeline.js';
import { memberName, renderPending, scrollToBottom } from './timeline_view.js';
import { TYPING_IDLE_MS, TypingThrottle, typingText } from './typing.js';

/** What the composer is doing besides a new message: `{kind: 'reply'|'edit', event}` or null. */
let mode = null;
/** The open completion: `{kind, start, items, index}` or null. */
let completion = null;
const typing = new TypingThrottle();
let typingRoom = null;
let idleTimer = null;
/** Who types, by room (the node's full list for the room, from the stream). */
const typingByRoom = new Map();

/** Sends the composer's text: a new message (or reply) to the outbox, or the edit. */
async function onSend(e) {
  e?.preventDefault();
  const composer = $('composer');
  const body = composer.value;
  const room = state.active;
  if (!room || !body.trim() || composer.dataset.sending === '1') return;
  showComposerError('', null);
  showComposerStatus(null);
  stopTyping();
  if (mode?.kind === 'edit') {
    const event = mode.event;
    if (body === shownBody(event)) {
      cancelMode();
      return;
    }
    composer.dataset.sending = '1';
    renderComposerState();
    try {
      await editMessage(event, body);
      if (composer.value === body) composer.value = '';
      cancelMode();
    } catch (error) {
      showRefusal(error);
    } finally {
      composer.dataset.sending = '0';
      renderComposerState();
      if (state.active === room) composer.focus();
    }
    return;
  }
  const message = { body, mentions: mentionsFor(body, state.members) };
  if (mode?.kind === 'reply') {
    message.reply_to = mode.event.id;
    message.replyPreview = mode.event;
  }
  try {
    queueMessage(room, message);
  } catch (error) {
    if (error instanceof OutboxFull) {
      showComposerError('Too many messages wait to be sent: your text stays here until some are sent.', null);
      return;
    }
    throw error;
  }
  composer.value = '';
  cancelMode();
  closeCompletion();
  scrollToBottom();
  composer.focus();
}

/** A message the node refused: why, in plain words (or the countdown of a rate limit). */
function onRefused(item, error) {
  if (item.room !== state.active) return;
  showRefusal(error);
}

/** Enter sends (not while an input method composes), Shift+Enter is a new line. */
function onComposerKey(e) {
  if (completion && !e.isComposing) {
    if (e.key === 'ArrowDown' || e.key === 'ArrowUp') {
      const step = e.key === 'ArrowDown' ? 1 : -1;
      completion.index = (completion.index + step + completion.items.length) % completion.items.length;
      renderCompletion();
      e.preventDefault();
      return;
    }
    if (e.key === 'Enter' || e.key === 'Tab') {
      e.preventDefault();
      pickCompletion(completion.index);
      return;
    }
    if (e.key === 'Escape') {
      e.preventDefault();
      e.stopPropagation();
      closeCompletion();
      return;
    }
  }
  if (e.key === 'Escape' && mode) {
    e.preventDefault();
    e.stopPropagation();
    cancelMode();
    return;
  }
  if (e.key === 'ArrowUp' && !e.shiftKey && $('composer').value === '' && !mode) {
    const last = lastOwnMessage();
    if (last) {
      e.preventDefault();
      startEdit(last);
    }
    return;
  }
  if (e.key === 'Enter' && !e.shiftKey && !e.isComposing) {
    e.preventDefault();
    onSend();
  }
}

/** The user's newest message in the active room that can be edited. */
function lastOwnMessage() {
  const timeline = state.active ? state.timelines.get(state.active) : null;
  const me = state.identity?.user;
  for (let i = (timeline?.events.length ?? 0) - 1, seen = 0; i >= 0 && seen < 200; i--, seen++) {
    const event = timeline.events[i];
    if (event.author === me && event.kind === 'room.message' && !event.redacted && !relationOf(event)) return event;
  }
  return null;
}

/** Replies to `event`: the quote shows above the field, which takes the focus. */
export function startReply(event) {
  mode = { kind: 'reply', event };
  renderMode();
  $('composer').focus();
}

/** Edits the user's own `event`: its text goes into the field. */
export function startEdit(event) {
  mode = { kind: 'edit', event };
  const composer = $('composer');
  composer.value = shownBody(event);
  renderMode();
  composer.focus();
  composer.setSelectionRange(composer.value.length, composer.value.length);
}

/** Back to writing a new message (an edit leaves the field empty again). */
function cancelMode() {
  if (mode?.kind === 'edit') $('composer').value = '';
  mode = null;
  renderMode();
}

/** The line above the field while replying or editing. */
function renderMode() {
  const line = $('composer-mode');
  line.hidden = !mode;
  if (!mode) {
    line.replaceChildren();
    return;
  }
  const text = mode.kind === 'reply'
    ? `Replying to ${memberName(mode.event.author)}: ${plainExcerpt(shownBody(mode.event), 80)}`
    : 'Editing your message (Enter saves, Escape cancels)';
  line.replaceChildren(
    h('span', { className: 'composer-mode-text', text }),
    h('button', {
      className: 'small',
      type: 'button',
      text: 'Cancel',
      attrs: { 'aria-label': mode.kind === 'reply' ? 'Cancel the reply' : 'Cancel the edit' },
      onClick: () => {
        cancelMode();
        $('composer').focus();
      },
    }),
  );
}

/** After each change of the text: completion, and the typing signal. */
function onComposerInput() {
  const composer = $('composer');
  updateCompletion();
  const room = state.active;
  if (!room || mode?.kind === 'edit') return;
  if (typingRoom && typingRoom !== room) stopTyping();
  const signal = typing.input(Date.now(), composer.value.trim() !== '');
  if (signal !== null) {
    typingRoom = room;
    sendTyping(room, signal);
  }
  clearTimeout(idleTimer);
  idleTimer = setTimeout(stopTyping, TYPING_IDLE_MS);
}

/** Tells the room the user stopped typing (if it was told they type). */
function stopTyping() {
  clearTimeout(idleTimer);
  const signal = typing.stop();
  if (signal !== null && typingRoom) sendTyping(typingRoom, false);
}

/** Opens, updates or closes the completion for the word at the caret. */
function updateCompletion() {
  const composer = $('composer');
  const at = completionAt(composer.value, composer.selectionEnd);
  if (!at) {
    closeCompletion();
    return;
  }
  const items =
    at.kind === 'mention'
      ? mentionCandidates(at.query, state.members, state.identity?.user).map((m) => ({
          insert: `@${m.handle}`,
          label: `@${m.handle}`,
          detail: m.display_name && m.display_name !== m.handle ? m.display_name : '',
        }))
      : emojiCandidates(at.query).map((e) => ({ insert: e.emoji, label: `${e.emoji} :${e.name}:`, detail: '' }));
  if (!items.length) {
    closeCompletion();
    return;
  }
  completion = { kind: at.kind, start: at.start, items, index: 0 };
  renderCompletion();
}

/** Inserts the completion `index`. */
function pickCompletion(index) {
  const composer = $('composer');
  const item = completion.items[index];
  const next = applyCompletion(composer.value, completion.start, composer.selectionEnd, item.insert);
  composer.value = next.text;
  composer.setSelectionRange(next.caret, next.caret);
  closeCompletion();
  composer.focus();
}

function closeCompletion() {
  completion = null;
  renderCompletion();
}

/** The completion list, tied to the field (aria-activedescendant names the chosen option). */
function renderCompletion() {
  const list = $('composer-completion');
  const composer = $('composer');
  if (!completion) {
    list.hidden = true;
    list.replaceChildren();
    composer.removeAttribute('aria-activedescendant');
    return;
  }
  list.setAttribute('aria-label', completion.kind === 'mention' ? 'Members' : 'Emoji');
  list.replaceChildren(
    ...completion.items.map((item, i) => {
      const option = h('li', {
        className: `completion-option${i === completion.index ? ' active' : ''}`,
        attrs: { role: 'option', id: `completion-${i}`, 'aria-selected': String(i === completion.index) },
      });
      option.append(h('span', { text: item.label }));
      if (item.detail) option.append(h('span', { className: 'hint', text: ` ${item.detail}` }));
      option.addEventListener('mousedown', (e) => {
        e.preventDefault();
        pickCompletion(i);
      });
      return option;
    }),
  );
  list.hidden = false;
  composer.setAttribute('aria-activedescendant', `completion-${completion.index}`);
}

/** The typing list of `room` from the stream; shown if it is the active room. */
export function receiveTyping(room, users) {
  typingByRoom.set(room, Array.isArray(users) ? users.filter((u) => u && typeof u.user === 'string') : []);
  renderTyping();
}

/** The "Alice is typing…" line of the active room. */
export function renderTyping() {
  const users = typingByRoom.get(state.active) ?? [];
  const nameOf = (u) => (u.handle ? memberName(u.user) || u.handle : memberName(u.user));
  $('typing').textContent = typingText(users, state.identity?.user, nameOf);
}

/** The countdown of a rate limit shown under the composer, while it runs. */
let countdown = null;

/** Shows `words` (or nothing) under the composer, and the reason code in the details line. */
function showComposerError(words, error) {
  $('composer-error').textContent = words;
  const detail = $('composer-error-detail');
  detail.textContent = words && error?.reason ? `Details: ${error.reason}` : '';
  detail.hidden = !detail.textContent;
}

/** Shows (or clears, for null) a neutral line under the composer: not an error. */
function showComposerStatus(words) {
  $('composer-status').textContent = words ?? '';
  $('composer-status').hidden = !words;
}

/**
 * Shows why a message was not sent, in plain words with the reason code in the details line:
 * moderation's refusals in their own words (a rate limit counts down to zero, then clears),
 * anything else as text.js says it. A message held for review was accepted by the room, so it
 * is said in a neutral status line, not as an error. A refusal that says the user's standing
 * changed (muted, banned) refetches the room, so the composer says why.
 */
function showRefusal(error) {
  clearInterval(countdown);
  countdown = null;
  if (error?.reason === 'held_for_review') {
    showComposerError('', null);
    showComposerStatus(refusalText(error));
    return;
  }
  showComposerStatus(null);
  const plain = refusalText(error) ?? plainError(error).words;
  showComposerError(plain, error);
  if (['muted', 'banned', 'not_a_member'].includes(error.reason)) scheduleActiveInfoRefresh();
  if (!Number.isSafeInteger(error.retryAfter) || error.retryAfter <= 0) return;
  const end = Date.now() + error.retryAfter * 1000;
  let shown = plain;
  countdown = setInterval(() => {
    const left = Math.ceil((end - Date.now()) / 1000);
    // Another message (or none) replaced the countdown: it stops.
    if ($('composer-error').textContent !== shown || left <= 0) {
      if ($('composer-error').textContent === shown) showComposerError('', null);
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
  if (mode && mode.event.room !== state.active) cancelMode();
  renderTyping();
}

/**
 * Binds the composer, and adds its parts the page skeleton does not have: the typing line, the
 * reply/edit line and the completion list.
 */
export function bindComposer() {
  const form = $('composer-form');
  const composer = $('composer');
  const typingLine = h('p', { className: 'typing', attrs: { id: 'typing', 'aria-live': 'polite' } });
  const modeLine = h('div', { className: 'composer-mode', attrs: { id: 'composer-mode' } });
  modeLine.hidden = true;
  const list = h('ul', { className: 'composer-completion', attrs: { id: 'composer-completion', role: 'listbox' } });
  list.hidden = true;
  form.prepend(typingLine, modeLine);
  form.append(list);
  composer.setAttribute('aria-autocomplete', 'list');
  composer.setAttribute('aria-controls', 'composer-completion');
  form.addEventListener('submit', onSend);
  composer.addEventListener('keydown', onComposerKey);
  composer.addEventListener('input', onComposerInput);
  composer.addEventListener('blur', () => {
    closeCompletion();
    stopTyping();
  });
  onOutbox(renderPending, onRefused);
}
