// Causerie web client: a room's history from the node. The newest page when a room is opened,
// older pages as the user scrolls up, the gap after a reconnection, and live events from the
// stream, all applied to the room's Timeline (timeline.js) and shown by timeline_view.js; and
// the stream's signals (typing, read markers). A reconnection also resumes the outbox.

import { receiveTyping } from './composer.js';
import { $ } from './dom.js';
import { renderRoomList, scheduleActiveInfoRefresh, scheduleRoomsRefresh } from './rooms.js';
import { resumeOutbox } from './sending.js';
import { call, roomPath } from './session.js';
import { state } from './state.js';
import { errorText } from './text.js';
import { Timeline, compareEvents, isEvent, relationOf } from './timeline.js';
import { LOAD_OLDER_THRESHOLD_PX, applyEvents, renderTimeline, renderTimelineStatus } from './timeline_view.js';

/** Events fetched per history page. */
const PAGE_LIMIT = 50;
/** Pages fetched backwards to close a gap after a reconnection before starting afresh. */
const MAX_GAP_PAGES = 20;
/** Pages fetched in a row to fill a screen that is taller than the history shown. */
const MAX_FILL_PAGES = 10;

/** The Timeline of `room`, created empty (not loaded) if there is none yet. */
export function timelineFor(room) {
  let timeline = state.timelines.get(room);
  if (!timeline) {
    timeline = new Timeline(room);
    state.timelines.set(room, timeline);
  }
  return timeline;
}

/** One page of history before the cursor `before` (null: the newest page). */
async function fetchPage(room, before) {
  const query = new URLSearchParams({ limit: String(PAGE_LIMIT) });
  if (before) query.set('before', before);
  const page = await call('GET', `${roomPath(room)}/messages?${query}`);
  return { events: Array.isArray(page.events) ? page.events.filter(isEvent) : [], prev: page.prev ?? null };
}

/** An event from the live stream: into its timeline (or held while the timeline loads), and the
 *  room list, unread marks and room details refreshed as it requires. */
export function receiveEvent(event) {
  if (!state.rooms.has(event.room)) scheduleRoomsRefresh();
  const timeline = state.timelines.get(event.room);
  if (timeline && timeline.loaded) {
    applyEvents(timeline, [event], { live: true });
    if (timeline.trim() && state.active === timeline.room) renderTimeline();
  } else if (timeline && timeline.opening && timeline.pending.length < PAGE_LIMIT * 4) {
    timeline.pending.push(event);
  }
  if (event.room !== state.active && event.kind === 'room.message' && !relationOf(event)) {
    state.unread.add(event.room);
    renderRoomList();
  }
  if (event.state_key !== null && event.state_key !== undefined) {
    if (event.room === state.active) scheduleActiveInfoRefresh();
    if (event.kind === 'room.member' && event.state_key === state.identity.user) scheduleRoomsRefresh();
    if (event.kind === 'room.name' || event.kind === 'room.topic') scheduleRoomsRefresh();
  }
}

/** Loads the newest page of a room once (concurrent callers share the load). */
export function openTimeline(room) {
  const timeline = timelineFor(room);
  if (timeline.loaded) return Promise.resolve(timeline);
  if (!timeline.opening) {
    timeline.opening = (async () => {
      try {
        const page = await fetchPage(room, null);
        timeline.prev = page.prev;
        timeline.loaded = true;
        // Where the user stopped reading: the "new messages" line stays there while the room
        // is open, even as the marker moves on.
        timeline.readMarker = state.rooms.get(room)?.read_event ?? null;
        if (state.active === room) renderTimeline();
        // Events streamed while the page was on its way may be newer than the page.
        applyEvents(timeline, page.events);
        applyEvents(timeline, timeline.pending, { live: true });
        timeline.pending = [];
        if (state.active === room) {
          renderTimeline();
          await fillScreen(timeline);
        }
        resumeOutbox();
        return timeline;
      } finally {
        timeline.opening = null;
      }
    })();
  }
  return timeline.opening;
}

/** Fetches older pages while the history does not fill the view (so scrolling can start). */
export async function fillScreen(timeline) {
  const view = $('timeline');
  for (let i = 0; i < MAX_FILL_PAGES && timeline.prev && state.active === timeline.room; i++) {
    if (view.scrollHeight > view.clientHeight + LOAD_OLDER_THRESHOLD_PX) break;
    await loadOlder(timeline);
  }
}

/** Loads the page before the oldest event shown, keeping what is on screen where it is. */
export async function loadOlder(timeline) {
  if (timeline.loadingOlder || !timeline.prev) return;
  timeline.loadingOlder = true;
  renderTimelineStatus(timeline);
  try {
    const page = await fetchPage(timeline.room, timeline.prev);
    timeline.prev = page.prev;
    // The view keeps the row at the top of the screen where it is (virtual_list.js).
    applyEvents(timeline, page.events);
  } catch (error) {
    if (state.active === timeline.room) $('timeline-status').textContent = `Could not load older messages: ${errorText(error)}`;
    return;
  } finally {
    timeline.loadingOlder = false;
  }
  renderTimelineStatus(timeline);
}

/**
 * After a reconnection: fetches pages from the newest backwards until one overlaps what we hold.
 * If the gap is larger than MAX_GAP_PAGES, the timeline starts afresh from the newest pages.
 */
export async function fillGap(timeline) {
  const newest = timeline.newest();
  const pages = [];
  let before = null;
  let overlapped = !newest;
  for (let i = 0; i < MAX_GAP_PAGES; i++) {
    const page = await fetchPage(timeline.room, before);
    pages.push(page);
    if (!newest || page.events.some((event) => compareEvents(event, newest) <= 0) || !page.prev) {
      overlapped = true;
      break;
    }
    before = page.prev;
  }
  if (!overlapped) {
    timeline.events = [];
    timeline.byId.clear();
    timeline.prev = pages[pages.length - 1].prev;
    if (state.active === timeline.room) renderTimeline();
  }
  for (const page of pages.reverse()) applyEvents(timeline, page.events);
  resumeOutbox();
}

/** A signal from the stream (specs/client-api.md, "Signals"): who types, read markers. */
export function receiveSignal(name, data) {
  let signal;
  try {
    signal = JSON.parse(data);
  } catch {
    return;
  }
  if (!signal || typeof signal.room !== 'string') return;
  if (name === 'typing') receiveTyping(signal.room, signal.users);
  if (name === 'read' && signal.user === state.identity?.user) {
    // The user read on another device: that room's marker moved.
    const timeline = state.timelines.get(signal.room);
    if (timeline) timeline.readMarkerPosted = signal.event;
  }
}
