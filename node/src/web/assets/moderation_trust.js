// Causerie web client: "Who may join" in the moderator panel's rules tab (specs/accountability.md
// §8.1). It shows the room's join rule, its least assurance and its two lists of home nodes
// (from RoomInfo's `join_rules`): the allowlist (when not empty, only attestations by these
// nodes admit a join) and the denylist (attestations by these nodes never do). Each node key is
// shown shortened, with the full key in its title and a Copy button. A moderator whose power
// reaches the room's level for `room.join_rules` changes the rule, adds a node (a 64-hex node
// key, or "This node": the key of the node serving this page) or removes one; each change is one
// `join_rule` action carrying the whole new rules, checked and signed like every action
// (session.js). Others see the section read-only. Refusals are told in plain words. A rule chosen
// and not yet saved stays shown when the room's details are refreshed meanwhile.

import { runDialog } from './dialogs.js';
import { $, h, showPlainError } from './dom.js';
import * as keys from './keys.js';
import { keepingFocus, renderModerationPanel } from './moderation_panel.js';
import { scheduleActiveInfoRefresh } from './rooms.js';
import { act, call } from './session.js';
import { state } from './state.js';
import { shortKey } from './text.js';

/** Most node keys in each list (the room rule's MAX_ALLOWED_ATTESTERS and MAX_DENIED_ATTESTERS). */
export const MAX_ATTESTERS = 256;

/** The two lists: the RoomInfo/action key and how the page words them. */
const LISTS = {
  allowed: { key: 'allowed_attesters', title: 'Accept only this home node', added: 'is on the allowlist', removed: 'is off the allowlist' },
  denied: { key: 'denied_attesters', title: 'Never accept this home node', added: 'is on the denylist', removed: 'is off the denylist' },
};

/** The join rules in words (the options of `#join-rule-select`). */
const RULE_WORDS = {
  public: 'anyone',
  invite: 'invited people only',
  knock: 'people who ask, once let in',
  attested: 'people vouched for by an accepted home node',
};

/** The key of the node serving this page, once asked, and whether it was asked. */
let thisNode = null;
let askedNode = false;

/**
 * The rule and least assurance the moderator chose and has not saved yet, with their room: a
 * refresh of the room's details (a member joined, an event arrived) redraws the section but
 * keeps this choice, which "Save join rule" then saves as it is shown. Null when none.
 */
let unsaved = null;

/** The key of the node serving this page (`GET /api/v1/node`). */
async function nodeKey() {
  if (!thisNode) {
    const info = await call('GET', '/node');
    if (typeof info?.node_key !== 'string' || !/^[0-9a-f]{64}$/.test(info.node_key)) throw new Error('the node did not say its key');
    thisNode = info.node_key;
  }
  return thisNode;
}

/** The active room's join rules, lists as arrays of lowercase hex keys. */
function currentRules() {
  const rules = state.activeInfo?.join_rules ?? {};
  const list = (value) => (Array.isArray(value) ? value.filter((k) => typeof k === 'string') : []);
  return {
    join_rule: rules.join_rule ?? state.activeInfo?.join_rule ?? 'invite',
    min_assurance: Number.isSafeInteger(rules.min_assurance) ? rules.min_assurance : 0,
    allowed: list(rules.allowed_attesters),
    denied: list(rules.denied_attesters),
  };
}

/** Whether a list of byte strings from a draft holds exactly the hex keys `expected`. */
function sameKeys(value, expected) {
  const got = value === undefined ? [] : value;
  if (!Array.isArray(got) || got.length !== expected.length || !got.every((k) => k instanceof Uint8Array)) return false;
  const hex = got.map((k) => keys.bytesToHex(k)).sort();
  return [...expected].sort().every((k, i) => k === hex[i]);
}

/** Says what was done, or shows the refusal in plain words. */
function say(done, error = null) {
  $('join-trust-status').textContent = error ? '' : done ?? '';
  showPlainError('join-trust-error', error);
}

/**
 * Saves `rules` (the whole new join rules) as one signed `join_rule` action; whether the node
 * took it.
 */
async function save(rules, done) {
  const room = state.active;
  say(null);
  const action = {
    action: 'join_rule',
    join_rule: rules.join_rule,
    min_assurance: rules.min_assurance,
    allowed_attesters: rules.allowed,
    denied_attesters: rules.denied,
  };
  try {
    await act(room, action, {
      kind: 'room.join_rules',
      stateKey: '',
      content: (c) =>
        c.join_rule === rules.join_rule &&
        c.min_assurance === rules.min_assurance &&
        sameKeys(c.allowed_attesters, rules.allowed) &&
        sameKeys(c.denied_attesters, rules.denied),
    });
    // The node took it: the next change starts from these rules, not from the room's details
    // as they were before (their refresh comes a moment later).
    if (state.active === room && state.activeInfo) {
      state.infoEdits += 1;
      state.activeInfo.join_rule = rules.join_rule;
      state.activeInfo.join_rules = {
        join_rule: rules.join_rule,
        min_assurance: rules.min_assurance,
        allowed_attesters: [...rules.allowed].sort(),
        denied_attesters: [...rules.denied].sort(),
      };
      renderModerationPanel();
    }
    say(done);
    return true;
  } catch (error) {
    say(null, error);
    return false;
  } finally {
    scheduleActiveInfoRefresh();
  }
}

/** A node key as people read it: shortened, "this node" when it is. */
function nodeName(key) {
  return key === thisNode ? `${shortKey(key)} (this node)` : shortKey(key);
}

/** Asks for a node key to add to list `name`; resolves to the key (lowercase hex) or null. */
function askAttester(name, current) {
  const input = $('attester-key');
  const fill = $('attester-this-node');
  input.value = '';
  $('attester-title').textContent = LISTS[name].title;
  $('attester-text').textContent =
    name === 'denied'
      ? 'Users vouched for by this home node can no longer join (members already in the room stay).'
      : 'Once the allowlist is not empty, only users vouched for by a home node on it can join.';
  const onFill = async () => {
    try {
      input.value = await nodeKey();
      $('attester-error').textContent = '';
    } catch (error) {
      showPlainError('attester-error', error);
    }
    input.focus();
  };
  fill.addEventListener('click', onFill);
  return runDialog('attester', {
    focus: input,
    check: () => {
      const key = input.value.trim().toLowerCase();
      if (!/^[0-9a-f]{64}$/.test(key)) return { error: 'A node key is 64 hex digits (0–9 and a–f).', field: input };
      if (current[name].includes(key)) return { error: 'This home node is already on the list.', field: input };
      if (current[name].length >= MAX_ATTESTERS) return { error: `The list is full: at most ${MAX_ATTESTERS} home nodes.`, field: input };
      return { value: key };
    },
  }).finally(() => fill.removeEventListener('click', onFill));
}

/** "Add to the …list…". */
async function addAttester(name) {
  const current = currentRules();
  // Know this node's key first, so that the list can name it.
  await nodeKey().catch(() => null);
  const key = await askAttester(name, current);
  if (key === null) return;
  const rules = { ...current, [name]: [...current[name], key] };
  await save(rules, `${nodeName(key)} ${LISTS[name].added}.`);
}

/** "Remove" on a list's node. */
async function removeAttester(name, key) {
  const current = currentRules();
  const rules = { ...current, [name]: current[name].filter((k) => k !== key) };
  await save(rules, `${nodeName(key)} ${LISTS[name].removed}.`);
}

/** "Save join rule": the rule and least assurance chosen, the lists kept. */
async function saveRule() {
  const current = currentRules();
  const rule = $('join-rule-select').value;
  const rules = { ...current, join_rule: rule, min_assurance: Number($('join-min-assurance').value) };
  // Kept while the node answers (a refresh meanwhile still shows it) and after a refusal, so
  // that the moderator can try again.
  if (await save(rules, `The join rule is saved: ${RULE_WORDS[rule]} may join.`)) unsaved = null;
}

/** Keeps the choice being made in the rule and least-assurance controls (see `unsaved`). */
function noteChoice() {
  unsaved = { room: state.active, rule: $('join-rule-select').value, least: $('join-min-assurance').value };
  $('join-min-assurance').disabled = unsaved.rule !== 'attested';
}

/** Copies `key` to the clipboard, saying so on `button`. */
async function copyKey(button, key) {
  try {
    await navigator.clipboard.writeText(key);
    button.textContent = 'Copied';
    setTimeout(() => (button.textContent = 'Copy'), 1500);
  } catch {
    say(`Node key: ${key}`);
  }
}

/** One node of list `name`. */
function attesterRow(name, key, may) {
  const row = h(
    'li',
    { className: 'attester', data: { node: key, key } },
    h('span', { className: 'mono attester-key', text: nodeName(key), attrs: { title: key } }),
  );
  const copy = h('button', { type: 'button', className: 'small', text: 'Copy', attrs: { 'aria-label': `Copy node key ${key}` } });
  copy.addEventListener('click', () => copyKey(copy, key));
  row.append(copy);
  if (may) row.append(h('button', { type: 'button', className: 'small danger', text: 'Remove', onClick: () => removeAttester(name, key) }));
  return row;
}

/** Shows the join rule and both lists; the controls only to those who may change them. */
export function renderTrustSection(rights) {
  const rules = currentRules();
  const may = Boolean(rights.join);
  if (!askedNode) {
    // Once known, the lists can name this node.
    askedNode = true;
    nodeKey()
      .then(() => renderTrustSection(rights))
      .catch(() => {});
  }
  const select = $('join-rule-select');
  const least = $('join-min-assurance');
  // A choice being made is not undone by a refresh.
  if (unsaved?.room !== state.active) unsaved = null;
  select.value = unsaved?.rule ?? rules.join_rule;
  least.value = unsaved?.least ?? String(rules.min_assurance);
  select.disabled = !may;
  least.disabled = !may || select.value !== 'attested';
  $('join-rule-save').hidden = !may;
  $('attesters-allowed-add').hidden = !may;
  $('attesters-denied-add').hidden = !may;
  const notes = [];
  if (rules.join_rule !== 'attested') {
    notes.push('The lists apply only with the join rule “people vouched for by an accepted home node”; invited people always get in.');
  }
  if (!rules.allowed.length) notes.push('The allowlist is empty: every home node not denied is accepted.');
  if (!may) notes.push('Only members with the power to change the join rules may change these.');
  $('join-trust-note').textContent = notes.join(' ');
  for (const name of Object.keys(LISTS)) {
    const list = $(`attesters-${name}`);
    keepingFocus(list, () =>
      rules[name].length ? rules[name].map((key) => attesterRow(name, key, may)) : [h('li', { className: 'hint', text: 'none' })],
    );
  }
}

/** Binds the section's controls. */
export function bindTrustSection() {
  $('join-rule-select').addEventListener('change', noteChoice);
  $('join-min-assurance').addEventListener('change', noteChoice);
  $('join-rule-save').addEventListener('click', saveRule);
  $('attesters-allowed-add').addEventListener('click', () => addAttester('allowed'));
  $('attesters-denied-add').addEventListener('click', () => addAttester('denied'));
}
