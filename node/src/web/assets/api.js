// Causerie web client: the HTTP client of the node's client API (specs/client-api.md) and the
// reader of its live stream (server-sent events read with fetch(), so the session token stays in
// the Authorization header; the browser's built-in SSE client cannot send headers).

/** Longest SSE line accepted; an event is at most 64 KiB as CBOR, a little more as JSON. */
export const MAX_SSE_LINE_BYTES = 1 << 20;
/** Longest `data` of one SSE event. */
export const MAX_SSE_DATA_BYTES = 1 << 20;
/** Longest time a request may take before it counts as a network failure. */
export const REQUEST_TIMEOUT_MS = 20000;
/** A stream without any byte (pings come every 15 s) for this long is considered dead. */
export const STREAM_IDLE_TIMEOUT_MS = 45000;

/** An API error: `status` 0 and reason `unreachable` when the node could not be reached. */
export class ApiError extends Error {
  constructor(status, reason, message, retryAfter = null) {
    super(message || reason);
    this.status = status;
    this.reason = reason;
    /** Seconds to wait before trying again (the `Retry-After` of a refusal for now), or null. */
    this.retryAfter = retryAfter;
  }

  /** Whether the node could not be reached (as opposed to refusing the request). */
  get unreachable() {
    return this.status === 0 || this.status === 502 || this.status === 503 || this.status === 504;
  }
}

/** The client API of the node that served this page. */
export class Api {
  constructor() {
    /** The session token; kept in memory only. */
    this.token = null;
    /** Called with every ApiError whose request could not reach the node. */
    this.onUnreachable = () => {};
    /** Called when a request succeeds (the node is reachable). */
    this.onReachable = () => {};
  }

  /** Sends a request; resolves to the parsed JSON body (null for 204), rejects with ApiError. */
  async request(method, path, body, { auth = true } = {}) {
    const headers = {};
    if (body !== undefined) headers['Content-Type'] = 'application/json';
    if (auth && this.token) headers.Authorization = `Bearer ${this.token}`;
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(), REQUEST_TIMEOUT_MS);
    let response;
    try {
      response = await fetch(`/api/v1${path}`, {
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: controller.signal,
        cache: 'no-store',
        credentials: 'omit',
      });
    } catch (error) {
      const failure = new ApiError(0, 'unreachable', 'the node cannot be reached');
      this.onUnreachable(failure, error);
      throw failure;
    } finally {
      clearTimeout(timer);
    }
    let payload = null;
    const text = await response.text().catch(() => '');
    if (text) {
      try {
        payload = JSON.parse(text);
      } catch {
        payload = null;
      }
    }
    if (!response.ok) {
      const reason = payload && typeof payload.error === 'string' ? payload.error : `http_${response.status}`;
      const message = payload && typeof payload.message === 'string' ? payload.message : response.statusText;
      const wait = Number.parseInt(response.headers.get('Retry-After') ?? '', 10);
      const failure = new ApiError(response.status, reason, message, Number.isSafeInteger(wait) && wait >= 0 ? wait : null);
      // A proxy error or a stopping node means "not reachable right now", not "refused".
      if (response.status === 502 && !payload) this.onUnreachable(failure);
      else this.onReachable();
      throw failure;
    }
    this.onReachable();
    return payload;
  }

  get(path) {
    return this.request('GET', path);
  }

  post(path, body) {
    return this.request('POST', path, body === undefined ? {} : body);
  }

  put(path, body) {
    return this.request('PUT', path, body);
  }

  /**
   * Opens the live stream and calls `onEvent(name, data, id)` for each server-sent event until
   * the stream ends, `signal` aborts, or nothing arrives for STREAM_IDLE_TIMEOUT_MS. `onOpen` is
   * called once the node accepted the stream. Resolves when the stream ends; rejects with
   * ApiError if it could not be opened.
   */
  async stream(signal, onOpen, onEvent) {
    const controller = new AbortController();
    const abort = () => controller.abort();
    signal.addEventListener('abort', abort, { once: true });
    let idleTimer = setTimeout(abort, STREAM_IDLE_TIMEOUT_MS);
    const touch = () => {
      clearTimeout(idleTimer);
      idleTimer = setTimeout(abort, STREAM_IDLE_TIMEOUT_MS);
    };
    try {
      let response;
      try {
        response = await fetch('/api/v1/stream', {
          headers: { Authorization: `Bearer ${this.token}`, Accept: 'text/event-stream' },
          signal: controller.signal,
          cache: 'no-store',
          credentials: 'omit',
        });
      } catch {
        throw new ApiError(0, 'unreachable', 'the node cannot be reached');
      }
      if (!response.ok) {
        let reason = `http_${response.status}`;
        let message = response.statusText;
        try {
          const payload = await response.json();
          if (typeof payload.error === 'string') reason = payload.error;
          if (typeof payload.message === 'string') message = payload.message;
        } catch {
          // Not JSON: keep the HTTP status as the reason.
        }
        throw new ApiError(response.status, reason, message);
      }
      onOpen();
      const parser = new SseParser(onEvent);
      const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
      try {
        for (;;) {
          const { value, done } = await reader.read();
          if (done) break;
          touch();
          parser.push(value);
        }
      } catch (error) {
        if (signal.aborted) return;
        if (error instanceof SseError) throw error;
        // A reset or idle connection ends the stream like a clean end does; the caller reconnects.
      }
    } finally {
      clearTimeout(idleTimer);
      signal.removeEventListener('abort', abort);
    }
  }
}

/** The stream sent something that is not a bounded, well-formed server-sent event stream. */
export class SseError extends Error {}

/**
 * An incremental parser of the text/event-stream format (HTML standard, "server-sent events"):
 * lines end in CRLF, LF or CR; `event`, `data` (joined with newlines) and `id` fields; a blank
 * line dispatches; lines starting with ':' are comments. Line and data sizes are bounded.
 */
export class SseParser {
  constructor(onEvent) {
    this.onEvent = onEvent;
    this.buffer = '';
    this.pendingCr = false;
    this.resetEvent();
  }

  resetEvent() {
    this.eventName = '';
    this.data = [];
    this.dataBytes = 0;
    this.id = '';
  }

  push(chunk) {
    let text = chunk;
    // A CR at the end of the previous chunk may be the first half of a CRLF.
    if (this.pendingCr && text.startsWith('\n')) text = text.slice(1);
    this.pendingCr = false;
    let start = 0;
    for (let i = 0; i < text.length; i++) {
      const c = text.charCodeAt(i);
      if (c !== 10 && c !== 13) continue;
      this.line(this.buffer + text.slice(start, i));
      this.buffer = '';
      if (c === 13) {
        if (i + 1 < text.length) {
          if (text.charCodeAt(i + 1) === 10) i++;
        } else {
          this.pendingCr = true;
        }
      }
      start = i + 1;
    }
    this.buffer += text.slice(start);
    if (this.buffer.length > MAX_SSE_LINE_BYTES) throw new SseError('stream line too long');
  }

  line(line) {
    if (line === '') {
      if (this.data.length > 0) this.onEvent(this.eventName || 'message', this.data.join('\n'), this.id);
      this.resetEvent();
      return;
    }
    if (line.startsWith(':')) return;
    const colon = line.indexOf(':');
    const field = colon < 0 ? line : line.slice(0, colon);
    let value = colon < 0 ? '' : line.slice(colon + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    if (field === 'event') this.eventName = value;
    else if (field === 'data') {
      this.dataBytes += value.length + 1;
      if (this.dataBytes > MAX_SSE_DATA_BYTES) throw new SseError('stream event too large');
      this.data.push(value);
    } else if (field === 'id') this.id = value;
  }
}
