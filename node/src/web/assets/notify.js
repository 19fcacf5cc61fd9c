// Causerie web client: notifications. Unread messages and mentions counted per room as they
// arrive live (the node's counts come with the room list, rooms.js), the count in the tab's
// title, moderators' alerts (knocks and review items waiting in rooms where they may act, shown
// on the room and on the Moderation button), and desktop notifications, off until the user
// turns them on in the profile (the browser is asked for permission only then, on that click).

import { $ } from './dom.js';
import { moderatorRights } from './moderation.js';
import { countsOf, isViewing, markActiveRead, renderRoomList, roomLabel, setActive } from './rooms.js';
import { call, roomPath } from './session.js';
import { state } from './state.js';
import { countsAsUnread, isMention, titleWith } from './text.js';

/** localStorage key: "1" when the user turned desktop notifications on. */
const NOTIFY_KEY = 'causerie.notify';
/** Longest message excerpt a desktop notification shows. */
const MAX_NOTIFICATION_CHARS = 140;
/** Most alerts kept per room (a flood of knocks stays a bounded set). */
const MAX_ALERTS_PER_ROOM = 200;
/** Review items read for the alert of the active room (the badge counts at most these). */
const MAX_REVIEW_ALERTS = 50;

/** The user as mentions name them. */
function me() {
  return { user: state.identity?.user, handle: state.account?.handle || state.identity?.handle || null };
}

/** Whether the user may let people in (and so is alerted to knocks) in `room`. */
function mayLetIn(room) {
  const info = state.active === room && state.activeInfo ? state.activeInfo : state.rooms.get(room);
  if (!info || info.membership !== 'join') return false;
  return (info.power ?? 0) >= (info.power_levels?.invite ?? 0) && (info.power ?? 0) >= (info.power_levels?.kick ?? 50);
}

/** Adds (or with `on` false removes) the alert `key` of `room`. */
function setAlert(room, key, on) {
  let set = state.alerts.get(room);
  if (on) {
    if (!set) state.alerts.set(room, (set = new Set()));
    if (set.size < MAX_ALERTS_PER_ROOM) set.add(key);
  } else if (set) {
    set.delete(key);
    if (!set.size) state.alerts.delete(room);
  }
}

/** An event from the live stream: counted, alerted and notified as it requires. */
export function noticeLiveEvent(event) {
  const mine = me();
  if (event.kind === 'room.member' && typeof event.state_key === 'string' && event.state_key !== mine.user) {
    const knocking = event.content?.membership === 'knock';
    if (!knocking || mayLetIn(event.room)) setAlert(event.room, `knock:${event.state_key}`, knocking);
    if (knocking && mayLetIn(event.room)) notifyDesktop(event.room, 'Someone asks to join', `${roomLabel(state.rooms.get(event.room))}: a moderator must let them in.`);
    renderRoomList();
    return;
  }
  if (!countsAsUnread(event, mine.user)) return;
  if (isViewing(event.room)) return;
  const counts = state.counts.get(event.room) || { unread: 0, mentions: 0 };
  counts.unread += 1;
  const mention = isMention(event, mine);
  if (mention) counts.mentions += 1;
  state.counts.set(event.room, counts);
  renderRoomList();
  if (mention || state.rooms.get(event.room)?.dm) {
    const who = event.sender?.display_name || event.sender?.handle || 'Someone';
    const where = roomLabel(state.rooms.get(event.room) || { room: event.room });
    const title = state.rooms.get(event.room)?.dm ? `${who} wrote to you` : `${who} mentioned you in ${where}`;
    notifyDesktop(event.room, title, String(event.content?.body ?? '').slice(0, MAX_NOTIFICATION_CHARS));
  }
}

/**
 * A moderator alert from the live stream (`knock` or `review`, data `{room, …}`): a knock names
 * the `user`, a held item its `item` (or `event`) id.
 */
export function noticeAlert(name, data) {
  if (!data || typeof data.room !== 'string') return;
  const id = name === 'knock' ? data.user : data.item ?? data.id ?? data.event;
  if (typeof id !== 'string' && !Number.isSafeInteger(id)) return;
  setAlert(data.room, `${name}:${id}`, true);
  renderRoomList();
  const where = roomLabel(state.rooms.get(data.room) || { room: data.room });
  notifyDesktop(data.room, name === 'knock' ? 'Someone asks to join' : 'A message waits for review', where);
}

/**
 * The active room's knocks as the member list shows them (the node's word replaces what the
 * stream said).
 */
export function syncAlerts() {
  const room = state.active;
  if (!room) return;
  const set = state.alerts.get(room) || new Set();
  for (const key of [...set]) {
    if (key.startsWith('knock:')) set.delete(key);
  }
  if (mayLetIn(room)) {
    for (const member of state.members) {
      if (member.membership === 'knock' && set.size < MAX_ALERTS_PER_ROOM) set.add(`knock:${member.user}`);
    }
  }
  if (set.size) state.alerts.set(room, set);
  else state.alerts.delete(room);
  renderRoomList();
}

/**
 * The active room's review queue, for a moderator who may act on it: what waits there is an
 * alert until a moderator approved or removed it (the node's queue replaces what the stream
 * said). Refused or unreachable, the alerts stay as they were.
 */
export async function refreshReviewAlerts() {
  const room = state.active;
  if (!room || !moderatorRights(state.activeInfo).review) return;
  let page;
  try {
    page = await call('GET', `${roomPath(room)}/review?limit=${MAX_REVIEW_ALERTS}`);
  } catch {
    return;
  }
  const items = Array.isArray(page?.items) ? page.items : [];
  const set = state.alerts.get(room) || new Set();
  for (const key of [...set]) if (key.startsWith('review:')) set.delete(key);
  for (const item of items) if (item.state !== 'hidden' && set.size < MAX_ALERTS_PER_ROOM) set.add(`review:${item.item}`);
  if (set.size) state.alerts.set(room, set);
  else state.alerts.delete(room);
  renderRoomList();
}

/** The Moderation button's badge: what waits for a moderator in the active room. */
export function renderAlerts() {
  const badge = $('moderation-alerts');
  const count = state.active ? state.alerts.get(state.active)?.size ?? 0 : 0;
  badge.hidden = count === 0;
  badge.textContent = count ? ` ${count}` : '';
  $('moderation-open').setAttribute('aria-label', count ? `Moderation, ${count} waiting` : 'Moderation');
}

/** The tab's title: the open room's name, after the number of unread messages elsewhere. */
export function renderTitle() {
  let unread = 0;
  let mentions = 0;
  for (const room of state.rooms.keys()) {
    const counts = countsOf(room);
    unread += counts.unread;
    mentions += counts.mentions;
  }
  const info = state.active ? (state.activeInfo ? { ...state.rooms.get(state.active), ...state.activeInfo } : state.rooms.get(state.active)) : null;
  const name = state.active ? `${roomLabel(info || { room: state.active })} · Causerie` : 'Causerie';
  document.title = titleWith(unread, mentions, name);
}

/** Whether desktop notifications are on (the user turned them on and the browser allows them). */
function notificationsOn() {
  return localStorage.getItem(NOTIFY_KEY) === '1' && 'Notification' in window && Notification.permission === 'granted';
}

/** Shows a desktop notification when they are on and the user is not looking at `room`. */
function notifyDesktop(room, title, body) {
  if (!notificationsOn() || isViewing(room)) return;
  try {
    const notification = new Notification(title, { body, tag: room });
    notification.onclick = () => {
      window.focus();
      setActive(room, { focus: true });
      notification.close();
    };
  } catch {
    // Some browsers only show notifications from a service worker: nothing to do then.
  }
}

/** The profile's notification toggle, as the setting and the browser's permission stand. */
export function renderNotifyToggle() {
  const button = $('notify-toggle');
  const supported = 'Notification' in window;
  const on = notificationsOn();
  button.setAttribute('aria-pressed', String(on));
  button.textContent = on ? 'Desktop notifications: on' : 'Desktop notifications: off';
  button.disabled = !supported;
  let text = 'Unread messages and mentions are counted beside each room and in this tab’s title.';
  if (!supported) text += ' This browser does not offer desktop notifications.';
  else if (Notification.permission === 'denied') text += ' The browser blocks notifications from this page: allow them in its site settings first.';
  else if (on) text += ' You are notified of mentions, direct messages and knocks while you look elsewhere.';
  $('notify-text').textContent = text;
}

/** Turns desktop notifications on (asking the browser, on this click only) or off. */
async function onNotifyToggle() {
  if (!('Notification' in window)) return;
  if (notificationsOn()) {
    localStorage.setItem(NOTIFY_KEY, '0');
  } else {
    let permission = Notification.permission;
    if (permission === 'default') permission = await Notification.requestPermission();
    localStorage.setItem(NOTIFY_KEY, permission === 'granted' ? '1' : '0');
  }
  renderNotifyToggle();
}

/** Binds the toggle, and the title and counts to the page's visibility. */
export function bindNotify() {
  $('notify-toggle').addEventListener('click', onNotifyToggle);
  document.addEventListener('visibilitychange', () => {
    if (document.visibilityState === 'visible' && state.active) state.counts.delete(state.active);
    renderRoomList();
    markActiveRead();
  });
  renderNotifyToggle();
}
