// Causerie web client: the session with the node. Login proves the key by signing a challenge
// (the node never sees the key); every signed action is prepare → check (draft.js) → sign →
// submit. `call` logs in again once when a restarted node no longer knows the session.

import { ApiError } from './api.js';
import * as keys from './keys.js';
import { checkChallenge, checkDraft } from './draft.js';
import { renderIdentity } from './identity.js';
import { api, state } from './state.js';

/** Asks for a challenge and signs it: the proof of key that login and registration send. */
async function proveKey() {
  const response = await api.request('POST', '/auth/challenge', { user: state.identity.user }, { auth: false });
  const input = checkChallenge(response, state.identity.user);
  const signature = await keys.sign(state.identity, input);
  return { challenge: response.challenge, signature: keys.bytesToHex(signature) };
}

/** Thrown by login() when this node does not know the key and no handle is on record. */
export class NeedsRegistration extends Error {}

/** Registers our key on this node under `handle`; logs in if the key is already registered. */
export async function register(handle, displayName) {
  const body = { ...(await proveKey()), handle };
  if (displayName) body.display_name = displayName;
  try {
    const session = await api.request('POST', '/auth/register', body, { auth: false });
    await keys.saveHandle(state.identity, handle);
    acceptSession(session);
  } catch (error) {
    if (error instanceof ApiError && error.reason === 'already_registered') return login();
    throw error;
  }
}

/**
 * Logs in with our key. A key this node has no account for logs in with the attestation of its
 * home node (another node: this one fetches and checks it, or takes the one from the imported
 * key file); failing that, it registers again under the known handle (a wiped node), or asks
 * for one.
 */
export async function login() {
  try {
    acceptSession(await api.request('POST', '/auth/login', await proveKey(), { auth: false }));
  } catch (error) {
    if (!(error instanceof ApiError) || error.reason !== 'not_registered') throw error;
    if (state.identity.attestation && (await loginWithAttestation(state.identity.attestation))) return;
    // The node forgot us (a wiped node) or the key was imported here: register again under the
    // handle we know, or ask for one.
    if (!state.identity.handle) throw new NeedsRegistration();
    try {
      await register(state.identity.handle, null);
    } catch (registerError) {
      if (registerError instanceof ApiError && registerError.reason === 'handle_taken') throw new NeedsRegistration();
      throw registerError;
    }
  }
}

/** Logs in with the attestation `hex` of another home node; resolves to whether it worked. */
async function loginWithAttestation(hex) {
  try {
    const body = { ...(await proveKey()), attestation: hex };
    acceptSession(await api.request('POST', '/auth/login', body, { auth: false }));
    return true;
  } catch (error) {
    // A node that takes no attestations at login, or refuses this one: register instead.
    if (error instanceof ApiError && error.status >= 400 && error.status < 500 && error.status !== 429) return false;
    throw error;
  }
}

function acceptSession(session) {
  // A login that was under way when the user logged out must not revive the session.
  if (state.signedOut) return;
  api.token = session.token;
  state.account = session.account;
  // Logged in with another node's attestation: remember the handle it gives, as registering does.
  const handle = session.account?.handle;
  if (handle && state.identity.handle !== handle) keys.saveHandle(state.identity, handle).catch(() => {});
  renderIdentity();
}

/** An authenticated API call that logs in again once if the node no longer knows the token. */
export async function call(method, path, body) {
  try {
    return await api.request(method, path, body);
  } catch (error) {
    if (!(error instanceof ApiError) || error.status !== 401 || state.signedOut) throw error;
    api.token = null;
    await login();
    return api.request(method, path, body);
  }
}

/** The API path of a room. */
export const roomPath = (room) => `/rooms/${encodeURIComponent(room)}`;

/** Checks, signs and submits a draft; resolves to the API's `{event_id, room, visible}`. */
export async function signAndSubmit(draft, expect) {
  const input = await checkDraft(draft, expect, state.identity.user);
  const signature = await keys.sign(state.identity, input);
  return call('POST', '/events', { draft: draft.draft, signature: keys.bytesToHex(signature) });
}

/** Prepares an action in a room, checks it, signs it and submits it. */
export async function act(room, action, expect) {
  const draft = await call('POST', `${roomPath(room)}/prepare`, action);
  return signAndSubmit(draft, { room, ...expect });
}
