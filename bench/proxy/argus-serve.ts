/**
 * Argus's proxy as deployed: `argus serve` (all-in-one, in process) with a proxy section. The
 * decision is the product's decision service (registry, governance, Cedar over the default
 * `cedar/` policies, decision memo on its default); the credential comes from the encrypted
 * SQLite secret store; the audit trail writes to SQLite unless `BENCH_AUDIT=false`.
 * `BENCH_OBLIGATIONS=true` adds to the starter policies a permit on `Model::"gpt-records"` with
 * obligations (redact three fields and a JSON pointer, cut arrays to 3, no values in the audit), so
 * every answer for that model is parsed, rewritten and re-serialized.
 * Usage: `argus-serve.ts <upstream-url>`. Prints `READY <proxy port>`.
 */
import { randomBytes } from 'node:crypto';
import { cpSync, mkdtempSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setFlagsFromString } from 'node:v8';
import { serve } from '@argus/cli';
import { hashAgentToken } from '@argus/proxy';
import { openSecretsBroker, parseSecretsConfig } from '@argus/secrets';

// As in argus-proxy.ts: Node 20's V8 must not inline JS→Wasm calls under load.
setFlagsFromString('--no-turbo-inline-js-wasm-calls');
const target = process.argv[2]!;
const dir = mkdtempSync(join(tmpdir(), 'argus-bench-proxy-'));
process.env.ARGUS_SECRETS_KEY = randomBytes(32).toString('hex');
process.env.ARGUS_LOG_LEVEL ??= 'warn';
process.env.ARGUS_AUDIT_ENABLED = process.env.BENCH_AUDIT === 'false' ? 'false' : 'true';

const secrets = parseSecretsConfig({ path: join(dir, 'argus.db') });
const { store } = openSecretsBroker(secrets, process.env);
await store.put('openai-key', 'sk-bench-upstream-key-0123456789');
await store.close();

const port = await new Promise<number>((resolve) => {
  const probe = createServer().listen(0, '127.0.0.1', () => {
    const p = (probe.address() as { port: number }).port;
    probe.close(() => resolve(p));
  });
});
let policy: { dir: string } | undefined;
if (process.env.BENCH_OBLIGATIONS === 'true') {
  const policyDir = join(dir, 'cedar');
  cpSync(join(import.meta.dirname, '../../cedar'), policyDir, { recursive: true });
  writeFileSync(
    join(policyDir, 'policies', 'records.cedar'),
    [
      '@id("records-redacted")',
      '@obligation_redact("ssn,dob,email,/choices/0/message/tool_calls/0/function/name")',
      '@obligation_max_items("3")',
      '@obligation_log_values("false")',
      'permit (principal is Argus::Agent, action == Argus::Action::"llm:invoke", resource == Argus::Model::"gpt-records") when { principal.trust == "trusted" };',
    ].join('\n'),
  );
  policy = { dir: policyDir };
}
const config = join(dir, 'argus.json');
writeFileSync(
  config,
  JSON.stringify({
    ...(policy ? { policy } : {}),
    audit: { sinks: [{ type: 'sqlite', path: join(dir, 'audit.db') }], spill: { dir: join(dir, 'audit-spill') } },
    proxy: {
      listen: { host: '127.0.0.1', port },
      secrets,
      auth: { agentTokens: [{ agent: 'bench-agent', sha256: hashAgentToken('argus_bench_token') }] },
      upstreams: [{ name: 'openai', kind: 'openai', prefix: '/openai', target, credential: { name: 'openai-key' } }],
    },
  }),
);
const seed = join(dir, 'seed.json');
writeFileSync(
  seed,
  JSON.stringify({
    humans: [{ id: 'alice', email: 'alice@example.com' }],
    agents: [{ id: 'bench-agent', name: 'bench agent', owner: 'alice', trust: 'trusted' }],
  }),
);

const running = await serve({ dataDir: dir, config, seed, port: '0', host: '127.0.0.1', banner: false });
process.stdout.write(`READY ${new URL(running.proxyUrl!).port}\n`);
process.on('SIGTERM', () => void running.close().then(() => process.exit(0)));
