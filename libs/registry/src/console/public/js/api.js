// Same-origin API access. The admin token lives only in this tab's sessionStorage: it is sent as
// a bearer header and never written into the page.

const TOKEN_KEY = 'argus.console.token';
const listeners = new Set();

/** The admin token of this browser tab. */
export const token = {
  get() {
    return sessionStorage.getItem(TOKEN_KEY) ?? '';
  },
  has() {
    return this.get() !== '';
  },
  set(value) {
    sessionStorage.setItem(TOKEN_KEY, value);
    for (const fn of listeners) fn(true);
  },
  clear() {
    sessionStorage.removeItem(TOKEN_KEY);
    for (const fn of listeners) fn(false);
  },
  /** Calls `fn(hasToken)` whenever the token changes; returns the unsubscribe function. */
  onChange(fn) {
    listeners.add(fn);
    return () => listeners.delete(fn);
  },
};

/** A non-2xx answer, carrying the wire error (`{code, message, errors}`). */
export class ApiError extends Error {
  constructor(status, body) {
    super(body?.message ?? `HTTP ${status}`);
    this.status = status;
    this.code = body?.code ?? 'http_error';
    this.errors = Array.isArray(body?.errors) ? body.errors : [];
  }
}

function headers(extra = {}) {
  const out = { accept: 'application/json', ...extra };
  if (token.has()) out.authorization = `Bearer ${token.get()}`;
  return out;
}

/** Calls a JSON API on this origin. Throws `ApiError` on a non-2xx answer. */
export async function api(path, { method = 'GET', body, signal, extraHeaders = {} } = {}) {
  const res = await fetch(path, {
    method,
    headers: headers({ ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...extraHeaders }),
    body: body === undefined ? undefined : JSON.stringify(body),
    signal,
    credentials: 'omit',
    cache: 'no-store',
  });
  const text = await res.text();
  let parsed;
  try {
    parsed = text ? JSON.parse(text) : undefined;
  } catch {
    parsed = { message: text.slice(0, 200) };
  }
  if (!res.ok) throw new ApiError(res.status, parsed);
  return parsed;
}

/**
 * Asks the server once whether it takes `value` as a credential, with a cheap read open to any
 * authenticated caller (`GET /v1/intents`). Resolves to `{result: 'accepted'}`, `{result:
 * 'rejected', status, message}` (401/403: the server refused it) or `{result: 'unchecked', message}`
 * (the server could not say: unreachable, another error).
 */
export async function checkToken(value, signal) {
  let res;
  try {
    res = await fetch('/v1/intents', {
      headers: { accept: 'application/json', authorization: `Bearer ${value}` },
      signal,
      credentials: 'omit',
      cache: 'no-store',
    });
  } catch (err) {
    return { result: 'unchecked', message: err instanceof Error ? err.message : String(err) };
  }
  if (res.ok) return { result: 'accepted' };
  let body;
  try {
    body = await res.json();
  } catch {
    body = undefined;
  }
  const message = typeof body?.message === 'string' ? body.message : `HTTP ${res.status}`;
  if (res.status === 401 || res.status === 403) return { result: 'rejected', status: res.status, message };
  return { result: 'unchecked', message };
}

/** Every page of a cursor-paged list (`items`/`nextCursor`), up to `max` items. */
export async function listAll(path, { max = 1000, signal, itemsKey = 'items', cursorKey = 'nextCursor' } = {}) {
  const items = [];
  let cursor;
  do {
    const sep = path.includes('?') ? '&' : '?';
    const page = await api(cursor ? `${path}${sep}cursor=${encodeURIComponent(cursor)}` : path, { signal });
    items.push(...(page[itemsKey] ?? []));
    cursor = page[cursorKey];
  } while (cursor && items.length < max);
  return items.slice(0, max);
}

/** The Prometheus text of `/metrics`. */
export async function metricsText(signal) {
  const res = await fetch('/metrics', { headers: headers({ accept: 'text/plain' }), signal, cache: 'no-store', credentials: 'omit' });
  if (!res.ok) throw new ApiError(res.status, { message: `metrics answered ${res.status}` });
  return res.text();
}

/** Splits a Server-Sent Events buffer into complete events; returns them and the unparsed rest. */
export function parseEvents(buffer) {
  const events = [];
  const blocks = buffer.replace(/\r\n?/g, '\n').split('\n\n');
  const rest = blocks.pop() ?? '';
  for (const block of blocks) {
    let event = 'message';
    const data = [];
    for (const line of block.split('\n')) {
      if (line === '' || line.startsWith(':')) continue;
      const colon = line.indexOf(':');
      const field = colon < 0 ? line : line.slice(0, colon);
      const value = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '');
      if (field === 'event') event = value;
      else if (field === 'data') data.push(value);
    }
    if (data.length > 0) events.push({ event, data: data.join('\n') });
  }
  return { events, rest };
}

/**
 * Follows `GET /v1/decisions/stream` with fetch (EventSource cannot send the bearer header),
 * reconnecting with backoff until `signal` aborts. `onState` receives `connecting`, `live`,
 * `unauthorized` or `retrying`.
 */
export async function streamDecisions({ onRecord, onState, signal }) {
  let delay = 500;
  while (!signal.aborted) {
    onState('connecting');
    try {
      const res = await fetch('/v1/decisions/stream', {
        headers: headers({ accept: 'text/event-stream' }),
        signal,
        cache: 'no-store',
        credentials: 'omit',
      });
      if (res.status === 401 || res.status === 403) {
        onState('unauthorized');
        await waitForToken(signal);
        continue;
      }
      if (!res.ok || !res.body) throw new Error(`stream answered ${res.status}`);
      onState('live');
      delay = 500;
      const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
      let buffer = '';
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buffer += value;
        const parsed = parseEvents(buffer);
        buffer = parsed.rest;
        for (const e of parsed.events) {
          if (e.event !== 'decision') continue;
          try {
            onRecord(JSON.parse(e.data));
          } catch {
            // A malformed event is skipped; the next one is independent.
          }
        }
      }
    } catch (err) {
      if (signal.aborted) return;
    }
    if (signal.aborted) return;
    onState('retrying');
    await sleep(delay, signal);
    delay = Math.min(delay * 2, 10_000);
  }
}

function sleep(ms, signal) {
  return new Promise((resolve) => {
    const t = setTimeout(resolve, ms);
    signal.addEventListener(
      'abort',
      () => {
        clearTimeout(t);
        resolve();
      },
      { once: true },
    );
  });
}

function waitForToken(signal) {
  return new Promise((resolve) => {
    const off = token.onChange((has) => {
      if (has) {
        off();
        resolve();
      }
    });
    signal.addEventListener(
      'abort',
      () => {
        off();
        resolve();
      },
      { once: true },
    );
  });
}

/** Explains an API failure in one line for the page, with the located details. */
export function describeError(err) {
  if (err instanceof ApiError) {
    if (err.status === 401)
      return token.has()
        ? 'The server rejected the token set in this tab (401): paste the contents of `.argus/admin-token` (written by `argus serve`) into the token box at the top.'
        : 'This needs the admin token: paste the contents of `.argus/admin-token` (written by `argus serve`) into the token box at the top.';
    if (err.status === 403) return `Forbidden: ${err.message}`;
    const details = err.errors.map((e) => `${e.path || '/'}: ${e.message}`).join('; ');
    return details ? `${err.message} (${details})` : err.message;
  }
  return err instanceof Error ? err.message : String(err);
}
