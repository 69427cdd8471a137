import { generateKeyPair, SignJWT } from 'jose';
import { beforeAll, describe, expect, it } from 'vitest';
import { verifyChain } from './delegation-chain.ts';
import { signDelegationToken, tokenGrantLookup, verifyDelegationToken, type TokenKey } from './delegation-token.ts';
import { chain3, crmSearch, lookup, supportBot, T0 } from './testing/fixture.ts';

let priv: TokenKey;
let pub: TokenKey;
let otherPub: TokenKey;

beforeAll(async () => {
  ({ privateKey: priv, publicKey: pub } = await generateKeyPair('Ed25519'));
  ({ publicKey: otherPub } = await generateKeyPair('Ed25519'));
});

async function issue(ttlSeconds = 600): Promise<string> {
  const chain = verifyChain({ chain: chain3, principal: supportBot, grants: lookup(), now: T0, maxDepth: 5 });
  if (!chain.ok) throw new Error(chain.message);
  return signDelegationToken({ hops: chain.hops, privateKey: priv, now: T0, ttlSeconds, issuer: 'argus', kid: 'k1', tokenId: 't-1' });
}

const verify = (token: string, over: Partial<Parameters<typeof verifyDelegationToken>[0]> = {}) =>
  verifyDelegationToken({ token, publicKey: pub, issuer: 'argus', now: T0, maxDepth: 5, ...over });

describe('delegation tokens', () => {
  it('round-trip: sub is the principal, act nests each hop down to the root human', async () => {
    const token = await issue();
    type ActClaims = { sub: string; grant?: string; grants?: string[]; act: ActClaims };
    const payload = JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString()) as ActClaims;
    expect(payload.sub).toBe('Agent::"support-bot"');
    expect(payload.act.sub).toBe('Agent::"researcher"');
    expect(payload.act.grant).toBe('g3');
    expect(payload.act.act.act.sub).toBe('Human::"alice"');
    expect(payload.act.act.act.act).toBeUndefined();
    expect(payload.grants).toEqual(['g1', 'g2', 'g3']);

    const r = await verify(token);
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.chain).toEqual(chain3);
    expect(r.grantIds).toEqual(['g1', 'g2', 'g3']);
    // The token never outlives its shortest grant (g3: one hour).
    expect(r.expiresAt).toBe(new Date(T0 + 600_000).toISOString());
    const chain = verifyChain({
      chain: r.chain,
      principal: r.principal,
      grants: tokenGrantLookup(r, () => false),
      action: 'tool:call',
      resource: crmSearch,
      now: T0,
      maxDepth: 5,
    });
    expect(chain.ok).toBe(true);
  });

  it('is capped at the earliest grant expiry', async () => {
    const r = await verify(await issue(86_400));
    expect(r.ok && r.expiresAt).toBe(new Date(T0 + 3_600_000).toISOString());
  });

  it('a revoked grant id in the token makes the chain fail with delegation_revoked', async () => {
    const r = await verify(await issue());
    if (!r.ok) throw new Error(r.message);
    const chain = verifyChain({
      chain: r.chain,
      principal: r.principal,
      grants: tokenGrantLookup(r, (id) => id === 'g2'),
      now: T0,
      maxDepth: 5,
    });
    expect(chain).toMatchObject({ ok: false, code: 'delegation_revoked', hop: 2 });
  });

  it('refuses a token signed by another key, tampered, expired, or from another issuer', async () => {
    const token = await issue();
    expect(await verify(token, { publicKey: otherPub })).toMatchObject({ ok: false, code: 'delegation_token_invalid' });
    expect((await verify(token, { publicKey: [otherPub, pub] })).ok).toBe(true);
    const [h, p, s] = token.split('.');
    const payload = JSON.parse(Buffer.from(p!, 'base64url').toString());
    payload.act.scope.resources = ['*'];
    const forged = `${h}.${Buffer.from(JSON.stringify(payload)).toString('base64url')}.${s}`;
    expect(await verify(forged)).toMatchObject({ ok: false, code: 'delegation_token_invalid' });
    expect(await verify(token, { now: T0 + 700_000 })).toMatchObject({ ok: false, code: 'delegation_token_expired' });
    expect(await verify(token, { issuer: 'someone-else' })).toMatchObject({ ok: false, code: 'delegation_token_invalid' });
    expect(await verify('not.a.token')).toMatchObject({ ok: false, code: 'delegation_token_invalid' });
  });

  it('is refused from the expiresAt its issuer answered, unless a skew tolerance is configured', async () => {
    const token = await issue(2);
    const ok = await verify(token, { now: T0 + 1_999 });
    expect(ok).toMatchObject({ ok: true, expiresAt: new Date(T0 + 2_000).toISOString() });
    for (const after of [2_000, 3_000, 10_000, 25_000])
      expect(await verify(token, { now: T0 + after }), `+${after} ms`).toMatchObject({ ok: false, code: 'delegation_token_expired' });
    expect((await verify(token, { now: T0 + 3_000, clockToleranceSeconds: 5 })).ok).toBe(true);
    expect(await verify(token, { now: T0 + 7_000, clockToleranceSeconds: 5 })).toMatchObject({
      ok: false,
      code: 'delegation_token_expired',
    });
  });

  it('refuses tokens deeper than the maximum before walking them', async () => {
    expect(await verify(await issue(), { maxDepth: 2 })).toMatchObject({ ok: false, code: 'delegation_depth_exceeded' });
  });

  it('refuses a validly signed token with a malformed act claim', async () => {
    const sign = (claims: Record<string, unknown>) =>
      new SignJWT(claims)
        .setProtectedHeader({ alg: 'EdDSA', typ: 'argus-delegation+jwt' })
        .setSubject('Agent::"x"')
        .setIssuer('argus')
        .setIssuedAt(T0 / 1000)
        .setExpirationTime(T0 / 1000 + 60)
        .sign(priv);
    expect(await verify(await sign({}))).toMatchObject({ ok: false, code: 'delegation_token_invalid' });
    expect(
      await verify(
        await sign({ act: { sub: 'Human::"a"', grant: 'g', grant_exp: 'x', scope: { actions: [], resources: [] } }, grants: ['g'] }),
      ),
    ).toMatchObject({ ok: false, code: 'delegation_token_invalid' });
    expect(
      await verify(
        await sign({
          act: { sub: 'Human::"a"', grant: 'g', grant_exp: '2026-02-01T00:00:00Z', scope: { actions: ['x'], resources: ['bad'] } },
          grants: ['g'],
        }),
      ),
    ).toMatchObject({ ok: false, code: 'delegation_token_invalid' });
    expect(
      await verify(
        await sign({
          act: { sub: 'Human::"a"', grant: 'g', grant_exp: '2026-02-01T00:00:00Z', scope: { actions: ['x'], resources: ['*'] } },
          grants: ['other'],
        }),
      ),
    ).toMatchObject({ ok: false, code: 'delegation_token_invalid' });
    expect(
      (
        await verify(
          await sign({
            act: { sub: 'Human::"a"', grant: 'g', grant_exp: '2026-02-01T00:00:00Z', scope: { actions: ['x'], resources: ['*'] } },
            grants: ['g'],
          }),
        )
      ).ok,
    ).toBe(true);
  });
});
