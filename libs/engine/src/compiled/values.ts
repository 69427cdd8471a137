/**
 * Cedar runtime values for the compiled evaluator, their equality, and their reading from
 * cedar-wasm's JSON form.
 *
 * Representation: `boolean`, Long as a JS `number` that is always a safe integer, `string`,
 * and the classes below. A Long that would leave the safe-integer range without leaving Cedar's
 * 64-bit range cannot be represented exactly: evaluation then gives up on the request ({@link Bail})
 * and cedar-wasm answers it. Giving up is always allowed; guessing never is.
 */

/** An entity reference. `key` is `uidKey` of the uid: `Type::"id"`. */
export class Ent {
  constructor(
    readonly type: string,
    readonly id: string,
    readonly key: string,
  ) {}
}

/** A Cedar set: members are distinct under {@link valueEquals}. */
export class CSet {
  constructor(readonly items: readonly Value[]) {}
}

/** A Cedar record. A `Map`, so field names such as `__proto__` are plain keys. */
export class Rec {
  constructor(readonly fields: ReadonlyMap<string, Value>) {}
}

/** `decimal` (value × 10⁴), `datetime` (ms since the epoch) and `duration` (ms): exact 64-bit integers. */
export class Ext {
  constructor(
    readonly kind: 'decimal' | 'datetime' | 'duration',
    readonly n: bigint,
  ) {}
}

/** An `ipaddr` value: address and prefix length, compared as written (no masking), like Cedar. */
export class Ip {
  constructor(
    readonly v6: boolean,
    readonly addr: bigint,
    readonly prefix: number,
  ) {}
}

/** Any Cedar value. */
export type Value = boolean | number | string | Ent | CSet | Rec | Ext | Ip;

/** An evaluation error: Cedar skips the policy and reports it. */
export class CedarEvalError extends Error {}

/**
 * Thrown when the compiled evaluator cannot answer exactly (a Long beyond 2^53, an input form it
 * does not read): the caller hands the request to cedar-wasm.
 */
export class Bail extends Error {}

/** The single {@link Bail} instance (no stack trace to build on the hot path). */
export const BAIL = new Bail('compiled evaluation gave up');

export const I64_MIN = -(2n ** 63n);
export const I64_MAX = 2n ** 63n - 1n;

/** Cedar's name for the type of a value, for error messages. */
export function typeOf(v: Value): string {
  switch (typeof v) {
    case 'boolean':
      return 'bool';
    case 'number':
      return 'long';
    case 'string':
      return 'string';
  }
  if (v instanceof Ent) return `(entity of type \`${v.type}\`)`;
  if (v instanceof CSet) return 'set';
  if (v instanceof Rec) return 'record';
  if (v instanceof Ip) return 'ipaddr';
  return (v as Ext).kind;
}

/** A type error, worded like Cedar's. */
export function typeError(expected: string, got: Value): CedarEvalError {
  return new CedarEvalError(`type error: expected ${expected}, got ${typeOf(got)}`);
}

/** Cedar's `==`: structural, sets unordered, never an error. */
export function valueEquals(a: Value, b: Value): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object') return false;
  if (a instanceof Ent) return b instanceof Ent && a.key === b.key;
  if (a instanceof CSet) {
    if (!(b instanceof CSet) || a.items.length !== b.items.length) return false;
    // INVARIANT: set members are distinct, so equal sizes and inclusion one way is equality.
    for (const x of a.items) if (!setHas(b, x)) return false;
    return true;
  }
  if (a instanceof Rec) {
    if (!(b instanceof Rec) || a.fields.size !== b.fields.size) return false;
    for (const [k, v] of a.fields) {
      const w = b.fields.get(k);
      if (w === undefined || !valueEquals(v, w)) return false;
    }
    return true;
  }
  if (a instanceof Ext) return b instanceof Ext && a.kind === b.kind && a.n === b.n;
  if (a instanceof Ip) return b instanceof Ip && a.v6 === b.v6 && a.addr === b.addr && a.prefix === b.prefix;
  return false;
}

/** Whether `set` holds a member equal to `v`. */
export function setHas(set: CSet, v: Value): boolean {
  if (typeof v !== 'object') {
    for (const x of set.items) if (x === v) return true;
    return false;
  }
  for (const x of set.items) if (valueEquals(x, v)) return true;
  return false;
}

/** A set of `items` with duplicates (under Cedar equality) removed. */
export function makeSet(items: readonly Value[]): CSet {
  if (items.length < 2) return new CSet(items);
  const out: Value[] = [];
  const probe = new CSet(out);
  for (const v of items) if (!setHas(probe, v)) out.push(v);
  return new CSet(out);
}

/** Whether `s` is a Unicode string (no lone surrogate). ES2024's `isWellFormed`, present in Node 20. */
export function wellFormed(s: string): boolean {
  return (s as unknown as { isWellFormed(): boolean }).isWellFormed();
}

/** `uidKey` of a uid, as `Type::"id"`. */
export function entKey(type: string, id: string): string {
  return `${type}::${JSON.stringify(id)}`;
}

const RESERVED = new Set(['true', 'false', 'if', 'then', 'else', 'in', 'is', 'like', 'has']);
const IDENT = /^[A-Za-z_][A-Za-z0-9_]*$/;
const typeNameCache = new Map<string, boolean>();

/** Whether Cedar reads `name` as an entity type name exactly as written (else: give up). */
export function plainTypeName(name: string): boolean {
  let ok = typeNameCache.get(name);
  if (ok !== undefined) return ok;
  ok = name.length > 0 && !name.includes('__cedar') && name.split('::').every((part) => IDENT.test(part) && !RESERVED.has(part));
  if (typeNameCache.size < 10_000) typeNameCache.set(name, ok);
  return ok;
}

/** An entity reference from a JSON uid, giving up on a type name Cedar might read differently. */
export function entFromUid(uid: unknown): Ent {
  if (uid === null || typeof uid !== 'object') throw BAIL;
  const { type, id } = uid as { type?: unknown; id?: unknown };
  if (typeof type !== 'string' || typeof id !== 'string' || !plainTypeName(type) || !wellFormed(id)) throw BAIL;
  return new Ent(type, id, entKey(type, id));
}

/**
 * Reads a value in cedar-wasm's JSON form (no schema): `{__entity}`, `{__extn: {fn, arg}}`, arrays
 * as sets, objects as records. Anything Cedar would refuse or might read otherwise — floats,
 * nulls, unsafe integers, other `__` escapes, extension strings this module does not parse —
 * gives up ({@link BAIL}): cedar-wasm then answers (and fails the call where it must).
 */
export function fromJson(json: unknown): Value {
  switch (typeof json) {
    case 'boolean':
      return json;
    case 'string':
      // A lone surrogate is not a Unicode string: Cedar's reading of one is not this module's.
      if (!wellFormed(json)) throw BAIL;
      return json;
    case 'number':
      if (!Number.isSafeInteger(json)) throw BAIL;
      // cedar-wasm reads -0 as 0 (checked).
      return json === 0 ? 0 : json;
    case 'object': {
      if (json === null) throw BAIL;
      if (Array.isArray(json)) return makeSet(json.map(fromJson));
      const obj = json as Record<string, unknown>;
      const keys = Object.keys(obj);
      if (keys.length === 1 && keys[0] === '__entity') {
        const uid = obj.__entity as Record<string, unknown>;
        if (uid === null || typeof uid !== 'object' || Object.keys(uid).length !== 2) throw BAIL;
        return entFromUid(uid);
      }
      if (keys.length === 1 && keys[0] === '__extn') {
        const x = obj.__extn as Record<string, unknown>;
        if (x === null || typeof x !== 'object' || Object.keys(x).length !== 2 || typeof x.arg !== 'string') throw BAIL;
        const parsed = parseExtension(x.fn as string, x.arg);
        if (parsed === undefined) throw BAIL;
        return parsed;
      }
      const fields = new Map<string, Value>();
      for (const k of keys) {
        if (k.startsWith('__') || !wellFormed(k)) throw BAIL;
        fields.set(k, fromJson(obj[k]));
      }
      return new Rec(fields);
    }
    default:
      throw BAIL;
  }
}

/**
 * An extension value from its constructor and string, or `undefined` when this module cannot be
 * sure of Cedar's reading (then: give up), or an error when Cedar certainly refuses the string.
 */
export function parseExtension(fn: string, arg: string): Value | undefined {
  // Extension values are immutable: the same string always reads as the same value (`now` is
  // in every request's context).
  const key = `${fn}\u0000${arg}`;
  const hit = extensionCache.get(key);
  if (hit !== undefined) return hit;
  const v = parseExtensionNow(fn, arg);
  if (v !== undefined) {
    if (extensionCache.size >= 4096) extensionCache.clear();
    extensionCache.set(key, v);
  }
  return v;
}

const extensionCache = new Map<string, Value>();

function parseExtensionNow(fn: string, arg: string): Value | undefined {
  let r: Value | CedarEvalError | undefined;
  if (fn === 'decimal') r = parseDecimal(arg);
  else if (fn === 'ip') r = parseIp(arg);
  else if (fn === 'datetime') r = parseDatetime(arg);
  else if (fn === 'duration') r = parseDuration(arg);
  else return undefined;
  return r instanceof CedarEvalError ? undefined : r;
}

/** `decimal("...")`: as Cedar, `^-?\d+\.\d+$`, at most 4 fraction digits, within i64 after scaling. */
export function parseDecimal(s: string): Ext | CedarEvalError | undefined {
  const m = /^(-?[0-9]+)\.([0-9]+)$/.exec(s);
  if (!m) return /[\u0080-\uffff]/.test(s) ? undefined : new CedarEvalError(`\`${s}\` is not a well-formed decimal value`);
  const [, l, r] = m;
  if (r!.length > 4) return new CedarEvalError(`too many digits after the decimal in \`${s}\``);
  const whole = BigInt(l!);
  if (whole < I64_MIN || whole > I64_MAX) return new CedarEvalError('overflow when converting to decimal');
  const scaled = whole * 10_000n;
  if (scaled < I64_MIN || scaled > I64_MAX) return new CedarEvalError('overflow when converting to decimal');
  const frac = BigInt(r!) * 10n ** BigInt(4 - r!.length);
  const n = l!.startsWith('-') ? scaled - frac : scaled + frac;
  if (n < I64_MIN || n > I64_MAX) return new CedarEvalError('overflow when converting to decimal');
  return new Ext('decimal', n);
}

/** `duration("...")`: `-?(Nd)?(Nh)?(Nm)?(Ns)?(Nms)?`, not empty, within i64 milliseconds. */
export function parseDuration(s: string): Ext | CedarEvalError | undefined {
  const m = /^(-?)(?:([0-9]+)d)?(?:([0-9]+)h)?(?:([0-9]+)m)?(?:([0-9]+)s)?(?:([0-9]+)ms)?$/.exec(s);
  if (s === '' || s === '-' || !m) return new CedarEvalError(`invalid duration pattern \`${s}\``);
  const units = [86_400_000n, 3_600_000n, 60_000n, 1000n, 1n];
  let ms = 0n;
  for (let i = 0; i < 5; i++) {
    const q = m[i + 2];
    if (q === undefined) continue;
    const v = BigInt(q);
    // Cedar reads each quantity as u64, then checks quantity × unit and the running sum in i64.
    const limit = i === 4 && m[1] === '-' ? 2n ** 63n : I64_MAX;
    if (v > 2n ** 64n - 1n || v * units[i]! > limit) return new CedarEvalError('overflow while parsing duration');
    ms += m[1] === '-' ? -v * units[i]! : v * units[i]!;
    if (ms < I64_MIN || ms > I64_MAX) return new CedarEvalError('overflow while parsing duration');
  }
  return new Ext('duration', ms);
}

const DATETIME =
  /^([0-9]{4})-([0-9]{2})-([0-9]{2})(?:T([0-9]{2}):([0-9]{2}):([0-9]{2})(?:\.([0-9]{3}))?(?:Z|([+-])([0-9]{2})([0-9]{2})))?$/;

/** `datetime("...")`: `YYYY-MM-DD`, optionally `Thh:mm:ss` with `Z`, `.SSSZ` or `(+|-)hhmm` (and `.SSS` before it). */
export function parseDatetime(s: string): Ext | CedarEvalError | undefined {
  const m = DATETIME.exec(s);
  if (!m) return new CedarEvalError(`invalid datetime \`${s}\``);
  const [y, mo, d] = [Number(m[1]), Number(m[2]), Number(m[3])];
  if (mo < 1 || mo > 12 || d < 1 || d > daysInMonth(y, mo)) return new CedarEvalError(`invalid date in \`${s}\``);
  let ms = BigInt(daysFromCivil(y, mo, d)) * 86_400_000n;
  if (m[4] !== undefined) {
    const [h, mi, sec] = [Number(m[4]), Number(m[5]), Number(m[6])];
    if (h > 23 || mi > 59 || sec > 59) return new CedarEvalError(`invalid time in \`${s}\``);
    ms += BigInt(((h * 60 + mi) * 60 + sec) * 1000 + (m[7] !== undefined ? Number(m[7]) : 0));
    if (m[8] !== undefined) {
      const [oh, om] = [Number(m[9]), Number(m[10])];
      if (oh >= 24 || om >= 60) return new CedarEvalError(`invalid offset in \`${s}\``);
      const off = BigInt((oh * 3600 + om * 60) * 1000);
      ms += m[8] === '+' ? -off : off;
    }
  }
  return new Ext('datetime', ms);
}

function daysInMonth(y: number, m: number): number {
  if (m === 2) return (y % 4 === 0 && y % 100 !== 0) || y % 400 === 0 ? 29 : 28;
  return [4, 6, 9, 11].includes(m) ? 30 : 31;
}

/** Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm). */
function daysFromCivil(y: number, m: number, d: number): number {
  const yy = m <= 2 ? y - 1 : y;
  const era = Math.floor(yy / 400);
  const yoe = yy - era * 400;
  const doy = Math.floor((153 * (m + (m > 2 ? -3 : 9)) + 2) / 5) + d - 1;
  const doe = yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy;
  return era * 146_097 + doe - 719_468;
}

/**
 * `ip("...")`: an IPv4 or IPv6 address with an optional prefix. This parser accepts only forms
 * it reads exactly as Rust's `std::net` does (dotted quads without leading zeros; hex groups with
 * at most one `::`); other strings give up, except those Cedar certainly refuses.
 */
export function parseIp(s: string): Ip | CedarEvalError | undefined {
  const refuse = () => new CedarEvalError(`invalid IP address: \`${s}\``);
  if (s.length > 43) return refuse();
  const colons = s.split(':').length - 1;
  const dots = s.split('.').length - 1;
  if (colons >= 2 && dots >= 2) return refuse();
  const slash = s.indexOf('/');
  const addrStr = slash < 0 ? s : s.slice(0, slash);
  const v4 = parseV4(addrStr);
  const v6 = v4 === undefined ? parseV6(addrStr) : undefined;
  if (v4 === undefined && v6 === undefined) return /^[0-9a-fA-F:./]*$/.test(s) ? undefined : refuse();
  const max = v4 !== undefined ? 32 : 128;
  let prefix = max;
  if (slash >= 0) {
    const p = s.slice(slash + 1);
    if (p.length > (v4 !== undefined ? 2 : 3) || !/^[0-9]+$/.test(p) || (p.startsWith('0') && p !== '0') || Number(p) > max)
      return refuse();
    prefix = Number(p);
  }
  return v4 !== undefined ? new Ip(false, v4, prefix) : new Ip(true, v6!, prefix);
}

function parseV4(s: string): bigint | undefined {
  const parts = s.split('.');
  if (parts.length !== 4) return undefined;
  let n = 0n;
  for (const p of parts) {
    if (!/^(0|[1-9][0-9]{0,2})$/.test(p) || Number(p) > 255) return undefined;
    n = (n << 8n) | BigInt(p);
  }
  return n;
}

function parseV6(s: string): bigint | undefined {
  const halves = s.split('::');
  if (halves.length > 2) return undefined;
  const groups = (h: string) => (h === '' ? [] : h.split(':'));
  const head = groups(halves[0]!);
  const tail = halves.length === 2 ? groups(halves[1]!) : [];
  for (const g of [...head, ...tail]) if (!/^[0-9a-fA-F]{1,4}$/.test(g)) return undefined;
  const total = head.length + tail.length;
  if (halves.length === 1 ? total !== 8 : total > 7) return undefined;
  const all = [...head, ...Array<string>(8 - total).fill('0'), ...tail];
  let n = 0n;
  for (const g of all) n = (n << 16n) | BigInt(parseInt(g, 16));
  return n;
}
