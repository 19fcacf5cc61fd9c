// Causerie web client: typing indicators (specs/client-api.md, "Signals"). While the user types,
// the node is told at most every TYPING_REFRESH_MS (it forgets a typing state after 6 s without
// a refresh), and told they stopped when the text is sent, emptied or left alone for
// TYPING_IDLE_MS. Pure (no DOM, no network): composer.js sends what it says; checked by
// tests/client_unit.mjs.

/** A typing state is refreshed this often while the user keeps typing (the node wants ≤ 4 s). */
export const TYPING_REFRESH_MS = 3000;
/** With no key pressed for this long, the user counts as no longer typing. */
export const TYPING_IDLE_MS = 5000;
/** Names listed in the indicator; beyond, "N people are typing". */
const MAX_TYPING_NAMES = 3;

/** What to tell the node, given keystrokes: `true` (typing), `false` (stopped) or null (nothing). */
export class TypingThrottle {
  constructor() {
    this.typing = false;
    this.sentAt = 0;
  }

  /** The text changed at `now`; `hasText`: the composer is not empty. */
  input(now, hasText) {
    if (!hasText) return this.stop();
    if (this.typing && now - this.sentAt < TYPING_REFRESH_MS) return null;
    this.typing = true;
    this.sentAt = now;
    return true;
  }

  /** The user sent, emptied or left the text: `false` once, if the node thinks they type. */
  stop() {
    if (!this.typing) return null;
    this.typing = false;
    return false;
  }
}

/** The indicator's words for `users` (`{user, handle}`, the user themselves left out), or ''. */
export function typingText(users, me, nameOf) {
  const names = users.filter((u) => u.user !== me).map((u) => nameOf(u));
  if (!names.length) return '';
  if (names.length === 1) return `${names[0]} is typing…`;
  if (names.length > MAX_TYPING_NAMES) return `${names.length} people are typing…`;
  return `${names.slice(0, -1).join(', ')} and ${names[names.length - 1]} are typing…`;
}
