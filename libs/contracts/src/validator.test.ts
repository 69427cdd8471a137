import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { schemaRegistry, validatorFor } from './validator.ts';

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

  it('throws for an unknown schema id (a bug, not input)', () => {
    expect(() => validatorFor('https://argus.dev/schemas/nope.json')).toThrow(/not registered/);
  });

  it('compiles every schema in schemas/ under strict mode', () => {
    const ajv = schemaRegistry();
    const ids = Object.keys((ajv as unknown as { schemas: Record<string, unknown> }).schemas).filter((id) => id.startsWith('https://argus.dev/'));
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
