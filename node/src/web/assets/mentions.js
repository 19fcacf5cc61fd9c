// Causerie web client: `@handle` mentions. Finding them in text (for highlighting), the
// `mentions` list a message carries (specs/rooms.md §1: the keys of the members it names, at
// most MAX_MENTIONS), and the completion offered while typing `@…` in the composer. Pure (no
// DOM), checked by tests/client_unit.mjs.

/** Most user keys one message's `mentions` may list (specs/rooms.md §1). */
export const MAX_MENTIONS = 32;
/** Most completions offered at once. */
export const MAX_COMPLETIONS = 8;

/** A handle (specs/identity.md): lower-case letters, digits, `.`, `_`, `-`, not first. */
const MENTION = /(^|[^A-Za-z0-9_.@-])@([a-z0-9][a-z0-9._-]{0,63})/g;

/**
 * The `@handle` mentions in `text`: `{handle, start, end}` (start at the `@`), a trailing
 * `.`, `-` or `_` (the end of a sentence) left out.
 */
export function mentionTokens(text) {
  const out = [];
  for (const match of String(text).matchAll(MENTION)) {
    const handle = match[2].replace(/[._-]+$/, '');
    if (!handle) continue;
    const start = match.index + match[1].length;
    out.push({ handle, start, end: start + 1 + handle.length });
  }
  return out;
}

/**
 * The user keys a message with `body` mentions: the members (`{user, handle}`) named by an
 * `@handle` of the body outside code, in order of first mention, at most MAX_MENTIONS.
 */
export function mentionsFor(body, members) {
  const byHandle = new Map();
  for (const member of members) if (member.handle) byHandle.set(member.handle, member.user);
  const withoutCode = String(body).replace(/```[\s\S]*?(```|$)|`[^`\n]*`/g, ' ');
  const users = [];
  for (const { handle } of mentionTokens(withoutCode)) {
    const user = byHandle.get(handle);
    if (user && !users.includes(user)) users.push(user);
    if (users.length === MAX_MENTIONS) break;
  }
  return users;
}

/**
 * What is being completed at `caret` in `text`: `{kind: 'mention'|'emoji', query, start}` for an
 * `@…` or `:…` word that ends at the caret, else null.
 */
export function completionAt(text, caret) {
  const before = String(text).slice(0, caret);
  const mention = /(^|[\s(])@([a-z0-9._-]{0,64})$/i.exec(before);
  if (mention) return { kind: 'mention', query: mention[2].toLowerCase(), start: caret - mention[2].length - 1 };
  const emoji = /(^|[\s(]):([a-z0-9_+-]{2,32})$/i.exec(before);
  if (emoji) return { kind: 'emoji', query: emoji[2].toLowerCase(), start: caret - emoji[2].length - 1 };
  return null;
}

/**
 * The members to offer for `@query`: handles starting with it first, then handles or display
 * names containing it; never the user themselves; at most MAX_COMPLETIONS.
 */
export function mentionCandidates(query, members, me) {
  const q = query.toLowerCase();
  const scored = [];
  for (const member of members) {
    if (!member.handle || member.user === me) continue;
    const name = (member.display_name || '').toLowerCase();
    const score = member.handle.startsWith(q) ? 0 : member.handle.includes(q) || name.includes(q) ? 1 : -1;
    if (score >= 0) scored.push([score, member]);
  }
  scored.sort((a, b) => a[0] - b[0] || (a[1].handle < b[1].handle ? -1 : 1));
  return scored.slice(0, MAX_COMPLETIONS).map(([, member]) => member);
}

/** `text` with the word from `start` to `caret` replaced by `insert` and a space: {text, caret}. */
export function applyCompletion(text, start, caret, insert) {
  const after = text.slice(caret);
  const spaced = after.startsWith(' ') ? insert : `${insert} `;
  return { text: text.slice(0, start) + spaced + after, caret: start + spaced.length };
}
