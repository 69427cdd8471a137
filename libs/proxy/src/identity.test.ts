import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { IncomingMessage } from 'node:http';
import { randomBytes } from 'node:crypto';
import { SignJWT, exportJWK, generateKeyPair } from 'jose';
import { MemorySecretStore, SecretsBroker } from '@argus/secrets';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseProxyConfig } from './config.ts';
import { createAuthenticator, hashAgentToken } from './identity.ts';

type PrivateKey = Awaited<ReturnType<typeof generateKeyPair>>['privateKey'];

let server: Server;
let jwksUrl: string;
let privateKey: PrivateKey;
let otherKey: PrivateKey;

beforeAll(async () => {
  const pair = await generateKeyPair('ES256');
  privateKey = pair.privateKey;
  otherKey = (await generateKeyPair('ES256')).privateKey;
  const jwk = { ...(await exportJWK(pair.publicKey)), kid: 'k1', alg: 'ES256', use: 'sig' };
  server = createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ keys: [jwk] }));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  jwksUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/jwks.json`;
});
afterAll(() => new Promise<void>((r) => server.close(() => r())));

function req(headers: Record<string, string>): IncomingMessage {
  return { headers } as unknown as IncomingMessage;
}

function jwt(key: PrivateKey, claims: Record<string, unknown>, opts: { iss?: string; aud?: string; exp?: string } = {}): Promise<string> {
  return new SignJWT(claims)
    .setProtectedHeader({ alg: 'ES256', kid: 'k1' })
    .setIssuer(opts.iss ?? 'https://idp.test')
    .setAudience(opts.aud ?? 'argus')
    .setIssuedAt()
    .setExpirationTime(opts.exp ?? '5m')
    .sign(key);
}

/** `bot` by the hash of its token in the configuration, `planner` by its token in the secrets store. */
async function botAndPlanner(): Promise<{ store: MemorySecretStore; auth: ReturnType<typeof createAuthenticator> }> {
  const store = new MemorySecretStore({ key: randomBytes(32) });
  await store.put('agent-token/planner', 'argus_planner_secret_token');
  const config = parseProxyConfig({
    auth: { agentTokens: [{ agent: 'bot', sha256: hashAgentToken('argus_bot_tok') }] },
    upstreams: [{ name: 'u', kind: 'http', prefix: '/u', target: 'http://127.0.0.1:1' }],
  });
  return { store, auth: createAuthenticator({ auth: config.auth, secrets: new SecretsBroker(store) }) };
}

describe('authenticator', () => {
  it('maps agent tokens from the configuration (by hash) and from the secrets store', async () => {
    const { auth } = await botAndPlanner();
    expect(await auth(req({ authorization: 'Bearer argus_bot_tok' }))).toEqual({ agent: 'bot', via: 'agent-token' });
    expect(await auth(req({ authorization: 'bearer argus_planner_secret_token' }))).toEqual({ agent: 'planner', via: 'agent-token' });
    expect(await auth(req({ 'x-api-key': 'argus_bot_tok' }))).toEqual({ agent: 'bot', via: 'agent-token' });
    expect(await auth(req({ 'x-api-key': 'sk-not-argus' }))).toBeUndefined();
    // One identity per caller: the same token in both places is one credential; two different ones are refused.
    expect(await auth(req({ authorization: 'Bearer argus_bot_tok', 'x-api-key': 'argus_bot_tok' }))).toEqual({
      agent: 'bot',
      via: 'agent-token',
    });
    expect(await auth(req({ authorization: 'Bearer argus_bot_tok', 'x-api-key': 'argus_planner_secret_token' }))).toBeUndefined();
    expect(await auth(req({ authorization: 'Bearer argus_planner_secret_token', 'x-api-key': 'argus_bot_tok' }))).toBeUndefined();
    // Two Authorization headers (Node keeps the first) are two credentials too, even with an x-api-key.
    const twice = {
      headers: { authorization: 'Bearer argus_bot_tok' },
      rawHeaders: ['Authorization', 'Bearer argus_bot_tok', 'authorization', 'Bearer argus_planner_secret_token'],
    };
    expect(await auth(twice as unknown as IncomingMessage)).toBeUndefined();
    expect(
      await auth({ ...twice, headers: { ...twice.headers, 'x-api-key': 'argus_bot_tok' } } as unknown as IncomingMessage),
    ).toBeUndefined();
    // A raw upstream key beside the Argus token is no second identity (it is stripped, never forwarded).
    expect(await auth(req({ authorization: 'Bearer argus_bot_tok', 'x-api-key': 'sk-ant-raw-key' }))).toEqual({
      agent: 'bot',
      via: 'agent-token',
    });
    expect(await auth(req({ authorization: 'Bearer argus_wrong' }))).toBeUndefined();
    expect(await auth(req({}))).toBeUndefined();
  });

  it('keeps refusing a secrets-store token once it is revoked there, however often it was used', async () => {
    const { store, auth } = await botAndPlanner();
    for (let i = 0; i < 3; i++) {
      expect(await auth(req({ authorization: 'Bearer argus_planner_secret_token' }))).toEqual({ agent: 'planner', via: 'agent-token' });
      expect(await auth(req({ authorization: 'Bearer argus_bot_tok' }))).toEqual({ agent: 'bot', via: 'agent-token' });
    }
    await store.delete('agent-token/planner');
    await auth.refresh();
    expect(await auth(req({ authorization: 'Bearer argus_planner_secret_token' }))).toBeUndefined();
    // A configured token stays valid, and a near miss of it is still refused.
    expect(await auth(req({ authorization: 'Bearer argus_bot_tok' }))).toEqual({ agent: 'bot', via: 'agent-token' });
    expect(await auth(req({ authorization: 'Bearer argus_bot_tol' }))).toBeUndefined();
  });

  it('verifies JWTs against the JWKS, issuer and audience, taking the agent from the configured claim', async () => {
    const config = parseProxyConfig({
      auth: { jwt: { jwksUrl, issuer: 'https://idp.test', audience: 'argus', agentClaim: 'agent_id' } },
      upstreams: [{ name: 'u', kind: 'http', prefix: '/u', target: 'http://127.0.0.1:1' }],
    });
    const auth = createAuthenticator({ auth: config.auth });
    expect(await auth(req({ authorization: `Bearer ${await jwt(privateKey, { agent_id: 'support-bot', sub: 'svc' })}` }))).toEqual({
      agent: 'support-bot',
      via: 'jwt',
    });
    expect(await auth(req({ authorization: `Bearer ${await jwt(otherKey, { agent_id: 'support-bot' })}` }))).toBeUndefined();
    expect(
      await auth(req({ authorization: `Bearer ${await jwt(privateKey, { agent_id: 'support-bot' }, { aud: 'other' })}` })),
    ).toBeUndefined();
    expect(
      await auth(req({ authorization: `Bearer ${await jwt(privateKey, { agent_id: 'support-bot' }, { iss: 'https://evil.test' })}` })),
    ).toBeUndefined();
    expect(
      await auth(req({ authorization: `Bearer ${await jwt(privateKey, { agent_id: 'support-bot' }, { exp: '-10m' })}` })),
    ).toBeUndefined();
    expect(await auth(req({ authorization: `Bearer ${await jwt(privateKey, { sub: 'no-agent-claim' })}` }))).toBeUndefined();
  });
});
