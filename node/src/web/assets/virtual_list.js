// Causerie web client: a virtual list. Of a long list of rows of different heights, only those
// within OVERSCAN_PX of the viewport are in the DOM; the list's padding stands for the rest, so a
// room of 100,000 events scrolls as lightly as one of fifty (short lists are drawn whole). Heights are estimated until a row
// has been shown once, then measured; when a measurement moves rows above the viewport, the
// scroll position is corrected so what the user reads stays where it is. The window math is pure
// (checked by tests/client_unit.mjs); `VirtualList` applies it to the DOM.

/** Rows are kept in the DOM this far above and below the viewport. */
export const OVERSCAN_PX = 800;
/**
 * Lists of at most this many rows are drawn whole: cheap at that size, and the browser's own
 * find-in-page and a screen reader's browse mode then reach every row.
 */
export const MAX_WHOLE_ROWS = 200;
/** Most measure-and-correct passes per render (each pass can only reveal more rows). */
const MAX_RENDER_PASSES = 4;
/** A focused row stays in the DOM while it is at most this many rows outside the window. */
const MAX_PINNED_ROWS = 200;

/** Prefix sums of `heights`: offsets[i] is the top of row i, offsets[n] the total height. */
export function prefixOffsets(heights) {
  const offsets = new Float64Array(heights.length + 1);
  for (let i = 0; i < heights.length; i++) offsets[i + 1] = offsets[i] + heights[i];
  return offsets;
}

/** The row at height `y` (0 ≤ index < n; the first or last row outside the range; -1 if none). */
export function indexAt(offsets, y) {
  const n = offsets.length - 1;
  if (n <= 0) return -1;
  let low = 0;
  let high = n - 1;
  while (low < high) {
    const middle = (low + high + 1) >> 1;
    if (offsets[middle] <= y) low = middle;
    else high = middle - 1;
  }
  return low;
}

/** The rows `[start, end)` to have in the DOM for a viewport at `top` of `height`. */
export function visibleRange(offsets, top, height, overscan) {
  const n = offsets.length - 1;
  if (n <= 0) return { start: 0, end: 0 };
  if (n <= MAX_WHOLE_ROWS) return { start: 0, end: n };
  const start = Math.max(0, indexAt(offsets, top - overscan));
  const end = Math.min(n, indexAt(offsets, top + height + overscan) + 1);
  return { start, end };
}

/**
 * A virtual list inside `scroller` (the scrolling element), drawing into `list` (its child).
 * `render(row)` makes a row's element; `estimate(row)` guesses its height; `signature(row)`
 * changes when a shown row must be drawn again. Rows are `{key, …}` with unique keys.
 */
export class VirtualList {
  constructor({ scroller, list, render, estimate, signature }) {
    this.scroller = scroller;
    this.list = list;
    this.render = render;
    this.estimate = estimate;
    this.signature = signature;
    this.rows = [];
    this.indexByKey = new Map();
    /** Measured heights by row key (kept across setRows, so a row is measured once). */
    this.measured = new Map();
    this.heights = [];
    this.offsets = new Float64Array(1);
    /** Shown rows: key → {node, signature}. */
    this.shown = new Map();
    this.start = 0;
    this.end = 0;
  }

  /** The scroll position within the list (the scroller may hold more above it). */
  listTop() {
    return this.scroller.scrollTop - this.list.offsetTop;
  }

  /** Whether the viewport is within `slack` px of the bottom. */
  atBottom(slack) {
    const s = this.scroller;
    return s.scrollHeight - s.scrollTop - s.clientHeight <= slack;
  }

  /**
   * Replaces the rows. The view follows the bottom when `keepBottom`, else the row at the top
   * of the viewport keeps its place on screen.
   */
  setRows(rows, { keepBottom = false } = {}) {
    const anchor = keepBottom ? null : this.anchor();
    this.rows = rows;
    this.indexByKey = new Map();
    for (let i = 0; i < rows.length; i++) this.indexByKey.set(rows[i].key, i);
    this.heights = rows.map((row) => this.measured.get(row.key) ?? this.estimate(row));
    this.offsets = prefixOffsets(this.heights);
    this.update(anchor, keepBottom);
  }

  /** The row at the top of the viewport and how far into it the viewport starts. */
  anchor() {
    const index = indexAt(this.offsets, this.listTop());
    if (index < 0 || !this.rows[index]) return null;
    return { key: this.rows[index].key, delta: this.listTop() - this.offsets[index] };
  }

  /** Scrolls so that `anchor` is where it was (or to the bottom). */
  restore(anchor, keepBottom) {
    if (keepBottom) {
      this.scroller.scrollTop = this.scroller.scrollHeight;
      return;
    }
    if (!anchor) return;
    const index = this.indexByKey.get(anchor.key);
    if (index === undefined) return;
    const top = this.list.offsetTop + this.offsets[index] + anchor.delta;
    if (Math.abs(this.scroller.scrollTop - top) >= 1) this.scroller.scrollTop = top;
  }

  /** Draws the rows near the viewport (after a scroll), when it moved past the drawn window. */
  onScroll() {
    const range = visibleRange(this.offsets, this.listTop(), this.scroller.clientHeight, OVERSCAN_PX);
    if (range.start >= this.start && range.end <= this.end) return;
    this.update(this.anchor(), false);
  }

  /** Redraws the window, measures what was drawn, and corrects the scroll position. */
  update(anchor, keepBottom) {
    for (let pass = 0; pass < MAX_RENDER_PASSES; pass++) {
      this.setPadding();
      this.restore(anchor, keepBottom);
      const range = visibleRange(this.offsets, this.listTop(), this.scroller.clientHeight, OVERSCAN_PX);
      this.pinFocused(range);
      this.draw(range);
      if (!this.measure()) break;
      this.offsets = prefixOffsets(this.heights);
    }
    this.setPadding();
    this.restore(anchor, keepBottom);
  }

  /** The list's padding stands for the rows above and below the drawn window. */
  setPadding() {
    const n = this.rows.length;
    const start = Math.min(this.start, n);
    const end = Math.min(Math.max(this.end, start), n);
    this.list.style.paddingTop = `${this.offsets[start]}px`;
    this.list.style.paddingBottom = `${this.offsets[n] - this.offsets[end]}px`;
  }

  /** Widens `range` to keep the row holding the focus in the DOM (keyboard users). */
  pinFocused(range) {
    const focused = document.activeElement;
    if (!focused || !this.list.contains(focused)) return;
    const node = focused.closest('[data-row-key]');
    const index = node ? this.indexByKey.get(node.dataset.rowKey) : undefined;
    if (index === undefined) return;
    if (index < range.start && range.start - index <= MAX_PINNED_ROWS) range.start = index;
    if (index >= range.end && index - range.end < MAX_PINNED_ROWS) range.end = index + 1;
  }

  /** Makes the DOM hold exactly the rows of `range`, in order, reusing unchanged nodes. */
  draw(range) {
    const wanted = new Set();
    for (let i = range.start; i < range.end; i++) wanted.add(this.rows[i].key);
    for (const [key, shown] of this.shown) {
      if (!wanted.has(key)) {
        shown.node.remove();
        this.shown.delete(key);
      }
    }
    let cursor = this.list.firstChild;
    for (let i = range.start; i < range.end; i++) {
      const row = this.rows[i];
      const signature = this.signature(row);
      let shown = this.shown.get(row.key);
      if (shown && shown.signature !== signature) {
        const node = this.render(row);
        node.dataset.rowKey = row.key;
        if (cursor === shown.node) cursor = node;
        shown.node.replaceWith(node);
        shown = { node, signature, fresh: true };
        this.shown.set(row.key, shown);
      } else if (!shown) {
        const node = this.render(row);
        node.dataset.rowKey = row.key;
        shown = { node, signature, fresh: true };
        this.shown.set(row.key, shown);
      }
      if (shown.node !== cursor) this.list.insertBefore(shown.node, cursor);
      else cursor = cursor.nextSibling;
    }
    this.start = range.start;
    this.end = range.end;
    this.setPadding();
  }

  /** Measures the rows drawn since the last measurement; returns whether a height changed. */
  measure() {
    let changed = false;
    for (let i = this.start; i < this.end; i++) {
      const key = this.rows[i].key;
      const shown = this.shown.get(key);
      if (!shown || !shown.fresh) continue;
      shown.fresh = false;
      const height = shown.node.getBoundingClientRect().height;
      this.measured.set(key, height);
      if (Math.abs(height - this.heights[i]) >= 0.5) {
        this.heights[i] = height;
        changed = true;
      }
    }
    return changed;
  }

  /** Forgets the measured height of `key` (its content changed size) and redraws. */
  invalidate(key) {
    this.measured.delete(key);
    const shown = this.shown.get(key);
    if (shown) shown.signature = null;
  }

  /** The element of the row `key`, drawing it first (scrolled to the middle) if needed. */
  reveal(key) {
    const index = this.indexByKey.get(key);
    if (index === undefined) return null;
    if (!this.shown.has(key)) {
      const top = this.list.offsetTop + this.offsets[index] - this.scroller.clientHeight / 3;
      this.scroller.scrollTop = Math.max(0, top);
      this.update(this.anchor(), false);
    }
    const node = this.shown.get(key)?.node ?? null;
    node?.scrollIntoView({ block: 'nearest' });
    return node;
  }

  /** Forgets everything (another room is shown). */
  reset() {
    for (const shown of this.shown.values()) shown.node.remove();
    this.shown.clear();
    this.measured.clear();
    this.rows = [];
    this.indexByKey = new Map();
    this.heights = [];
    this.offsets = new Float64Array(1);
    this.start = 0;
    this.end = 0;
  }
}
