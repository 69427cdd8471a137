/**
 * The permission matrix of the decision API as `apdp` main serves it (governance, audit,
 * approvals, policies, decisions): every operation of the OpenAPI document outside the registry
 * (`libs/registry/src/permission-matrix.test.ts` runs those) with every caller kind and every bad
 * credential, through HTTP on an ephemeral loopback port, checked against the permission table.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_PERMISSION_TABLE } from '@argus/platform';
import {
  badCredentials,
  matrixAuthConfig,
  matrixCallers,
  MATRIX_TOKENS,
  operationsOf,
  runPermissionMatrix,
  startMatrixIdp,
  type MatrixIdp,
} from '@argus/platform/testing';
import { loadApdpConfig, startApdp, type RunningApdp } from './service.ts';
import { decisionRouteList } from './routes/decision-routes.ts';
import { expressRoutes, OPENAPI_FILE } from './routes/openapi.ts';

const ROOT = resolve(import.meta.dirname, '../../..');
const dir = mkdtempSync(join(tmpdir(), 'argus-matrix-'));
const doc = JSON.parse(readFileSync(OPENAPI_FILE, 'utf8')) as { paths: Record<string, Record<string, unknown>> };
const REGISTRY = /^\/v1\/registry\//;

let idp: MatrixIdp;

async function start(name: string, decisions: 'required' | 'open'): Promise<RunningApdp> {
  const file = join(dir, `${name}.json`);
  const config = {
    server: { host: '127.0.0.1', port: 0, shutdownGraceMs: 2000 },
    policy: { dir: join(ROOT, 'cedar'), watch: false },
    governance: { intentsFile: join(ROOT, 'cedar/intents.json') },
    auth: matrixAuthConfig(idp, decisions),
    store: { url: `sqlite:${join(dir, `${name}.db`)}` },
    audit: { sinks: [{ type: 'sqlite', path: join(dir, `${name}-audit.db`) }], spill: { dir: join(dir, `${name}-spill`) } },
    logging: { level: 'silent' },
  };
  writeFileSync(file, JSON.stringify(config));
  return startApdp(loadApdpConfig(file, {}));
}

beforeAll(async () => {
  idp = await startMatrixIdp();
});
afterAll(async () => {
  await idp.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('the permission table', () => {
  it('has an entry for every operation of the OpenAPI document and every route the app answers', async () => {
    const missing = operationsOf(doc).filter((op) => !DEFAULT_PERMISSION_TABLE.match(op.method, op.path.replace(/\{[^}]+\}/g, 'x')));
    expect(missing).toEqual([]);
    const running = await start('routes', 'required');
    try {
      const answered = [...decisionRouteList(), ...expressRoutes(running.runtime.apdp.app)];
      const routes = answered.filter((r) => r.path.startsWith('/') && r.method !== 'ALL');
      expect(routes.length).toBeGreaterThan(30);
      const unlisted = routes.filter((r) => !DEFAULT_PERMISSION_TABLE.match(r.method, r.path.replace(/:\w+/g, 'x')));
      expect(unlisted).toEqual([]);
    } finally {
      await running.shutdown.run();
    }
  });
});

describe.each(['required', 'open'] as const)('every operation, every caller, every bad credential (auth.decisions: %s)', (mode) => {
  let running: RunningApdp;
  beforeAll(async () => {
    running = await start(`matrix-${mode}`, mode);
  });
  afterAll(async () => {
    await running.shutdown.run();
  });

  it('answers 401 for bad credentials, 403 for callers the table refuses, never 500, in the one error shape', async () => {
    const operations = operationsOf(doc).filter((op) => !REGISTRY.test(op.path));
    expect(operations.length).toBeGreaterThan(30);
    const report = await runPermissionMatrix({
      baseUrl: running.url,
      operations,
      callers: await matrixCallers(idp),
      bad: await badCredentials(idp),
      decisions: mode,
    });
    expect(report.requests).toBeGreaterThan(500);
    expect(report.problems).toEqual([]);
  }, 120_000);
});

describe('paths and bodies that used to be 500s', () => {
  let running: RunningApdp;
  beforeAll(async () => {
    running = await start('edges', 'required');
  });
  afterAll(async () => {
    await running.shutdown.run();
  });
  const auth = { authorization: `Bearer ${MATRIX_TOKENS.admin}`, 'content-type': 'application/json' };
  const ask = JSON.stringify({
    input: { principal: { type: 'Agent', id: 'support-bot' }, action: 'tool:call', resource: { type: 'Tool', id: 'crm.search' } },
  });

  it('answers a malformed percent-escape with a 400 naming the path, on the listener and in the app', async () => {
    for (const [method, path] of [
      ['POST', '/v1/data/argus/%E0%A4%A'],
      ['GET', '/v1/registry/agents/%E0%A4%A'],
      ['GET', '/v1/decisions/%E0%A4%A'],
      ['POST', '/v1/authorize/%E0%A4%A'],
    ] as const) {
      const res = await fetch(`${running.url}${path}`, { method, headers: auth, ...(method === 'POST' ? { body: ask } : {}) });
      const body = (await res.json()) as { code: string; errors: Array<{ path: string }> };
      expect(res.status, `${method} ${path}`).toBe(400);
      expect(body.code).toBe('invalid_parameter');
      expect(body.errors[0]!.path).toContain('%E0%A4%A');
    }
  });

  it('routes no path in another case around the table: `/V1/AUTHORIZE` needs the credential `/v1/authorize` does, and is never decided', async () => {
    for (const path of ['/V1/AUTHORIZE', '/v1/Authorize', '/V1/DATA/argus/allow', '/V1/AUTHORIZE/BATCH', '/V1/POLICIES/validate']) {
      const res = await fetch(`${running.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: ask });
      expect(res.status, path).toBe(401);
      // Admitted, it reaches what express routes there in any case (the policy validator), never a decision.
      const admitted = await fetch(`${running.url}${path}`, { method: 'POST', headers: auth, body: ask });
      const lower = await fetch(`${running.url}${path.toLowerCase()}`, { method: 'POST', headers: auth, body: ask });
      if (path.toLowerCase().startsWith('/v1/policies')) expect(admitted.status, path).toBe(lower.status);
      else {
        expect(lower.status, path).not.toBe(404);
        expect(admitted.status, path).toBe(404);
        expect(((await admitted.json()) as { code: string }).code, path).toBe('not_found');
      }
    }
    const slash = await fetch(`${running.url}/v1/authorize/`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: ask,
    });
    expect(slash.status).toBe(401);
  });

  it('answers a JSON body declared in another charset with a 415, on the listener and in the app', async () => {
    for (const path of ['/v1/authorize', '/v1/data/argus/allow', '/v1/authorize/batch', '/v1/policies/validate']) {
      const res = await fetch(`${running.url}${path}`, {
        method: 'POST',
        headers: { ...auth, 'content-type': 'application/json; charset=latin1' },
        body: ask,
      });
      expect(res.status, path).toBe(415);
      expect(((await res.json()) as { code: string }).code).toBe('unsupported_media_type');
    }
  });
});
