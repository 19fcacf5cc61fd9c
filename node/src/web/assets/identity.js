// Causerie web client: the user's identity on screen and in the session. Onboarding (a new key
// and a handle), the profile button at the top of the room list and the profile and settings
// view it opens (who vouches for the key, notifications, the key and data tools), logging out
// and in again, and the display name. The key file tools (export, import, forget) are in
// key_tools.js.

import { ApiError } from './api.js';
import * as keys from './keys.js';
import { connectionLoop, setConnection, wakeConnection } from './connection.js';
import { askValue, closeDialog, openPanelDialog } from './dialogs.js';
import { $, h, isTouchOnly, showPlainError } from './dom.js';
import { renderNotifyToggle } from './notify.js';
import { renderActiveRoom, renderRoomList, showPendingInvite } from './rooms.js';
import { NeedsRegistration, act, call, login, register } from './session.js';
import { api, state } from './state.js';
import { ASSURANCE_WORDS, plainError, shortKey } from './text.js';

/** A handle (specs/identity.md): 1–32 of a–z, 0–9, dot, dash, underscore, not starting with a
 *  dot, dash or underscore. */
const HANDLE_PATTERN = /^[a-z0-9][a-z0-9._-]{0,31}$/;

/** A node's name: its server name when known (and not just its key), "this node" for this
 *  one, else its short key. */
export function nodeName(key) {
  const server = key && key === state.nodeKey ? state.nodeNames.get('self') : state.nodeNames.get(key);
  // A node with no domain is named by its key: "this node" says more then.
  const named = server && !/^[0-9a-f]{16,}$/.test(server) ? server : null;
  if (key && key === state.nodeKey) return named ? `${named} (this node)` : 'this node';
  return named || shortKey(key);
}

/** Shows who we are: the profile button (name and full handle) and the profile view. */
export async function renderIdentity() {
  const slot = $('me-slot');
  const account = state.account;
  const user = state.identity.user;
  const handle = account?.handle || state.identity.handle || '';
  const name = account?.display_name || (handle ? `@${handle}` : shortKey(user));
  const me = h(
    'span',
    { className: 'me', attrs: { id: 'me' }, data: { user } },
    h('span', { className: 'name', text: name }),
    handle && name !== `@${handle}` ? h('span', { className: 'handle', text: `@${handle}` }) : null,
  );
  slot.replaceChildren(me);
  $('profile-name').textContent = name;
  $('me-handle').textContent = handle ? `@${handle}` : 'none yet';
  const attestation = account?.attestation;
  const home = attestation?.home_node;
  const remote = account?.home === 'remote';
  $('me-node').textContent = home ? `${nodeName(home)}${remote ? ', logged in here with your key' : ''}` : '…';
  $('me-node').title = home ? `node key ${home}` : '';
  // The profile of a key homed elsewhere is kept by its home node.
  $('edit-profile').hidden = remote;
  $('me-assurance').textContent = attestation
    ? `${ASSURANCE_WORDS[attestation.assurance] ?? attestation.assurance_name ?? 'key'}: your home node vouches that you hold this key`
    : '…';
  $('me-fingerprint').textContent = await keys.fingerprint(user);
  $('me-fingerprint').title = `public key ${user}`;
}

/** Opens the profile and settings view. */
export function openProfile() {
  renderIdentity();
  renderNotifyToggle();
  $('key-tools-status').textContent = '';
  showPlainError('key-tools-error', null);
  return openPanelDialog('profile', $('profile-close'));
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

/** Leaves the chat for the onboarding card, showing either its form (`withForm`) or the
 *  signed-out actions. */
function showOnboardingCard(withForm) {
  closeDialog('profile');
  document.body.classList.remove('signed-in');
  $('app').hidden = true;
  $('onboarding').hidden = false;
  $('onboarding-form').hidden = !withForm;
  $('signed-out-actions').hidden = withForm;
}

/** Shows the onboarding card: create an identity, or register a known key on this node. */
export function showOnboarding(registerExisting) {
  showOnboardingCard(true);
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
  showOnboardingCard(false);
  showPlainError('login-error', null);
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
  state.counts.clear();
  state.alerts.clear();
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
  showPlainError('login-error', null);
  state.signedOut = false;
  try {
    await login();
  } catch (error) {
    if (error instanceof NeedsRegistration) {
      showOnboarding(true);
      return;
    }
    state.signedOut = true;
    showPlainError('login-error', error);
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
  showPlainError('onboarding-error', null);
  if (!HANDLE_PATTERN.test(handle)) {
    showPlainError('onboarding-error', new ApiError(400, 'bad_handle', 'the handle is not in the allowed form'));
    $('handle-input').focus();
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
    showPlainError('onboarding-error', error);
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
        failures.push(`${info.name || shortKey(room)}: ${plainError(error).words}`);
      }
    }
    $('key-tools-status').textContent = failures.length ? `Display name updated, but not in ${failures.join('; ')}` : 'Display name updated.';
  } catch (error) {
    showPlainError('key-tools-error', error);
  }
}

/** Binds the onboarding form and the identity panel's buttons. */
export function bindIdentity() {
  $('onboarding-form').addEventListener('submit', onCreateIdentity);
  $('edit-profile').addEventListener('click', onEditProfile);
  $('profile-open').addEventListener('click', () => openProfile());
  $('logout').addEventListener('click', onLogout);
  $('login-again').addEventListener('click', onLoginAgain);
}
