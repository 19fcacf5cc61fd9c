// Causerie web client: the member list of the active room, each member in words ("Alice ·
// @alice · home node example.org, verified key"), with a menu: a direct message (rooms.js), the
// moderation the user's power allows (kick, ban, unban, let in, power levels; invite by key),
// reporting the member (reports.js); and deleting a message.

import { cborEqual } from './cbor.js';
import * as keys from './keys.js';
import { askValue } from './dialogs.js';
import { $, h, showPlainError } from './dom.js';
import { nodeName } from './identity.js';
import { menuFor } from './menus.js';
import { roleName, stillHolds } from './moderation.js';
import { renderModerationPanel } from './moderation_panel.js';
import { syncAlerts } from './notify.js';
import { reportMember } from './reports.js';
import { openDirectMessage, scheduleActiveInfoRefresh } from './rooms.js';
import { act } from './session.js';
import { state } from './state.js';
import { CREATOR_POWER, MEMBERSHIP_WORDS, levelText, memberWords, shortKey } from './text.js';

/** Whether the user may delete other people's messages in the active room. */
export function canRedactOthers() {
  const info = state.activeInfo;
  return Boolean(info && info.power >= (info.power_levels?.redact ?? 50));
}

/** Shows the active room's members, each with the actions the user's power allows. */
export function renderMembers() {
  const list = $('members');
  const info = state.activeInfo;
  renderModerationPanel();
  if (!state.active || !info) {
    list.replaceChildren();
    return;
  }
  const mine = info.power ?? 0;
  const levels = info.power_levels || {};
  const items = state.members.map((member) => {
    const name = member.display_name || member.handle || shortKey(member.user);
    const power = member.power ?? 0;
    const actions = [];
    const above = mine > power && member.user !== state.identity.user;
    if (above && ['join', 'invite', 'knock'].includes(member.membership) && mine >= (levels.kick ?? 50)) {
      actions.push({ label: 'Kick…', danger: true, run: () => moderate('kick', member) });
    }
    if (above && member.membership !== 'ban' && mine >= (levels.ban ?? 50)) {
      actions.push({ label: 'Ban…', danger: true, run: () => moderate('ban', member) });
    }
    if (member.membership === 'ban' && mine >= (levels.ban ?? 50) && mine > power) {
      actions.push({ label: 'Unban', run: () => moderate('unban', member) });
    }
    if (member.membership === 'knock' && mine >= (levels.invite ?? 0)) {
      actions.push({ label: 'Let in (invite)', run: () => moderate('invite', member) });
    }
    if ((above || member.user === state.identity.user) && power < CREATOR_POWER && mine >= (levels.state_default ?? 50)) {
      actions.push({ label: 'Change power…', run: () => moderate('power', member) });
    }
    if (member.user !== state.identity.user) actions.push({ label: 'Report…', run: () => reportMember(member) });
    if (member.user !== state.identity.user && !state.rooms.get(state.active)?.dm) {
      actions.unshift({ label: 'Send a direct message', run: () => startDirectMessage(member) });
    }
    const words = memberWords(member, nodeName);
    const status = member.membership !== 'join' ? MEMBERSHIP_WORDS[member.membership] ?? member.membership : null;
    const item = h(
      'li',
      { className: `member membership-${member.membership}`, data: { user: member.user, membership: member.membership } },
      h(
        'div',
        { className: 'member-main' },
        h('span', { className: 'name', text: name }),
        h('span', { className: 'power', text: roleName(power), attrs: { title: `power ${levelText(power)}` } }),
        status ? h('span', { className: 'badge', text: status }) : null,
        member.muted && stillHolds(member.muted.expires ?? null, Date.now()) ? h('span', { className: 'mod-badge mod-badge-muted', text: 'muted' }) : null,
      ),
      h('div', {
        className: 'member-meta',
        // The name leads the list item already; the line says the rest.
        text: words.startsWith(`${name} · `) ? words.slice(name.length + 3) : words,
        attrs: { title: `${words} · key ${member.user}` },
      }),
    );
    if (actions.length) item.append(menuFor(`Actions for ${name}`, actions));
    return item;
  });
  list.replaceChildren(...items);
  syncAlerts();
  const canInvite = mine >= (levels.invite ?? 0) && info.membership === 'join';
  if (canInvite) {
    list.append(h('li', { className: 'member-invite' }, h('button', { type: 'button', className: 'small', text: 'Invite a user by key…', onClick: inviteByKey })));
  }
}

/** "Send a direct message": opens the one with `member`, or starts it. */
async function startDirectMessage(member) {
  showPlainError('members-error', null);
  try {
    await openDirectMessage(member.user);
  } catch (error) {
    showPlainError('members-error', error);
  }
}

/** "Invite a user by key…". */
async function inviteByKey() {
  const user = await askValue('Invite', 'Public key of the user (64 hex digits)', '', (v) =>
    /^[0-9a-f]{64}$/.test(v.trim()) ? null : 'A key is 64 lowercase hex digits.',
  );
  if (user === null) return;
  await moderate('invite', { user: user.trim(), display_name: null, handle: null });
}

/** Kick, ban, unban, invite or set the power of `member`, asking what the action needs. */
async function moderate(kind, member) {
  const room = state.active;
  const name = member.display_name || member.handle || shortKey(member.user);
  const action = { action: kind, user: member.user };
  let expect;
  if (kind === 'kick' || kind === 'ban') {
    const reason = await askValue(kind === 'kick' ? `Kick ${name}` : `Ban ${name}`, 'Reason (optional)', '', null);
    if (reason === null) return;
    if (reason.trim()) action.reason = reason.trim();
    const membership = kind === 'kick' ? 'leave' : 'ban';
    expect = { kind: 'room.member', stateKey: member.user, content: (c) => c.membership === membership };
  } else if (kind === 'unban') {
    expect = { kind: 'room.member', stateKey: member.user, content: (c) => c.membership === 'leave' };
  } else if (kind === 'invite') {
    expect = { kind: 'room.member', stateKey: member.user, content: (c) => c.membership === 'invite' };
  } else {
    const mine = state.activeInfo?.power ?? 0;
    const value = await askValue(`Power of ${name}`, `Power level (0 to ${levelText(mine)})`, String(member.power ?? 0), (v) => {
      const n = Number(v);
      return Number.isSafeInteger(n) && n >= 0 && n <= Math.min(mine, CREATOR_POWER) ? null : 'Enter a whole number within your own power.';
    });
    if (value === null) return;
    action.level = Number(value);
    expect = {
      kind: 'room.power_levels',
      stateKey: '',
      content: (c) => ((c.users && c.users[member.user]) ?? c.users_default ?? 0) === action.level,
    };
  }
  showPlainError('members-error', null);
  try {
    await act(room, action, expect);
    scheduleActiveInfoRefresh();
  } catch (error) {
    showPlainError('members-error', error);
  }
}

/** Deletes a message, with an optional reason. */
export async function redactEvent(event) {
  const reason = await askValue('Delete message', 'Reason (optional)', '', null);
  if (reason === null) return;
  const action = { action: 'redact', event: event.id };
  if (reason.trim()) action.reason = reason.trim();
  const target = keys.hexToBytes(event.id.slice(1));
  try {
    await act(event.room, action, {
      kind: 'room.redaction',
      content: (c) => c.redacts instanceof Uint8Array && cborEqual(c.redacts, target),
    });
  } catch (error) {
    showPlainError('composer-error', error);
  }
}
