import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import express, { type RequestHandler } from 'express';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { validatorFor } from '@argus/contracts';
import { createAuthenticator, silentLogger } from '@argus/platform';
import { createRegistryRouter } from '@argus/registry';
import { MemoryBudgetCounter, MemoryEventBus, MemoryLeaseStore, openStorage, type Storage } from '@argus/store';
import { createApprovalsRouter } from '../effects/approvals-router.ts';
import { startHarness, type Harness } from '../testing/harness.ts';
import { createDecisionsRouter } from './decisions.ts';
import { decisionRouteList } from './decision-routes.ts';
import { createGovernanceRouter } from './governance.ts';
import { expressRoutes, openapiRouter, OPENAPI_FILE, type ExpressRoute } from './openapi.ts';
import { shadowRouter, templatesRouter } from './templates.ts';
import { switchesRouter } from './switches.ts';

const ROOT = resolve(import.meta.dirname, '../../../..');
type Doc = {
  openapi: string;
  paths: Record<string, Record<string, { 'x-express-path'?: string; requestBody?: unknown }>>;
  components: { schemas: Record<string, unknown> };
};
const doc = JSON.parse(readFileSync(OPENAPI_FILE, 'utf8')) as Doc;
const pass: RequestHandler = (_req, _res, next) => next();
const METHODS = ['get', 'put', 'post', 'patch', 'delete'];

/** `METHOD /express/:path` of every operation in the document. */
function documented(): string[] {
  const out: string[] = [];
  for (const [path, item] of Object.entries(doc.paths)) {
    for (const method of METHODS) {
      const op = item[method];
      if (!op) continue;
      out.push(`${method.toUpperCase()} ${op['x-express-path'] ?? path.replace(/\{([^}]+)\}/g, ':$1')}`);
    }
  }
  return out.sort();
}

describe('the OpenAPI document', () => {
  let harness: Harness;
  let storage: Storage;
  let existing: ExpressRoute[];

  beforeAll(async () => {
    harness = await startHarness();
    storage = await openStorage('sqlite::memory:');
    const auth = createAuthenticator({ adminToken: 'openapi-test-admin-token' });
    const events = new MemoryEventBus();
    existing = [
      // The decision routes are served by their table, before the app's express routes.
      ...decisionRouteList(),
      ...expressRoutes(harness.app),
      ...expressRoutes(openapiRouter()),
      ...expressRoutes(
        createGovernanceRouter({
          delegations: storage.delegations,
          goals: storage.goals,
          budget: new MemoryBudgetCounter(),
          intents: { intents: {} },
          auth,
          events,
          clock: () => new Date(),
          maxDelegationDepth: 4,
        }),
      ),
      ...expressRoutes(
        createDecisionsRouter({
          query: { query: async () => ({ records: [] }), get: async () => undefined },
          auth: pass,
        } as unknown as Parameters<typeof createDecisionsRouter>[0]),
      ),
      ...expressRoutes(templatesRouter({ holder: harness.holder, requireAdmin: pass })),
      ...expressRoutes(shadowRouter({ holder: harness.holder, requireAdmin: pass, shadow: {} as never })),
      ...expressRoutes(createApprovalsRouter({ store: {} as never, requireHuman: pass })),
      ...expressRoutes(switchesRouter({ store: {} as never, board: {} as never, logger: silentLogger() })),
      ...expressRoutes(
        createRegistryRouter({ store: storage.registry, leases: new MemoryLeaseStore(), events, auth, logger: silentLogger() }),
      ),
    ];
  });
  afterAll(async () => {
    await harness.close();
    await storage.close();
  });

  it('is OpenAPI 3.1 and up to date with the JSON Schemas (`node scripts/gen-openapi.mjs --check`)', () => {
    expect(doc.openapi).toBe('3.1.0');
    const run = spawnSync(process.execPath, ['scripts/gen-openapi.mjs', '--check'], { cwd: ROOT, encoding: 'utf8', timeout: 20_000 });
    expect(run.stderr).toBe('');
    expect(run.status).toBe(0);
  });

  it('documents every route the routers answer, and no route that does not exist', () => {
    const real = [...new Set(existing.map((r) => `${r.method} ${r.path}`))].sort();
    expect(real.length).toBeGreaterThan(50);
    const docs = documented();
    expect(
      real.filter((r) => !docs.includes(r)),
      'routes missing from the OpenAPI document',
    ).toEqual([]);
    expect(
      docs.filter((d) => !real.includes(d)),
      'documented routes that no router answers',
    ).toEqual([]);
  });

  it('resolves every $ref inside the document', () => {
    const refs: string[] = [];
    const visit = (n: unknown): void => {
      if (Array.isArray(n)) n.forEach(visit);
      else if (n && typeof n === 'object')
        for (const [k, v] of Object.entries(n)) {
          if (k === '$ref' && typeof v === 'string') refs.push(v);
          else visit(v);
        }
    };
    visit(doc);
    expect(refs.length).toBeGreaterThan(100);
    for (const ref of new Set(refs)) {
      expect(ref.startsWith('#/'), ref).toBe(true);
      let node: unknown = doc;
      for (const part of ref.slice(2).split('/'))
        node = (node as Record<string, unknown> | undefined)?.[part.replace(/~1/g, '/').replace(/~0/g, '~')];
      expect(node, `unresolved ${ref}`).toBeDefined();
    }
  });

  it('request-body schemas accept and refuse what the servers accept and refuse', () => {
    const ajv = new Ajv2020({ strict: false, allErrors: true });
    addFormats.default(ajv);
    ajv.addSchema({ ...doc, $id: 'urn:argus:openapi' });
    const fromDoc = (path: string, method: string) => {
      const schema = (doc.paths[path]![method]!.requestBody as { content: Record<string, { schema: { $ref: string } }> }).content[
        'application/json'
      ]!.schema.$ref;
      return ajv.compile({ $ref: `urn:argus:openapi${schema}` });
    };
    const cases: Array<[string, string, string, unknown]> = [
      [
        '/v1/authorize',
        'post',
        'https://argus.dev/schemas/authorize-request.json',
        { input: { principal: { type: 'Agent', id: 'bot' }, action: 'llm:invoke', resource: { type: 'Model', id: 'gpt' } } },
      ],
      [
        '/v1/authorize',
        'post',
        'https://argus.dev/schemas/authorize-request.json',
        { input: { principal: { type: 'Agent', id: 'bot' }, action: 'llm:invoke' } },
      ],
      [
        '/v1/authorize',
        'post',
        'https://argus.dev/schemas/authorize-request.json',
        { input: { principal: { type: 'Agent', id: 'bot' }, action: 'x', resource: { type: 'Model', id: 'm' } }, surprise: 1 },
      ],
      [
        '/v1/delegations',
        'post',
        'https://argus.dev/schemas/governance/delegation-create.json',
        {
          from: { type: 'Human', id: 'alice' },
          to: { type: 'Agent', id: 'bot' },
          scope: { actions: ['llm:*'], resources: ['*'] },
          expiresAt: '2030-01-01T00:00:00Z',
        },
      ],
      [
        '/v1/delegations',
        'post',
        'https://argus.dev/schemas/governance/delegation-create.json',
        { to: { type: 'Agent', id: 'bot' }, scope: { actions: [], resources: ['*'] }, expiresAt: '2030-01-01T00:00:00Z' },
      ],
      ['/v1/registry/agents', 'post', 'https://argus.dev/schemas/registry/agent-create.json', { id: 'bot', name: 'Bot', owner: 'alice' }],
      ['/v1/registry/agents', 'post', 'https://argus.dev/schemas/registry/agent-create.json', { id: '', name: 'Bot' }],
      [
        '/v1/registry/agents/{id}/trust',
        'post',
        'https://argus.dev/schemas/registry/trust-change.json',
        { to: 'quarantined', reason: 'incident' },
      ],
      ['/v1/registry/agents/{id}/trust', 'post', 'https://argus.dev/schemas/registry/trust-change.json', { to: 'sideways' }],
    ];
    const verdicts = cases.map(([path, method, id, value]) => {
      const viaDoc = fromDoc(path, method)(value);
      expect(viaDoc, `${method} ${path} ${JSON.stringify(value)}`).toBe(validatorFor(id)(value).ok);
      return viaDoc;
    });
    expect(verdicts).toContain(true);
    expect(verdicts).toContain(false);
  });

  it('is served at GET /openapi.json', async () => {
    const app = express().use(openapiRouter());
    const res = await request(app).get('/openapi.json').expect(200);
    expect(res.headers['content-type']).toMatch(/^application\/json/);
    expect(res.body).toEqual(doc);
  });
});

describe('expressRoutes', () => {
  it('joins mount prefixes, lists every method, and keeps RegExp routes as their source', () => {
    const inner = express.Router();
    inner.get('/:id', pass).patch('/:id', pass);
    const app = express();
    app.use('/v1/things', inner);
    app.post(/^\/raw\/(.*)$/, pass);
    app.use(express.Router().all('/any', pass));
    expect(expressRoutes(app)).toEqual([
      { method: 'GET', path: '/v1/things/:id' },
      { method: 'PATCH', path: '/v1/things/:id' },
      { method: 'POST', path: '^\\/raw\\/(.*)$' },
      { method: 'ALL', path: '/any' },
    ]);
    expect(() => expressRoutes({})).toThrow(TypeError);
  });
});
