// Causerie web client: the moderator panel of the active room (`#moderation-dialog`), offered
// by the room bar's Moderation button only to members whose power allows some moderation
// (moderation.js, moderatorRights). Its members tab lists everyone with a member event, their
// role and badges (muted, banned, until when), and the actions the moderator's power allows:
// mute, kick, ban, ban and purge, each with a reason and a duration asked through the dialog
// runner (dialogs.js, askModeration). Every action is an ordinary signed event (session.js,
// act); the panel re-renders when the room's state changes (members.js calls
// renderModerationPanel), keeping the keyboard where it was. The review queue tab is
// moderation_review.js, the ban lists tab moderation_lists.js, content rules and lockdown
// moderation_rules.js, who may join (the join rule and its attester lists) moderation_trust.js.

import { askModeration } from './dialogs.js';
import { $, canFocus, h, showError } from './dom.js';
import { DURATIONS, momentText, moderatorRights, roleName, stillHolds } from './moderation.js';
import { scheduleActiveInfoRefresh } from './rooms.js';
import { bindListsTab, renderListsTab } from './moderation_lists.js';
import { renderReviewTab } from './moderation_review.js';
import { bindRulesTab, renderRulesTab } from './moderation_rules.js';
import { act } from './session.js';
import { state } from './state.js';
import { levelText, shortKey } from './text.js';

/**
 * The panel's tabs, in order: the id suffix of `#moderation-tab-<name>` and of its panel
 * `#moderation-<name>`, whether the moderator's rights show it, and what renders it.
 */
const TAB_VIEWS = {
  members: { shown: () => true, render: (rights) => renderMembersTab(rights) },
  review: { shown: (rights) => rights.review, render: () => renderReviewTab() },
  lists: { shown: (rights) => rights.lists, render: (rights) => renderListsTab(rights) },
  rules: { shown: (rights) => rights.rules || rights.lockdown || rights.join, render: (rights) => renderRulesTab(rights) },
};
const TABS = Object.keys(TAB_VIEWS);

/** The tab shown, and the control that opened the panel (the focus returns there). */
const panel = { tab: 'members', opener: null };

/** Whether the panel is open. */
export function panelOpen() {
  return $('moderation-dialog').open;
}

/** A member's name: display name, handle or short key. */
export function nameOf(member) {
  return member.display_name || member.handle || shortKey(member.user);
}

/** Says what was done (`#moderation-status`), or shows the error (`#moderation-error`). */
export function report(done, error = null) {
  $('moderation-status').textContent = error ? '' : done ?? '';
  showError('moderation-error', error);
}

/**
 * Runs `work` (an action of the panel) with the panel's report: `done` on success, the error
 * otherwise; the room's details are refetched after either.
 */
export async function perform(done, work) {
  report(null);
  try {
    await work();
    report(done);
  } catch (error) {
    report(null, error);
  } finally {
    scheduleActiveInfoRefresh();
  }
}

/** The member's mute when it still holds (`{by, reason, expires}` from the node), or null. */
function activeMute(member) {
  const mute = member.muted;
  return mute && stillHolds(mute.expires ?? null, Date.now()) ? mute : null;
}

/** The badges of a member row: banned, muted (until when), invited, knocking, left. */
function badges(member) {
  const out = [];
  const now = Date.now();
  if (member.membership === 'ban') {
    const expires = member.ban?.expires;
    const until = Number.isSafeInteger(expires) ? ` until ${momentText(expires, now)}${stillHolds(expires, now) ? '' : ' (over)'}` : '';
    out.push(['banned', `banned${until}`]);
  }
  const mute = activeMute(member);
  if (mute) out.push(['muted', Number.isSafeInteger(mute.expires) ? `muted until ${momentText(mute.expires, now)}` : 'muted']);
  if (member.membership === 'invite') out.push(['invited', 'invited']);
  if (member.membership === 'knock') out.push(['knocking', 'asks to join']);
  if (member.membership === 'leave') out.push(['left', 'not in the room']);
  return out.map(([kind, text]) => h('span', { className: `mod-badge mod-badge-${kind}`, text }));
}

/** The actions the moderator may take on `member`: [label, run] pairs. */
function memberActions(member, rights) {
  const mine = state.activeInfo?.power ?? 0;
  const above = mine > (member.power ?? 0) && member.user !== state.identity.user;
  if (!above) return [];
  const actions = [];
  const present = ['join', 'invite', 'knock'].includes(member.membership);
  if (rights.mute && member.membership === 'join') {
    if (activeMute(member)) actions.push(['Unmute', () => unmute(member)]);
    else actions.push(['Mute…', () => mute(member)]);
  }
  if (rights.kick && present) actions.push(['Kick…', () => kick(member)]);
  if (rights.ban && member.membership !== 'ban') actions.push(['Ban…', () => ban(member, false)]);
  if (rights.ban && rights.redact && !member.ban?.purge) actions.push(['Ban and purge…', () => ban(member, true)]);
  if (rights.ban && member.membership === 'ban') actions.push(['Unban', () => unban(member)]);
  return actions;
}

/** One member's row in the panel. */
function memberRow(member, rights) {
  const name = nameOf(member);
  const power = member.power ?? 0;
  const row = h(
    'li',
    { className: `mod-member membership-${member.membership}`, data: { user: member.user, membership: member.membership } },
    h(
      'div',
      { className: 'mod-member-main' },
      h('span', { className: 'name', text: name }),
      member.handle ? h('span', { className: 'handle', text: `@${member.handle}` }) : null,
      h('span', { className: 'role', text: roleName(power), attrs: { title: `power ${levelText(power)}` } }),
      ...badges(member),
    ),
  );
  const actions = memberActions(member, rights);
  if (actions.length) {
    const group = h('div', { className: 'mod-actions', attrs: { role: 'group', 'aria-label': `Actions for ${name}` } });
    for (const [label, run] of actions) {
      group.append(h('button', { type: 'button', className: `small${label === 'Unmute' || label === 'Unban' ? '' : ' danger'}`, text: label, onClick: run }));
    }
    row.append(group);
  }
  return row;
}

/**
 * Re-renders `container` with `build()` (rows carrying `data-key`), keeping the keyboard where
 * it was: on the same button of the same row, else on that row's first button, else on the
 * selected tab, so an action that changes its own row does not drop the focus to the page.
 */
export function keepingFocus(container, build) {
  const active = document.activeElement;
  const inside = container.contains(active);
  const key = inside ? active.closest('[data-key]')?.dataset.key ?? null : null;
  const label = inside ? active.textContent : null;
  container.replaceChildren(...build());
  if (!inside) return;
  const row = [...container.querySelectorAll('[data-key]')].find((e) => e.dataset.key === key);
  const buttons = row ? [...row.querySelectorAll('button')] : [];
  const again = buttons.find((b) => b.textContent === label) ?? buttons[0];
  if (canFocus(again)) again.focus();
  else $(`moderation-tab-${panel.tab}`).focus();
}

/** The members tab: everyone with a member event, joined first (the node's order). */
function renderMembersTab(rights) {
  const list = $('moderation-members-list');
  keepingFocus(list, () =>
    state.members.map((member) => {
      const row = memberRow(member, rights);
      row.dataset.key = member.user;
      return row;
    }),
  );
}

/**
 * Whether a draft's content ends as asked: an `expires` about `duration` ms from now (the node
 * sets it from its clock, within a minute of ours), or none for a permanent one.
 */
function endsAsAsked(content, duration) {
  if (duration === null) return content.expires === undefined;
  const skew = Math.abs(content.expires - (Date.now() + duration));
  return Number.isSafeInteger(content.expires) && skew <= 60 * 1000;
}

/** " until 14:05" for a duration from now, "" for a permanent one. */
function untilText(duration) {
  return duration === null ? '' : ` until ${momentText(Date.now() + duration, Date.now())}`;
}

/** Mute `member` for a chosen duration, with a reason. */
async function mute(member) {
  const name = nameOf(member);
  const answer = await askModeration({
    title: `Mute ${name}`,
    text: `${name} will still read the room but cannot write in it until the mute ends.`,
    ok: 'Mute',
    durations: DURATIONS,
  });
  if (!answer) return;
  const action = { action: 'mute', user: member.user };
  if (answer.reason) action.reason = answer.reason;
  if (answer.duration !== null) action.duration_ms = answer.duration;
  await perform(`${name} is muted${untilText(answer.duration)}.`, () =>
    act(state.active, action, {
      kind: 'room.mute',
      stateKey: member.user,
      content: (c) => c.muted === true && endsAsAsked(c, answer.duration),
    }),
  );
}

/** Lift `member`'s mute. */
async function unmute(member) {
  await perform(`${nameOf(member)} may write again.`, () =>
    act(state.active, { action: 'unmute', user: member.user }, { kind: 'room.mute', stateKey: member.user, content: (c) => c.muted === false }),
  );
}

/** Kick `member`, with a reason. */
async function kick(member) {
  const name = nameOf(member);
  const answer = await askModeration({ title: `Kick ${name}`, text: `${name} leaves the room and may join again.`, ok: 'Kick' });
  if (!answer) return;
  const action = { action: 'kick', user: member.user };
  if (answer.reason) action.reason = answer.reason;
  await perform(`${name} was removed from the room.`, () =>
    act(state.active, action, { kind: 'room.member', stateKey: member.user, content: (c) => c.membership === 'leave' }),
  );
}

/** Ban `member` for a chosen duration, with a reason; with `purge`, also delete their messages. */
async function ban(member, purge) {
  const name = nameOf(member);
  const answer = await askModeration({
    title: purge ? `Ban ${name} and delete their messages` : `Ban ${name}`,
    text: purge
      ? `${name} is banned and every message they sent in this room is deleted, on every node.`
      : `${name} leaves the room and cannot join again until the ban ends.`,
    ok: purge ? 'Ban and purge' : 'Ban',
    durations: DURATIONS,
  });
  if (!answer) return;
  const action = { action: 'ban', user: member.user };
  if (answer.reason) action.reason = answer.reason;
  if (answer.duration !== null) action.duration_ms = answer.duration;
  if (purge) action.purge = true;
  await perform(`${name} is banned${untilText(answer.duration)}${purge ? ' and their messages are deleted' : ''}.`, () =>
    act(state.active, action, {
      kind: 'room.member',
      stateKey: member.user,
      content: (c) => c.membership === 'ban' && endsAsAsked(c, answer.duration) && (c.purge === true) === purge,
    }),
  );
}

/** Lift `member`'s ban. */
async function unban(member) {
  await perform(`${nameOf(member)} may join again.`, () =>
    act(state.active, { action: 'unban', user: member.user }, { kind: 'room.member', stateKey: member.user, content: (c) => c.membership === 'leave' }),
  );
}

/** Shows tab `name` (its button selected, its panel shown) and renders it. */
function selectTab(name, { focus = false } = {}) {
  panel.tab = name;
  for (const tab of TABS) {
    const button = $(`moderation-tab-${tab}`);
    const selected = tab === name;
    button.setAttribute('aria-selected', String(selected));
    button.tabIndex = selected ? 0 : -1;
    $(`moderation-${tab}`).hidden = !selected;
    if (selected && focus) button.focus();
  }
  report(null);
  renderModerationPanel();
}

/** Arrow keys, Home and End move between the visible tabs (the WAI-ARIA tabs pattern). */
function onTabKey(e) {
  const tabs = TABS.filter((tab) => !$(`moderation-tab-${tab}`).hidden);
  const at = tabs.indexOf(panel.tab);
  const next = { ArrowRight: at + 1, ArrowLeft: at - 1, Home: 0, End: tabs.length - 1 }[e.key];
  if (next === undefined) return;
  e.preventDefault();
  selectTab(tabs[(next + tabs.length) % tabs.length], { focus: true });
}

/** Shows the Moderation button to those who may moderate, and the open panel afresh. */
export function renderModerationPanel() {
  const rights = moderatorRights(state.active ? state.activeInfo : null);
  $('moderation-open').hidden = !rights.any;
  if (!panelOpen()) return;
  if (!rights.any) {
    $('moderation-dialog').close();
    return;
  }
  for (const tab of TABS) $(`moderation-tab-${tab}`).hidden = !TAB_VIEWS[tab].shown(rights);
  if (!TAB_VIEWS[panel.tab].shown(rights)) {
    selectTab('members');
    return;
  }
  $('moderation-room').textContent = state.activeInfo?.name || shortKey(state.active);
  TAB_VIEWS[panel.tab].render(rights);
}

/** Opens the panel on its last tab, with the focus on that tab. */
function openPanel() {
  panel.opener = document.activeElement;
  report(null);
  $('moderation-dialog').showModal();
  selectTab(panel.tab, { focus: true });
}

/** Binds the Moderation button, the panel's tabs and its Close button. */
export function bindModerationPanel() {
  $('moderation-open').addEventListener('click', openPanel);
  $('moderation-close').addEventListener('click', () => $('moderation-dialog').close());
  $('moderation-dialog').addEventListener('close', () => {
    if (canFocus(panel.opener)) panel.opener.focus();
    else if (canFocus($('composer'))) $('composer').focus();
  });
  for (const tab of TABS) $(`moderation-tab-${tab}`).addEventListener('click', () => selectTab(tab, { focus: true }));
  $('moderation-tabs').addEventListener('keydown', onTabKey);
  bindRulesTab();
  bindListsTab();
}
