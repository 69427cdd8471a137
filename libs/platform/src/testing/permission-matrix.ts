/**
 * The permission matrix, for tests: every operation of the OpenAPI document called with every
 * caller kind and every bad credential, each answer checked against the permission table. Shared
 * by the decision API's and the registry's matrix tests (each runs the operations it serves).
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair, SignJWT, type JWK } from 'jose';
import type { AuthPrincipal } from '../auth.ts';
import { DEFAULT_PERMISSION_TABLE, permits, type DecisionAuthMode, type PermissionTable } from '../permissions.ts';
import { rawExchange } from './raw-http.ts';

/** One operation of an OpenAPI document. */
export interface Operation {
  method: string;
  /** The OpenAPI path template (`/v1/registry/agents/{id}`). */
  path: string;
}

/** Every operation of an OpenAPI 3 document. */
export function operationsOf(doc: { paths: Record<string, Record<string, unknown>> }): Operation[] {
  const out: Operation[] = [];
  for (const [path, item] of Object.entries(doc.paths)) {
    for (const method of Object.keys(item))
      if (['get', 'post', 'put', 'patch', 'delete'].includes(method)) out.push({ method: method.toUpperCase(), path });
  }
  return out;
}

/** A concrete path for a template: `{path}` → `argus/allow`, every other parameter → `matrix-x`. */
export function concretePath(template: string): string {
  return template.replace(/\{path\}/g, 'argus/allow').replace(/\{[^}]+\}/g, 'matrix-x');
}

/** The static tokens of the matrix's callers (each at least 16 characters, as the config schema wants). */
export const MATRIX_TOKENS = {
  admin: 'matrix-admin-token-0123456789',
  service: 'matrix-service-token-0123456789',
  scanner: 'matrix-scanner-token-0123456789',
  agent: 'matrix-agent-token-0123456789',
} as const;

/** The ids the static tokens stand for. */
export const MATRIX_IDS = { service: 'matrix-pep', scanner: 'matrix-scanner', agent: 'support-bot' } as const;

/** An IdP for the matrix: a JWKS served on a loopback port and a signer of tokens. */
export interface MatrixIdp {
  jwksUrl: string;
  issuer: string;
  audience: string;
  sign(claims: Record<string, unknown>, options?: { sub?: string; iss?: string; aud?: string; exp?: string }): Promise<string>;
  close(): Promise<void>;
}

/** Starts the matrix IdP on an ephemeral loopback port. */
export async function startMatrixIdp(): Promise<MatrixIdp> {
  const pair = await generateKeyPair('ES256');
  const jwk: JWK = { ...(await exportJWK(pair.publicKey)), kid: 'matrix', alg: 'ES256' };
  const server: Server = createServer((_req, res) => {
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify({ keys: [jwk] }));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const issuer = 'https://idp.matrix.example';
  const audience = 'argus-matrix';
  return {
    jwksUrl: `http://127.0.0.1:${(server.address() as AddressInfo).port}/jwks.json`,
    issuer,
    audience,
    sign: (claims, o = {}) =>
      new SignJWT(claims)
        .setProtectedHeader({ alg: 'ES256', kid: 'matrix' })
        .setSubject(o.sub ?? 'matrix-user')
        .setIssuer(o.iss ?? issuer)
        .setAudience(o.aud ?? audience)
        .setIssuedAt()
        .setExpirationTime(o.exp ?? '5m')
        .sign(pair.privateKey),
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

/** The `auth` configuration section the matrix's callers need. */
export function matrixAuthConfig(idp: MatrixIdp, decisions: DecisionAuthMode = 'required') {
  return {
    adminToken: MATRIX_TOKENS.admin,
    serviceTokens: { [MATRIX_IDS.service]: MATRIX_TOKENS.service },
    scannerTokens: { [MATRIX_IDS.scanner]: MATRIX_TOKENS.scanner },
    agentTokens: { [MATRIX_IDS.agent]: MATRIX_TOKENS.agent },
    jwks: { url: idp.jwksUrl, issuer: idp.issuer, audience: idp.audience },
    decisions,
  };
}

/** A caller of the matrix: who it is (for the table) and the header it sends. */
export interface MatrixCaller {
  name: string;
  principal: AuthPrincipal;
  authorization: string;
}

/** One caller per kind, and humans holding each role the table names. */
export async function matrixCallers(idp: MatrixIdp): Promise<MatrixCaller[]> {
  const human = (roles: string[]) => idp.sign({ kind: 'human', roles }, { sub: `matrix-human${roles.length ? `-${roles[0]}` : ''}` });
  const callers: MatrixCaller[] = [
    { name: 'admin', principal: { kind: 'admin', subject: 'admin', roles: ['admin'] }, authorization: `Bearer ${MATRIX_TOKENS.admin}` },
    { name: 'human', principal: { kind: 'human', subject: 'matrix-human', roles: [] }, authorization: `Bearer ${await human([])}` },
    {
      name: 'agent',
      principal: { kind: 'agent', subject: MATRIX_IDS.agent, roles: ['agent'] },
      authorization: `Bearer ${MATRIX_TOKENS.agent}`,
    },
    {
      name: 'service',
      principal: { kind: 'service', subject: MATRIX_IDS.service, roles: ['service'] },
      authorization: `Bearer ${MATRIX_TOKENS.service}`,
    },
    {
      name: 'scanner',
      principal: { kind: 'scanner', subject: MATRIX_IDS.scanner, roles: ['scanner'] },
      authorization: `Bearer ${MATRIX_TOKENS.scanner}`,
    },
    {
      name: 'agent JWT',
      principal: { kind: 'agent', subject: 'jwt-agent', roles: ['approver', 'argus-admin'] },
      authorization: `Bearer ${await idp.sign({ kind: 'agent', roles: ['approver', 'argus-admin'] }, { sub: 'jwt-agent' })}`,
    },
  ];
  for (const role of ['policy-author', 'auditor', 'approver']) {
    callers.push({
      name: `human with ${role}`,
      principal: { kind: 'human', subject: `matrix-human-${role}`, roles: [role] },
      authorization: `Bearer ${await human([role])}`,
    });
  }
  return callers;
}

/** Every bad credential: none, a wrong token, expired, wrong issuer or audience, `alg: none`, HMAC, malformed headers, unknown kind. */
export async function badCredentials(idp: MatrixIdp): Promise<Array<{ name: string; authorization: string | undefined }>> {
  const good = await idp.sign({ kind: 'human', roles: ['argus-admin'] }, { sub: 'mallory' });
  const [, payload] = good.split('.');
  const hmac = await new SignJWT({ kind: 'human', roles: ['argus-admin'] })
    .setProtectedHeader({ alg: 'HS256' })
    .setSubject('mallory')
    .setIssuer(idp.issuer)
    .setAudience(idp.audience)
    .setExpirationTime('5m')
    .sign(new TextEncoder().encode('m'.repeat(32)));
  return [
    { name: 'none', authorization: undefined },
    { name: 'wrong token', authorization: 'Bearer matrix-wrong-token-0123456789' },
    { name: 'expired JWT', authorization: `Bearer ${await idp.sign({ kind: 'human', roles: ['argus-admin'] }, { exp: '-10m' })}` },
    {
      name: 'wrong issuer',
      authorization: `Bearer ${await idp.sign({ kind: 'human', roles: ['argus-admin'] }, { iss: 'https://evil.example' })}`,
    },
    {
      name: 'wrong audience',
      authorization: `Bearer ${await idp.sign({ kind: 'human', roles: ['argus-admin'] }, { aud: 'someone-else' })}`,
    },
    {
      name: 'alg none',
      authorization: `Bearer ${Buffer.from(JSON.stringify({ alg: 'none', typ: 'JWT' })).toString('base64url')}.${payload}.`,
    },
    { name: 'HMAC JWT', authorization: `Bearer ${hmac}` },
    { name: 'unknown kind JWT', authorization: `Bearer ${await idp.sign({ roles: ['argus-admin'] })}` },
    { name: 'malformed header', authorization: 'Basic bWFsbG9yeTpwdw==' },
    { name: 'empty bearer', authorization: 'Bearer ' },
  ];
}

/** What a matrix run found wrong, one line per problem (empty: all good). */
export interface MatrixReport {
  problems: string[];
  requests: number;
}

/**
 * Calls every operation with every caller and every bad credential and checks each answer
 * against the table: no entry → a problem; a bad credential on a guarded route → 401; a caller
 * the table refuses → 403 from the table; a caller it admits → neither; every error in the one
 * shape `{code, message, errors}`; never a 500.
 */
export async function runPermissionMatrix(options: {
  baseUrl: string;
  operations: Operation[];
  callers: MatrixCaller[];
  bad: Array<{ name: string; authorization: string | undefined }>;
  decisions?: DecisionAuthMode;
  table?: PermissionTable;
  /** Parallel requests. Default 8. */
  concurrency?: number;
}): Promise<MatrixReport> {
  const table = options.table ?? DEFAULT_PERMISSION_TABLE;
  const problems: string[] = [];
  const jobs: Array<() => Promise<void>> = [];
  for (const op of options.operations) {
    const path = concretePath(op.path);
    const row = table.match(op.method, path);
    if (!row) {
      problems.push(`${op.method} ${op.path}: no entry in the permission table`);
      continue;
    }
    const access = row.permission.allow;
    const label = `${op.method} ${op.path}`;
    // The same route named by an absolute URL: refused before anything reads the table (400).
    jobs.push(async () => {
      const { status, body } = await callAbsolute(options.baseUrl, op.method, path);
      checkShape(problems, label, 'an absolute-form target', status, body);
      if (status !== 400)
        problems.push(`${label} as an absolute-form target: expected 400, got ${status} ${JSON.stringify(body).slice(0, 160)}`);
    });
    // ... and with a fragment, which Node keeps in the target and a proxy's URL parser drops (400).
    jobs.push(async () => {
      const { status, body } = await callRaw(options.baseUrl, op.method, `${path}#x`);
      checkShape(problems, label, 'a target with a fragment', status, body);
      if (status !== 400) problems.push(`${label} with a fragment: expected 400, got ${status} ${JSON.stringify(body).slice(0, 160)}`);
    });
    // ... and in another letter case, which express routes to the same route: the table refuses the
    // same callers there (403), and without a credential it is a 401.
    const shouted = path.toUpperCase();
    jobs.push(async () => {
      const { status, body } = await call(options.baseUrl, op.method, shouted, undefined);
      checkShape(problems, label, 'an upper-case path', status, body);
      const open = access === 'public' || (row.permission.decision === true && options.decisions === 'open');
      if (!open && status !== 401)
        problems.push(`${label} as ${shouted} without a credential: expected 401, got ${status} ${JSON.stringify(body).slice(0, 160)}`);
    });
    for (const caller of options.callers.filter((c) => !permits(access, c.principal))) {
      jobs.push(async () => {
        const { status, body } = await call(options.baseUrl, op.method, shouted, caller.authorization);
        checkShape(problems, label, `${caller.name} on an upper-case path`, status, body);
        const byTable = status === 403 && String((body as { message?: unknown })?.message ?? '').includes(' is for ');
        if (!byTable)
          problems.push(
            `${label} as ${shouted} by ${caller.name}: expected 403 from the table, got ${status} ${JSON.stringify(body).slice(0, 160)}`,
          );
      });
    }
    for (const bad of options.bad) {
      jobs.push(async () => {
        const { status, body } = await call(options.baseUrl, op.method, path, bad.authorization);
        const anonymousOk = bad.authorization === undefined && row.permission.decision === true && options.decisions === 'open';
        checkShape(problems, label, bad.name, status, body);
        if (access === 'public' || anonymousOk) {
          if (status === 401 || status === 403) problems.push(`${label} as ${bad.name}: ${status} on a route open to it`);
        } else if (status !== 401 || (body as { code?: unknown })?.code !== 'unauthorized') {
          problems.push(`${label} as ${bad.name}: expected 401 unauthorized, got ${status} ${JSON.stringify(body).slice(0, 160)}`);
        }
      });
    }
    for (const caller of options.callers) {
      jobs.push(async () => {
        const { status, body } = await call(options.baseUrl, op.method, path, caller.authorization);
        checkShape(problems, label, caller.name, status, body);
        const byTable = status === 403 && String((body as { message?: unknown })?.message ?? '').includes(' is for ');
        if (permits(access, caller.principal)) {
          if (status === 401 || byTable) problems.push(`${label} as ${caller.name}: refused (${status}) though the table admits it`);
        } else if (!byTable) {
          problems.push(`${label} as ${caller.name}: expected 403 from the table, got ${status} ${JSON.stringify(body).slice(0, 160)}`);
        }
      });
    }
  }
  let next = 0;
  const worker = async () => {
    while (next < jobs.length) await jobs[next++]!();
  };
  await Promise.all(Array.from({ length: options.concurrency ?? 8 }, worker));
  return { problems, requests: jobs.length };
}

function checkShape(problems: string[], label: string, who: string, status: number, body: unknown): void {
  if (status >= 500 && status !== 503) problems.push(`${label} as ${who}: ${status} ${JSON.stringify(body).slice(0, 160)}`);
  if (status >= 400) {
    const b = body as { code?: unknown; message?: unknown; errors?: unknown } | undefined;
    if (!b || typeof b.code !== 'string' || typeof b.message !== 'string' || !Array.isArray(b.errors)) {
      problems.push(`${label} as ${who}: ${status} not in the error shape {code, message, errors}: ${JSON.stringify(body).slice(0, 160)}`);
    }
  }
}

/** `METHOD http://host/path HTTP/1.1` without a credential, over a plain socket (`fetch` sends only paths). */
async function callAbsolute(baseUrl: string, method: string, path: string): Promise<{ status: number; body: unknown }> {
  return callRaw(baseUrl, method, `http://argus.test${path}`);
}

/** One request with `target` sent as written, without a credential. */
async function callRaw(baseUrl: string, method: string, target: string): Promise<{ status: number; body: unknown }> {
  const hasBody = method !== 'GET' && method !== 'DELETE';
  const head = `${method} ${target} HTTP/1.1\r\nHost: argus.test\r\nContent-Type: application/json`;
  const raw = await rawExchange(baseUrl, head, hasBody ? '{}' : '');
  const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(raw)?.[1] ?? 0);
  const text = raw.slice(raw.indexOf('\r\n\r\n') + 4);
  let body: unknown = text;
  try {
    body = text ? JSON.parse(text) : undefined;
  } catch {
    // not JSON: kept as text
  }
  return { status, body };
}

async function call(
  baseUrl: string,
  method: string,
  path: string,
  authorization: string | undefined,
): Promise<{ status: number; body: unknown }> {
  const ac = new AbortController();
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (authorization !== undefined) headers.authorization = authorization;
  const hasBody = method !== 'GET' && method !== 'DELETE';
  const res = await fetch(`${baseUrl}${path}`, { method, headers, signal: ac.signal, ...(hasBody ? { body: '{}' } : {}) });
  // An event stream never ends: its status is the answer.
  if ((res.headers.get('content-type') ?? '').includes('text/event-stream')) {
    ac.abort();
    return { status: res.status, body: undefined };
  }
  const text = await res.text();
  let body: unknown = text;
  try {
    body = text ? JSON.parse(text) : undefined;
  } catch {
    // not JSON: kept as text
  }
  return { status: res.status, body };
}
