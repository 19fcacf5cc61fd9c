// Causerie web client: the layout. On narrow screens the room list and the member list are
// drawers over the conversation. Keyboard: modal dialogs and the drawers shown over the
// conversation keep Tab inside them; Escape closes the innermost thing (menu, dialog, drawer)
// and the focus goes back to the control that opened it.

import { $, canFocus, focusableIn, trapTab } from './dom.js';
import { closeMenu } from './menus.js';
import { state } from './state.js';

/** Opens or closes the drawer `id` and its toggle's state; an opened drawer takes the focus. */
function setDrawer(id, toggleId, open) {
  $(id).classList.toggle('open', open);
  $(toggleId).setAttribute('aria-expanded', String(open));
  const anyOpen = $('sidebar').classList.contains('open') || $('members-panel').classList.contains('open');
  $('scrim').hidden = !anyOpen;
  document.body.classList.toggle('drawer-open', anyOpen);
  if (open) {
    state.drawerOpener = $(toggleId);
    // In the room list, the keyboard starts on the open room, where a reader's eyes go.
    ($(id).querySelector('.room-item.active .room-button') ?? focusableIn($(id))[0])?.focus();
  }
}

/** Closes the drawers; with `restoreFocus`, the focus returns to the toggle that opened one. */
export function closeDrawers(restoreFocus = false) {
  const wasOpen = $('sidebar').classList.contains('open') || $('members-panel').classList.contains('open');
  setDrawer('sidebar', 'toggle-sidebar', false);
  setDrawer('members-panel', 'toggle-members', false);
  const opener = state.drawerOpener;
  state.drawerOpener = null;
  if (wasOpen && restoreFocus && canFocus(opener)) opener.focus();
  return wasOpen;
}

/** The drawer shown over the conversation (narrow screens), or null. */
function overlayDrawer() {
  for (const id of ['sidebar', 'members-panel']) {
    const drawer = $(id);
    if (drawer.classList.contains('open') && getComputedStyle(drawer).position === 'absolute') return drawer;
  }
  return null;
}

/** Binds the drawer toggles and the page-wide keys (Tab in drawers, Escape) and clicks. */
export function bindLayout() {
  $('toggle-sidebar').addEventListener('click', () => {
    const open = !$('sidebar').classList.contains('open');
    setDrawer('members-panel', 'toggle-members', false);
    setDrawer('sidebar', 'toggle-sidebar', open);
  });
  $('toggle-members').addEventListener('click', () => {
    const open = !$('members-panel').classList.contains('open');
    setDrawer('sidebar', 'toggle-sidebar', false);
    setDrawer('members-panel', 'toggle-members', open);
  });
  $('scrim').addEventListener('click', () => closeDrawers(true));
  for (const dialog of document.querySelectorAll('dialog')) dialog.addEventListener('keydown', (e) => trapTab(e, dialog));
  document.addEventListener('keydown', (e) => {
    // A modal dialog handles its own keys (its Tab trap above; Escape is its cancel).
    if (document.querySelector('dialog[open]')) return;
    if (e.key === 'Tab') {
      const drawer = overlayDrawer();
      if (drawer) trapTab(e, drawer);
      return;
    }
    if (e.key !== 'Escape') return;
    if (closeMenu(true)) return;
    closeDrawers(true);
  });
  document.addEventListener('click', (e) => {
    const open = state.openMenu;
    if (open && !open.menu.contains(e.target) && !open.button.contains(e.target)) closeMenu(false);
  });
}
