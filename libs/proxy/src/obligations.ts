import type { AuthorizeResponse } from '@argus/contracts';
import { SseEvents, eventParts } from './sse-events.ts';

/** The value a redacted field is replaced with. */
export const REDACTED = '[REDACTED]';

/** Where the proxy says what it did to an answer: a header, and a marker in the body. */
export const OBLIGATIONS_HEADER = 'x-argus-obligations';

/**
 * The obligations of the allows a call was forwarded under, merged to the strictest (several
 * decisions — the messages of an MCP batch — give one set for the whole answer): `redact` is the
 * union, `maxItems` the minimum, `logValues` the AND. `unknown` lists obligations the proxy cannot
 * apply (it then refuses the call); custom `x_*` obligations are the application's, not the proxy's.
 */
export interface ProxyObligations {
  redact: string[];
  maxItems?: number;
  logValues: boolean;
  unknown: string[];
}

/** Merges the `obligations` of `answers` (see {@link ProxyObligations}). */
export function obligationsOf(answers: readonly AuthorizeResponse[]): ProxyObligations {
  const redact = new Set<string>();
  let maxItems: number | undefined;
  let logValues = true;
  const unknown = new Set<string>();
  for (const a of answers) {
    for (const [name, value] of Object.entries(a.result.obligations ?? {})) {
      if (value === undefined) continue;
      if (name === 'redact' && Array.isArray(value) && value.every((v) => typeof v === 'string')) {
        for (const v of value as string[]) for (const f of v.split(',')) if (f.trim()) redact.add(f.trim());
      } else if (name === 'max_items' && (typeof value === 'number' || typeof value === 'string') && /^\d{1,9}$/.test(String(value))) {
        maxItems = Math.min(maxItems ?? Infinity, Number(value));
      } else if (name === 'log_values' && (typeof value === 'boolean' || Array.isArray(value))) {
        // The engine merges to a boolean; an older one kept every value as a string.
        if (value === false || (Array.isArray(value) && value.includes('false'))) logValues = false;
      } else if (!name.startsWith('x_')) {
        unknown.add(name);
      }
    }
  }
  return { redact: [...redact].sort(), ...(maxItems !== undefined ? { maxItems } : {}), logValues, unknown: [...unknown].sort() };
}

/** True when the answer's body must be rewritten (redaction or truncation). */
export function rewritesBody(o: ProxyObligations | undefined): o is ProxyObligations {
  return !!o && (o.redact.length > 0 || o.maxItems !== undefined);
}

/** What was done to one document. */
export interface Applied {
  redacted: number;
  /** Each truncated array: where (a JSON pointer; `#` enters a JSON string), how long it was, how many items were kept. */
  truncated: Array<{ path: string; items: number; kept: number }>;
}

/**
 * One redaction rule: a field name, or a path (JSON pointer or dotted) matched at any depth. A path
 * without numeric segments skips array indices (`patient.dob` also finds `patient[3].dob`); a path
 * with one (`/choices/0/message/content`) is matched against the full path, indices included.
 */
type Rule = string[];

const INDEX = /^\d+$/;

function rulesOf(redact: readonly string[]): Rule[] {
  return redact
    .map((r) => {
      const segments = r.startsWith('/')
        ? r
            .slice(1)
            .split('/')
            .map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'))
        : r.split('.');
      return segments.filter((s) => s !== '').map((s) => s.toLowerCase());
    })
    .filter((r) => r.length > 0);
}

/** True when the object keys leading to a field (array indices left out) end with `rule` (`*` matches any key). */
function matches(keys: readonly string[], rule: Rule): boolean {
  if (keys.length < rule.length) return false;
  const offset = keys.length - rule.length;
  return rule.every((seg, i) => seg === '*' || seg === keys[offset + i]);
}

const MAX_NESTED_JSON = 1 << 20;

/** The path segment that enters JSON held in a string (a key no real document uses; it only shapes the reported path). */
const INTO_STRING = '\u0000#';

/**
 * Applies redaction and truncation to a parsed JSON document, at any depth, returning a new
 * document (the input is not changed). Strings that hold JSON (an OpenAI tool call's
 * `arguments`, an MCP text content) are parsed, rewritten and re-serialized the same way.
 */
export function applyToDocument(doc: unknown, o: ProxyObligations): { doc: unknown; applied: Applied } {
  const rules = rulesOf(o.redact);
  // Plain names are a set lookup; only paths need the keys leading to a field.
  const names = new Set(rules.filter((r) => r.length === 1 && r[0] !== '*').map((r) => r[0]!));
  const paths = rules.filter((r) => r.length > 1 || r[0] === '*');
  const keys: string[] = [];
  /** `keys` with array indices: what a rule naming an index is matched against. */
  const full: string[] = [];
  const indexed = new Set(paths.filter((r) => r.some((seg) => INDEX.test(seg))));
  /** The raw segments to the current value (`#` enters a JSON string): a pointer is built only when an array is cut. */
  const at: string[] = [];
  const pointerOf = () => at.map((x) => (x === INTO_STRING ? '#' : `/${x.replace(/~/g, '~0').replace(/\//g, '~1')}`)).join('') || '/';
  const applied: Applied = { redacted: 0, truncated: [] };
  const walk = (value: unknown, depth: number): unknown => {
    if (depth > 512) throw new Error('document too deep to rewrite');
    if (typeof value === 'string') {
      const t = value.trimStart();
      if ((t.startsWith('{') || t.startsWith('[')) && value.length <= MAX_NESTED_JSON) {
        let inner: unknown;
        try {
          inner = JSON.parse(value);
        } catch {
          return value;
        }
        const before = applied.redacted + applied.truncated.length;
        at.push(INTO_STRING);
        const rewritten = walk(inner, depth + 1);
        at.pop();
        return applied.redacted + applied.truncated.length === before ? value : JSON.stringify(rewritten);
      }
      return value;
    }
    if (value === null || typeof value !== 'object') return value;
    if (Array.isArray(value)) {
      let items = value;
      if (o.maxItems !== undefined && items.length > o.maxItems) {
        applied.truncated.push({ path: pointerOf(), items: items.length, kept: o.maxItems });
        items = items.slice(0, o.maxItems);
      }
      return items.map((v, i) => {
        at.push(String(i));
        full.push(String(i));
        const out = walk(v, depth + 1);
        full.pop();
        at.pop();
        return out;
      });
    }
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) {
      const lower = k.toLowerCase();
      keys.push(lower);
      full.push(lower);
      if (names.has(lower) || (paths.length > 0 && paths.some((r) => matches(indexed.has(r) ? full : keys, r)))) {
        out[k] = REDACTED;
        applied.redacted++;
      } else {
        at.push(k);
        out[k] = walk(v, depth + 1);
        at.pop();
      }
      keys.pop();
      full.pop();
    }
    return out;
  };
  return { doc: walk(doc, 0), applied };
}

/**
 * Applies `o` to an answer body and marks what was cut: a JSON-RPC result gets
 * `_meta["argus/obligations"]` (where MCP puts extensions), any other JSON object a top-level
 * `argus_obligations`; a batch is rewritten message by message.
 */
export function applyToAnswer(doc: unknown, o: ProxyObligations): { doc: unknown; applied: Applied } {
  if (Array.isArray(doc) && doc.every(isJsonRpc)) {
    const total: Applied = { redacted: 0, truncated: [] };
    const out = doc.map((m) => {
      const r = applyToAnswer(m, o);
      total.redacted += r.applied.redacted;
      total.truncated.push(...r.applied.truncated);
      return r.doc;
    });
    return { doc: out, applied: total };
  }
  const { doc: rewritten, applied } = applyToDocument(doc, o);
  if (applied.redacted === 0 && applied.truncated.length === 0) return { doc: rewritten, applied };
  const marker = { redacted: applied.redacted, truncated: applied.truncated };
  if (isJsonRpc(rewritten) && rewritten.result && typeof rewritten.result === 'object' && !Array.isArray(rewritten.result)) {
    const result = rewritten.result as Record<string, unknown>;
    const meta = result._meta && typeof result._meta === 'object' ? (result._meta as Record<string, unknown>) : {};
    return { doc: { ...rewritten, result: { ...result, _meta: { ...meta, 'argus/obligations': marker } } }, applied };
  }
  if (rewritten && typeof rewritten === 'object' && !Array.isArray(rewritten))
    return { doc: { ...(rewritten as object), argus_obligations: marker }, applied };
  return { doc: rewritten, applied };
}

function isJsonRpc(m: unknown): m is { jsonrpc: string; result?: unknown } {
  return !!m && typeof m === 'object' && !Array.isArray(m) && (m as { jsonrpc?: unknown }).jsonrpc === '2.0';
}

/** The header value naming the obligations applied to an answer. */
export function obligationsHeader(o: ProxyObligations): string {
  return [
    ...(o.redact.length > 0 ? ['redact'] : []),
    ...(o.maxItems !== undefined ? [`max_items=${o.maxItems}`] : []),
    ...(!o.logValues ? ['log_values=false'] : []),
  ].join(', ');
}

/**
 * Rewrites an SSE stream of JSON events (MCP's streamable HTTP) event by event: each event's
 * `data` is parsed, rewritten with {@link applyToAnswer} and re-sent as one `data` line. An event
 * whose data is not JSON cannot be rewritten safely: the stream fails (the caller cuts it) rather
 * than pass it unredacted. Events are bounded by `maxEventBytes`.
 */
export class SseRewriter extends SseEvents {
  readonly total: Applied = { redacted: 0, truncated: [] };

  constructor(
    private readonly o: ProxyObligations,
    maxEventBytes: number,
  ) {
    super(maxEventBytes);
  }

  protected event(raw: string): string {
    return this.rewrite(raw);
  }

  private rewrite(raw: string): string {
    const { data, other } = eventParts(raw);
    if (data.length === 0) return `${other.join('\n')}\n\n`;
    let doc: unknown;
    try {
      doc = JSON.parse(data.join('\n'));
    } catch {
      throw new Error('a stream event is not JSON: it cannot be rewritten safely');
    }
    const { doc: out, applied } = applyToAnswer(doc, this.o);
    this.total.redacted += applied.redacted;
    this.total.truncated.push(...applied.truncated);
    return `${[...other, `data: ${JSON.stringify(out)}`].join('\n')}\n\n`;
  }
}
