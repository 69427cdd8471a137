/**
 * The permission matrix of the registry API (`/v1/registry/...`): every registry operation of the
 * OpenAPI document with every caller kind and every bad credential, through HTTP on an ephemeral
 * loopback port, checked against the platform's permission table.
 */
import { readFileSync } from 'node:fs';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { authenticatorOptionsFrom, createAuthenticator, silentLogger } from '@argus/platform';
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
import { MemoryEventBus, MemoryLeaseStore, openSqlite, type SqliteStores } from '@argus/store';
import { createRegistryApp } from './app.ts';

const doc = JSON.parse(readFileSync(resolve(import.meta.dirname, '../../../schemas/openapi/argus.openapi.json'), 'utf8')) as {
  paths: Record<string, Record<string, unknown>>;
};

let idp: MatrixIdp;
let stores: SqliteStores;
let events: MemoryEventBus;
let leases: MemoryLeaseStore;
let server: Server;
let base: string;

beforeAll(async () => {
  idp = await startMatrixIdp();
  stores = openSqlite(':memory:');
  events = new MemoryEventBus();
  leases = new MemoryLeaseStore();
  const app = createRegistryApp({
    store: stores.registry,
    leases,
    events,
    logger: silentLogger(),
    auth: createAuthenticator(authenticatorOptionsFrom({ ...matrixAuthConfig(idp), adminRole: 'argus-admin' })),
    limits: { maxTools: 5, maxBodyBytes: 64 * 1024 },
  });
  server = app.listen(0, '127.0.0.1');
  await new Promise((r) => server.once('listening', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  await new Promise((r) => server.close(r));
  await leases.close();
  await events.close();
  stores.db.close();
  await idp.close();
});

describe('the registry permission matrix', () => {
  it('answers 401 for bad credentials, 403 for callers the table refuses, never 500, in the one error shape', async () => {
    const operations = operationsOf(doc).filter((op) => op.path.startsWith('/v1/registry/'));
    expect(operations.length).toBeGreaterThan(15);
    const report = await runPermissionMatrix({
      baseUrl: base,
      operations,
      callers: await matrixCallers(idp),
      bad: await badCredentials(idp),
    });
    expect(report.requests).toBeGreaterThan(300);
    expect(report.problems).toEqual([]);
  }, 120_000);

  it('answers a malformed percent-escape in a registry path with a 400 naming it', async () => {
    const res = await fetch(`${base}/v1/registry/agents/%E0%A4%A`, { headers: { authorization: `Bearer ${MATRIX_TOKENS.admin}` } });
    expect(res.status).toBe(400);
    const body = (await res.json()) as { code: string; errors: Array<{ path: string }> };
    expect(body.code).toBe('invalid_parameter');
    expect(body.errors[0]!.path).toBe('/v1/registry/agents/%E0%A4%A');
  });

  it('answers a body declared in another charset with a 415', async () => {
    const res = await fetch(`${base}/v1/registry/humans`, {
      method: 'POST',
      headers: { authorization: `Bearer ${MATRIX_TOKENS.admin}`, 'content-type': 'application/json; charset=latin1' },
      body: JSON.stringify({ id: 'zoe', email: 'zoe@example.com' }),
    });
    expect(res.status).toBe(415);
  });
});
