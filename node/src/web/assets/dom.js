// Causerie web client: DOM helpers. Everything that comes from the network is rendered with
// createElement and textContent (h() below), never parsed as HTML, so message bodies, names and
// topics can only ever be text. Also the focus helpers behind the dialogs' and drawers' Tab traps.

import { errorText, plainError } from './text.js';

/** What can take keyboard focus, for the focus traps of dialogs and drawers. */
const FOCUSABLE =
  'a[href], button:not([disabled]), input:not([disabled]), select:not([disabled]), textarea:not([disabled]), [tabindex]:not([tabindex="-1"])';

/** Devices whose text fields pop an on-screen keyboard: no focus on the composer at first paint. */
const TOUCH_ONLY_QUERY = '(hover: none) and (pointer: coarse)';

/** The element with id `id` (the page's ids are its DOM contract, see node/src/web.rs). */
export const $ = (id) => document.getElementById(id);

/** Creates an element: `h('li', {className: 'x', text: 'y', data: {a: 'b'}, attrs: {...}}, ...children)`. */
export function h(tag, props = {}, ...children) {
  const element = document.createElement(tag);
  if (props.className) element.className = props.className;
  if (props.text !== undefined) element.textContent = props.text;
  if (props.data) for (const [k, v] of Object.entries(props.data)) element.dataset[k] = v;
  if (props.attrs) for (const [k, v] of Object.entries(props.attrs)) element.setAttribute(k, v);
  if (props.type) element.type = props.type;
  if (props.onClick) element.addEventListener('click', props.onClick);
  for (const child of children) if (child) element.append(child);
  return element;
}

/** Shows `error` (or nothing, for null) in the error line `#id`. */
export function showError(id, error) {
  const element = $(id);
  element.textContent = error ? errorText(error) : '';
}

/**
 * Shows `error` (or nothing, for null) in plain words in `#id`, and its reason name in the
 * details line `#<id>-detail` (hidden when empty).
 */
export function showPlainError(id, error) {
  const plain = error ? plainError(error) : { words: '', detail: '' };
  $(id).textContent = plain.words;
  const detail = $(`${id}-detail`);
  detail.textContent = plain.detail ? `Details: ${plain.detail}` : '';
  detail.hidden = !plain.detail;
}

/** The elements of `container` that take keyboard focus and are shown. */
export function focusableIn(container) {
  return [...container.querySelectorAll(FOCUSABLE)].filter((element) => element.getClientRects().length > 0);
}

/** Keeps Tab and Shift+Tab cycling inside `container` (a modal dialog or an open drawer). */
export function trapTab(e, container) {
  if (e.key !== 'Tab') return;
  const items = focusableIn(container);
  if (!items.length) {
    e.preventDefault();
    return;
  }
  const first = items[0];
  const last = items[items.length - 1];
  const inside = container.contains(document.activeElement);
  if (e.shiftKey && (!inside || document.activeElement === first)) {
    e.preventDefault();
    last.focus();
  } else if (!e.shiftKey && (!inside || document.activeElement === last)) {
    e.preventDefault();
    first.focus();
  }
}

/** Whether `element` can take the focus back (still in the page, shown and enabled). */
export function canFocus(element) {
  return Boolean(element) && element !== document.body && element.isConnected && !element.disabled && element.getClientRects().length > 0;
}

/** Whether this device pops an on-screen keyboard over the page when a text field takes focus. */
export function isTouchOnly() {
  return window.matchMedia(TOUCH_ONLY_QUERY).matches;
}
