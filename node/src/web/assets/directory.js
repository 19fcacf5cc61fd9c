// Causerie web client: the directory of public rooms (specs/client-api.md, "Directory"), its
// own view (a panel dialog): the rooms this node holds, then the rooms other nodes announce,
// each with its member count, alias and home server. Joining a room held here names the room;
// a room held elsewhere is joined through the invite link its entry carries (the node reaches
// the room through the addresses in it). The directory's origins also name the nodes that
// members are homed on (members.js).

import { openPanelDialog } from './dialogs.js';
import { $, h, showPlainError } from './dom.js';
import { joinRoom, roomLabel, setActive } from './rooms.js';
import { call } from './session.js';
import { state } from './state.js';

/** The last directory answer. */
let listed = [];
let directoryShown = '';

/** Remembers the server names of the nodes the directory names (for member lines). */
function learnNodeNames(response) {
  for (const info of response.rooms || []) {
    for (const origin of Array.isArray(info.origins) ? info.origins : []) {
      if (typeof origin?.node === 'string' && typeof origin.server === 'string') state.nodeNames.set(origin.node, origin.server);
    }
  }
  if (typeof response.server === 'string') state.nodeNames.set('self', response.server);
}

/** Whether the user is a member of the listed room. */
function joined(info) {
  return state.rooms.get(info.room)?.membership === 'join' || info.joined === true;
}

/** Joins a listed room: by its id when this node holds it, else through its invite link. */
async function joinListed(info, button) {
  button.disabled = true;
  showPlainError('directory-error', null);
  $('directory-summary').textContent = `Joining ${roomLabel(info)}…`;
  try {
    const target = info.held === false && info.link ? { link: info.link } : { room: info.room };
    const result = await joinRoom(target, { focus: true });
    if (result.knocked) {
      $('directory-summary').textContent = result.knocked;
      setActive(result.room);
    }
    loadDirectory();
  } catch (error) {
    $('directory-summary').textContent = '';
    showPlainError('directory-error', error);
  } finally {
    button.disabled = false;
  }
}

/** Where a listed room lives, in words: "on this node", "from example.org". */
function whereText(info) {
  if (info.held !== false) return 'on this node';
  const server = (Array.isArray(info.origins) ? info.origins : []).map((o) => o?.server).find((s) => typeof s === 'string');
  return server ? `from ${server}` : 'from another node';
}

/** Shows the listed rooms that match the filter. */
function renderDirectory() {
  const filter = $('directory-filter').value.trim().toLowerCase();
  const shown = listed.filter((info) => !filter || [info.name, info.topic, info.alias].some((t) => typeof t === 'string' && t.toLowerCase().includes(filter)));
  const items = shown.map((info) => {
    const isMember = joined(info);
    const label = roomLabel(info);
    const button = h('button', {
      className: `small${isMember ? '' : ' primary'}`,
      type: 'button',
      text: isMember ? 'Open' : 'Join',
      attrs: { 'aria-label': `${isMember ? 'Open' : 'Join'} ${label}` },
    });
    button.addEventListener('click', () => {
      if (isMember) {
        $('directory-dialog').close();
        setActive(info.room, { focus: true });
      } else {
        joinListed(info, button);
      }
    });
    const members = Number.isSafeInteger(info.members) ? `${info.members} member${info.members === 1 ? '' : 's'}` : '';
    return h(
      'li',
      { className: 'directory-item', data: { roomId: info.room, held: String(info.held !== false) } },
      h(
        'div',
        { className: 'directory-text' },
        h('span', { className: 'room-name', text: label }),
        h('span', { className: 'hint', text: [info.alias, members, whereText(info)].filter(Boolean).join(' · ') }),
        info.topic ? h('span', { className: 'hint directory-topic', text: info.topic }) : null,
      ),
      button,
    );
  });
  $('directory').replaceChildren(...items);
  if (!listed.length) $('directory').append(h('li', { className: 'hint', text: 'No public rooms are known here yet.' }));
  else if (!items.length) $('directory').append(h('li', { className: 'hint', text: 'No public room matches.' }));
  $('directory-summary').textContent = listed.length ? `${listed.length} public room${listed.length === 1 ? '' : 's'}` : '';
}

/** Fetches the public rooms and shows them (only when they changed). */
export async function loadDirectory() {
  try {
    const response = await call('GET', '/directory');
    learnNodeNames(response);
    listed = Array.isArray(response.rooms) ? response.rooms : [];
    // Re-render only on change, so a button is not replaced under the user's pointer.
    const joinedIds = [...state.rooms].filter(([, info]) => info.membership === 'join').map(([id]) => id);
    const signature = JSON.stringify([listed, joinedIds, $('directory-filter').value]);
    if (signature === directoryShown) return;
    directoryShown = signature;
    renderDirectory();
    showPlainError('directory-error', null);
  } catch (error) {
    showPlainError('directory-error', error);
  }
}

/** Opens the public rooms, fetched afresh. */
export function openDirectory() {
  directoryShown = '';
  loadDirectory();
  return openPanelDialog('directory', $('directory-filter'));
}

/** Binds the directory's buttons and filter. */
export function bindDirectory() {
  $('directory-open').addEventListener('click', () => openDirectory());
  $('refresh-directory').addEventListener('click', () => {
    directoryShown = '';
    loadDirectory();
  });
  $('directory-filter').addEventListener('input', renderDirectory);
}
