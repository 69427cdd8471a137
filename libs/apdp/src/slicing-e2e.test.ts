/**
 * Issue 21 through the public API on both transports (`describe.each`: the listener production
 * serves and the express app): with caller-supplied entities, a forbid that reads through a dereferenced attribute
 * value — parenthesised, in an if/then/else, as `["name"]`, through a record literal — fires on the
 * production path (sliced entities, pruned attributes and context), exactly as Cedar with every
 * entity decides; and integers JavaScript cannot carry exactly are refused with a located 400.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { PolicyHolder } from './policy-holder.ts';
import { readPolicyDir } from './policy-files.ts';
import { CEDAR_DIR, post, seedRegistry, startHarness, TRANSPORTS, withServer, type Harness } from './testing/harness.ts';

// Caller-supplied types beside Argus's own: a document owned by a person, people with managers.
const EXTRA_TYPES = `
  entity Person in [Team] = { level: Long, secret?: Bool, manager?: Person } tags Person;
  entity Team = { level: Long };
  entity Doc = { owner: Person, holder?: Person, title: String };
  action "doc:read" appliesTo { principal: Agent, resource: Doc, context: Request };
`;
const PERMIT = '@id("agents-read-docs") permit (principal is Argus::Agent, action == Argus::Action::"doc:read", resource is Argus::Doc);';

const VARIANTS: Array<[string, string]> = [
  ['the issue: parenthesised dereference', 'forbid (principal, action, resource is Argus::Doc) when { (resource.owner) has secret };'],
  [
    'if/then/else dereference',
    'forbid (principal, action, resource is Argus::Doc) when { (if resource has holder then resource.holder else resource.owner) has secret };',
  ],
  ['["name"] access', 'forbid (principal, action, resource is Argus::Doc) when { resource["owner"] has "secret" };'],
  ['comment before has', 'forbid (principal, action, resource is Argus::Doc) when { resource.owner // owner.x\n has secret };'],
  ['record literal field', 'forbid (principal, action, resource is Argus::Doc) when { {o: resource.owner}.o has secret };'],
  [
    'manager chain',
    'forbid (principal, action, resource is Argus::Doc) when { resource.owner has manager && (resource.owner.manager) has secret };',
  ],
  [
    'attribute value on the left of in',
    'forbid (principal, action, resource is Argus::Doc) when { resource.owner in Argus::Team::"red" };',
  ],
  [
    'tag value dereference',
    'forbid (principal, action, resource is Argus::Doc) when { resource.owner.hasTag("boss") && resource.owner.getTag("boss") has secret };',
  ],
  ['escaped now', 'forbid (principal, action, resource is Argus::Doc) when { context["n\\u{6f}w"] > datetime("2000-01-01") };'],
];

let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

async function start(policies: string[]): Promise<Harness> {
  const input = await readPolicyDir(CEDAR_DIR);
  const schemaText = readFileSync(join(CEDAR_DIR, 'schema.cedarschema'), 'utf8');
  const schema = schemaText.replace(/}\s*$/, `${EXTRA_TYPES}}\n`);
  const holder = new PolicyHolder();
  const r = holder.replace({ ...input, schema, policies: policies.map((text, i) => ({ file: `policies/p${i}.cedar`, text })) }, 'api');
  if (!r.ok) throw new Error(r.diagnostics.map((d) => `${d.file}:${d.line}: ${d.message}`).join('\n'));
  h = await startHarness({ holder });
  await seedRegistry(h);
  return h;
}

/** A doc owned by bob; bob (in team red) has a secret when `secret`, and a manager. */
function docRead(secret: boolean) {
  const bob: Record<string, unknown> = { level: 1, manager: { __entity: { type: 'Person', id: 'carol' } } };
  if (secret) bob.secret = true;
  return {
    principal: { type: 'Agent', id: 'support-bot' },
    action: 'doc:read',
    resource: { type: 'Doc', id: 'plan' },
    entities: [
      { uid: { type: 'Doc', id: 'plan' }, attrs: { owner: { __entity: { type: 'Person', id: 'bob' } }, title: 'plan' } },
      {
        uid: { type: 'Person', id: 'bob' },
        attrs: bob,
        tags: { boss: { __entity: { type: 'Person', id: 'dave' } } },
        parents: [{ type: 'Team', id: 'red' }],
      },
      { uid: { type: 'Person', id: 'dave' }, attrs: secret ? { level: 9, secret: true } : { level: 9 } },
      { uid: { type: 'Person', id: 'carol' }, attrs: { level: 5, secret: true } },
      { uid: { type: 'Team', id: 'red' }, attrs: { level: 0 } },
    ],
  };
}

describe.each(TRANSPORTS)('a forbid reading through a dereferenced value fires on the production path (issue 21) (%s)', (transport) => {
  for (const [name, forbid] of VARIANTS) {
    it(name, async () => {
      const harness = await start([PERMIT, `@id("forbid-under-test") ${forbid}`]);
      await withServer(harness, transport, async (base) => {
        const denied = await post(base, '/v1/authorize', { input: docRead(true) });
        expect(denied.status, transport).toBe(200);
        expect(denied.body.result, transport).toMatchObject({ allow: false, decision: 'deny' });
        expect(
          denied.body.result.reasons.map((r: { policy: string }) => r.policy),
          transport,
        ).toEqual(['forbid-under-test']);
      });
    });
  }

  it('the same set allows when the owner has no secret (the forbid is what denied)', async () => {
    const harness = await start([PERMIT, `@id("forbid-under-test") ${VARIANTS[0]![1]}`]);
    await withServer(harness, transport, async (base) => {
      const allowed = await post(base, '/v1/authorize', { input: docRead(false) });
      expect(allowed.body.result, transport).toMatchObject({ allow: true, decision: 'allow' });
    });
  });

  it('a permit reading through a parenthesised dereference allows (no "entity does not exist" error)', async () => {
    const harness = await start([
      '@id("owner-level") permit (principal, action == Argus::Action::"doc:read", resource) when { (resource.owner).level > 0 };',
    ]);
    await withServer(harness, transport, async (base) => {
      const allowed = await post(base, '/v1/authorize', { input: docRead(false) });
      expect(allowed.body.result, transport).toMatchObject({ allow: true, decision: 'allow', errors: [] });
    });
  });
});

describe.each(TRANSPORTS)('integers Cedar cannot receive exactly (issue 21) (%s)', (transport) => {
  const MESSAGE = 'integer outside the range Argus can pass to Cedar exactly';

  it('POST /v1/authorize answers 400 invalid_parameter naming the path, on both transports', async () => {
    const harness = await start([PERMIT]);
    const body = JSON.stringify({ input: docRead(false) }).replace('"level":1', '"level":9223372036854775807');
    await withServer(harness, transport, async (base) => {
      const r = await post(base, '/v1/authorize', body);
      expect(r.status, transport).toBe(400);
      expect(r.body.code, transport).toBe('invalid_parameter');
      expect(r.body.errors, transport).toContainEqual({ path: '/input/entities/1/attrs/level', message: MESSAGE });
    });
  });

  it('the batch and /v1/data routes refuse them too', async () => {
    const harness = await start([PERMIT]);
    await withServer(harness, transport, async (base) => {
      const batch = await post(
        base,
        '/v1/authorize/batch',
        JSON.stringify({ inputs: [docRead(false)] }).replace('"level":1', '"level":-9007199254740993'),
      );
      expect(batch.status, transport).toBe(400);
      expect(batch.body.errors, transport).toContainEqual({ path: '/inputs/0/entities/1/attrs/level', message: MESSAGE });
      const data = await post(
        base,
        '/v1/data/argus/allow',
        JSON.stringify({ input: { ...docRead(false), context: { items: 18446744073709551616 } } }),
      );
      expect(data.status, transport).toBe(400);
      expect(JSON.stringify(data.body), transport).toContain(MESSAGE);
    });
  });
});
