import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { applyObligations, REDACTED } from './obligations.ts';

describe('applyObligations', () => {
  it('redacts fields by name at any depth, case-insensitively, without touching the input', () => {
    const body = { name: 'Ann', SSN: '123', contact: { email: 'a@x', phones: [{ email: 'b@x', n: 1 }] } };
    const copy = structuredClone(body);
    const r = applyObligations(body, { redact: ['email', 'ssn'] });
    expect(r.body).toEqual({ name: 'Ann', SSN: REDACTED, contact: { email: REDACTED, phones: [{ email: REDACTED, n: 1 }] } });
    expect(r).toMatchObject({ applied: ['redact'], unsupported: [], counts: { redacted: 3, truncated: 0 } });
    expect(body).toEqual(copy);
  });

  it('redacts a whole subtree under a matching name', () => {
    expect(applyObligations({ ssn: { area: 1, serial: 2 } }, { redact: ['ssn'] }).body).toEqual({ ssn: REDACTED });
  });

  it('truncates every array to max_items, nested ones included', () => {
    const r = applyObligations({ data: [1, 2, 3, 4], page: { rows: [[1, 2, 3], [4]] } }, { max_items: 2 });
    expect(r.body).toEqual({ data: [1, 2], page: { rows: [[1, 2], [4]] } });
    expect(r).toMatchObject({ applied: ['max_items'], counts: { truncated: 2 } });
    expect(applyObligations([1, 2, 3], { max_items: 0 }).body).toEqual([]);
  });

  it('applies both, and reports unknown or malformed obligations as unsupported', () => {
    const r = applyObligations({ items: [{ ssn: 1 }, { ssn: 2 }] }, { redact: ['ssn'], max_items: 1, watermark: ['internal'] });
    expect(r.body).toEqual({ items: [{ ssn: REDACTED }] });
    expect(r.applied).toEqual(['max_items', 'redact']);
    expect(r.unsupported).toEqual(['watermark']);
    expect(applyObligations({ a: 1 }, { max_items: -1, redact: 'ssn' }).unsupported).toEqual(['max_items', 'redact']);
    expect(applyObligations({ a: 1 }, { max_items: 1.5 }).unsupported).toEqual(['max_items']);
  });

  it('cannot redact inside text or binary bodies: reports it and leaves the body as is', () => {
    for (const body of ['{"ssn":"1"}', Buffer.from('{"ssn":"1"}'), new Uint8Array([1, 2])]) {
      const r = applyObligations(body, { redact: ['ssn'], max_items: 3 });
      expect(r.body).toBe(body);
      expect(r).toMatchObject({ applied: [], unsupported: ['max_items', 'redact'] });
    }
  });

  it('no obligations: the body is returned as is', () => {
    const body = { a: [1, 2] };
    expect(applyObligations(body, undefined)).toMatchObject({ body, applied: [], unsupported: [] });
    expect(applyObligations(body, {}).body).toBe(body);
    expect(applyObligations(null, { redact: ['x'] })).toMatchObject({ body: null, applied: ['redact'] });
  });

  it('refuses to half-apply to a body nested past maxDepth', () => {
    let deep: unknown = { ssn: 'x' };
    for (let i = 0; i < 10; i++) deep = { next: deep };
    const r = applyObligations(deep, { redact: ['ssn'] }, { maxDepth: 5 });
    expect(r).toMatchObject({ applied: [], unsupported: ['redact'] });
    expect(applyObligations(deep, { redact: ['ssn'] }, { maxDepth: 50 }).applied).toEqual(['redact']);
  });

  it('property: no redacted name keeps a value and no array exceeds the limit', () => {
    const names = ['ssn', 'email', 'name', 'id'];
    const json = fc.letrec((tie) => ({
      value: fc.oneof({ depthSize: 'small' }, fc.string(), fc.integer(), fc.constant(null), tie('arr'), tie('obj')),
      arr: fc.array(tie('value'), { maxLength: 6 }),
      obj: fc.dictionary(fc.constantFrom(...names, 'SSN', 'Email'), tie('value'), { maxKeys: 4 }),
    })).value;
    fc.assert(
      fc.property(json, fc.subarray(names, { minLength: 1 }), fc.integer({ min: 0, max: 4 }), (body, redact, maxItems) => {
        const r = applyObligations(body, { redact, max_items: maxItems });
        const lower = new Set(redact);
        const check = (v: unknown): void => {
          if (Array.isArray(v)) {
            expect(v.length).toBeLessThanOrEqual(maxItems);
            v.forEach(check);
          } else if (v && typeof v === 'object') {
            for (const [k, x] of Object.entries(v)) {
              if (lower.has(k.toLowerCase())) expect(x).toBe(REDACTED);
              else check(x);
            }
          }
        };
        check(r.body);
      }),
      { numRuns: 300 },
    );
  });
});
