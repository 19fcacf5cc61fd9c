// Causerie web client: the user's Ed25519 key in the browser (specs/client-api.md, "Key export
// file"; specs/identity.md for what the key is).
//
// How the key is kept. The user's identity is an Ed25519 key that never leaves the browser.
// - The signing key is a WebCrypto CryptoKey imported as NON-extractable and stored in IndexedDB
//   (structured clone keeps CryptoKeys). Page scripts can sign with it but cannot read its bytes,
//   so a bug that leaks data to the network cannot leak the key through this handle.
// - A non-extractable key cannot be exported, yet users must be able to move their identity to
//   another browser or to the CLI. So the 32-byte seed is also stored, encrypted with AES-GCM
//   under a second, separate non-extractable key (generated here, also kept in IndexedDB). The
//   seed is only ever decrypted in memory for the passphrase-protected export, then wiped.
//   This keeps the raw seed out of anything that reads plain values from storage; it is not a
//   barrier against script running in this origin (such script could call decrypt), which is why
//   the page runs under a strict Content-Security-Policy and renders all content as text.
// - Export writes the shared key file (PBKDF2-HMAC-SHA256, 600,000 iterations, AES-256-GCM with
//   additional data "causerie key export v1"); import reverses it and checks that the seed's
//   public key is the file's `user`.

/** IndexedDB database and object store holding the identity. */
const DB_NAME = 'causerie';
const DB_VERSION = 1;
const STORE = 'identity';
const RECORD_KEY = 'current';

/** PBKDF2 iterations written into export files (specs/client-api.md). */
export const EXPORT_ITERATIONS = 600000;
/** Range of iterations an imported file may declare. */
export const MIN_IMPORT_ITERATIONS = 100000;
export const MAX_IMPORT_ITERATIONS = 10000000;
/** Largest key file read (a valid one is about 330 bytes). */
export const MAX_KEY_FILE_BYTES = 4096;
/** Shortest passphrase a key file is exported under, in characters (code points): the node's
 *  and the command line's rule too. */
export const MIN_PASSPHRASE_CHARS = 8;
/** Longest passphrase, in UTF-8 bytes (crypto/src/key_export.rs `MAX_PASSPHRASE_BYTES`). */
export const MAX_PASSPHRASE_BYTES = 1024;

const EXPORT_AAD = new TextEncoder().encode('causerie key export v1');
const AT_REST_AAD = new TextEncoder().encode('causerie seed at rest v1');
// PKCS #8 wrapping of a 32-byte Ed25519 seed (RFC 8410): fixed 16-byte header, then the seed.
const PKCS8_ED25519_HEADER = hexToBytes('302e020100300506032b657004220420');

/** A key file or key operation refused; `reason` is one of the spec's stable names. */
export class KeyError extends Error {
  constructor(reason, message) {
    super(message);
    this.reason = reason;
  }
}

/** Lowercase hex of bytes. */
export function bytesToHex(bytes) {
  let out = '';
  for (const byte of bytes) out += byte.toString(16).padStart(2, '0');
  return out;
}

/** Bytes of a lowercase or uppercase hex string; throws on anything else. */
export function hexToBytes(hex) {
  if (typeof hex !== 'string' || hex.length % 2 !== 0 || !/^[0-9a-fA-F]*$/.test(hex)) {
    throw new KeyError('bad_hex', 'not a hex string');
  }
  const out = new Uint8Array(hex.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(hex.slice(2 * i, 2 * i + 2), 16);
  return out;
}

function base64UrlToBytes(text) {
  const base64 = text.replace(/-/g, '+').replace(/_/g, '/');
  const binary = atob(base64 + '='.repeat((4 - (base64.length % 4)) % 4));
  return Uint8Array.from(binary, (c) => c.charCodeAt(0));
}

function openDb() {
  return new Promise((resolve, reject) => {
    const request = indexedDB.open(DB_NAME, DB_VERSION);
    request.onupgradeneeded = () => request.result.createObjectStore(STORE);
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error);
  });
}

async function withStore(mode, operation) {
  const db = await openDb();
  try {
    return await new Promise((resolve, reject) => {
      const tx = db.transaction(STORE, mode);
      const request = operation(tx.objectStore(STORE));
      tx.oncomplete = () => resolve(request.result);
      tx.onerror = () => reject(tx.error);
      tx.onabort = () => reject(tx.error);
    });
  } finally {
    db.close();
  }
}

/** The stored identity record, or null. */
export async function loadIdentity() {
  const record = await withStore('readonly', (store) => store.get(RECORD_KEY));
  if (!record || record.v !== 1 || !(record.privateKey instanceof CryptoKey)) return null;
  return record;
}

/** Records the handle the identity is registered under (used to re-register after a reset). */
export async function saveHandle(record, handle) {
  record.handle = handle;
  await withStore('readwrite', (store) => store.put(record, RECORD_KEY));
}

/** Forgets the identity in this browser: deletes its record, then the whole database. */
export async function forgetIdentity() {
  await withStore('readwrite', (store) => store.delete(RECORD_KEY));
  // Another tab of the page may hold the database open for a moment ("blocked"): the deletion
  // then completes when it closes, and the key is already gone with the record.
  await new Promise((resolve, reject) => {
    const request = indexedDB.deleteDatabase(DB_NAME);
    request.onsuccess = () => resolve();
    request.onblocked = () => resolve();
    request.onerror = () => reject(request.error);
  });
}

function pkcs8FromSeed(seed) {
  const out = new Uint8Array(PKCS8_ED25519_HEADER.length + 32);
  out.set(PKCS8_ED25519_HEADER);
  out.set(seed, PKCS8_ED25519_HEADER.length);
  return out;
}

/** The public key of a seed, and its signing key imported non-extractable. */
async function keysFromSeed(seed) {
  const pkcs8 = pkcs8FromSeed(seed);
  try {
    // WebCrypto cannot derive a public key from a non-extractable private key, so the seed is
    // imported once as extractable, only to read the public half (JWK `x`), then dropped.
    const transient = await crypto.subtle.importKey('pkcs8', pkcs8, { name: 'Ed25519' }, true, ['sign']);
    const jwk = await crypto.subtle.exportKey('jwk', transient);
    const publicKey = base64UrlToBytes(jwk.x);
    jwk.d = '';
    const privateKey = await crypto.subtle.importKey('pkcs8', pkcs8, { name: 'Ed25519' }, false, ['sign']);
    return { privateKey, publicKey };
  } finally {
    pkcs8.fill(0);
  }
}

/** Stores a seed as this browser's identity (see the header) and returns the record. */
async function storeSeed(seed, handle) {
  const { privateKey, publicKey } = await keysFromSeed(seed);
  const wrapKey = await crypto.subtle.generateKey({ name: 'AES-GCM', length: 256 }, false, ['encrypt', 'decrypt']);
  const seedNonce = crypto.getRandomValues(new Uint8Array(12));
  const seedSealed = new Uint8Array(
    await crypto.subtle.encrypt({ name: 'AES-GCM', iv: seedNonce, additionalData: AT_REST_AAD }, wrapKey, seed),
  );
  const record = {
    v: 1,
    user: bytesToHex(publicKey),
    privateKey,
    wrapKey,
    seedNonce,
    seedSealed,
    handle: handle || null,
    created_ms: Date.now(),
  };
  await withStore('readwrite', (store) => store.put(record, RECORD_KEY));
  return record;
}

/** Generates a new Ed25519 identity and stores it. */
export async function createIdentity(handle) {
  const seed = crypto.getRandomValues(new Uint8Array(32));
  try {
    return await storeSeed(seed, handle);
  } finally {
    seed.fill(0);
  }
}

/** Signs `bytes` with the stored identity: 64 signature bytes. */
export async function sign(record, bytes) {
  return new Uint8Array(await crypto.subtle.sign({ name: 'Ed25519' }, record.privateKey, bytes));
}

/** A short, readable fingerprint of a public key: the first 16 bytes of its SHA-256. */
export async function fingerprint(userHex) {
  const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', hexToBytes(userHex)));
  const hex = bytesToHex(digest.subarray(0, 16));
  return hex.match(/.{4}/g).join(' ');
}

async function passphraseKey(passphrase, salt, iterations, usage) {
  const material = await crypto.subtle.importKey('raw', new TextEncoder().encode(passphrase), 'PBKDF2', false, [
    'deriveKey',
  ]);
  return crypto.subtle.deriveKey(
    { name: 'PBKDF2', hash: 'SHA-256', salt, iterations },
    material,
    { name: 'AES-GCM', length: 256 },
    false,
    [usage],
  );
}

/**
 * Why `passphrase` cannot protect a key export (a sentence), or null if it can: at least
 * MIN_PASSPHRASE_CHARS characters and at most MAX_PASSPHRASE_BYTES bytes.
 */
export function passphraseProblem(passphrase) {
  const length = [...passphrase].length;
  if (length < MIN_PASSPHRASE_CHARS) {
    return `Too short: at least ${MIN_PASSPHRASE_CHARS} characters (this one has ${length}).`;
  }
  if (new TextEncoder().encode(passphrase).length > MAX_PASSPHRASE_BYTES) {
    return `Too long: at most ${MAX_PASSPHRASE_BYTES} bytes.`;
  }
  return null;
}

/**
 * The key export file (JSON text) of the stored identity, protected by `passphrase`. Refuses a
 * passphrase that passphraseProblem() objects to with `bad_passphrase`.
 */
export async function exportKeyFile(record, passphrase) {
  const problem = passphraseProblem(passphrase);
  if (problem) throw new KeyError('bad_passphrase', problem);
  const seed = new Uint8Array(
    await crypto.subtle.decrypt(
      { name: 'AES-GCM', iv: record.seedNonce, additionalData: AT_REST_AAD },
      record.wrapKey,
      record.seedSealed,
    ),
  );
  try {
    const salt = crypto.getRandomValues(new Uint8Array(16));
    const nonce = crypto.getRandomValues(new Uint8Array(12));
    const key = await passphraseKey(passphrase, salt, EXPORT_ITERATIONS, 'encrypt');
    const ciphertext = new Uint8Array(
      await crypto.subtle.encrypt({ name: 'AES-GCM', iv: nonce, additionalData: EXPORT_AAD }, key, seed),
    );
    return (
      JSON.stringify(
        {
          causerie_key_export: 1,
          user: record.user,
          kdf: 'pbkdf2-sha256',
          iterations: EXPORT_ITERATIONS,
          salt: bytesToHex(salt),
          cipher: 'aes-256-gcm',
          nonce: bytesToHex(nonce),
          ciphertext: bytesToHex(ciphertext),
        },
        null,
        2,
      ) + '\n'
    );
  } finally {
    seed.fill(0);
  }
}

function fileHex(value, bytes) {
  if (typeof value !== 'string' || value.length !== 2 * bytes || !/^[0-9a-f]*$/.test(value)) {
    throw new KeyError('bad_export_file', `a field is not ${bytes} bytes of lowercase hex`);
  }
  return hexToBytes(value);
}

/**
 * Reads a key export file, checks it and stores its key as this browser's identity. Refuses
 * with the spec's reasons: bad_export_file, weak_kdf, wrong_passphrase, key_mismatch.
 */
export async function importKeyFile(text, passphrase) {
  if (typeof text !== 'string' || text.length > MAX_KEY_FILE_BYTES) {
    throw new KeyError('bad_export_file', 'not a Causerie key file (too large)');
  }
  let file;
  try {
    file = JSON.parse(text);
  } catch {
    throw new KeyError('bad_export_file', 'not a Causerie key file (not JSON)');
  }
  if (file === null || typeof file !== 'object' || file.causerie_key_export !== 1) {
    throw new KeyError('bad_export_file', 'not a version 1 Causerie key file');
  }
  if (file.kdf !== 'pbkdf2-sha256' || file.cipher !== 'aes-256-gcm') {
    throw new KeyError('bad_export_file', 'unknown key derivation or cipher');
  }
  const iterations = file.iterations;
  if (!Number.isSafeInteger(iterations) || iterations < MIN_IMPORT_ITERATIONS || iterations > MAX_IMPORT_ITERATIONS) {
    throw new KeyError('weak_kdf', `iterations must be ${MIN_IMPORT_ITERATIONS}–${MAX_IMPORT_ITERATIONS}`);
  }
  const user = fileHex(file.user, 32);
  const salt = fileHex(file.salt, 16);
  const nonce = fileHex(file.nonce, 12);
  const ciphertext = fileHex(file.ciphertext, 48);
  const key = await passphraseKey(passphrase, salt, iterations, 'decrypt');
  let seed;
  try {
    seed = new Uint8Array(
      await crypto.subtle.decrypt({ name: 'AES-GCM', iv: nonce, additionalData: EXPORT_AAD }, key, ciphertext),
    );
  } catch {
    throw new KeyError('wrong_passphrase', 'wrong passphrase (or a damaged file)');
  }
  try {
    const { publicKey } = await keysFromSeed(seed);
    if (bytesToHex(publicKey) !== bytesToHex(user)) {
      throw new KeyError('key_mismatch', 'the key in the file is not the one it names');
    }
    return await storeSeed(seed, null);
  } finally {
    seed.fill(0);
  }
}
