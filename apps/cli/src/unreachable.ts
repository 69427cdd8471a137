/**
 * One readable line for an HTTP request that got no answer at all. Node's `fetch` reports every
 * such failure as `TypeError: fetch failed` and keeps the reason in `cause` (a system error with
 * `code`, `address` and `port`, an `AggregateError` when a name has several addresses, or a
 * timeout); this names the cause, the address and the URL, with a hint at the usual fix:
 *
 *   ECONNREFUSED 127.0.0.1:8181 — is argus serve running? (http://127.0.0.1:8181/v1/decisions/stream)
 */

interface SystemCause {
  code?: string;
  address?: string;
  port?: number;
  hostname?: string;
  message?: string;
  name?: string;
  errors?: unknown[];
  cause?: unknown;
}

/** The deepest cause: the one with a system error code, else the last one in the chain. */
function innermost(err: unknown): SystemCause | undefined {
  let c = err as SystemCause | undefined;
  let last: SystemCause | undefined;
  for (let depth = 0; depth < 5 && c && typeof c === 'object'; depth++) {
    last = c;
    if (c.code) return c;
    if (Array.isArray(c.errors) && c.errors.length > 0) {
      // Several addresses tried (localhost → ::1 and 127.0.0.1): report the last, the IPv4 one usually.
      c = c.errors[c.errors.length - 1] as SystemCause;
      continue;
    }
    if (c.name === 'TimeoutError' || c.name === 'AbortError') return c;
    c = c.cause as SystemCause | undefined;
  }
  return last;
}

function hostOf(url: string): string {
  try {
    const u = new URL(url);
    return u.host;
  } catch {
    return url;
  }
}

/** Whether `err` is a request that got no HTTP answer (as opposed to a bug or an abort by us). */
export function isUnreachable(err: unknown): boolean {
  return err instanceof TypeError && err.message === 'fetch failed';
}

/** How to word `describeUnreachable`. */
export interface UnreachableWording {
  /** The request's method, shown before the URL. */
  method?: string;
  /** What follows a refused connection. Default: `is argus serve running?`. */
  hint?: string;
}

/** Describes a request to `url` that failed before any HTTP answer. */
export function describeUnreachable(url: string, err: unknown, wording: UnreachableWording = {}): string {
  const hint = wording.hint ?? 'is argus serve running?';
  const shown = wording.method ? `${wording.method} ${url}` : url;
  const c = innermost(err);
  const where = c?.address ? `${c.address.includes(':') ? `[${c.address}]` : c.address}${c.port ? `:${c.port}` : ''}` : hostOf(url);
  const code = c?.code;
  if (c?.name === 'TimeoutError' || code === 'UND_ERR_CONNECT_TIMEOUT' || code === 'ETIMEDOUT')
    return `no answer from ${hostOf(url)} in time (${code ?? 'timeout'}) (${shown})`;
  if (code === 'ECONNREFUSED') return `ECONNREFUSED ${where} — ${hint} (${shown})`;
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN')
    return `${code} ${c?.hostname ?? hostOf(url)} — the host name does not resolve; check the URL (${shown})`;
  if (code === 'ECONNRESET' || code === 'UND_ERR_SOCKET' || code === 'EPIPE')
    return `${code} ${where} — the server closed the connection (${shown})`;
  if (code === 'EHOSTUNREACH' || code === 'ENETUNREACH') return `${code} ${where} — no route to the host (${shown})`;
  if (code) return `${code} ${where}${c?.message && !c.message.includes(code) ? `: ${c.message}` : ''} (${shown})`;
  const message = c?.message ?? (err instanceof Error ? err.message : String(err));
  return `${message} (${shown})`;
}
