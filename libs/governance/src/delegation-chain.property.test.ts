/**
 * Property tests: for random grant trees, a chain is accepted iff every hop is a subset of its
 * parent and the request is inside the last hop's scope. Whether a hop widens is known by
 * construction (independently of `isSubset`): narrowing operations only drop or refine patterns,
 * widening ones add an action or a resource type the root never held.
 */
import type { EntityRef } from '@argus/contracts';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { grantLookupFrom, verifyChain, type Grant } from './delegation-chain.ts';
import type { Scope } from './scope.ts';

const T0 = Date.parse('2026-01-01T00:00:00Z');
const ROOT_SCOPE: Scope = { actions: ['tool:*', 'llm:invoke'], resources: ['Tool::"crm.*"', 'Tool::"mail.*"', 'Model::"gpt-*"'] };

type Op =
  | { kind: 'same' }
  | { kind: 'drop-action'; i: number }
  | { kind: 'drop-resource'; i: number }
  | { kind: 'refine-action'; i: number; name: string }
  | { kind: 'refine-resource'; i: number; suffix: string; literal: boolean }
  | { kind: 'widen-action'; name: string }
  | { kind: 'widen-resource'; id: string };

const name = fc.stringMatching(/^[a-z]{1,4}$/);
const op: fc.Arbitrary<Op> = fc.oneof(
  { arbitrary: fc.constant({ kind: 'same' } as Op), weight: 2 },
  { arbitrary: fc.nat(5).map((i) => ({ kind: 'drop-action', i }) as Op), weight: 2 },
  { arbitrary: fc.nat(5).map((i) => ({ kind: 'drop-resource', i }) as Op), weight: 2 },
  { arbitrary: fc.record({ i: fc.nat(5), name }).map((r) => ({ kind: 'refine-action', ...r }) as Op), weight: 2 },
  {
    arbitrary: fc.record({ i: fc.nat(5), suffix: name, literal: fc.boolean() }).map((r) => ({ kind: 'refine-resource', ...r }) as Op),
    weight: 3,
  },
  { arbitrary: name.map((n) => ({ kind: 'widen-action', name: n }) as Op), weight: 1 },
  { arbitrary: name.map((n) => ({ kind: 'widen-resource', id: n }) as Op), weight: 1 },
);

/** Applies an op to a parent scope; returns the child scope and whether it widens. */
function apply(parent: Scope, o: Op): { scope: Scope; widens: boolean } {
  const actions = [...parent.actions];
  const resources = [...parent.resources];
  switch (o.kind) {
    case 'same':
      break;
    case 'drop-action':
      if (actions.length > 1) actions.splice(o.i % actions.length, 1);
      break;
    case 'drop-resource':
      if (resources.length > 1) resources.splice(o.i % resources.length, 1);
      break;
    case 'refine-action': {
      const i = o.i % actions.length;
      if (actions[i]!.endsWith('*')) actions[i] = actions[i]!.slice(0, -1) + o.name;
      break;
    }
    case 'refine-resource': {
      const i = o.i % resources.length;
      const r = resources[i]!;
      if (r.endsWith('*"')) resources[i] = `${r.slice(0, -2)}${o.suffix}${o.literal ? '' : '*'}"`;
      break;
    }
    case 'widen-action':
      return { scope: { actions: [...actions, `admin:${o.name}`], resources }, widens: true };
    case 'widen-resource':
      return { scope: { actions, resources: [...resources, `Secret::"${o.id}"`] }, widens: true };
  }
  return { scope: { actions, resources }, widens: false };
}

/** A concrete action and resource inside a scope (first patterns, stars filled with `x`). */
function inside(scope: Scope, pick: number): { action: string; resource: EntityRef } {
  const a = scope.actions[pick % scope.actions.length]!.replace(/\*/g, 'x');
  const r = scope.resources[pick % scope.resources.length]!;
  const m = /^([A-Za-z]+)::"(.*)"$/.exec(r)!;
  return { action: a, resource: { type: m[1]!, id: m[2]!.replace(/\*/g, 'x') } };
}

const tree = fc.record({
  // node i (i ≥ 1) hangs below parents[i-1] % i; node 0 is the root agent granted by the human.
  parents: fc.array(fc.nat(), { maxLength: 7 }),
  ops: fc.array(op, { minLength: 7, maxLength: 7 }),
  target: fc.nat(),
  pick: fc.nat(),
  outside: fc.boolean(),
});

describe('verifyChain over random grant trees (property)', () => {
  it('accepts a chain iff every hop is a subset of its parent and the request is in scope', () => {
    fc.assert(
      fc.property(tree, ({ parents, ops, target, pick, outside }) => {
        const human: EntityRef = { type: 'Human', id: 'root' };
        const agent = (i: number): EntityRef => ({ type: 'Agent', id: `a${i}` });
        const nodes = [{ parent: -1, scope: ROOT_SCOPE, widenedOnPath: false, depth: 1 }];
        const grants: Grant[] = [
          { id: 'g0', from: human, to: agent(0), scope: ROOT_SCOPE, expiresAt: new Date(T0 + 1e8).toISOString(), status: 'active' },
        ];
        parents.forEach((p, k) => {
          const i = k + 1;
          const parent = p % i;
          const { scope, widens } = apply(nodes[parent]!.scope, ops[k]!);
          nodes.push({ parent, scope, widenedOnPath: nodes[parent]!.widenedOnPath || widens, depth: nodes[parent]!.depth + 1 });
          grants.push({
            id: `g${i}`,
            from: agent(parent),
            to: agent(i),
            scope,
            // Each level expires a little before its parent: never outlives it.
            expiresAt: new Date(T0 + 1e8 - nodes[i]!.depth * 1000).toISOString(),
            status: 'active',
            parentId: `g${parent}`,
          });
        });
        const t = target % nodes.length;
        const path: EntityRef[] = [];
        for (let i = t; i >= 0; i = nodes[i]!.parent) path.unshift(agent(i));
        path.unshift(human);
        const leaf = nodes[t]!;
        const req = outside ? { action: 'forbidden:thing', resource: { type: 'Tool', id: 'crm.x' } } : inside(leaf.scope, pick);

        const r = verifyChain({ chain: path, principal: agent(t), grants: grantLookupFrom(grants, T0), ...req, now: T0, maxDepth: 10 });
        const expected = leaf.widenedOnPath ? 'delegation_scope_widened' : outside ? 'delegation_out_of_scope' : 'ok';
        expect(r.ok ? 'ok' : r.code).toBe(expected);
        if (r.ok) expect(r.depth).toBe(path.length - 1);
      }),
      { numRuns: 2000 },
    );
  });

  it('never throws and always answers with a known code on arbitrary input', () => {
    const ref = fc.record({
      type: fc.constantFrom('Human', 'Agent', 'Tool', 'Argus::Agent', ''),
      id: fc.constantFrom('a', 'b', 'c', '"', ''),
    });
    const pattern = fc.oneof(fc.string({ maxLength: 8 }), fc.constantFrom('*', 'Tool::"*"', 'Tool::"a*"', 'x:*'));
    const grant = fc.record({
      id: fc.string({ maxLength: 3 }),
      from: ref,
      to: ref,
      scope: fc.record({ actions: fc.array(pattern, { maxLength: 3 }), resources: fc.array(pattern, { maxLength: 3 }) }),
      expiresAt: fc.oneof(
        fc.constant('garbage'),
        fc.integer({ min: -1e7, max: 1e7 }).map((d) => new Date(T0 + d).toISOString()),
      ),
      status: fc.constantFrom('active', 'revoked') as fc.Arbitrary<'active' | 'revoked'>,
      maxDepth: fc.option(fc.integer({ min: 0, max: 4 }), { nil: undefined }),
    });
    const known = new Set([
      'ok',
      'delegation_unknown_hop',
      'delegation_expired',
      'delegation_revoked',
      'delegation_scope_widened',
      'delegation_out_of_scope',
      'delegation_depth_exceeded',
      'delegation_outlives_parent',
      'delegation_cycle',
      'delegation_wrong_principal',
      'delegation_root_not_human',
    ]);
    fc.assert(
      fc.property(
        fc.array(ref, { maxLength: 5 }),
        fc.array(grant, { maxLength: 6 }),
        ref,
        fc.string({ maxLength: 6 }),
        (chain, gs, resource, action) => {
          const r = verifyChain({ chain, grants: grantLookupFrom(gs, T0), action, resource, now: T0, maxDepth: 3 });
          expect(known.has(r.ok ? 'ok' : r.code)).toBe(true);
        },
      ),
      { numRuns: 2000 },
    );
  });
});
