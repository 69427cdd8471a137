import { describe, expect, it } from 'vitest';
import { newDecisionId } from './ids.ts';

describe('newDecisionId', () => {
  it('is a version 7 UUID (RFC 9562 variant)', () => {
    expect(newDecisionId()).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  });

  it('sorts in the order the ids were minted, to the millisecond, and never repeats', () => {
    const ids = Array.from({ length: 5000 }, () => newDecisionId());
    const times = ids.map((id) => id.slice(0, 13));
    expect([...times].sort()).toEqual(times);
    expect(new Set(ids).size).toBe(ids.length);
  });

  it('carries the time it was minted in its first 48 bits', () => {
    const before = Date.now();
    const id = newDecisionId();
    const ms = parseInt(id.replace(/-/g, '').slice(0, 12), 16);
    expect(ms).toBeGreaterThanOrEqual(before);
    expect(ms).toBeLessThanOrEqual(Date.now());
  });
});
