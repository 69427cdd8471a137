import canonicalize from 'canonicalize';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { canonicalJson } from './canonical-json.ts';

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
});
