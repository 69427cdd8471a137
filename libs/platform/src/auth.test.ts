import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import { exportJWK, generateKeyPair, SignJWT, type JWK } from 'jose';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  authenticatorOptionsFrom,
  createAuthenticator,
  credentialError,
  duplicateTokenIssues,
  principalOf,
  requireAdmin,
  requireAuth,
  requireRole,
  type Authenticator,
} from './auth.ts';
import { authSection } from './config.ts';
import { sha256Hex } from './hash.ts';
import { ConfigError } from './errors.ts';
import { errorHandler } from './http.ts';
import { silentLogger } from './logger.ts';

const ADMIN = 'admin-token-0123456789abcdef';

let privateKey: Awaited<ReturnType<typeof generateKeyPair>>['privateKey'];
let jwk: JWK;
let jwksServer: Server;
let jwksUrl: string;

beforeAll(async () => {
  const pair = await generateKeyPair('ES256');
  privateKey = pair.privateKey;
  jwk = { ...(await exportJWK(pair.publicKey)), kid: 'k1', alg: 'ES256' };
  jwksServer = createServer((_req, res) => {
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify({ keys: [jwk] }));
  });
  await new Promise<void>((r) => jwksServer.listen(0, '127.0.0.1', () => r()));
  jwksUrl = `http://127.0.0.1:${(jwksServer.address() as AddressInfo).port}/jwks.json`;
});
afterAll(() => new Promise<void>((r) => jwksServer.close(() => r())));

async function jwt(
  claims: Record<string, unknown>,
  options: { sub?: string; iss?: string; aud?: string; exp?: string } = {},
): Promise<string> {
  let builder = new SignJWT(claims)
    .setProtectedHeader({ alg: 'ES256', kid: 'k1' })
    .setIssuedAt()
    .setExpirationTime(options.exp ?? '5m');
  if (options.sub !== undefined) builder = builder.setSubject(options.sub);
  builder = builder.setIssuer(options.iss ?? 'https://idp.example').setAudience(options.aud ?? 'argus');
  return builder.sign(privateKey);
}

describe('createAuthenticator', () => {
  const auth = createAuthenticator({
    adminToken: ADMIN,
    scannerTokens: { 'k8s-scanner': 'scanner-token-0123456789' },
    agentTokens: { 'support-bot': 'agent-token-0123456789' },
  });

  it('maps static tokens to principals', async () => {
    expect(await auth.authenticate(`Bearer ${ADMIN}`)).toEqual({
      ok: true,
      principal: { subject: 'admin', roles: ['admin'], kind: 'admin' },
    });
    expect(await auth.authenticate('bearer scanner-token-0123456789')).toEqual({
      ok: true,
      principal: { subject: 'k8s-scanner', roles: ['scanner'], kind: 'scanner' },
    });
    expect(await auth.authenticate('Bearer agent-token-0123456789')).toMatchObject({
      ok: true,
      principal: { subject: 'support-bot', kind: 'agent' },
    });
  });

  it('rejects missing, malformed and wrong credentials', async () => {
    expect(await auth.authenticate(undefined)).toEqual({ ok: false, reason: 'missing' });
    expect(await auth.authenticate('Basic YWRtaW46cHc=')).toEqual({ ok: false, reason: 'malformed' });
    expect(await auth.authenticate('Bearer ')).toEqual({ ok: false, reason: 'malformed' });
    expect(await auth.authenticate(`Bearer ${ADMIN}x`)).toEqual({ ok: false, reason: 'invalid' });
    expect(await auth.authenticate(`Bearer ${ADMIN.slice(0, -1)}`)).toEqual({ ok: false, reason: 'invalid' });
  });

  it('refuses bad configuration naming the path', () => {
    expect(() => createAuthenticator({ adminToken: '' })).toThrow(ConfigError);
    expect(() => createAuthenticator({ jwks: {} })).toThrow(ConfigError);
    expect(() => createAuthenticator({ jwks: { url: 'ftp://x/jwks' } })).toThrow(ConfigError);
  });
});

describe('JWT verification', () => {
  let remote: Authenticator;
  let local: Authenticator;
  let mapped: Authenticator;
  beforeAll(() => {
    remote = createAuthenticator({ jwks: { url: jwksUrl, issuer: 'https://idp.example', audience: 'argus' } });
    local = createAuthenticator({
      jwks: { keys: { keys: [jwk] }, issuer: 'https://idp.example', audience: 'argus', adminRole: 'ops', rolesClaim: 'realm.roles' },
    });
    mapped = createAuthenticator({
      jwks: {
        keys: { keys: [jwk] },
        issuer: 'https://idp.example',
        audience: 'argus',
        claims: { kind: 'typ', kindValues: { user: 'human', bot: 'agent', pep: 'service' }, roles: 'groups', agentId: 'agent_id' },
      },
    });
  });

  it('accepts a valid token from a remote JWKS and derives admin from the role of a human', async () => {
    expect(await remote.authenticate(`Bearer ${await jwt({ kind: 'human', roles: ['argus-admin'] }, { sub: 'alice' })}`)).toEqual({
      ok: true,
      principal: { subject: 'alice', roles: ['argus-admin'], kind: 'admin' },
    });
    expect(await remote.authenticate(`Bearer ${await jwt({ kind: 'human', roles: 'viewer auditor' }, { sub: 'bob' })}`)).toEqual({
      ok: true,
      principal: { subject: 'bob', roles: ['viewer', 'auditor'], kind: 'human' },
    });
  });

  it('refuses a JWT once it expired, after accepting it', async () => {
    const strict = createAuthenticator({
      jwks: { keys: { keys: [jwk] }, issuer: 'https://idp.example', audience: 'argus', clockToleranceSec: 0 },
    });
    const token = await jwt({ kind: 'human' }, { sub: 'dave', exp: '1s' });
    expect(await strict.authenticate(`Bearer ${token}`)).toMatchObject({ ok: true, principal: { subject: 'dave' } });
    await new Promise((r) => setTimeout(r, 2_100));
    expect(await strict.authenticate(`Bearer ${token}`)).toEqual({ ok: false, reason: 'invalid' });
  });

  /** A signed JWT with exactly the time claims given (seconds since the epoch; none by default). */
  const timed = (times: { iat?: number; exp?: number; nbf?: number }) =>
    new SignJWT({ kind: 'human', ...times })
      .setProtectedHeader({ alg: 'ES256', kid: 'k1' })
      .setSubject('erin')
      .setIssuer('https://idp.example')
      .setAudience('argus')
      .sign(privateKey);
  const now = () => Math.floor(Date.now() / 1000);

  it('refuses a JWT without `exp`: it would never expire', async () => {
    expect(await remote.authenticate(`Bearer ${await timed({ iat: now() })}`)).toEqual({ ok: false, reason: 'invalid' });
    expect(await remote.authenticate(`Bearer ${await timed({})}`)).toEqual({ ok: false, reason: 'invalid' });
    expect(await remote.authenticate(`Bearer ${await timed({ exp: now() + 300 })}`)).toMatchObject({ ok: true });
  });

  it('refuses a JWT issued in the future beyond the clock tolerance', async () => {
    const yearAhead = now() + 365 * 86_400;
    expect(await remote.authenticate(`Bearer ${await timed({ iat: yearAhead, exp: yearAhead + 300 })}`)).toEqual({
      ok: false,
      reason: 'invalid',
    });
    expect(await remote.authenticate(`Bearer ${await timed({ iat: now() + 120, exp: now() + 300 })}`)).toEqual({
      ok: false,
      reason: 'invalid',
    });
    // Within the tolerance (30 s by default): a clock running a little ahead.
    expect(await remote.authenticate(`Bearer ${await timed({ iat: now() + 10, exp: now() + 300 })}`)).toMatchObject({ ok: true });
  });

  it('refuses a JWT living longer than `maxTokenLifetimeSec` when it is set', async () => {
    const bounded = createAuthenticator({
      jwks: { keys: { keys: [jwk] }, issuer: 'https://idp.example', audience: 'argus', maxTokenLifetimeSec: 3_600 },
    });
    expect(await bounded.authenticate(`Bearer ${await timed({ iat: now(), exp: now() + 3_600 })}`)).toMatchObject({ ok: true });
    expect(await bounded.authenticate(`Bearer ${await timed({ iat: now(), exp: now() + 7_200 })}`)).toEqual({
      ok: false,
      reason: 'invalid',
    });
    // Issued long ago, still valid for a short while: its lifetime (exp - iat) is what counts.
    expect(await bounded.authenticate(`Bearer ${await timed({ iat: now() - 86_400, exp: now() + 60 })}`)).toEqual({
      ok: false,
      reason: 'invalid',
    });
    // Without `iat`, what is left of it counts.
    expect(await bounded.authenticate(`Bearer ${await timed({ exp: now() + 7_200 })}`)).toEqual({ ok: false, reason: 'invalid' });
    expect(await bounded.authenticate(`Bearer ${await timed({ exp: now() + 600 })}`)).toMatchObject({ ok: true });
    // Unbounded by default.
    expect(await remote.authenticate(`Bearer ${await timed({ iat: now(), exp: now() + 10 * 365 * 86_400 })}`)).toMatchObject({ ok: true });
  });

  it('reads roles from a nested claim with a local JWKS', async () => {
    const r = await local.authenticate(`Bearer ${await jwt({ kind: 'human', realm: { roles: ['ops'] } }, { sub: 'carol' })}`);
    expect(r).toEqual({ ok: true, principal: { subject: 'carol', roles: ['ops'], kind: 'admin' } });
  });

  it('maps each JWT to exactly one kind through the configured claims', async () => {
    expect(await mapped.authenticate(`Bearer ${await jwt({ typ: 'user', groups: ['approver'] }, { sub: 'dana' })}`)).toEqual({
      ok: true,
      principal: { subject: 'dana', roles: ['approver'], kind: 'human' },
    });
    expect(await mapped.authenticate(`Bearer ${await jwt({ typ: 'bot', agent_id: 'researcher' }, { sub: 'svc-acct-7' })}`)).toEqual({
      ok: true,
      principal: { subject: 'researcher', roles: [], kind: 'agent' },
    });
    expect(await mapped.authenticate(`Bearer ${await jwt({ typ: 'pep' }, { sub: 'orders-app' })}`)).toEqual({
      ok: true,
      principal: { subject: 'orders-app', roles: [], kind: 'service' },
    });
  });

  it('never lets an agent or a service become an admin through a role', async () => {
    const agent = await remote.authenticate(`Bearer ${await jwt({ kind: 'agent', roles: ['argus-admin'] }, { sub: 'bot' })}`);
    expect(agent).toEqual({ ok: true, principal: { subject: 'bot', roles: ['argus-admin'], kind: 'agent' } });
    const service = await remote.authenticate(`Bearer ${await jwt({ kind: 'service', roles: ['argus-admin'] }, { sub: 'svc' })}`);
    expect(service).toMatchObject({ ok: true, principal: { kind: 'service' } });
  });

  it('binds the service `proxy` to its service token: a JWT naming it is refused, whatever its mapping', async () => {
    expect(await remote.authenticate(`Bearer ${await jwt({ kind: 'service' }, { sub: 'proxy' })}`)).toEqual({
      ok: false,
      reason: 'reserved_subject',
    });
    expect(await mapped.authenticate(`Bearer ${await jwt({ typ: 'pep' }, { sub: 'proxy' })}`)).toEqual({
      ok: false,
      reason: 'reserved_subject',
    });
    // A human or an agent named `proxy` is no service: it gets nothing of the proxy's.
    expect(await remote.authenticate(`Bearer ${await jwt({ kind: 'agent' }, { sub: 'proxy' })}`)).toMatchObject({
      ok: true,
      principal: { subject: 'proxy', kind: 'agent' },
    });
    expect(credentialError('reserved_subject').message).toContain('`auth.serviceTokens.proxy`');
  });

  it('refuses a JWT whose kind cannot be determined instead of taking it for a human', async () => {
    for (const claims of [{ roles: ['argus-admin'] }, { kind: 'robot' }, { kind: 'admin' }, { kind: ['human'] }, { kind: 'toString' }]) {
      expect(await remote.authenticate(`Bearer ${await jwt(claims, { sub: 'x' })}`)).toEqual({ ok: false, reason: 'unknown_kind' });
    }
  });

  it('refuses a JWT without the claim naming its holder, saying which claim', async () => {
    // An agent JWT without the agent id claim has no agent to act as: its kind was read.
    expect(await mapped.authenticate(`Bearer ${await jwt({ typ: 'bot' }, { sub: 'x' })}`)).toEqual({ ok: false, reason: 'no_agent_id' });
    expect(await mapped.authenticate(`Bearer ${await jwt({ typ: 'bot', agent_id: '' }, { sub: 'x' })}`)).toEqual({
      ok: false,
      reason: 'no_agent_id',
    });
    expect(await remote.authenticate(`Bearer ${await jwt({ kind: 'agent' })}`)).toEqual({ ok: false, reason: 'no_agent_id' });
    expect(await remote.authenticate(`Bearer ${await jwt({ kind: 'human' })}`)).toEqual({ ok: false, reason: 'no_subject' });
    expect(await remote.authenticate(`Bearer ${await jwt({ kind: 'service' }, { sub: 'x'.repeat(257) })}`)).toEqual({
      ok: false,
      reason: 'no_subject',
    });
    // A subject that is no id (a newline, padding, a control character) names no one either.
    for (const sub of ['alice\nadmin', ' alice', 'al\u0000ice', 'dave\u200b', 'eve\u202eeve'])
      expect(await remote.authenticate(`Bearer ${await jwt({ kind: 'human' }, { sub })}`), JSON.stringify(sub)).toEqual({
        ok: false,
        reason: 'no_subject',
      });
    expect(credentialError('no_agent_id').message).toMatch(/agent id.*`auth\.jwks\.claims\.agentId`.*`sub`/);
    expect(credentialError('no_subject').message).toContain('`sub` claim');
    for (const reason of ['no_agent_id', 'no_subject'] as const) expect(credentialError(reason).message).not.toContain('which kind');
  });

  it('rejects wrong issuer, audience, expired, unsigned, HMAC and tampered tokens', async () => {
    const bad = [
      await jwt({ kind: 'human', roles: ['argus-admin'] }, { sub: 'a', iss: 'https://evil.example' }),
      await jwt({ kind: 'human', roles: ['argus-admin'] }, { sub: 'a', aud: 'other' }),
      await jwt({ kind: 'human', roles: ['argus-admin'] }, { sub: 'a', exp: '-10m' }),
    ];
    const [h, p] = (await jwt({ kind: 'human', roles: ['argus-admin'] }, { sub: 'a' })).split('.');
    const none = `${Buffer.from(JSON.stringify({ alg: 'none' })).toString('base64url')}.${p}.`;
    const hmac = await new SignJWT({ kind: 'human' })
      .setProtectedHeader({ alg: 'HS256' })
      .setSubject('a')
      .setIssuer('https://idp.example')
      .setAudience('argus')
      .setExpirationTime('5m')
      .sign(new TextEncoder().encode('k'.repeat(32)));
    const tampered = `${h}.${Buffer.from(JSON.stringify({ sub: 'mallory', kind: 'human', roles: ['argus-admin'], iss: 'https://idp.example', aud: 'argus' })).toString('base64url')}.${(await jwt({}, { sub: 'x' })).split('.')[2]}`;
    for (const token of [...bad, none, hmac, tampered])
      expect(await remote.authenticate(`Bearer ${token}`)).toEqual({ ok: false, reason: 'invalid' });
  });

  it('refuses symmetric algorithms in the configuration', () => {
    expect(() => createAuthenticator({ jwks: { keys: { keys: [jwk] }, algorithms: ['HS256'] } })).toThrow(ConfigError);
  });

  it('fails closed when the JWKS endpoint is unreachable', async () => {
    const dead = createAuthenticator({ jwks: { url: 'http://127.0.0.1:1/jwks.json', timeoutMs: 300 } });
    expect(await dead.authenticate(`Bearer ${await jwt({ kind: 'human' }, { sub: 'a' })}`)).toEqual({ ok: false, reason: 'invalid' });
  });
});

describe('service tokens and Argus-issued agent tokens', () => {
  const agentToken = 'argus_0123456789abcdef0123456789abcdef';
  const auth = createAuthenticator({
    serviceTokens: { proxy: 'service-token-0123456789' },
    agentTokenHashes: [{ agent: 'researcher', sha256: sha256Hex(agentToken) }],
    lookupAgentToken: async (hash) => (hash === sha256Hex('argus_from-the-secrets-store-0001') ? 'orchestrator' : undefined),
  });

  it('maps each to one kind', async () => {
    expect(await auth.authenticate('Bearer service-token-0123456789')).toEqual({
      ok: true,
      principal: { subject: 'proxy', roles: ['service'], kind: 'service' },
    });
    expect(await auth.authenticate(`Bearer ${agentToken}`)).toEqual({
      ok: true,
      principal: { subject: 'researcher', roles: ['agent'], kind: 'agent' },
    });
    expect(await auth.authenticate('Bearer argus_from-the-secrets-store-0001')).toMatchObject({
      ok: true,
      principal: { subject: 'orchestrator', kind: 'agent' },
    });
    expect(await auth.authenticate('Bearer argus_unknown-token-000000000')).toEqual({ ok: false, reason: 'invalid' });
  });

  it('sees a token revoked in the secrets store on the very next call, after answering it many times', async () => {
    const live = new Set([sha256Hex('argus_revocable-token-000000001')]);
    const revocable = createAuthenticator({
      adminToken: ADMIN,
      agentTokenHashes: [{ agent: 'researcher', sha256: sha256Hex(agentToken) }],
      lookupAgentToken: async (hash) => (live.has(hash) ? 'orchestrator' : undefined),
    });
    for (let i = 0; i < 3; i++) {
      expect(await revocable.authenticate('Bearer argus_revocable-token-000000001')).toMatchObject({ ok: true });
      expect(await revocable.authenticate(`Bearer ${agentToken}`)).toMatchObject({ ok: true, principal: { subject: 'researcher' } });
    }
    live.clear();
    expect(await revocable.authenticate('Bearer argus_revocable-token-000000001')).toEqual({ ok: false, reason: 'invalid' });
    // A token of the configuration answers as configured, whatever the store says.
    expect(await revocable.authenticate(`Bearer ${agentToken}`)).toMatchObject({ ok: true, principal: { subject: 'researcher' } });
  });

  it('answers a token presented again with a principal of its own, equal to the first', async () => {
    const first = await auth.authenticate('Bearer service-token-0123456789');
    if (!first.ok) throw new Error('expected the service token to authenticate');
    first.principal.roles.push('admin');
    first.principal.subject = 'someone-else';
    expect(await auth.authenticate('Bearer service-token-0123456789')).toEqual({
      ok: true,
      principal: { subject: 'proxy', roles: ['service'], kind: 'service' },
    });
    expect(await auth.authenticate('Bearer service-token-012345678')).toEqual({ ok: false, reason: 'invalid' });
  });

  it('refuses a hash that is not a SHA-256 naming the path', () => {
    expect(() => createAuthenticator({ agentTokenHashes: [{ agent: 'a', sha256: 'abc' }] })).toThrow(/SHA-256/);
  });
});

describe('one token, one credential', () => {
  const agentToken = 'argus_0123456789abcdef0123456789abcdef';
  const cases: Array<[string, Parameters<typeof createAuthenticator>[0], string, string]> = [
    ['the admin token reused as an agent token', { adminToken: ADMIN, agentTokens: { bot: ADMIN } }, '/adminToken', '/agentTokens/bot'],
    [
      'a scanner token reused as a service token',
      { serviceTokens: { app: 'scanner-token-0123456789' }, scannerTokens: { scan1: 'scanner-token-0123456789' } },
      '/serviceTokens/app',
      '/scannerTokens/scan1',
    ],
    [
      'one token for two agents',
      { agentTokens: { a: 'agent-token-0123456789', b: 'agent-token-0123456789' } },
      '/agentTokens/a',
      '/agentTokens/b',
    ],
    [
      'a static agent token also listed by its hash',
      { agentTokens: { bot: agentToken }, agentTokenHashes: [{ agent: 'other', sha256: sha256Hex(agentToken).toUpperCase() }] },
      '/agentTokens/bot',
      '/agentTokenHashes/0/sha256',
    ],
    [
      'one hash listed for two agents',
      {
        agentTokenHashes: [
          { agent: 'a', sha256: sha256Hex(agentToken) },
          { agent: 'b', sha256: sha256Hex(agentToken) },
        ],
      },
      '/agentTokenHashes/0/sha256',
      '/agentTokenHashes/1/sha256',
    ],
    ['an id that needs escaping', { adminToken: ADMIN, serviceTokens: { 'a/b~c': ADMIN } }, '/adminToken', '/serviceTokens/a~1b~0c'],
  ];

  it.each(cases)('refuses %s, naming both paths and never the token', (_name, options, first, second) => {
    const issues = duplicateTokenIssues(options);
    expect(issues).toEqual([{ path: second, message: expect.stringContaining(`\`/auth${first}\``) }]);
    expect(JSON.stringify(issues)).not.toContain('token-0123456789');
    expect(JSON.stringify(issues)).not.toContain(ADMIN);
    let thrown: unknown;
    try {
      createAuthenticator(options);
    } catch (err) {
      thrown = err;
    }
    expect(thrown).toBeInstanceOf(ConfigError);
    expect((thrown as ConfigError).errors).toEqual([{ path: `/auth${second}`, message: expect.stringContaining(`\`/auth${first}\``) }]);
  });

  it('is a bad auth section: `argus config check` and the server refuse it', () => {
    const parsed = authSection.parse({ adminToken: ADMIN, agentTokens: { 'bot-x': ADMIN } });
    expect(parsed).toEqual({ ok: false, errors: [{ path: '/agentTokens/bot-x', message: expect.stringContaining('`/auth/adminToken`') }] });
    expect(authSection.parse({ adminToken: ADMIN, agentTokens: { bot: 'agent-token-0123456789' } })).toMatchObject({ ok: true });
  });
});

describe('authenticatorOptionsFrom', () => {
  it('reads the auth section, `jwks` winning over the legacy flat keys', () => {
    const options = authenticatorOptionsFrom({
      adminToken: ADMIN,
      serviceTokens: { proxy: 'service-token-0123456789' },
      jwksUrl: 'https://old.example/jwks',
      issuer: 'old',
      adminRole: 'argus-admin',
      jwks: { url: 'https://idp.example/jwks', claims: { kind: 'typ' }, maxTokenLifetimeSec: 3_600 },
      decisions: 'required',
    });
    expect(options).toMatchObject({
      adminToken: ADMIN,
      serviceTokens: { proxy: 'service-token-0123456789' },
      jwks: { url: 'https://idp.example/jwks', issuer: 'old', claims: { kind: 'typ' }, maxTokenLifetimeSec: 3_600 },
    });
  });
});

describe('express guards', () => {
  const auth = createAuthenticator({
    adminToken: ADMIN,
    scannerTokens: { s1: 'scanner-token-0123456789' },
    agentTokens: { bot: 'agent-token-0123456789' },
  });
  const app = express();
  app.get('/any', requireAuth(auth), (_req, res) => void res.json(principalOf(res)));
  app.get('/admin', requireAdmin(auth), (_req, res) => void res.json(principalOf(res)));
  app.get('/scan', requireRole(auth, 'scanner'), (_req, res) => void res.json(principalOf(res)));
  app.use(errorHandler(silentLogger()));

  it('answers 401 in the wire shape without a credential', async () => {
    const r = await request(app).get('/any');
    expect(r.status).toBe(401);
    expect(r.headers['www-authenticate']).toContain('Bearer');
    expect(r.body).toEqual({ code: 'unauthorized', message: 'missing credential', errors: [] });
    const wrong = await request(app).get('/admin').set('authorization', 'Bearer nope-nope-nope');
    expect(wrong.status).toBe(401);
    expect(JSON.stringify(wrong.body)).not.toContain('nope-nope');
  });

  it('answers 403 for the wrong kind and passes the right one', async () => {
    expect((await request(app).get('/admin').set('authorization', 'Bearer agent-token-0123456789')).status).toBe(403);
    expect((await request(app).get('/scan').set('authorization', 'Bearer agent-token-0123456789')).body.code).toBe('forbidden');
    expect((await request(app).get('/scan').set('authorization', 'Bearer scanner-token-0123456789')).body).toMatchObject({
      subject: 's1',
      kind: 'scanner',
    });
    expect((await request(app).get('/scan').set('authorization', `Bearer ${ADMIN}`)).status).toBe(200);
    expect((await request(app).get('/any').set('authorization', 'Bearer agent-token-0123456789')).body).toMatchObject({
      subject: 'bot',
      kind: 'agent',
    });
  });
});
