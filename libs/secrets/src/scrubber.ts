import { Transform, Writable, type TransformCallback } from 'node:stream';

/** What replaces a secret wherever it is found. */
export const REDACTED = '[redacted]';

/** Secrets shorter than this are not scrubbed: they would match ordinary text. */
export const MIN_SCRUB_LENGTH = 6;

/** Header maps as node and fetch write them. */
export type HeaderMap = Record<string, string | string[] | number | undefined>;

/**
 * Replaces every known secret value with `[redacted]` in strings, buffers, headers and
 * JSON-like values. Each secret is matched in any letter case, in its raw form and in the forms it
 * takes once encoded: base64 and base64url (at every byte alignment, so it is also caught inside
 * `Basic` credentials or longer blobs), percent-encoding (reserved characters, or every byte),
 * JSON string escaping (as usual, with `\/`, or every character as `\uXXXX`), hex, and UTF-16.
 */
export class Scrubber {
  readonly #values = new Set<string>();
  /** Forms as strings (for string scrubbing) and as latin1 views of their UTF-8 bytes (for buffers). */
  #forms: string[] = [];
  #byteForms: string[] = [];
  #textPattern: RegExp | undefined;
  #bytePattern: RegExp | undefined;
  #firstBytes = new Set<string>();
  #maxByteLength = 0;
  /** False when a value holds a lone surrogate: JSON text escapes it depending on its neighbours. */
  #jsonScannable = true;

  constructor(values: Iterable<string> = []) {
    for (const v of values) this.add(v);
  }

  /** Registers a secret value; returns false when it is too short to scrub safely. */
  add(value: string): boolean {
    if (value.length < MIN_SCRUB_LENGTH) return false;
    if (this.#values.has(value)) return true;
    this.#values.add(value);
    this.#rebuild();
    return true;
  }

  /** Forgets a value (after a secret was deleted or rotated away). */
  remove(value: string): void {
    if (this.#values.delete(value)) this.#rebuild();
  }

  /** How many secret values are registered. */
  get size(): number {
    return this.#values.size;
  }

  /** The longest form in bytes: how much a stream must hold back at most. */
  get maxFormBytes(): number {
    return this.#maxByteLength;
  }

  /** True when `text` contains any registered secret in any form. */
  contains(text: string): boolean {
    if (!this.#textPattern) return false;
    this.#textPattern.lastIndex = 0;
    return this.#textPattern.test(text);
  }

  /** `text` with every secret form replaced by `[redacted]`. */
  scrub(text: string): string {
    if (!this.#textPattern) return text;
    this.#textPattern.lastIndex = 0;
    return text.replace(this.#textPattern, REDACTED);
  }

  /** `buf` with every secret form replaced, byte for byte (no UTF-8 decoding of the rest). */
  scrubBuffer(buf: Buffer): Buffer {
    if (!this.#bytePattern) return buf;
    const text = buf.toString('latin1');
    this.#bytePattern.lastIndex = 0;
    if (!this.#bytePattern.test(text)) return buf;
    this.#bytePattern.lastIndex = 0;
    return Buffer.from(text.replace(this.#bytePattern, REDACTED), 'latin1');
  }

  /**
   * A copy of `headers` with secret forms scrubbed from every value; a value that holds a secret
   * only once its escapes are decoded (`k=REAL/KEY%2BX`, part escaped as a URL encoder leaves it)
   * is replaced whole, and a header whose name holds a secret is left out (a name cannot say
   * `[redacted]`).
   */
  scrubHeaders<T extends HeaderMap>(headers: T): T {
    const out: HeaderMap = {};
    const one = (x: string) => {
      const scrubbed = this.scrub(x);
      // Decoded twice: a value escaped inside an escaped URL (`%252F`) too.
      return this.contains(unescaped(unescaped(scrubbed))) ? REDACTED : scrubbed;
    };
    for (const [k, v] of Object.entries(headers)) {
      if (this.#textPattern && this.contains(unescaped(k))) continue;
      out[k] = typeof v === 'string' ? one(v) : Array.isArray(v) ? v.map(one) : v;
    }
    return out as T;
  }

  /** A deep copy of a JSON-like value with every string scrubbed (keys included). */
  scrubDeep<T>(value: T): T {
    if (!this.#textPattern) return value;
    // Most values hold no secret: one scan of their JSON text proves it without copying them.
    // The text holds every string and key (escaped: the JSON-escaped form is one of the patterns);
    // buffers serialize as byte lists, so a value holding one always takes the walk.
    if (this.#jsonScannable) {
      let text: string | undefined;
      try {
        text = JSON.stringify(value);
      } catch {
        text = undefined;
      }
      if (text !== undefined && !text.includes('"type":"Buffer"') && !this.contains(text)) return value;
    }
    return this.#deep(value, 0) as T;
  }

  /**
   * A transform that scrubs a byte stream chunk by chunk. It holds back only the tail of a chunk
   * that could be the start of a secret, so an SSE stream still flows event by event.
   */
  stream(): Transform {
    return new ScrubStream(this);
  }

  /** @internal Splits `text` (latin1 view of bytes) into what can be emitted scrubbed now and what must wait. */
  splitForStream(text: string): { emit: string; carry: string } {
    const pattern = this.#bytePattern;
    if (!pattern) return { emit: text, carry: '' };
    let lastEnd = 0;
    pattern.lastIndex = 0;
    for (let m = pattern.exec(text); m !== null; m = pattern.exec(text)) lastEnd = m.index + m[0].length;
    // INVARIANT: every complete match ends at or before `lastEnd`, so holding back only a suffix
    // starting after it never splits a match between the emitted part and the carry.
    const from = Math.max(lastEnd, text.length - this.#maxByteLength + 1);
    let hold = text.length;
    for (let i = from; i < text.length; i++) {
      if (!this.#firstBytes.has(text[i]!.toLowerCase())) continue;
      // Lower case on both sides: the patterns match in any letter case.
      const tail = text.slice(i).toLowerCase();
      if (this.#byteForms.some((f) => f.length > tail.length && f.startsWith(tail))) {
        hold = i;
        break;
      }
    }
    const head = text.slice(0, hold);
    pattern.lastIndex = 0;
    return { emit: head.replace(pattern, REDACTED), carry: text.slice(hold) };
  }

  /** @internal Scrubs what is left at the end of a stream. */
  scrubLatin1(text: string): string {
    if (!this.#bytePattern) return text;
    this.#bytePattern.lastIndex = 0;
    return text.replace(this.#bytePattern, REDACTED);
  }

  #deep(value: unknown, depth: number): unknown {
    if (typeof value === 'string') return this.scrub(value);
    if (value === null || typeof value !== 'object' || depth > 64) return value;
    if (Buffer.isBuffer(value)) return this.scrubBuffer(value);
    if (Array.isArray(value)) return value.map((v) => this.#deep(v, depth + 1));
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[this.scrub(k)] = this.#deep(v, depth + 1);
    return out;
  }

  #rebuild(): void {
    const forms = new Set<string>();
    for (const v of this.#values) for (const f of encodedForms(v)) forms.add(f);
    // Longest first so a longer form wins over a shorter one at the same position.
    this.#forms = [...forms].sort((a, b) => b.length - a.length);
    this.#byteForms = this.#forms.map((f) => Buffer.from(f, 'utf8').toString('latin1').toLowerCase());
    // Any letter case: an upstream may echo a key upper- or lower-cased, or its escapes in either case.
    this.#textPattern = this.#forms.length > 0 ? new RegExp(this.#forms.map(escapeRegExp).join('|'), 'gi') : undefined;
    this.#bytePattern = this.#byteForms.length > 0 ? new RegExp(this.#byteForms.map(escapeRegExp).join('|'), 'gi') : undefined;
    this.#firstBytes = new Set(this.#byteForms.map((f) => f[0]!));
    this.#maxByteLength = this.#byteForms.reduce((m, f) => Math.max(m, f.length), 0);
    this.#jsonScannable = ![...this.#values].some((v) => /[\ud800-\udfff]/.test(v));
  }
}

/** The raw value and the encodings under which it may travel in a body, header or log line. */
export function encodedForms(value: string): string[] {
  const bytes = Buffer.from(value, 'utf8');
  const forms = new Set<string>([value]);
  for (let shift = 0; shift < 3; shift++) {
    const b64 = Buffer.concat([Buffer.alloc(shift), bytes]).toString('base64');
    // Only the 4-character groups made entirely of the value's bytes are stable at this alignment.
    const start = shift === 0 ? 0 : 4;
    const end = Math.floor((shift + bytes.length) / 3) * 4;
    const inner = b64.slice(start, end);
    if (inner.length >= 8) {
      forms.add(inner);
      forms.add(inner.replace(/\+/g, '-').replace(/\//g, '_'));
    }
  }
  const full = bytes.toString('base64');
  forms.add(full);
  forms.add(bytes.toString('base64url'));
  forms.add(encodeURIComponent(value));
  forms.add(JSON.stringify(value).slice(1, -1));
  // Escaped, as an unusual encoder or a hostile upstream may echo it: every character (or all but
  // letters and digits, or all but Python `quote`'s safe `_.~-/`) percent-encoded or as a JSON
  // `\uXXXX` escape, the bytes in hex, `/` as JSON's `\/`, and in UTF-16 (the bytes of a UTF-16
  // body, seen as latin1 text). Letter case is left to the patterns (any case).
  const escapeOutside = (keep: RegExp, escape: (c: string) => string) => [...value].map((c) => (keep.test(c) ? c : escape(c))).join('');
  const percent = (c: string) => [...Buffer.from(c, 'utf8')].map((b) => `%${b.toString(16).padStart(2, '0')}`).join('');
  // Per UTF-16 unit: JSON escapes a character beyond the BMP as its two surrogates.
  const unicode = (c: string) =>
    c
      .split('')
      .map((u) => `\\u${u.charCodeAt(0).toString(16).padStart(4, '0')}`)
      .join('');
  // Percent: every byte; all but letters and digits; Python's `quote`; Go's `url.PathEscape`.
  for (const keep of [/$^/, /[A-Za-z0-9]/, /[A-Za-z0-9_.~/-]/, /[A-Za-z0-9\-._~!$&'()*+,;=:@]/]) forms.add(escapeOutside(keep, percent));
  forms.add(encodeURIComponent(encodeURIComponent(value)));
  // JSON `\uXXXX`: every character; all but letters and digits; .NET's default encoder (`+<>&'"`).
  for (const keep of [/$^/, /[A-Za-z0-9]/, /[^+<>&'"]/]) forms.add(escapeOutside(keep, unicode));
  // HTML character references: Go's html/template (`+<>&'"`, decimal), all but letters and digits (hex, decimal).
  const decimal = (c: string) => `&#${c.codePointAt(0)};`;
  const hex = (c: string) => `&#x${c.codePointAt(0)!.toString(16)};`;
  forms.add(escapeOutside(/[^+<>&'"]/, decimal));
  for (const entity of [hex, decimal]) forms.add(escapeOutside(/[A-Za-z0-9]/, entity));
  forms.add(bytes.toString('hex'));
  if (value.includes('/')) forms.add(JSON.stringify(value).slice(1, -1).replace(/\//g, '\\/'));
  forms.add(Buffer.from(value, 'utf16le').toString('latin1'));
  forms.add(Buffer.from(value, 'utf16le').swap16().toString('latin1'));
  return [...forms].filter((f) => f.length >= MIN_SCRUB_LENGTH);
}

/** `text` with its HTML character references, percent-escapes and JSON escapes (`\uXXXX`, `\/`) decoded; undecodable ones kept. */
export function unescaped(text: string): string {
  if (!text.includes('%') && !text.includes('\\') && !text.includes('&#')) return text;
  return text
    .replace(/&#x([0-9a-f]{1,6});/gi, (_m, hex: string) => String.fromCodePoint(Math.min(parseInt(hex, 16), 0x10ffff)))
    .replace(/&#([0-9]{1,7});/g, (_m, dec: string) => String.fromCodePoint(Math.min(Number(dec), 0x10ffff)))
    .replace(/%([0-9a-f]{2})/gi, (_m, hex: string) => String.fromCharCode(parseInt(hex, 16)))
    .replace(/\\u([0-9a-f]{4})/gi, (_m, hex: string) => String.fromCharCode(parseInt(hex, 16)))
    .replace(/\\\//g, '/');
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

class ScrubStream extends Transform {
  #carry = '';

  constructor(private readonly scrubber: Scrubber) {
    super();
  }

  override _transform(chunk: Buffer | string, _enc: BufferEncoding, done: TransformCallback): void {
    const text = this.#carry + (typeof chunk === 'string' ? Buffer.from(chunk, 'utf8') : chunk).toString('latin1');
    const { emit, carry } = this.scrubber.splitForStream(text);
    this.#carry = carry;
    if (emit.length > 0) this.push(Buffer.from(emit, 'latin1'));
    done();
  }

  override _flush(done: TransformCallback): void {
    if (this.#carry.length > 0) this.push(Buffer.from(this.scrubber.scrubLatin1(this.#carry), 'latin1'));
    this.#carry = '';
    done();
  }
}

/**
 * A writable that scrubs every chunk before handing it to `destination`: put it between pino and
 * stdout so no log line can carry a secret, whatever field it hides in.
 */
export function scrubbingDestination(scrubber: Scrubber, destination: NodeJS.WritableStream): Writable {
  return new Writable({
    write(chunk: Buffer | string, _enc, done) {
      const buf = typeof chunk === 'string' ? Buffer.from(chunk, 'utf8') : chunk;
      destination.write(scrubber.scrubBuffer(buf), (err) => done(err ?? undefined));
    },
  });
}
