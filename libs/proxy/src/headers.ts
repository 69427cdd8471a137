import type { IncomingHttpHeaders, OutgoingHttpHeaders } from 'node:http';

/** Hop-by-hop headers (RFC 9110 §7.6.1 plus the legacy ones proxies still meet). Never forwarded. */
export const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'proxy-authenticate',
  'proxy-authorization',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
]);

/** Credentials an agent may send: always removed before the upstream sees the request. */
export const AGENT_CREDENTIAL_HEADERS = ['authorization', 'x-api-key', 'api-key', 'cookie', 'proxy-authorization', 'x-goog-api-key'];

/**
 * Client-supplied routing and origin claims, and method overrides (the upstream must act on the
 * method that was decided): never trusted, never forwarded.
 */
const SPOOFABLE =
  /^(x-forwarded-.*|forwarded|x-real-ip|x-client-ip|x-original-url|x-rewrite-url|x-original-host|x-host|true-client-ip|cf-connecting-ip|x-http-method-override|x-http-method|x-method-override)$/;

/** Headers meant for Argus only. */
const ARGUS_HEADERS = /^x-argus-/;

const NONE_LISTED: ReadonlySet<string> = new Set();

/** The header names listed in a `Connection` header value (they are hop-by-hop for this message). */
export function connectionListed(value: string | string[] | undefined): ReadonlySet<string> {
  if (value === undefined) return NONE_LISTED;
  const out = new Set<string>();
  const values = Array.isArray(value) ? value : [value];
  for (const v of values)
    for (const token of v.split(',')) {
      const t = token.trim().toLowerCase();
      if (t) out.add(t);
    }
  return out;
}

/** Request headers always removed: hop-by-hop, agent credentials, `Expect`, `Host`, the length and encoding. */
const ALWAYS_STRIPPED: ReadonlySet<string> = new Set([
  ...HOP_BY_HOP,
  ...AGENT_CREDENTIAL_HEADERS,
  'expect',
  'host',
  'content-length',
  'content-encoding',
]);

/** The lower-cased set of configured header names to strip, built once per route. */
export function stripSet(names: readonly string[]): ReadonlySet<string> {
  return new Set(names.map((h) => h.toLowerCase()));
}

/**
 * Cleans an agent's request headers in place before they are copied to the upstream request:
 * hop-by-hop headers (and those named in `Connection`), every credential, spoofable
 * `X-Forwarded-*`-style claims, Argus's own headers, `Expect`, `Host` (set from the target) and
 * the length and encoding headers (the body is re-sent, already decoded, with its own length).
 * `extraStrip` names more headers to remove (a set from {@link stripSet}, or a list).
 */
export function sanitizeRequestHeaders(headers: IncomingHttpHeaders, extraStrip: ReadonlySet<string> | readonly string[] = []): void {
  const extra = extraStrip instanceof Set ? extraStrip : stripSet(extraStrip as readonly string[]);
  const listed = connectionListed(headers.connection);
  for (const name of Object.keys(headers)) {
    const lower = name.toLowerCase();
    if (ALWAYS_STRIPPED.has(lower) || extra.has(lower) || listed?.has(lower) || SPOOFABLE.test(lower) || ARGUS_HEADERS.test(lower)) {
      delete headers[name];
    }
  }
  // The proxy scrubs response bodies, so it asks for them unencoded.
  headers['accept-encoding'] = 'identity';
}

/**
 * The upstream's response headers an agent may see: no hop-by-hop headers, none named in
 * `Connection`, and no length when the body is re-framed by the proxy.
 */
export function responseHeaders(headers: IncomingHttpHeaders, options: { dropLength: boolean }): OutgoingHttpHeaders {
  const listed = connectionListed(headers.connection);
  const out: OutgoingHttpHeaders = {};
  for (const name of Object.keys(headers)) {
    const value = headers[name];
    if (value === undefined) continue;
    const lower = name.toLowerCase();
    if (HOP_BY_HOP.has(lower) || listed.has(lower)) continue;
    if (options.dropLength && (lower === 'content-length' || lower === 'content-encoding')) continue;
    out[lower] = value;
  }
  return out;
}
