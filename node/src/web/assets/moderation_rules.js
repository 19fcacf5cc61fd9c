// Causerie web client: the "Rules and lockdown" tab of the moderator panel. It shows the
// room's content rules (`room.content_rules`, specs/moderation.md §2, read from RoomInfo's
// `content_rules`) in words, edits them in `#rules-dialog` (through the dialog runner, fields
// checked by moderation.js before the node checks them again, saved with the `content_rules`
// action), and locks down this room or every room the moderator may lock (invite only and
// slow mode: the `lockdown` action's two events, content rules first), or lifts a lockdown
// (`unlock`: the join rule first), each event signed by the moderator's key. Who may join (the
// join rule and its attester lists) is moderation_trust.js, shown in the same tab.

import { askConfirm, runDialog } from './dialogs.js';
import { $, h } from './dom.js';
import { moderatorRights, rulesFromForm, rulesSummary, rulesToForm } from './moderation.js';
import { perform } from './moderation_panel.js';
import { bindTrustSection, renderTrustSection } from './moderation_trust.js';
import { roomLabel } from './rooms.js';
import { act } from './session.js';
import { state } from './state.js';
import { cborEqual } from './cbor.js';

/** Slow mode a lockdown sets (the node's default for the `lockdown` action). */
const LOCKDOWN_SLOW_MODE_MS = 30000;

/** The editor's fields: form key → element id. */
const FIELDS = {
  maxBytes: 'rules-max-bytes',
  words: 'rules-words',
  patterns: 'rules-patterns',
  links: 'rules-links',
  domains: 'rules-domains',
  mentions: 'rules-mentions',
  linkDelay: 'rules-link-delay',
  slowMode: 'rules-slow-mode',
  classifier: 'rules-classifier',
};

/** The room's current content rules (their content), or null. */
function currentRules() {
  const rules = state.activeInfo?.content_rules;
  return rules && typeof rules === 'object' ? rules : null;
}

/** Shows the rules in words and the buttons the moderator's rights allow. */
export function renderRulesTab(rights) {
  const summary = rulesSummary(currentRules());
  const list = $('moderation-rules-summary');
  if (!summary.length) list.replaceChildren(h('dt', { text: 'Rules' }), h('dd', { text: 'none: every message is allowed' }));
  else list.replaceChildren(...summary.flatMap(([label, value]) => [h('dt', { text: label }), h('dd', { text: value })]));
  $('rules-edit').hidden = !rights.rules;
  const locked = Boolean(currentRules()?.lockdown);
  $('lockdown-room').hidden = !rights.lockdown || locked;
  $('lockdown-all').hidden = !rights.lockdown;
  $('lockdown-lift').hidden = !rights.lockdown || !locked;
  renderTrustSection(rights);
}

/** Asks for the room's new content rules; resolves to their content, or null if cancelled. */
function askRules(current) {
  const form = rulesToForm(current);
  for (const [key, id] of Object.entries(FIELDS)) $(id).value = form[key];
  const syncDomains = () => {
    $('rules-domains').disabled = $('rules-links').value !== 'domains';
  };
  syncDomains();
  $('rules-links').addEventListener('change', syncDomains);
  return runDialog('rules', {
    focus: $('rules-max-bytes'),
    check: () => {
      const answer = rulesFromForm(
        Object.fromEntries(Object.entries(FIELDS).map(([key, id]) => [key, $(id).value])),
        current,
      );
      if ('error' in answer) return { error: answer.error, field: $(FIELDS[answer.field]) };
      return { value: answer.content };
    },
  }).finally(() => $('rules-links').removeEventListener('change', syncDomains));
}

/** "Edit content rules…": the editor, then the rules as a signed state event. */
async function editRules() {
  const room = state.active;
  const content = await askRules(currentRules());
  if (content === null) return;
  await perform('The content rules are saved; every node applies them.', () =>
    act(room, { action: 'content_rules', rules: content }, { kind: 'room.content_rules', stateKey: '', content: (c) => cborEqual(c, content) }),
  );
}

/** Locks `room` down: slow mode (remembering what to restore), then invite only. */
async function lockRoom(room) {
  await act(
    room,
    { action: 'lockdown', part: 'content_rules', slow_mode_ms: LOCKDOWN_SLOW_MODE_MS },
    { kind: 'room.content_rules', stateKey: '', content: (c) => c.slow_mode_ms === LOCKDOWN_SLOW_MODE_MS && typeof c.lockdown === 'object' },
  );
  await act(room, { action: 'lockdown', part: 'join_rules' }, { kind: 'room.join_rules', stateKey: '', content: (c) => c.join_rule === 'invite' });
}

/** "Lock down this room…". */
async function lockdownRoom() {
  const room = state.active;
  const answer = await askConfirm({
    title: 'Lock down this room',
    text: 'Only invited people may join, and everyone may send one message every 30 seconds, until you lift the lockdown.',
    ok: 'Lock down',
  });
  if (answer !== 'ok') return;
  await perform('The room is locked down: invite only, slow mode 30 s.', () => lockRoom(room));
}

/** "Lock down all my rooms…": every joined room where the moderator's power allows it. */
async function lockdownAll() {
  const rooms = [...state.rooms.values()].filter((info) => moderatorRights(info).lockdown && !info.content_rules?.lockdown);
  const answer = await askConfirm({
    title: 'Lock down all your rooms',
    text: `${rooms.length} room${rooms.length === 1 ? '' : 's'} where you may do it: only invited people may join, and everyone may send one message every 30 seconds.`,
    ok: `Lock down ${rooms.length}`,
  });
  if (answer !== 'ok') return;
  const failed = [];
  await perform(`${rooms.length} room${rooms.length === 1 ? ' is' : 's are'} locked down.`, async () => {
    for (const info of rooms) {
      try {
        await lockRoom(info.room);
      } catch (error) {
        failed.push(`${roomLabel(info)} (${error.reason ?? error.message})`);
      }
    }
    if (failed.length) throw new Error(`Not locked down: ${failed.join(', ')}`);
  });
}

/** "Lift the lockdown": the join rule and slow mode as they were. */
async function liftLockdown() {
  const room = state.active;
  await perform('The lockdown is lifted: the join rule and slow mode are as they were.', async () => {
    await act(room, { action: 'unlock', part: 'join_rules' }, { kind: 'room.join_rules', stateKey: '' });
    await act(room, { action: 'unlock', part: 'content_rules' }, { kind: 'room.content_rules', stateKey: '', content: (c) => c.lockdown === undefined });
  });
}

/** Binds the tab's buttons. */
export function bindRulesTab() {
  $('rules-edit').addEventListener('click', editRules);
  $('lockdown-room').addEventListener('click', lockdownRoom);
  $('lockdown-all').addEventListener('click', lockdownAll);
  $('lockdown-lift').addEventListener('click', liftLockdown);
  bindTrustSection();
}
