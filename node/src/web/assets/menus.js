// Causerie web client: popup menus of actions ("⋯" buttons). One menu is open at a time.

import { h } from './dom.js';
import { state } from './state.js';

/** A "⋯" button with a popup menu of actions; Escape or a click elsewhere closes it. */
export function menuFor(label, items) {
  const wrapper = h('div', { className: 'menu-wrapper' });
  const menu = h('div', { className: 'menu', attrs: { role: 'menu' } });
  menu.hidden = true;
  const button = h('button', {
    className: 'menu-button',
    type: 'button',
    text: '⋯',
    attrs: { 'aria-label': label, 'aria-haspopup': 'menu', 'aria-expanded': 'false' },
  });
  button.addEventListener('click', (e) => {
    e.stopPropagation();
    if (state.openMenu?.menu === menu) closeMenu(true);
    else openMenu(menu, button);
  });
  for (const item of items) {
    menu.append(
      h('button', {
        className: `menu-item${item.danger ? ' danger' : ''}`,
        type: 'button',
        text: item.label,
        attrs: { role: 'menuitem' },
        onClick: (e) => {
          e.stopPropagation();
          // The item disappears with the menu: its button is where the focus returns after
          // the dialog the action may open.
          closeMenu(true);
          item.run();
        },
      }),
    );
  }
  menu.addEventListener('keydown', (e) => {
    const entries = [...menu.querySelectorAll('.menu-item')];
    const at = entries.indexOf(document.activeElement);
    if (e.key === 'ArrowDown') entries[(at + 1) % entries.length].focus();
    else if (e.key === 'ArrowUp') entries[(at - 1 + entries.length) % entries.length].focus();
    else return;
    e.preventDefault();
  });
  wrapper.append(button, menu);
  return wrapper;
}

/** Opens `menu` (closing any other) with the focus on its first item. */
function openMenu(menu, button) {
  closeMenu(false);
  menu.hidden = false;
  button.setAttribute('aria-expanded', 'true');
  state.openMenu = { menu, button };
  menu.querySelector('.menu-item')?.focus();
}

/** Closes the open menu; returns whether one was open. */
export function closeMenu(restoreFocus) {
  const open = state.openMenu;
  if (!open) return false;
  open.menu.hidden = true;
  open.button.setAttribute('aria-expanded', 'false');
  state.openMenu = null;
  if (restoreFocus) open.button.focus();
  return true;
}
