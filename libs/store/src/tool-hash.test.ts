import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { canonicalJson, diffTools, hashTools, keepGovernance, policyVersionHash, toolHash, toolsHash } from './tool-hash.ts';
import { isLegalTransition, isLegalToolChangeTransition, stateAfterToolChange } from './trust.ts';
import { TRUST_STATES } from './ports.ts';

describe('tool hashes', () => {
  it('ignore key order and change with any field', () => {
    const a = toolHash({
      name: 't',
      description: 'd',
      inputSchema: { type: 'object', properties: { a: { type: 'string' }, b: { type: 'number' } } },
    });
    const b = toolHash({
      name: 't',
      description: 'd',
      inputSchema: { properties: { b: { type: 'number' }, a: { type: 'string' } }, type: 'object' },
    });
    expect(a).toBe(b);
    expect(toolHash({ name: 't', description: 'd!', inputSchema: {} })).not.toBe(
      toolHash({ name: 't', description: 'd', inputSchema: {} }),
    );
    expect(toolHash({ name: 't2', description: 'd', inputSchema: {} })).not.toBe(
      toolHash({ name: 't', description: 'd', inputSchema: {} }),
    );
  });

  it('canonical JSON round-trips and is order-insensitive (property)', () => {
    fc.assert(
      fc.property(fc.dictionary(fc.string(), fc.jsonValue()), (obj) => {
        const reversed = Object.fromEntries(Object.entries(obj).reverse());
        expect(canonicalJson(reversed)).toBe(canonicalJson(obj));
        expect(JSON.parse(canonicalJson(obj))).toEqual(JSON.parse(JSON.stringify(obj)));
      }),
      { numRuns: 200 },
    );
  });

  it('tools hash is order-insensitive and diffs name what changed', () => {
    const before = hashTools([
      { name: 'a', description: 'x', inputSchema: {} },
      { name: 'b', description: 'y', inputSchema: {} },
    ]);
    expect(toolsHash(before)).toBe(toolsHash([...before].reverse()));
    const after = hashTools([
      { name: 'b', description: 'y (now exfiltrates)', inputSchema: {} },
      { name: 'c', description: 'z', inputSchema: {} },
    ]);
    expect(diffTools(before, after)).toEqual({ added: ['c'], removed: ['a'], changed: ['b'] });
    expect(diffTools(before, before)).toEqual({ added: [], removed: [], changed: [] });
  });

  it('policy version hash ignores file order', () => {
    const f = [
      { path: 'a.cedar', text: 'permit(principal, action, resource);' },
      { path: 'b.cedar', text: 'forbid(principal, action, resource);' },
    ];
    expect(policyVersionHash(f)).toBe(policyVersionHash([...f].reverse()));
    expect(policyVersionHash(f)).not.toBe(policyVersionHash([f[0]!]));
  });
});

describe('trust state machine', () => {
  it('allows exactly the documented transitions', () => {
    const legal = TRUST_STATES.flatMap((from) => TRUST_STATES.filter((to) => isLegalTransition(from, to)).map((to) => `${from}>${to}`));
    expect(legal.sort()).toEqual(
      [
        'discovered>pending',
        'discovered>quarantined',
        'discovered>revoked',
        'pending>trusted',
        'pending>quarantined',
        'pending>revoked',
        'trusted>quarantined',
        'trusted>revoked',
        'quarantined>pending',
        'quarantined>revoked',
      ].sort(),
    );
  });

  it('lets a tool change demote trusted servers and never release quarantined or revoked ones', () => {
    expect(isLegalToolChangeTransition('trusted', 'pending')).toBe(true);
    expect(isLegalToolChangeTransition('revoked', 'revoked')).toBe(true);
    expect(isLegalToolChangeTransition('revoked', 'pending')).toBe(false);
    expect(stateAfterToolChange('trusted', 'pending')).toBe('pending');
    expect(stateAfterToolChange('trusted', 'quarantined')).toBe('quarantined');
    expect(stateAfterToolChange('quarantined', 'pending')).toBe('quarantined');
    expect(stateAfterToolChange('revoked', 'quarantined')).toBe('revoked');
    expect(stateAfterToolChange('discovered', 'pending')).toBe('discovered');
  });

  it('keeps governance attributes out of the hash, and carries them over a rescan that does not set them', () => {
    const bare = { name: 'echo', description: 'd', inputSchema: {} };
    const [governed] = hashTools([
      { ...bare, sensitivity: 'internal', allowedIntents: ['triage'], category: 'crm', labels: { team: 'a' } },
    ]);
    expect(governed).toMatchObject({ sensitivity: 'internal', allowedIntents: ['triage'], category: 'crm', labels: { team: 'a' } });
    expect(governed!.hash).toBe(toolHash(bare));
    const rescanned = hashTools([bare, { ...bare, name: 'new' }]);
    expect(keepGovernance([governed!], rescanned)).toEqual([governed, rescanned[1]]);
    // A rescan that sets an attribute wins over the old value.
    expect(keepGovernance([governed!], hashTools([{ ...bare, sensitivity: 'high' }]))[0]).toMatchObject({
      sensitivity: 'high',
      allowedIntents: ['triage'],
    });
  });
});
