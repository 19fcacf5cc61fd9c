// Causerie web client: the connection to the node. One loop logs in, keeps the live stream open
// (api.js), and after every (re)connection fetches what was missed (resync); between attempts it
// backs off. The state shown in `#connection` is online | connecting | offline.

import { ApiError } from './api.js';
import { loadDirectory } from './directory.js';
import { $ } from './dom.js';
import { fillGap, openTimeline, receiveEvent, receiveSignal } from './history.js';
import { renderIdentity, showOnboarding } from './identity.js';
import { noticeAlert, noticeLiveEvent } from './notify.js';
import { loadRooms, markActiveRead, refreshActiveInfo } from './rooms.js';
import { NeedsRegistration, login } from './session.js';
import { api, state } from './state.js';
import { errorText } from './text.js';
import { isEvent } from './timeline.js';

/**
 * Reconnection: for the first FAST_RETRY_WINDOW_MS of an outage, attempts come every
 * FAST_RETRY_MS (a restarting node is back within seconds, and an attempt against a node that is
 * down costs one refused connection); after that the delay doubles up to BACKOFF_MAX_MS.
 */
const FAST_RETRY_MS = 1000;
const FAST_RETRY_WINDOW_MS = 30000;
const BACKOFF_MAX_MS = 15000;

/** A stream that ends sooner than this after opening counts as a failure (backoff applies). */
const MIN_STREAM_LIFE_MS = 5000;

/** The room list is refetched this often: the stream does not carry invitations and answers to
 *  knocks, which happen in rooms the user has not joined. */
const ROOMS_POLL_MS = 15000;

/** Shows the connection state `next` (online | connecting | offline). */
export function setConnection(next) {
  state.connection = next;
  const element = $('connection');
  element.dataset.state = next;
  $('connection-label').textContent =
    next === 'online' ? 'Online' : next === 'connecting' ? 'Connecting…' : 'Node unreachable: retrying';
  $('retry-now').hidden = next !== 'offline';
  document.body.classList.toggle('offline', next === 'offline');
}

/** The delay before the next attempt, `outageMs` into an outage, with jitter (75–100 %). */
function backoffDelay(outageMs) {
  const slowSteps = Math.max(0, Math.ceil((outageMs - FAST_RETRY_WINDOW_MS) / BACKOFF_MAX_MS));
  const delay = outageMs < FAST_RETRY_WINDOW_MS ? FAST_RETRY_MS : Math.min(BACKOFF_MAX_MS, FAST_RETRY_MS * 2 ** slowSteps);
  return delay * (0.75 + Math.random() / 4);
}

/** Waits `delay` ms, or less if woken (wakeConnection). */
function waitBackoff(delay) {
  return new Promise((resolve) => {
    const timer = setTimeout(done, delay);
    function done() {
      clearTimeout(timer);
      state.wake = null;
      resolve();
    }
    state.wake = done;
  });
}

/** Ends the wait before the next connection attempt (Retry now, the browser back online). */
export function wakeConnection() {
  if (state.wake) state.wake();
}

/** Logs in, keeps the live stream open, and resynchronises after every (re)connection. */
export async function connectionLoop() {
  if (state.looping) return;
  state.looping = true;
  // When the current run of failed attempts began (null while things go well), and whether a
  // forgotten session was already retried at once in it.
  let troubleSince = null;
  let retriedLogin = false;
  try {
    for (;;) {
      if (state.signedOut) return;
      if (state.connection !== 'online') setConnection('connecting');
      try {
        if (!api.token) await login();
        const controller = new AbortController();
        state.streamAbort = controller;
        let openedAt = 0;
        await api.stream(
          controller.signal,
          () => {
            openedAt = Date.now();
            setConnection('online');
            resync();
          },
          onStreamEvent,
        );
        // The stream ended (node restart, lag, idle): reconnect at once, unless streams keep
        // ending right after they open, which would otherwise become a tight loop.
        setConnection('connecting');
        if (openedAt && Date.now() - openedAt >= MIN_STREAM_LIFE_MS) {
          troubleSince = null;
          retriedLogin = false;
          continue;
        }
      } catch (error) {
        if (state.signedOut) return;
        if (error instanceof NeedsRegistration) {
          showOnboarding(true);
          return;
        }
        if (error instanceof ApiError && error.status === 401) {
          // A restarted node forgot our session: log in again with a fresh challenge, at once.
          api.token = null;
          if (!retriedLogin) {
            retriedLogin = true;
            continue;
          }
        }
        if (!(error instanceof ApiError) || error.status === 0 || error.status >= 500) setConnection('offline');
        else setConnection('connecting');
      }
      troubleSince ??= Date.now();
      await waitBackoff(backoffDelay(Date.now() - troubleSince));
    }
  } finally {
    state.looping = false;
  }
}

function onStreamEvent(name, data) {
  if (name === 'lagged') {
    // We fell behind; the stream ends and the reconnection fetches the gap.
    if (state.streamAbort) state.streamAbort.abort();
    return;
  }
  if (name === 'typing' || name === 'read') receiveSignal(name, data);
  if (name === 'knock' || name === 'review') {
    try {
      noticeAlert(name, JSON.parse(data));
    } catch {
      // Not JSON: nothing to alert.
    }
    return;
  }
  if (name !== 'event') return;
  let event;
  try {
    event = JSON.parse(data);
  } catch {
    return;
  }
  if (!isEvent(event)) return;
  receiveEvent(event);
  noticeLiveEvent(event);
  if (event.room === state.active) markActiveRead();
}

/** This node's key, so that members homed here read "home node: this node". */
async function loadNodeKey() {
  if (state.nodeKey) return;
  const info = await api.request('GET', '/node', undefined, { auth: false }).catch(() => null);
  if (info && typeof info.node_key === 'string') state.nodeKey = info.node_key;
}

let resyncRunning = null;

/** After a (re)connection: the room list, the active room, and every opened timeline's gap. */
function resync() {
  if (resyncRunning) return resyncRunning;
  resyncRunning = (async () => {
    try {
      await loadRooms();
      loadNodeKey()
        .then(() => loadDirectory())
        .then(() => state.identity && renderIdentity())
        .catch(() => {});
      for (const timeline of state.timelines.values()) {
        if (timeline.loaded) await fillGap(timeline);
      }
      if (state.active) {
        if (!state.timelines.get(state.active)?.loaded) await openTimeline(state.active);
        refreshActiveInfo();
      }
    } catch (error) {
      if (!(error instanceof ApiError && error.unreachable)) console.warn('resync failed', errorText(error));
    } finally {
      resyncRunning = null;
    }
  })();
  return resyncRunning;
}

/** Binds what wakes or watches the connection: failed requests, Retry now, the browser going back
 *  online or visible, and the periodic room list refresh. */
export function bindConnection() {
  api.onUnreachable = () => {
    if (state.connection === 'online') {
      setConnection('offline');
      if (state.streamAbort) state.streamAbort.abort();
    }
  };
  $('retry-now').addEventListener('click', wakeConnection);
  window.addEventListener('online', wakeConnection);
  document.addEventListener('visibilitychange', () => {
    if (document.visibilityState === 'visible' && state.connection !== 'online') wakeConnection();
  });
  setInterval(() => {
    if (state.connection === 'online' && api.token) loadRooms().catch(() => {});
  }, ROOMS_POLL_MS);
}
