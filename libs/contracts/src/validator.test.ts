import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { schemaRegistry, UNSAFE_INTEGER_MESSAGE, unsafeIntegers, validatorFor } from './validator.ts';

const authorize = validatorFor('https://argus.dev/schemas/authorize-request.json');
const valid = { input: { principal: { type: 'Agent', id: 'a' }, action: 'tool:call', resource: { type: 'Tool', id: 't' } } };

describe('validatorFor', () => {
  it('accepts a valid body', () => {
    expect(authorize(structuredClone(valid)).ok).toBe(true);
    expect(authorize({ ...structuredClone(valid), explain: 'full' }).ok).toBe(true);
    expect(authorize({ ...structuredClone(valid), explain: 'all' }).ok).toBe(false);
  });

  it('names an unknown field by its path', () => {
    const r = authorize({ ...valid, input: { ...valid.input, extra: 1 } });
    expect(r).toEqual({ ok: false, errors: [{ path: '/input/extra', message: 'unknown field `extra`' }] });
  });

  it('names a missing field by its path', () => {
    const r = authorize({ input: { action: 'x', resource: { type: 'Tool', id: 't' } } });
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.errors).toContainEqual({ path: '/input/principal', message: 'missing required field `principal`' });
  });

  it('refuses an integer Cedar could not receive exactly, naming its path, in every decision document', () => {
    const body = JSON.parse(
      '{"input":{"principal":{"type":"Agent","id":"a"},"action":"tool:call","resource":{"type":"Tool","id":"t"},"context":{"n":9007199254740993,"ok":9007199254740991,"a/b":[1,-1e300]}}}',
    );
    expect(authorize(body)).toEqual({
      ok: false,
      errors: [
        { path: '/input/context/n', message: UNSAFE_INTEGER_MESSAGE },
        { path: '/input/context/a~1b/1', message: UNSAFE_INTEGER_MESSAGE },
      ],
    });
    // The largest exact integers and non-integers pass.
    expect(authorize({ input: { ...valid.input, context: { n: Number.MAX_SAFE_INTEGER, m: Number.MIN_SAFE_INTEGER, f: 1.5 } } }).ok).toBe(
      true,
    );
    const batch = validatorFor('https://argus.dev/schemas/authorize-batch-request.json');
    const big = { uid: { type: 'Agent', id: 'a' }, attrs: { level: 2 ** 60 } };
    const r = batch({ inputs: [structuredClone(valid.input)], entities: [big] });
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.errors).toContainEqual({ path: '/entities/0/attrs/level', message: UNSAFE_INTEGER_MESSAGE });
    const data = validatorFor('https://argus.dev/schemas/data-request.json');
    const d = data({ input: { ...valid.input, context: { n: -(2 ** 53) } } });
    expect(d.ok).toBe(false);
    if (!d.ok) expect(d.errors).toContainEqual({ path: '/input/context/n', message: UNSAFE_INTEGER_MESSAGE });
    // Other documents are not concerned.
    expect(unsafeIntegers({ a: [2 ** 53] })).toEqual([{ path: '/a/0', message: UNSAFE_INTEGER_MESSAGE }]);
  });

  it('finds every unsafe integer at its JSON Pointer, in document order, at most `limit` of them (property, against a plain walk)', () => {
    // The plain walk: one pointer per value, the way the issue list is defined.
    const reference = (v: unknown, path: string, out: string[]): void => {
      if (typeof v === 'number') {
        if (Number.isInteger(v) && !Number.isSafeInteger(v)) out.push(path || '/');
      } else if (Array.isArray(v)) v.forEach((x, i) => reference(x, `${path}/${i}`, out));
      else if (v !== null && typeof v === 'object')
        for (const [k, x] of Object.entries(v)) reference(x, `${path}/${k.replace(/~/g, '~0').replace(/\//g, '~1')}`, out);
    };
    const unsafe = fc.oneof(fc.constantFrom(2 ** 53, -(2 ** 53), 2 ** 60, 1e300), fc.integer(), fc.double({ noNaN: true }));
    const key = fc.oneof(fc.string({ maxLength: 4 }), fc.constantFrom('a/b', '~', '~1', '/', ''));
    const value = fc.letrec((tie) => ({
      node: fc.oneof({ depthSize: 'small' }, unsafe, fc.string(), fc.boolean(), fc.constant(null), tie('array'), tie('object')),
      array: fc.array(tie('node'), { maxLength: 5 }),
      object: fc.dictionary(key, tie('node'), { maxKeys: 5 }),
    })).node;
    fc.assert(
      fc.property(value, fc.constantFrom('', '/input'), fc.integer({ min: 1, max: 12 }), (v, base, limit) => {
        const expected: string[] = [];
        reference(v, base, expected);
        expect(unsafeIntegers(v, base, limit)).toEqual(expected.slice(0, limit).map((path) => ({ path, message: UNSAFE_INTEGER_MESSAGE })));
      }),
      { numRuns: 2000 },
    );
  });

  it('throws for an unknown schema id (a bug, not input)', () => {
    expect(() => validatorFor('https://argus.dev/schemas/nope.json')).toThrow(/not registered/);
  });

  it('compiles every schema in schemas/ under strict mode', () => {
    const ajv = schemaRegistry();
    const ids = Object.keys((ajv as unknown as { schemas: Record<string, unknown> }).schemas).filter((id) =>
      id.startsWith('https://argus.dev/'),
    );
    expect(ids.length).toBeGreaterThan(10);
    for (const id of ids) expect(() => ajv.getSchema(id)).not.toThrow();
  });

  it('never throws and always locates its complaints, whatever the input', () => {
    fc.assert(
      fc.property(fc.jsonValue({ maxDepth: 6 }), (doc) => {
        const r = authorize(doc);
        if (!r.ok) for (const e of r.errors) expect(e.path.startsWith('/')).toBe(true);
      }),
      { numRuns: 300 },
    );
  });
});
