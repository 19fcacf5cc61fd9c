// Causerie web client: message bodies as rich text. A body is CommonMark (GFM flavour) source
// (specs/rooms.md §1); it is turned into HTML by marked (vendor/marked, a maintained parser),
// and that HTML goes through DOMPurify (vendor/dompurify) with a short allowlist before it
// becomes DOM: the one place the page turns a string into markup.
//
// What the renderer does on top of CommonMark, so a message can never fetch anything or run
// anything:
// - raw HTML in a body is shown as the text it is (escaped), never interpreted;
// - links keep only http, https and mailto targets, open in a new tab with
//   rel="noopener noreferrer" and get no preview (nothing is fetched from their host);
// - images are never loaded: `![alt](url)` becomes a link to the image;
// - task-list checkboxes become text; headings become bold paragraphs (a timeline has no
//   document outline);
// - `@handle` in text (not in code or links) becomes a `.mention`, `.mention.to-me` when it names
//   the user.

import { Marked } from './vendor/marked/marked.esm.js';
import './vendor/dompurify/purify.min.js';
import { mentionTokens } from './mentions.js';

/** DOMPurify's UMD build sets itself on the global object when loaded as a module. */
const purifier = globalThis.DOMPurify;

/** The only elements a rendered body may contain. */
const ALLOWED_TAGS = [
  'p', 'br', 'em', 'strong', 'del', 'code', 'pre', 'blockquote', 'ul', 'ol', 'li', 'a', 'hr',
  'table', 'thead', 'tbody', 'tr', 'th', 'td', 'span',
];
/** The only attributes (href is further limited to the schemes of SAFE_SCHEMES). */
const ALLOWED_ATTR = ['href', 'title', 'class', 'start'];
/** Link targets a body may have. */
const SAFE_SCHEMES = ['http:', 'https:', 'mailto:'];

const ESCAPES = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

/** `text` with the HTML special characters escaped. */
export function escapeHtml(text) {
  return String(text).replace(/[&<>"']/g, (c) => ESCAPES[c]);
}

/** The absolute http(s)/mailto URL `href` stands for, or null for any other target. */
export function safeUrl(href) {
  if (typeof href !== 'string' || !/^(https?:\/\/|mailto:)/i.test(href.trim())) return null;
  try {
    const url = new URL(href.trim());
    return SAFE_SCHEMES.includes(url.protocol) ? url.href : null;
  } catch {
    return null;
  }
}

const marked = new Marked({
  gfm: true,
  breaks: false,
  renderer: {
    html({ text, block }) {
      const shown = escapeHtml(block ? text.replace(/\n+$/, '') : text);
      return block ? `<p>${shown}</p>\n` : shown;
    },
    heading({ tokens }) {
      return `<p><strong>${this.parser.parseInline(tokens)}</strong></p>\n`;
    },
    checkbox({ checked }) {
      return checked ? '[x] ' : '[ ] ';
    },
    link({ href, title, tokens }) {
      const text = this.parser.parseInline(tokens);
      const url = safeUrl(href);
      if (!url) return text;
      const titled = title ? ` title="${escapeHtml(title)}"` : '';
      return `<a href="${escapeHtml(url)}"${titled}>${text}</a>`;
    },
    image({ href, text }) {
      const url = safeUrl(href);
      const label = `Image: ${text || 'no description'}`;
      if (!url) return escapeHtml(label);
      return `<a href="${escapeHtml(url)}" class="image-link">${escapeHtml(label)}</a>`;
    },
  },
});

/** Elements whose whitespace-only text children are only the source's line breaks. */
const BLOCK_CONTAINERS = new Set(['UL', 'OL', 'BLOCKQUOTE', 'TABLE', 'THEAD', 'TBODY', 'TR', 'LI']);

/** Wraps the `@handle`s of the text nodes under `root` (outside code and links) in spans. */
function markMentions(root, myHandle) {
  const walker = document.createTreeWalker(root, NodeFilter.SHOW_TEXT);
  const found = [];
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    if (node.parentElement?.closest('code, pre, a')) continue;
    if (node.data.includes('@')) found.push(node);
  }
  for (const node of found) {
    const tokens = mentionTokens(node.data);
    if (!tokens.length) continue;
    const parts = [];
    let at = 0;
    for (const token of tokens) {
      if (token.start > at) parts.push(document.createTextNode(node.data.slice(at, token.start)));
      const span = document.createElement('span');
      span.className = token.handle === myHandle ? 'mention to-me' : 'mention';
      span.textContent = node.data.slice(token.start, token.end);
      parts.push(span);
      at = token.end;
    }
    if (at < node.data.length) parts.push(document.createTextNode(node.data.slice(at)));
    node.replaceWith(...parts);
  }
}

/**
 * Text that Markdown leaves as it is: one line, no character with a meaning in Markdown or
 * HTML, nothing an autolink would catch, no surrounding spaces. Drawn without the parser and
 * the sanitizer (the common case, and a timeline draws many rows while it scrolls).
 */
const PLAIN = /^(?![\d+-])[^\n*_`~<>&#[\]!|\\@=]*$/;
const AUTOLINKED = /:\/\/|www\.|mailto:/i;

/** Whether `source` renders as one paragraph of exactly its own text. */
export function isPlainText(source) {
  return source.length > 0 && source === source.trim() && PLAIN.test(source) && !AUTOLINKED.test(source);
}

/** Rendered bodies by source and user handle (cloned for each use), the newest last. */
const rendered = new Map();
/** Bodies kept rendered: a screenful and its overscan, several times over. */
const MAX_RENDERED = 500;

/**
 * A message body as DOM: a fragment of sanitized rich text. `myHandle` (or null) marks the
 * mentions of the user.
 */
export function renderBody(source, myHandle) {
  const text = String(source ?? '');
  if (isPlainText(text)) {
    const p = document.createElement('p');
    p.textContent = text;
    return p;
  }
  const key = `${myHandle ?? ''}\u0000${text}`;
  let fragment = rendered.get(key);
  if (fragment) rendered.delete(key);
  else fragment = renderRich(text, myHandle);
  rendered.set(key, fragment);
  if (rendered.size > MAX_RENDERED) rendered.delete(rendered.keys().next().value);
  return fragment.cloneNode(true);
}

/** A body through the Markdown parser and the sanitizer. */
function renderRich(source, myHandle) {
  const html = marked.parse(source, { async: false });
  const fragment = purifier.sanitize(html, {
    ALLOWED_TAGS,
    ALLOWED_ATTR,
    ALLOWED_URI_REGEXP: /^(?:https?:|mailto:)/i,
    RETURN_DOM_FRAGMENT: true,
  });
  for (const link of fragment.querySelectorAll('a')) {
    if (!safeUrl(link.getAttribute('href'))) {
      link.replaceWith(...link.childNodes);
      continue;
    }
    link.target = '_blank';
    link.rel = 'noopener noreferrer';
  }
  for (const span of fragment.querySelectorAll('span:not(.mention)')) span.replaceWith(...span.childNodes);
  for (const element of fragment.querySelectorAll('[class]')) {
    if (element.className !== 'image-link') element.removeAttribute('class');
  }
  // The line breaks between blocks are not text: with `white-space: pre-wrap` (which keeps a
  // message's own line breaks) they would show as empty lines.
  for (const node of [...fragment.childNodes]) if (node.nodeType === Node.TEXT_NODE && !node.data.trim()) node.remove();
  for (const container of fragment.querySelectorAll([...BLOCK_CONTAINERS].join(', ').toLowerCase())) {
    for (const node of [...container.childNodes]) {
      if (node.nodeType === Node.TEXT_NODE && !node.data.trim()) node.remove();
    }
  }
  for (const code of fragment.querySelectorAll('pre > code')) {
    code.textContent = code.textContent.replace(/\n$/, '');
  }
  markMentions(fragment, myHandle);
  return fragment;
}

/** A body as one line of plain text (a reply's quote, a notification): the source, tidied. */
export function plainExcerpt(source, max = 200) {
  const text = String(source ?? '').replace(/\s+/g, ' ').trim();
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}
