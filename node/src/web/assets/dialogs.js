// Causerie web client: the modal dialogs of index.html (passphrase, value prompt, confirmation).

import { $, canFocus } from './dom.js';
import { passphraseProblem } from './keys.js';

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
  $('passphrase-error').textContent = '';
  return runFormDialog('passphrase', input, () => {
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
  });
}

/** Asks for one value; `validate` returns an error text or null. Resolves to the value or null. */
export function askValue(title, label, initial, validate) {
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
export function askConfirm({ title, text, ok, alternative }) {
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
