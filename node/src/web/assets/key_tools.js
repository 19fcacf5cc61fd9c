// Causerie web client: the key tools (in the profile view, or on the welcome card before an
// identity exists). Export the key to a passphrase-protected file (the same file as `causerie
// key export`, see keys.js), import one, or forget the identity in this browser. An imported key
// logs in on this node with its home node's attestation (session.js) instead of asking for a
// new handle; only a key that no node vouches for is asked to register.

import * as keys from './keys.js';
import { connectionLoop, setConnection } from './connection.js';
import { askConfirm, askPassphrase } from './dialogs.js';
import { $, h, showPlainError } from './dom.js';
import { clearSessionState, endSession, renderIdentity, showApp, showOnboarding, showSignedOut } from './identity.js';
import { ACTIVE_ROOM_KEY, api, state } from './state.js';
import { isHex } from './text.js';

/** Forgets the identity in this browser after a confirmation that offers to export it first. */
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
    showPlainError('key-tools-error', error);
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

/** Saves the key file, under a passphrase chosen twice. */
async function onExportKey() {
  const status = $('key-tools-status');
  const passphrase = await askPassphrase(
    'Export your key',
    `Choose a passphrase of at least ${keys.MIN_PASSPHRASE_CHARS} characters to protect the key file. Anyone with the file and the passphrase can act as you.`,
    { confirm: true },
  );
  if (passphrase === null) return;
  status.textContent = 'Encrypting…';
  showPlainError('key-tools-error', null);
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
    status.textContent = '';
    showPlainError('key-tools-error', error);
  }
}

/** Imports the chosen key file (asking its passphrase until right or cancelled) and starts over
 *  as that identity. */
async function onImportKey() {
  const input = $('import-key-file');
  const file = input.files && input.files[0];
  input.value = '';
  const status = $('key-tools-status');
  if (!file) return;
  status.textContent = '';
  showPlainError('key-tools-error', null);
  if (file.size > keys.MAX_KEY_FILE_BYTES) {
    showPlainError('key-tools-error', new keys.KeyError('bad_export_file', 'not a Causerie key file (too large)'));
    return;
  }
  const text = await file.text();
  const attestation = fileAttestation(text);
  const warning = state.identity ? ' It replaces the identity stored in this browser.' : '';
  for (;;) {
    const passphrase = await askPassphrase('Import a key', `Enter the passphrase of ${file.name}.${warning}`);
    if (passphrase === null) return;
    status.textContent = 'Decrypting…';
    showPlainError('key-tools-error', null);
    try {
      state.identity = await keys.importKeyFile(text, passphrase);
      if (attestation) state.identity.attestation = attestation;
      status.textContent = 'Key imported. Logging in with it…';
      break;
    } catch (error) {
      status.textContent = '';
      showPlainError('key-tools-error', error);
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

/** The home node's attestation (hex) a key file carries beside the key, if any. */
function fileAttestation(text) {
  try {
    const file = JSON.parse(text);
    return typeof file?.attestation === 'string' && isHex(file.attestation) ? file.attestation : null;
  } catch {
    return null;
  }
}

/** Binds the key tools' controls. */
export function bindKeyTools() {
  $('export-key').addEventListener('click', onExportKey);
  $('import-key-file').addEventListener('change', onImportKey);
  $('forget-identity').addEventListener('click', onForgetIdentity);
}
