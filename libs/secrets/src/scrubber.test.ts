import { Readable } from 'node:stream';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { REDACTED, Scrubber, encodedForms, scrubbingDestination } from './scrubber.ts';
import { PassThrough } from 'node:stream';

const secret = 'sk-canary-7Hq2Zx9LmP4vR1tY';

describe('Scrubber', () => {
  const s = new Scrubber([secret]);

  it('scrubs raw, base64, base64url, basic-auth and url-encoded forms', () => {
    expect(s.scrub(`key=${secret}!`)).toBe(`key=${REDACTED}!`);
    expect(s.scrub(Buffer.from(secret).toString('base64'))).not.toContain(Buffer.from(secret).toString('base64').slice(4, 20));
    expect(s.scrub(Buffer.from(secret).toString('base64url'))).toBe(REDACTED);
    const basic = Buffer.from(`user:${secret}`).toString('base64');
    expect(s.contains(basic)).toBe(true);
    expect(s.contains(encodeURIComponent(`x ${secret}`))).toBe(true);
  });

  it('scrubs the key in any letter case and escaped whole: \\uXXXX, every byte percent-encoded, hex, \\/, UTF-16', () => {
    const slashed = 'REAL/BILLING+SECRET-9Z9Z';
    const t = new Scrubber([secret, slashed]);
    const unicode = [...secret].map((c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`).join('');
    const percent = [...Buffer.from(secret)].map((b) => `%${b.toString(16)}`).join('');
    for (const form of [
      secret.toLowerCase(),
      secret.toUpperCase(),
      unicode,
      unicode.toUpperCase(),
      percent,
      percent.toUpperCase(),
      Buffer.from(secret).toString('hex'),
      Buffer.from(secret).toString('hex').toUpperCase(),
      encodeURIComponent(slashed).toLowerCase(),
      JSON.stringify(slashed).slice(1, -1).replace(/\//g, '\\/'),
      // Escaped in part: Python's quote (keeps `/`), punctuation percent-encoded or \u-escaped.
      slashed.replace('+', '%2B'),
      'REAL%2FBILLING%2BSECRET%2D9Z9Z',
      [...slashed].map((c) => (/[A-Za-z0-9]/.test(c) ? c : `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`)).join(''),
    ]) {
      expect(t.scrub(`{"echo":"${form}"}`), form).toBe(`{"echo":"${REDACTED}"}`);
      expect(t.scrubBuffer(Buffer.from(`x ${form} y`)).toString(), form).toBe(`x ${REDACTED} y`);
    }
    for (const body of [Buffer.from(`{"echo":"${secret}"}`, 'utf16le'), Buffer.from(`{"echo":"${secret}"}`, 'utf16le').swap16()])
      expect(t.scrubBuffer(body).toString('latin1')).toContain(REDACTED);
  });

  it('scrubs a key with punctuation as common encoders echo it (.NET, Go, ESAPI, nested URLs)', () => {
    const aws = 'wJalrXUtnFEMI/K7MDENG+bPxRfiCY=EXAMPLEKEY';
    const t = new Scrubber([aws]);
    const entities = (radix: 10 | 16) =>
      [...aws]
        .map((c) => (/[A-Za-z0-9]/.test(c) ? c : radix === 16 ? `&#x${c.charCodeAt(0).toString(16)};` : `&#${c.charCodeAt(0)};`))
        .join('');
    for (const form of [
      aws.replace('+', '\\u002B'), // .NET System.Text.Json's default encoder
      aws.replace('+', '&#43;'), // Go html/template
      aws.replace('/', '%2F'), // Go url.PathEscape
      encodeURIComponent(encodeURIComponent(aws)), // a URL inside a URL
      entities(16), // ESAPI
      entities(10),
    ]) {
      expect(t.scrub(`{"echo":"${form}"}`), form).toBe(`{"echo":"${REDACTED}"}`);
      expect(t.scrubHeaders({ location: `https://x.test/?k=${form}` }).location, form).not.toContain('EXAMPLEKEY');
    }
  });

  it('replaces a header value that holds a secret once decoded, and leaves out a header named by one', () => {
    const slashed = 'REAL/BILLING+SECRET-9Z9Z';
    const t = new Scrubber([secret, slashed]);
    const out = t.scrubHeaders({
      // As Python's urllib.parse.quote leaves it: `/` kept, `+` escaped; and JSON escapes mixed in.
      location: `https://elsewhere.test/cb?k=${slashed.replace('+', '%2B')}`,
      'x-echo': JSON.stringify(slashed).slice(1, -1).replace('/', '\\u002f'),
      [`x-${secret.toLowerCase()}`]: '1',
      'content-type': 'application/json',
    });
    // The Location matches a form (Python's quote) and is redacted in place; the mixed echo only decoded: whole.
    expect(out).toEqual({ location: `https://elsewhere.test/cb?k=${REDACTED}`, 'x-echo': REDACTED, 'content-type': 'application/json' });
  });

  it('holds back a possible prefix in any letter case across stream chunks', async () => {
    const upper = secret.toUpperCase();
    const text = `data: {"k":"${upper}"}\n\n`;
    for (let cut = 1; cut < text.length; cut++) {
      const out = await collect(s, [text.slice(0, cut), text.slice(cut)]);
      expect(out, `cut at ${cut}`).toBe(`data: {"k":"${REDACTED}"}\n\n`);
    }
  });

  it('catches base64 at every alignment', () => {
    for (const prefix of ['', 'a', 'ab', 'abc', 'abcd']) {
      const blob = Buffer.from(`${prefix}${secret}tail`).toString('base64');
      expect(s.contains(blob), `prefix ${prefix}`).toBe(true);
    }
  });

  it('leaves other text alone and ignores too-short values', () => {
    const t = new Scrubber(['abc']);
    expect(t.size).toBe(0);
    expect(t.scrub('abc abc')).toBe('abc abc');
    expect(s.scrub('nothing to see')).toBe('nothing to see');
  });

  it('scrubs headers, buffers and nested values', () => {
    expect(s.scrubHeaders({ authorization: `Bearer ${secret}`, 'x-n': 3, 'set-cookie': [`a=${secret}`] })).toEqual({
      authorization: `Bearer ${REDACTED}`,
      'x-n': 3,
      'set-cookie': [`a=${REDACTED}`],
    });
    expect(s.scrubBuffer(Buffer.from(`é${secret}é`)).toString()).toBe(`é${REDACTED}é`);
    expect(s.scrubDeep({ a: [{ b: `x${secret}` }], [secret]: 1 })).toEqual({ a: [{ b: `x${REDACTED}` }], [REDACTED]: 1 });
  });

  it('scrubDeep hands back a value without a secret as it is, and copies and scrubs one that holds any', () => {
    const clean = { a: [{ b: 'nothing here' }], n: 1, t: true, z: null };
    expect(s.scrubDeep(clean)).toBe(clean);
    // Secrets that JSON escapes (a quote, a backslash, a control character) are still found.
    const odd = 'quote"back\\slash\u0001-canary';
    const t = new Scrubber([odd]);
    expect(t.scrubDeep({ k: [`x${odd}y`] })).toEqual({ k: [`x${REDACTED}y`] });
    expect(t.scrubDeep({ [odd]: 1 })).toEqual({ [REDACTED]: 1 });
    // A buffer serializes as bytes in JSON text, so it always takes the walk.
    expect(s.scrubDeep({ body: Buffer.from(`x${secret}`) }).body.toString()).toBe(`x${REDACTED}`);
    // Whatever the value, the answer holds no secret and equals the walk's answer.
    fc.assert(
      fc.property(fc.jsonValue(), fc.array(fc.string(), { maxLength: 4 }), (value, path) => {
        const planted = path.reduceRight<unknown>((inner, key) => ({ [key]: inner, [`${key}${secret}`]: [inner, `pre${secret}`] }), value);
        const out = s.scrubDeep(planted);
        expect(JSON.stringify(out) ?? '').not.toContain(secret);
        expect(s.scrubDeep(value)).toEqual(value);
      }),
    );
  });

  it('scrubs a stream split at every position, holding back only possible prefixes', async () => {
    const text = `data: {"k":"${secret}"}\n\ndata: done\n\n`;
    for (let cut = 1; cut < text.length; cut++) {
      const out = await collect(s, [text.slice(0, cut), text.slice(cut)]);
      expect(out).toBe(text.replace(secret, REDACTED));
    }
  });

  it('emits a chunk without a secret prefix immediately', () => {
    expect(s.splitForStream('data: hello\n\n')).toEqual({ emit: 'data: hello\n\n', carry: '' });
    expect(s.splitForStream('data: sk-can').carry).toBe('sk-can');
  });

  it('never lets a secret through whatever the chunking (property)', async () => {
    await fc.assert(
      fc.asyncProperty(fc.string(), fc.string(), fc.array(fc.nat(200), { maxLength: 6 }), async (a, b, cuts) => {
        const text = `${a}${secret}${b}`;
        const points = [...new Set(cuts.map((c) => c % (text.length + 1)))].sort((x, y) => x - y);
        const chunks: string[] = [];
        let prev = 0;
        for (const p of points) {
          chunks.push(text.slice(prev, p));
          prev = p;
        }
        chunks.push(text.slice(prev));
        const out = await collect(s, chunks);
        expect(out).not.toContain(secret);
        expect(out).toBe(s.scrub(text));
      }),
      { numRuns: 200 },
    );
  });

  it('scrubs log lines written through scrubbingDestination', async () => {
    const sink = new PassThrough();
    const chunks: Buffer[] = [];
    sink.on('data', (c: Buffer) => chunks.push(c));
    const dest = scrubbingDestination(s, sink);
    await new Promise<void>((r) => dest.write(`{"msg":"${secret}"}\n`, () => r()));
    expect(Buffer.concat(chunks).toString()).toBe(`{"msg":"${REDACTED}"}\n`);
  });

  it('lists JSON-escaped forms of values with quotes', () => {
    expect(encodedForms('pa"ss\\word')).toContain('pa\\"ss\\\\word');
  });
});

async function collect(s: Scrubber, chunks: string[]): Promise<string> {
  const out: Buffer[] = [];
  const stream = Readable.from(chunks.filter((c) => c.length > 0).map((c) => Buffer.from(c))).pipe(s.stream());
  for await (const c of stream) out.push(c as Buffer);
  return Buffer.concat(out).toString();
}
