// Causerie web client: the modal dialogs of index.html (passphrase, value prompt, confirmation,
// a moderation action's reason and duration, new room, join a room) and the panels shown as
// dialogs (public rooms, profile and settings).
//
// Every dialog goes through one runner, runDialog(): it fills nothing itself, shows the dialog
// `#<name>-dialog` with the focus on a chosen control, and settles on the first of: the form
// submitted with an answer its check accepts (an answer it refuses is shown in `#<name>-error`
// and the dialog stays open), a button that answers by itself (Cancel answers null), or the
// dialog closing (Escape, also null). The focus then goes back to the control that opened it.

import { $, canFocus, showPlainError } from './dom.js';
import { passphraseProblem } from './keys.js';

/**
 * Runs the dialog `#<name>-dialog` (with its form `#<name>-form`, its Cancel button
 * `#<name>-cancel` and its error line `#<name>-error`) and resolves to its answer.
 * - `focus`: the element that takes the focus when the dialog opens;
 * - `check()`: on submit, returns `{ value }` to answer `value`, or `{ error, field }` to show
 *   the error and put the focus on the field at fault;
 * - `buttons`: other buttons that answer at once, as `[element, value]` pairs.
 * Cancel and Escape answer null. The focus is given back (to the opener, or to the composer if
 * the opener is gone) before the promise resolves, so a dialog opened right after (a retry)
 * records the right opener.
 */
export function runDialog(name, { focus, check, buttons = [] }) {
  const dialog = $(`${name}-dialog`);
  const form = $(`${name}-form`);
  const error = $(`${name}-error`);
  const answers = [[$(`${name}-cancel`), null], ...buttons];
  return new Promise((resolve) => {
    const opener = document.activeElement;
    const listeners = answers.map(([button, value]) => [button, () => finish(value)]);
    const onCancel = () => finish(null);
    const onSubmit = (e) => {
      e.preventDefault();
      const result = check();
      if ('error' in result) {
        error.textContent = result.error;
        result.field.focus();
        return;
      }
      finish(result.value);
    };
    function finish(value) {
      form.removeEventListener('submit', onSubmit);
      dialog.removeEventListener('close', onCancel);
      for (const [button, listener] of listeners) button.removeEventListener('click', listener);
      if (dialog.open) dialog.close();
      if (canFocus(opener)) opener.focus();
      else if (canFocus($('composer'))) $('composer').focus();
      resolve(value);
    }
    error.textContent = '';
    form.addEventListener('submit', onSubmit);
    dialog.addEventListener('close', onCancel);
    for (const [button, listener] of listeners) button.addEventListener('click', listener);
    dialog.showModal();
    focus.focus();
  });
}

/**
 * Asks for a passphrase; resolves to the text or null if cancelled. With `confirm` (a new
 * passphrase, for an export) it is asked twice and must pass keys.passphraseProblem().
 */
export function askPassphrase(title, text, { confirm = false } = {}) {
  const input = $('passphrase-input');
  const again = $('passphrase-confirm');
  $('passphrase-title').textContent = title;
  $('passphrase-text').textContent = text;
  input.value = '';
  again.value = '';
  input.autocomplete = confirm ? 'new-password' : 'current-password';
  $('passphrase-confirm-row').hidden = !confirm;
  return runDialog('passphrase', {
    focus: input,
    check: () => {
      const value = input.value;
      if (!value) return { error: 'Enter a passphrase.', field: input };
      if (confirm) {
        const problem = passphraseProblem(value);
        if (problem) return { error: problem, field: input };
        if (again.value !== value) {
          return { error: again.value ? 'The two passphrases differ: type the same one twice.' : 'Type the passphrase a second time.', field: again };
        }
      }
      return { value };
    },
  });
}

/** Asks for one value; `validate` returns an error text or null. Resolves to the value or null. */
export function askValue(title, label, initial, validate) {
  $('prompt-title').textContent = title;
  $('prompt-label').textContent = label;
  const input = $('prompt-input');
  input.value = initial ?? '';
  const answer = runDialog('prompt', {
    focus: input,
    check: () => {
      const problem = validate ? validate(input.value) : null;
      return problem ? { error: problem, field: input } : { value: input.value };
    },
  });
  input.select();
  return answer;
}

/**
 * Asks to confirm an action. Resolves to 'ok', 'alternative' (the optional middle button) or
 * null (Cancel, Escape). The focus starts on Cancel so that Enter alone does not confirm.
 */
export function askConfirm({ title, text, ok, alternative }) {
  $('confirm-title').textContent = title;
  $('confirm-text').textContent = text;
  $('confirm-ok').textContent = ok;
  const other = $('confirm-alternative');
  other.textContent = alternative ?? '';
  other.hidden = !alternative;
  return runDialog('confirm', {
    focus: $('confirm-cancel'),
    check: () => ({ value: 'ok' }),
    buttons: alternative ? [[other, 'alternative']] : [],
  });
}

/** Longest reason a moderator may give, in UTF-8 bytes (the node's MAX_REASON_BYTES). */
export const MAX_REASON_BYTES = 1024;

/**
 * Asks for a moderation action's reason and, with `durations` (a list of [label, ms or null]),
 * its duration. Resolves to `{reason, duration}` (reason trimmed, possibly empty; duration in
 * ms or null for permanent) or null if cancelled. The focus starts on the reason.
 */
export function askModeration({ title, text, ok, durations = null }) {
  $('moderate-title').textContent = title;
  $('moderate-text').textContent = text;
  $('moderate-ok').textContent = ok;
  const reason = $('moderate-reason');
  const duration = $('moderate-duration');
  reason.value = '';
  $('moderate-duration-row').hidden = !durations;
  duration.replaceChildren(
    ...(durations || []).map(([label, ms], index) => {
      const option = document.createElement('option');
      option.value = String(index);
      option.textContent = label;
      return option;
    }),
  );
  return runDialog('moderate', {
    focus: reason,
    check: () => {
      const given = reason.value.trim();
      const bytes = new TextEncoder().encode(given).length;
      if (bytes > MAX_REASON_BYTES) return { error: `At most ${MAX_REASON_BYTES} bytes (this reason has ${bytes}).`, field: reason };
      const picked = durations ? durations[Number(duration.value)] : null;
      return { value: { reason: given, duration: picked ? picked[1] : null } };
    },
  });
}

/**
 * Runs the dialog `#<name>-dialog` whose answer is work that may fail (create a room, join
 * one): on submit, `submit()` runs with the submit button `#<button>` disabled; when it resolves
 * the dialog closes and the promise resolves to its value; when it throws, the error is shown
 * inside the dialog in plain words (`#<name>-error`, its reason in `#<name>-error-detail`) and
 * the dialog stays open for another try. Cancel and Escape close it (null). The focus goes back
 * to the opener, unless `submit` moved it elsewhere on purpose (into the room it opened).
 */
export function runTaskDialog(name, { focus, submit, button }) {
  const dialog = $(`${name}-dialog`);
  const form = $(`${name}-form`);
  const cancel = $(`${name}-cancel`);
  const submitButton = $(button);
  return new Promise((resolve) => {
    const opener = document.activeElement;
    let busy = false;
    const onSubmit = async (e) => {
      e.preventDefault();
      if (busy) return;
      busy = true;
      submitButton.disabled = true;
      showPlainError(`${name}-error`, null);
      try {
        const value = await submit();
        finish(value, false);
      } catch (error) {
        showPlainError(`${name}-error`, error);
        if (dialog.open) focus.focus();
      } finally {
        busy = false;
        submitButton.disabled = false;
      }
    };
    const onCancel = () => finish(null, true);
    function finish(value, restoreFocus) {
      form.removeEventListener('submit', onSubmit);
      dialog.removeEventListener('close', onCancel);
      cancel.removeEventListener('click', onCancel);
      if (dialog.open) dialog.close();
      if (restoreFocus || !canFocus(document.activeElement) || dialog.contains(document.activeElement)) {
        if (canFocus(opener)) opener.focus();
      }
      resolve(value);
    }
    showPlainError(`${name}-error`, null);
    form.addEventListener('submit', onSubmit);
    dialog.addEventListener('close', onCancel);
    cancel.addEventListener('click', onCancel);
    dialog.showModal();
    focus.focus();
  });
}

/**
 * Opens the panel `#<name>-dialog` (a dialog without a form: public rooms, profile) with the
 * focus on `focus`; its Close button `#<name>-close` and Escape close it, and the focus goes
 * back to the control that opened it. Resolves when it closes.
 */
export function openPanelDialog(name, focus) {
  const dialog = $(`${name}-dialog`);
  const close = $(`${name}-close`);
  if (dialog.open) {
    focus.focus();
    return Promise.resolve();
  }
  return new Promise((resolve) => {
    const opener = document.activeElement;
    const onClose = () => {
      dialog.removeEventListener('close', onClose);
      close.removeEventListener('click', onClick);
      if (canFocus(opener) && !canFocus(document.activeElement)) opener.focus();
      else if (canFocus(opener) && dialog.contains(document.activeElement)) opener.focus();
      resolve();
    };
    const onClick = () => dialog.close();
    dialog.addEventListener('close', onClose);
    close.addEventListener('click', onClick);
    dialog.showModal();
    focus.focus();
  });
}

/** Closes the dialog `#<name>-dialog` if it is open (its own handlers restore the focus). */
export function closeDialog(name) {
  const dialog = $(`${name}-dialog`);
  if (dialog.open) dialog.close();
}
