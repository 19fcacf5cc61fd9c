// Causerie web client: a strict, bounded CBOR reader (RFC 8949 subset of specs/events.md §1).
//
// The node hands the browser drafts and challenges to sign; this reader lets the client check
// what it signs (author, room, kind, content hash) instead of trusting the node blindly. It
// accepts only what canonical Causerie CBOR may contain: unsigned and negative integers in
// shortest form and within the exact range of a JS number, byte and text strings of definite
// length, definite arrays and maps with text keys (no duplicates), false/true/null. Tags,
// floats, indefinite lengths and trailing bytes are refused. Every length is checked against the
// remaining input before anything is allocated, and nesting is capped, so hostile input costs at
// most its own size.

/** Largest input this reader accepts (an event is at most 65,536 bytes, plus slack for prefixes). */
export const MAX_CBOR_BYTES = 65536 + 1024;
/** Deepest container nesting accepted (specs/events.md MAX_NESTING_DEPTH). */
export const MAX_NESTING_DEPTH = 64;

/** A CBOR input that this reader refuses; `reason` is a stable name. */
export class CborError extends Error {
  constructor(reason, detail) {
    super(`${reason}: ${detail}`);
    this.reason = reason;
  }
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * Decodes one CBOR item that must span all of `bytes`. Maps become objects with a null
 * prototype (so keys such as `__proto__` are plain data); byte strings become Uint8Array.
 * `spans`, if given, receives `[start, end)` byte ranges of the values of the top-level map,
 * keyed by map key: a canonical input's span is the canonical encoding of that value.
 */
export function decodeCbor(bytes, spans) {
  if (!(bytes instanceof Uint8Array)) throw new CborError('bad_input', 'not bytes');
  if (bytes.length > MAX_CBOR_BYTES) throw new CborError('too_large', `${bytes.length} bytes`);
  const reader = { bytes, pos: 0 };
  const value = readItem(reader, 0, spans);
  if (reader.pos !== bytes.length) throw new CborError('trailing_bytes', `at ${reader.pos}`);
  return value;
}

function need(r, n) {
  if (n > r.bytes.length - r.pos) throw new CborError('truncated', `need ${n} at ${r.pos}`);
}

function readArgument(r, info) {
  if (info < 24) return info;
  let size;
  if (info === 24) size = 1;
  else if (info === 25) size = 2;
  else if (info === 26) size = 4;
  else if (info === 27) size = 8;
  else throw new CborError('malformed_cbor', `additional info ${info} at ${r.pos}`);
  need(r, size);
  let value = 0;
  for (let i = 0; i < size; i++) {
    value = value * 256 + r.bytes[r.pos + i];
  }
  // Above 2^53 the sum is inexact but still above MAX_SAFE_INTEGER, so the range check holds.
  r.pos += size;
  const minimum = size === 1 ? 24 : size === 2 ? 0x100 : size === 4 ? 0x10000 : 0x100000000;
  if (value < minimum) throw new CborError('non_canonical_encoding', `long head at ${r.pos}`);
  if (value > Number.MAX_SAFE_INTEGER) throw new CborError('out_of_range', `at ${r.pos}`);
  return value;
}

function readItem(r, depth, spans) {
  need(r, 1);
  const initial = r.bytes[r.pos++];
  const major = initial >> 5;
  const info = initial & 0x1f;
  if (info === 31) throw new CborError('non_canonical_encoding', 'indefinite length');
  switch (major) {
    case 0:
      return readArgument(r, info);
    case 1:
      return -1 - readArgument(r, info);
    case 2: {
      const length = readArgument(r, info);
      need(r, length);
      const out = r.bytes.slice(r.pos, r.pos + length);
      r.pos += length;
      return out;
    }
    case 3: {
      const length = readArgument(r, info);
      need(r, length);
      let text;
      try {
        text = utf8.decode(r.bytes.subarray(r.pos, r.pos + length));
      } catch {
        throw new CborError('malformed_cbor', `invalid UTF-8 at ${r.pos}`);
      }
      r.pos += length;
      return text;
    }
    case 4: {
      const count = readArgument(r, info);
      // Every item takes at least one byte, so a count beyond the rest cannot be honest.
      need(r, count);
      if (depth + 1 > MAX_NESTING_DEPTH) throw new CborError('nesting_too_deep', `at ${r.pos}`);
      const out = [];
      for (let i = 0; i < count; i++) out.push(readItem(r, depth + 1));
      return out;
    }
    case 5: {
      const count = readArgument(r, info);
      need(r, 2 * count);
      if (depth + 1 > MAX_NESTING_DEPTH) throw new CborError('nesting_too_deep', `at ${r.pos}`);
      const out = Object.create(null);
      for (let i = 0; i < count; i++) {
        const key = readItem(r, depth + 1);
        if (typeof key !== 'string') throw new CborError('malformed_cbor', 'map key is not text');
        if (Object.prototype.hasOwnProperty.call(out, key)) {
          throw new CborError('malformed_cbor', `duplicate key ${JSON.stringify(key)}`);
        }
        const start = r.pos;
        out[key] = readItem(r, depth + 1);
        if (spans && depth === 0) spans[key] = [start, r.pos];
      }
      return out;
    }
    case 6:
      throw new CborError('non_canonical_encoding', 'tag');
    default:
      if (info === 20) return false;
      if (info === 21) return true;
      if (info === 22) return null;
      throw new CborError('malformed_cbor', `simple value or float ${info}`);
  }
}

/** Whether two decoded CBOR values are equal (bytes compared bytewise). */
export function cborEqual(a, b) {
  if (a instanceof Uint8Array || b instanceof Uint8Array) {
    if (!(a instanceof Uint8Array && b instanceof Uint8Array) || a.length !== b.length) {
      return false;
    }
    return a.every((byte, i) => byte === b[i]);
  }
  if (Array.isArray(a) || Array.isArray(b)) {
    if (!(Array.isArray(a) && Array.isArray(b)) || a.length !== b.length) return false;
    return a.every((item, i) => cborEqual(item, b[i]));
  }
  if (a !== null && b !== null && typeof a === 'object' && typeof b === 'object') {
    const keysA = Object.keys(a);
    const keysB = Object.keys(b);
    if (keysA.length !== keysB.length) return false;
    return keysA.every((key) => Object.prototype.hasOwnProperty.call(b, key) && cborEqual(a[key], b[key]));
  }
  return a === b;
}
