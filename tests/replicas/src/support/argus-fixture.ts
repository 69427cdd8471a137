import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT, startApp, urlWhen, type AppProcess } from './processes.ts';

/** The admin token every process of a fixture accepts. */
export const ADMIN_TOKEN = 'replica-test-admin-token-0123456789';
/** The agent token `bot` presents to the proxy and the registry. */
export const BOT_TOKEN = 'argus_replica_bot_token_5f4e3d2c1b';
/** The service token the proxy presents to the decision points (as in docker/: service `proxy`). */
export const PROXY_SERVICE_TOKEN = 'replica-test-proxy-service-token-0123';
/** The service token the tests themselves decide with (an application calling the decision API). */
export const APP_SERVICE_TOKEN = 'replica-test-app-service-token-012345';

/** Settings of one decision-point replica. */
export interface ApdpReplicaOptions {
  name: string;
  dir: string;
  storeUrl: string;
  redisUrl: string;
  redisPrefix: string;
  shutdownGraceMs?: number;
  /** Extra YAML appended under `audit:` (flow mapping fields), e.g. `buffer: { flushIntervalMs: 1000 }`. */
  auditExtra?: string;
}

/** Writes the replica's config file (the same shape `docker/argus.yaml` uses) and starts `apps/apdp/src/main.ts`. */
export function startApdpReplica(o: ApdpReplicaOptions): Promise<AppProcess> {
  const file = join(o.dir, `${o.name}.yaml`);
  writeFileSync(
    file,
    [
      `server: { host: 127.0.0.1, port: 0, shutdownGraceMs: ${o.shutdownGraceMs ?? 10_000} }`,
      `policy: { dir: ${join(REPO_ROOT, 'cedar')}, watch: false }`,
      `governance: { intentsFile: ${join(REPO_ROOT, 'cedar/intents.json')} }`,
      `auth: { adminToken: ${ADMIN_TOKEN}, decisions: required, serviceTokens: { proxy: ${PROXY_SERVICE_TOKEN}, app: ${APP_SERVICE_TOKEN} } }`,
      `store: { url: "${o.storeUrl}", redisUrl: "${o.redisUrl}", redisPrefix: "${o.redisPrefix}", redisCommandTimeoutMs: 250, redisReconnectMaxDelayMs: 100 }`,
      `audit: { writerId: ${o.name}, sinks: [{ type: sqlite, path: ${join(o.dir, `${o.name}-audit.db`)} }], spill: { dir: ${join(o.dir, `${o.name}-spill`)} }${o.auditExtra ? `, ${o.auditExtra}` : ''} }`,
      'logging: { level: info }',
    ].join('\n'),
  );
  return startApp({ name: o.name, script: 'apps/apdp/src/main.ts', args: [file], listening: urlWhen('decision point listening') });
}

/** Starts the standalone registry on the shared store and Redis (keys under `redisPrefix`). */
export function startRegistryProcess(o: { storeUrl: string; redisUrl: string; redisPrefix: string }): Promise<AppProcess> {
  return startApp({
    name: 'registry',
    script: 'tests/replicas/src/support/registry-main.ts',
    env: {
      PORT: '0',
      HOST: '127.0.0.1',
      ARGUS_STORE_URL: o.storeUrl,
      ARGUS_REDIS_URL: o.redisUrl,
      ARGUS_REDIS_PREFIX: o.redisPrefix,
      ARGUS_ADMIN_TOKEN: ADMIN_TOKEN,
      ARGUS_AGENT_TOKENS: `bot=${BOT_TOKEN}`,
    },
    listening: urlWhen('registry listening'),
  });
}

/** Starts the standalone proxy deciding through `apdpUrl`, with one OpenAI-style upstream at `/openai`. */
export function startProxyProcess(o: { dir: string; apdpUrl: string; upstreamUrl: string; botTokenSha256: string }): Promise<AppProcess> {
  const file = join(o.dir, 'proxy.yaml');
  writeFileSync(
    file,
    [
      'listen: { host: 127.0.0.1, port: 0 }',
      'decision: { timeoutMs: 1000, tokenEnv: ARGUS_PROXY_SERVICE_TOKEN }',
      `auth: { agentTokens: [{ agent: bot, sha256: "${o.botTokenSha256}" }], agentTokenSecretPrefix: "" }`,
      'secrets: { store: memory }',
      `audit: { writerId: proxy, sinks: [{ type: sqlite, path: ${join(o.dir, 'proxy-audit.db')} }], spill: { dir: ${join(o.dir, 'proxy-spill')} } }`,
      `upstreams: [{ name: openai, kind: openai, prefix: /openai, target: "${o.upstreamUrl}" }]`,
    ].join('\n'),
  );
  return startApp({
    name: 'proxy',
    script: 'apps/proxy/src/main.ts',
    args: [file],
    env: { ARGUS_APDP_URL: o.apdpUrl, ARGUS_SECRETS_KEY: '00'.repeat(32), ARGUS_PROXY_SERVICE_TOKEN: PROXY_SERVICE_TOKEN },
    listening: (line) => (line.msg === 'proxy listening' && typeof line.port === 'number' ? `http://127.0.0.1:${line.port}` : undefined),
  });
}

/** The decision an apdp replica answers for one input. */
export interface Verdict {
  allow: boolean;
  codes: string[];
  policyVersion: string;
}

/** `POST /v1/authorize` on `url`. */
export async function decide(url: string, input: Record<string, unknown>): Promise<Verdict> {
  const res = await fetch(`${url}/v1/authorize`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${APP_SERVICE_TOKEN}` },
    body: JSON.stringify({ input }),
  });
  if (res.status !== 200) throw new Error(`authorize on ${url} answered ${res.status}: ${await res.text()}`);
  const body = (await res.json()) as { policy_version: string; result: { allow: boolean; codes?: string[] } };
  return { allow: body.result.allow, codes: body.result.codes ?? [], policyVersion: body.policy_version };
}

/** `llm:invoke` of `model` by agent `agent`, optionally under a delegation chain from `root`. */
export function invoke(agent: string, model: string, root?: string): Record<string, unknown> {
  return {
    principal: { type: 'Agent', id: agent },
    action: 'llm:invoke',
    resource: { type: 'Model', id: model, attributes: { provider: 'openai' } },
    ...(root
      ? {
          delegation: [
            { type: 'Human', id: root },
            { type: 'Agent', id: agent },
          ],
        }
      : {}),
  };
}

/** A JSON call with the admin token; throws unless the status is `expect`. */
export async function admin(method: string, url: string, body?: unknown, expect = 200): Promise<Record<string, unknown>> {
  const res = await fetch(url, {
    method,
    headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await res.text();
  if (res.status !== expect) throw new Error(`${method} ${url} answered ${res.status} (expected ${expect}): ${text}`);
  return text ? (JSON.parse(text) as Record<string, unknown>) : {};
}
