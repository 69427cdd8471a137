/** HTTP helpers for probes: bounded bodies, no credentials, no redirects followed. */

/** Largest JSON body a probe reads. */
export const MAX_PROBE_BODY_BYTES = 1024 * 1024;

/** Identifies the scanner to the servers it probes. */
export const PROBE_USER_AGENT = 'argus-discover/0.1 (+https://argus.dev)';

/** Reads at most `maxBytes` of a body as text; undefined when it is larger (the rest is cancelled). */
export async function readBounded(res: Response, maxBytes = MAX_PROBE_BODY_BYTES): Promise<string | undefined> {
  if (!res.body) return '';
  const reader = res.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > maxBytes) {
      await reader.cancel().catch(() => undefined);
      return undefined;
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/** Parses JSON, or undefined. */
export function parseJson(text: string | undefined): unknown {
  if (text === undefined) return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

/** True for a non-null, non-array object. */
export function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** GET `url` and parse a JSON answer (2xx, JSON content type); undefined for anything else. */
export async function getJson(url: string, signal: AbortSignal): Promise<unknown> {
  const res = await fetch(url, {
    method: 'GET',
    headers: { accept: 'application/json', 'user-agent': PROBE_USER_AGENT },
    redirect: 'manual',
    signal,
  });
  const type = res.headers.get('content-type') ?? '';
  if (res.status < 200 || res.status > 299 || !/\bjson\b/i.test(type)) {
    await res.body?.cancel().catch(() => undefined);
    return undefined;
  }
  return parseJson(await readBounded(res));
}

/** `host` as it appears in a URL authority (`[::1]` for IPv6). */
export function urlHost(host: string): string {
  return host.includes(':') ? `[${host}]` : host;
}
