import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { authenticatorOptionsFrom, createAuthenticator } from './auth.ts';
import { errorHandler } from './http.ts';
import { silentLogger } from './logger.ts';
import {
  admit,
  DEFAULT_PERMISSION_TABLE,
  malformedEscape,
  permissionGuard,
  permits,
  PermissionTable,
  type Permission,
} from './permissions.ts';
import {
  badCredentials,
  matrixAuthConfig,
  matrixCallers,
  runPermissionMatrix,
  startMatrixIdp,
  type MatrixIdp,
} from './testing/permission-matrix.ts';

describe('PermissionTable', () => {
  it('matches literal segments, one-segment and rest parameters, subtrees, and HEAD as GET', () => {
    const t = DEFAULT_PERMISSION_TABLE;
    expect(t.match('GET', '/v1/registry/agents/bot')?.params).toEqual({ id: 'bot' });
    expect(t.match('GET', '/v1/registry/agents/bot/')?.permission.path).toBe('/v1/registry/agents/{id}');
    expect(t.match('HEAD', '/v1/decisions/abc')?.permission.path).toBe('/v1/decisions/{id}');
    expect(t.match('POST', '/v1/data/argus/allow')?.permission.decision).toBe(true);
    expect(t.match('POST', '/v1/data')?.permission.decision).toBe(true);
    expect(t.match('GET', '/console/js/app.js')?.permission.allow).toBe('public');
    expect(t.match('POST', '/v1/delegations/abc/something-new')?.permission.path).toBe('/v1/delegations/**');
    expect(t.match('DELETE', '/v1/policies')).toBeUndefined();
    expect(t.match('GET', '/v1/registry/agents/a/b/c')).toBeUndefined();
    const rest = new PermissionTable([{ method: 'GET', path: '/files/{path+}', allow: 'public' }]);
    expect(rest.match('GET', '/files/a/b')?.params).toEqual({ path: 'a/b' });
    expect(rest.match('GET', '/files')).toBeUndefined();
  });

  it('lets roles widen access for humans only', () => {
    const access = { kinds: ['admin'] as const, roles: ['auditor'] };
    expect(permits(access, { kind: 'human', subject: 'a', roles: ['auditor'] })).toBe(true);
    expect(permits(access, { kind: 'agent', subject: 'a', roles: ['auditor'] })).toBe(false);
    expect(permits(access, { kind: 'service', subject: 'a', roles: ['auditor'] })).toBe(false);
    expect(permits(access, { kind: 'admin', subject: 'a', roles: [] })).toBe(true);
  });

  it('names a malformed escape in a 400', () => {
    expect(malformedEscape('/v1/data/argus/%E0%A4%A?x=1')?.errors[0]?.path).toBe('/v1/data/argus/%E0%A4%A');
    expect(malformedEscape('/v1/data/argus%2Fallow')).toBeUndefined();
  });
});

describe('admit', () => {
  const auth = createAuthenticator({ adminToken: 'admin-token-0123456789', serviceTokens: { pep: 'service-token-0123456789' } });
  it('fails closed on an unknown /v1 route and leaves others to the app', async () => {
    expect(await admit({ auth }, 'DELETE', '/v1/policies', undefined)).toMatchObject({ ok: false, error: { code: 'not_found' } });
    expect(await admit({ auth }, 'GET', '/somewhere', undefined)).toBeUndefined();
  });
  it('refuses a request target that is not a path, whatever route it names: the table matches paths', async () => {
    for (const row of DEFAULT_PERMISSION_TABLE.rows) {
      const path = row.path.replace(/\{[^}]+\}/g, 'x').replace(/\*$/, 'x');
      for (const target of [`http://argus.test${path}`, `HTTPS://argus.test:1${path}?q=1`, '*']) {
        const admission = await admit({ auth, decisions: 'open' }, row.method, target, undefined);
        expect(admission, `${row.method} ${target}`).toMatchObject({ ok: false, error: { status: 400, code: 'invalid_parameter' } });
      }
    }
  });
  it('admits an anonymous decision only in open mode, never a bad credential', async () => {
    expect(await admit({ auth }, 'POST', '/v1/authorize', undefined)).toMatchObject({
      ok: false,
      error: { code: 'unauthorized' },
      challenge: true,
    });
    expect(await admit({ auth, decisions: 'open' }, 'POST', '/v1/authorize', undefined)).toMatchObject({ ok: true });
    expect(await admit({ auth, decisions: 'open' }, 'POST', '/v1/authorize', 'Bearer nope-nope-nope-nope')).toMatchObject({
      ok: false,
      error: { code: 'unauthorized' },
    });
    expect(await admit({ auth, decisions: 'open' }, 'GET', '/v1/policies/source', undefined)).toMatchObject({
      ok: false,
      error: { code: 'unauthorized' },
    });
    expect(await admit({ auth }, 'POST', '/v1/authorize', 'Bearer service-token-0123456789')).toMatchObject({
      ok: true,
      principal: { kind: 'service', subject: 'pep' },
    });
    expect(await admit({ auth }, 'GET', '/v1/decisions', 'Bearer service-token-0123456789')).toMatchObject({
      ok: false,
      error: { code: 'forbidden' },
    });
  });
});

describe('the permission matrix can fail', () => {
  let idp: MatrixIdp;
  let server: Server;
  let base: string;
  // The server guards with a table that leaves the decision trail open to any caller.
  const lax: Permission[] = DEFAULT_PERMISSION_TABLE.rows.map((r) =>
    r.path === '/v1/decisions' ? { ...r, allow: { kinds: ['admin', 'human', 'agent', 'service', 'scanner'] } } : r,
  );
  beforeAll(async () => {
    idp = await startMatrixIdp();
    const app = express();
    app.use(
      permissionGuard({
        auth: createAuthenticator(authenticatorOptionsFrom({ ...matrixAuthConfig(idp), adminRole: 'argus-admin' })),
        table: new PermissionTable(lax),
      }),
    );
    app.get('/v1/decisions', (_req, res) => void res.json({ decisions: [] }));
    app.use(errorHandler(silentLogger()));
    server = app.listen(0, '127.0.0.1');
    await new Promise((r) => server.once('listening', r));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    await new Promise((r) => server.close(r));
    await idp.close();
  });

  it('reports a route without an entry and callers a lax guard admits against the table', async () => {
    const report = await runPermissionMatrix({
      baseUrl: base,
      operations: [
        { method: 'GET', path: '/v1/decisions' },
        { method: 'GET', path: '/v1/not-in-the-table' },
      ],
      callers: await matrixCallers(idp),
      bad: await badCredentials(idp),
    });
    expect(report.problems).toContain('GET /v1/not-in-the-table: no entry in the permission table');
    expect(report.problems.some((p) => p.startsWith('GET /v1/decisions as agent: expected 403 from the table'))).toBe(true);
    expect(report.problems.some((p) => p.startsWith('GET /v1/decisions as service: expected 403'))).toBe(true);
    expect(report.problems.some((p) => p.includes('human with auditor'))).toBe(false);
  });
});
