// Causerie web client: the user's identity on screen and in the session. Onboarding (a new key
// and a handle), the identity panel, logging out and in again, and the display name. The key
// file tools (export, import, forget) are in key_tools.js.

import { ApiError } from './api.js';
import * as keys from './keys.js';
import { connectionLoop, setConnection, wakeConnection } from './connection.js';
import { askValue } from './dialogs.js';
import { $, h, isTouchOnly, showError } from './dom.js';
import { renderActiveRoom, renderRoomList, showPendingInvite } from './rooms.js';
import { NeedsRegistration, act, call, login, register } from './session.js';
import { api, state } from './state.js';
import { ASSURANCE_NAMES, errorText, shortKey } from './text.js';

/** A handle (specs/identity.md): 1–32 of a–z, 0–9, dot, dash, underscore, not starting with a
 *  dot, dash or underscore. */
const HANDLE_PATTERN = /^[a-z0-9][a-z0-9._-]{0,31}$/;

/** Shows who we are: name, handle, key fingerprint, home node and assurance. */
export async function renderIdentity() {
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
  $('export-data').hidden = !state.identity;
  $('erase-data').hidden = !state.identity;
}

/** Shows the onboarding card: create an identity, or register a known key on this node. */
export function showOnboarding(registerExisting) {
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
  if (!isTouchOnly()) $('handle-input').focus();
}

/** Shows the chat (signed in). */
export function showApp() {
  document.body.classList.add('signed-in');
  $('onboarding').hidden = true;
  $('app').hidden = false;
  renderKeyTools('key-tools-slot');
  showPendingInvite();
}

/** After "Log out": the key stays here, nothing runs until the user logs in again. */
export function showSignedOut(message) {
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
export function clearSessionState() {
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
export async function endSession() {
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

/** "Log out": ends the session on the node; the key stays in this browser. */
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

/** Onboarding: creates a key (or reuses the one from a failed attempt) and registers it. */
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

/** Sets the display name on the account and in every joined room. */
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

/** Binds the onboarding form and the identity panel's buttons. */
export function bindIdentity() {
  $('onboarding-form').addEventListener('submit', onCreateIdentity);
  $('edit-profile').addEventListener('click', onEditProfile);
  $('logout').addEventListener('click', onLogout);
  $('login-again').addEventListener('click', onLoginAgain);
}
