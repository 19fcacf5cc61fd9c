// Causerie web client: the directory of public rooms on this node.

import { $, h, showError } from './dom.js';
import { joinRoom, roomLabel, setActive } from './rooms.js';
import { call } from './session.js';
import { state } from './state.js';

let directoryShown = '';

/** Fetches and shows the public rooms (only when they changed). */
export async function loadDirectory() {
  try {
    const response = await call('GET', '/directory');
    // Re-render only on change, so a button is not replaced under the user's pointer.
    const joinedIds = [...state.rooms].filter(([, info]) => info.membership === 'join').map(([id]) => id);
    const signature = JSON.stringify([response.rooms, joinedIds]);
    if (signature === directoryShown) return;
    directoryShown = signature;
    const items = (response.rooms || []).map((info) => {
      const joined = state.rooms.get(info.room)?.membership === 'join';
      const button = h('button', {
        className: 'small',
        type: 'button',
        text: joined ? 'Open' : 'Join',
        attrs: { 'aria-label': `${joined ? 'Open' : 'Join'} ${roomLabel(info)}` },
      });
      button.addEventListener('click', async () => {
        if (joined) {
          setActive(info.room, { focus: true });
          return;
        }
        button.disabled = true;
        showError('directory-error', null);
        try {
          await joinRoom(info.room);
          loadDirectory();
        } catch (error) {
          showError('directory-error', error);
        } finally {
          button.disabled = false;
        }
      });
      return h(
        'li',
        { className: 'directory-item', data: { roomId: info.room } },
        h(
          'div',
          { className: 'directory-text' },
          h('span', { className: 'room-name', text: roomLabel(info) }),
          h('span', { className: 'hint', text: `${info.members} member${info.members === 1 ? '' : 's'}${info.topic ? ` · ${info.topic}` : ''}` }),
        ),
        button,
      );
    });
    $('directory').replaceChildren(...items);
    if (!items.length) $('directory').append(h('li', { className: 'hint', text: 'No public rooms on this node yet.' }));
    showError('directory-error', null);
  } catch (error) {
    showError('directory-error', error);
  }
}

/** Binds the directory's Refresh button. */
export function bindDirectory() {
  $('refresh-directory').addEventListener('click', loadDirectory);
}
