import canonicalize from 'canonicalize';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { canonicalJson, canonicalText } from './canonical-json.ts';

/** JSON values canonicalize accepts: no lone surrogate, finite numbers (fast-check's `json` arbitrary parsed). */
const jsonValue = fc.jsonValue({ maxDepth: 4 }).filter((v) => {
  try {
    canonicalize(v);
    return true;
  } catch {
    return false;
  }
});

describe('canonicalJson', () => {
  it('is RFC 8785 (the canonicalize package) byte for byte on JSON values', () => {
    fc.assert(
      fc.property(jsonValue, (v) => canonicalJson(v) === canonicalize(v)),
      { numRuns: 2000 },
    );
  });

  it('orders keys by UTF-16 code units on either side of the in-place sort bound (32 keys)', () => {
    // Keys drawn from a small alphabet with astral and BMP characters and integer-like names, in
    // every insertion order, on objects with 0 to 60 keys (in place up to 32, Array.prototype.sort above).
    const key = fc.string({ unit: fc.constantFrom('a', 'b', 'B', '0', '9', '1', 'é', '\uffff', '\u{1F600}', '_'), maxLength: 4 });
    const wide = fc
      .uniqueArray(fc.tuple(key, fc.oneof(fc.integer(), fc.string())), { selector: ([k]) => k, maxLength: 60, size: 'max' })
      .map((entries) => Object.fromEntries(entries));
    fc.assert(
      fc.property(fc.array(wide, { minLength: 1, maxLength: 3 }), (objects) => canonicalJson(objects) === canonicalize(objects)),
      { numRuns: 1000 },
    );
  });

  it('leaves the top-level `hash` out as canonicalize does without it, and keeps nested ones', () => {
    const record = { seq: 2, hash: 'h', prevHash: 'p', body: { hash: 'nested', é: 1, e: [1.5e-7, -0, 1e21, 'a\u2028'] } };
    const { hash: _hash, ...rest } = record;
    expect(canonicalJson(record, 'hash')).toBe(canonicalize(rest));
    expect(canonicalJson(record, 'hash')).toContain('"hash":"nested"');
  });

  it('never throws where canonicalize does: a lone surrogate is escaped, a non-finite number is null', () => {
    expect(() => canonicalize({ s: '\ud800' })).toThrow();
    expect(canonicalJson({ s: '\ud800', n: Number.NaN, i: Infinity })).toBe('{"i":null,"n":null,"s":"\\ud800"}');
    expect(canonicalJson([undefined, () => 1])).toBe('[null,null]');
  });

  it('writes values whose keys are already in order with one JSON.stringify, byte for byte as RFC 8785', () => {
    // Objects rebuilt with their keys inserted in sorted order: the path the audit records take.
    const sortedDeep = (v: unknown): unknown =>
      Array.isArray(v)
        ? v.map(sortedDeep)
        : v !== null && typeof v === 'object'
          ? Object.fromEntries(
              Object.keys(v)
                .sort()
                .map((k) => [k, sortedDeep((v as Record<string, unknown>)[k])]),
            )
          : v;
    fc.assert(
      fc.property(jsonValue, (v) => {
        const sorted = sortedDeep(v);
        return canonicalJson(sorted) === canonicalize(sorted) && canonicalJson(sorted) === canonicalText(sorted);
      }),
      { numRuns: 2000 },
    );
  });

  it('answers as the general path for any value: unsorted, integer-like keys, omitted key, toJSON, symbols, bigints, dates, class instances, holes', () => {
    class Box {
      constructor(readonly a = 1) {}
    }
    const odd = fc.constantFrom<unknown>(
      undefined,
      Number.NaN,
      -0,
      Infinity,
      Symbol('s'),
      10n,
      () => 1,
      new Date(0),
      new Box(),
      { toJSON: () => 'x' },
      { toJSON: 'not a function' },
      Object.create(null),
      // eslint-disable-next-line no-sparse-arrays -- a hole, on purpose
      [1, , 3],
      new Uint8Array([1]),
      'a\u2028\ud800',
    );
    const key = fc.constantFrom('a', 'b', 'hash', '1', '10', '2', 'toJSON', 'é', '\u{1F600}');
    const value = fc.letrec((tie) => ({
      node: fc.oneof({ depthSize: 'small' }, odd, fc.jsonValue({ maxDepth: 1 }), tie('array'), tie('object')),
      array: fc.array(tie('node'), { maxLength: 4 }),
      object: fc
        .uniqueArray(fc.tuple(key, tie('node')), { selector: ([k]) => k, maxLength: 5 })
        .map((entries) => Object.fromEntries(entries)),
    })).node;
    fc.assert(
      fc.property(value, fc.constantFrom(undefined, 'hash'), (v, omit) => {
        expect(canonicalJson(v, omit)).toBe(canonicalText(v, omit));
      }),
      { numRuns: 3000 },
    );
    // Sorted but holding something JSON.stringify writes differently: the general path's answer.
    expect(canonicalJson({ a: 1, b: Symbol('s') })).toBe('{"a":1,"b":null}');
    expect(canonicalJson({ a: 1, b: { toJSON: () => 'x' } })).toBe('{"a":1,"b":{}}');
    expect(canonicalJson({ a: new Date(0) })).toBe('{"a":{}}');
    expect(canonicalJson({ 10: 1, 2: 2 })).toBe('{"10":1,"2":2}');
    expect(canonicalJson({ a: 1, hash: 'h' }, 'hash')).toBe('{"a":1}');
  });
});
