// Causerie web client: the ban lists tab of the moderator panel (specs/moderation.md §3). The
// lists the room follows (`GET /rooms/{room}/banlists`), what each changed since the moderator
// last looked (`GET /banlists/{list}?since=…`: rules added, removed or changed, with their
// public reasons), every rule with a per-room override ("ignore here" / "apply here"), and
// subscribing and unsubscribing. Changes are signed `room.policy_subscriptions` events
// (actions subscribe, unsubscribe, ignore_rule). Where the moderator last looked is kept per
// room and list in this browser (localStorage); the first look is the baseline. A list room
// changes with no event in this room, so the tab fetches again while it is shown.

import { askValue } from './dialogs.js';
import { $, h } from './dom.js';
import { momentText } from './moderation.js';
import { keepingFocus, panelOpen, perform } from './moderation_panel.js';
import { act, call, roomPath } from './session.js';
import { state } from './state.js';
import { shortKey } from './text.js';

/** localStorage key of the list head the moderator last looked at, per room and list. */
const seenKey = (room, list) => `causerie.banlist-seen.${room}.${list}`;

/** How often the shown lists are fetched again (a list changes with no event in this room). */
const LISTS_POLL_MS = 3000;

/** What the tab shows: the room's subscription and each list's view, as fetched last. */
const shown = { room: null, subscription: null, lists: [], error: null, timer: null, signature: null };

/** A rule's target in words. */
function targetText(target) {
  if (!target || typeof target !== 'object') return 'unknown target';
  if (target.user) return `user ${memberName(target.user)}`;
  if (target.handle) return `handles matching ${target.handle}`;
  if (target.attester) return `everyone vouched for by node ${shortKey(target.attester)}`;
  if (target.hash) return `a hidden target (${shortKey(target.hash)})`;
  return 'unknown target';
}

/** A user's name from the room's member list, else their short key. */
function memberName(user) {
  const member = state.members.find((m) => m.user === user);
  return member?.display_name || member?.handle || shortKey(user);
}

/** What a rule recommends, and why (its public reason, or that the list withholds it). */
function ruleText(rule) {
  const reason = rule.reason_withheld ? 'reason withheld by the list' : rule.reason ? `reason: ${rule.reason}` : 'no reason given';
  const until = Number.isSafeInteger(rule.expires) ? `, until ${momentText(rule.expires, Date.now())}` : '';
  return `${rule.recommendation} ${targetText(rule.target)}${until} (${reason})`;
}

/** Whether the room ignores rule `rule` of `list`. */
function ignored(list, rule) {
  return (shown.subscription?.ignore || []).some(([l, r]) => l === list && r === rule);
}

/** The override button of a rule: ignore it in this room, or apply it again. */
function overrideButton(list, rule) {
  const off = ignored(list, rule);
  return h('button', {
    type: 'button',
    className: 'small',
    text: off ? 'Apply here' : 'Ignore here',
    attrs: { 'aria-label': `${off ? 'Apply' : 'Ignore'} rule ${rule} of this list in this room` },
    onClick: () => setIgnored(list, rule, !off),
  });
}

/** One list: its name, changes since last look, its rules, and its buttons. */
function listEntry(view) {
  const list = view.list;
  const changes = Array.isArray(view.changes) ? view.changes : [];
  const rules = Array.isArray(view.rules) ? view.rules : [];
  const entry = h('li', { className: 'banlist', data: { key: list, list } });
  const head = h(
    'div',
    { className: 'mod-member-main' },
    h('span', { className: 'name', text: view.name || shortKey(list) }),
    h('span', { className: 'hint', text: `${rules.length} rule${rules.length === 1 ? '' : 's'}` }),
  );
  const buttons = h('div', { className: 'mod-actions', attrs: { role: 'group', 'aria-label': `Ban list ${view.name || shortKey(list)}` } });
  if (changes.length) {
    buttons.append(h('button', { type: 'button', className: 'small', text: 'Mark as seen', onClick: () => markSeen(list, view.head) }));
  }
  buttons.append(h('button', { type: 'button', className: 'small danger', text: 'Unsubscribe', onClick: () => unsubscribe(view) }));
  const body = h('div', { className: 'mod-entry-main' }, head);
  if (changes.length) {
    body.append(h('p', { className: 'hint', text: 'Changes since you last looked:' }));
    const diff = h('ul', { className: 'banlist-changes' });
    for (const change of changes) {
      const rule = change.after || change.before;
      if (!rule) continue;
      diff.append(
        h(
          'li',
          { className: `banlist-change change-${change.change}`, data: { rule: change.rule, change: change.change } },
          h('span', { className: `mod-badge mod-badge-${change.change}`, text: change.change }),
          h('span', { className: 'reason', text: ` ${ruleText(rule)}` }),
        ),
      );
    }
    body.append(diff);
  }
  const all = h('ul', { className: 'banlist-rules' });
  for (const rule of rules) {
    all.append(
      h(
        'li',
        { className: 'banlist-rule', data: { rule: rule.rule } },
        ignored(list, rule.rule) ? h('span', { className: 'mod-badge mod-badge-ignored', text: 'ignored here' }) : null,
        h('span', { className: 'reason', text: ` ${ruleText(rule)} ` }),
        overrideButton(list, rule.rule),
      ),
    );
  }
  body.append(all);
  entry.append(body, buttons);
  return entry;
}

/** Fetches the room's subscription and its lists (changes since the moderator last looked). */
async function loadLists() {
  clearTimeout(shown.timer);
  const room = state.active;
  if (!room || !panelOpen() || $('moderation-lists').hidden) return;
  try {
    const subscription = await call('GET', `${roomPath(room)}/banlists`);
    const lists = await Promise.all(
      (subscription.lists || []).map(async (list) => {
        const since = localStorage.getItem(seenKey(room, list));
        const query = since ? `?since=${encodeURIComponent(since)}` : '';
        try {
          const view = await call('GET', `/banlists/${encodeURIComponent(list)}${query}`);
          // The first look is the baseline: what the list changes from now on is shown.
          if (!since && typeof view.head === 'string') localStorage.setItem(seenKey(room, list), view.head);
          return view;
        } catch (error) {
          return { list, name: null, rules: [], changes: [], error };
        }
      }),
    );
    Object.assign(shown, { room, subscription, lists, error: null });
  } catch (error) {
    Object.assign(shown, { room, subscription: null, lists: [], error });
  }
  if (state.active === room && panelOpen() && !$('moderation-lists').hidden) {
    showLists();
    shown.timer = setTimeout(loadLists, LISTS_POLL_MS);
  }
}

/** Shows what was fetched. */
function showLists() {
  // Rebuilt only when something changed, keeping the focus.
  const signature = JSON.stringify([shown.room, shown.subscription, shown.lists, shown.error?.reason]);
  if (signature === shown.signature && $('moderation-lists-list').childElementCount === shown.lists.length) return;
  shown.signature = signature;
  keepingFocus($('moderation-lists-list'), () => shown.lists.map(listEntry));
  $('moderation-lists-empty').hidden = shown.lists.length > 0 || Boolean(shown.error);
  $('moderation-lists-error').textContent = shown.error ? `Could not load the ban lists: ${shown.error.reason ?? shown.error.message}` : '';
}

/** Shows the tab: what was fetched, then fresh from the node. */
export function renderListsTab(rights) {
  $('banlist-subscribe').hidden = !rights.lists;
  if (shown.room === state.active) showLists();
  loadLists();
}

/** Remembers that the moderator has seen `list` up to `head`. */
function markSeen(list, head) {
  if (head) localStorage.setItem(seenKey(state.active, list), head);
  loadLists();
}

/** The subscription's draft check: `rooms` holds `list` or not. */
function follows(content, list, yes) {
  const wanted = list.slice(1);
  const rooms = Array.isArray(content.rooms) ? content.rooms : [];
  const has = rooms.some((r) => r instanceof Uint8Array && [...r].map((b) => b.toString(16).padStart(2, '0')).join('') === wanted);
  return has === yes;
}

/** "Subscribe to a ban list…": its room id, then a signed subscription. */
async function subscribe() {
  const room = state.active;
  const list = await askValue('Subscribe to a ban list', 'Room id of the ban list (!…)', '', (v) =>
    /^![0-9a-f]{64}$/.test(v.trim()) ? (v.trim() === room ? 'A room cannot follow itself.' : null) : 'A room id is ! and 64 lowercase hex digits.',
  );
  if (list === null) return;
  const id = list.trim();
  await perform('The room follows the list: its rules apply here on every node.', () =>
    act(room, { action: 'subscribe', list: id }, { kind: 'room.policy_subscriptions', stateKey: '', content: (c) => follows(c, id, true) }),
  );
  loadLists();
}

/** Stops following a list. */
async function unsubscribe(view) {
  const room = state.active;
  await perform(`The room no longer follows ${view.name || shortKey(view.list)}; what it caused is lifted.`, () =>
    act(room, { action: 'unsubscribe', list: view.list }, { kind: 'room.policy_subscriptions', stateKey: '', content: (c) => follows(c, view.list, false) }),
  );
  localStorage.removeItem(seenKey(room, view.list));
  loadLists();
}

/** Ignores rule `rule` of `list` in this room, or applies it again. */
async function setIgnored(list, rule, ignore) {
  const room = state.active;
  await perform(ignore ? `Rule ${rule} is ignored in this room.` : `Rule ${rule} applies in this room again.`, () =>
    act(room, { action: 'ignore_rule', list, rule, ignore }, { kind: 'room.policy_subscriptions', stateKey: '' }),
  );
  loadLists();
}

/** Binds the tab's Subscribe button. */
export function bindListsTab() {
  $('banlist-subscribe').addEventListener('click', subscribe);
}
