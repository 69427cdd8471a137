/**
 * Decision latency while large policy sets are validated (issue 15, item 6): `argus` apdp main on a
 * loopback port with the repository's policies; a client asks `POST /v1/authorize` back to back
 * (CONCURRENCY in flight) for WINDOW seconds alone, then for WINDOW seconds while another client
 * sends `POST /v1/policies/validate` with POLICIES policies again and again. Prints p50/p99/max of
 * the decisions in both windows and how long each validation took. The Cedar work of a validation
 * runs in a worker thread, so the two windows should agree. A third window compiles the same set
 * on the server's event loop, as the route did before, for comparison.
 *
 * Usage: npx tsx bench/validate/run.ts [--policies 1000] [--seconds 10] [--concurrency 4]
 */
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { compilePolicySet } from '@argus/engine';
import { loadApdpConfig, startApdp } from '../../libs/apdp/src/service.ts';

const arg = (name: string, fallback: number) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : fallback;
};
const POLICIES = arg('policies', 1000);
const WINDOW_MS = arg('seconds', 10) * 1000;
const CONCURRENCY = arg('concurrency', 4);
const ROOT = resolve(import.meta.dirname, '../..');
const ADMIN = 'bench-admin-token-0123456789';
const SERVICE = 'bench-service-token-0123456789';

const work = mkdtempSync(join(tmpdir(), 'argus-bench-validate-'));
cpSync(join(ROOT, 'cedar'), join(work, 'cedar'), { recursive: true });
const file = join(work, 'argus.json');
writeFileSync(
  file,
  JSON.stringify({
    server: { host: '127.0.0.1', port: 0, maxBodyBytes: 8 * 1024 * 1024 },
    policy: { dir: join(work, 'cedar'), watch: false },
    governance: { intentsFile: join(work, 'cedar/intents.json') },
    auth: { adminToken: ADMIN, serviceTokens: { bench: SERVICE }, decisions: 'required' },
    store: { url: `sqlite:${join(work, 'argus.db')}` },
    audit: { enabled: false },
    logging: { level: 'silent' },
  }),
);
const running = await startApdp(loadApdpConfig(file, {}));
await running.runtime.storage.registry.createHuman({ id: 'alice', email: 'alice@example.com', roles: [] });
await running.runtime.storage.registry.createAgent({ id: 'support-bot', name: 'bot', owner: 'alice', trust: 'trusted' }, 'bench');
await running.runtime.leases.renew('agent', 'support-bot', 3_600_000);

const decision = JSON.stringify({
  input: {
    principal: { type: 'Agent', id: 'support-bot' },
    action: 'tool:call',
    resource: { type: 'Tool', id: 'crm.search', attributes: { sensitivity: 'internal', allowedIntents: ['lookup-order-status'] } },
    intent: 'lookup-order-status',
  },
});
const policies = Array.from({ length: POLICIES }, (_, i) => ({
  file: `policies/bulk-${Math.floor(i / 100)}.cedar`,
  text: `@id("bulk-${i}")\npermit (principal == Argus::Agent::"bot-${i}", action == Argus::Action::"tool:call", resource is Argus::Tool) when { resource.sensitivity == "internal" && context.intent == "intent-${i}" };`,
}));
const validateBody = JSON.stringify({ policies });

async function decisions(ms: number): Promise<number[]> {
  const until = performance.now() + ms;
  const out: number[] = [];
  const client = async () => {
    while (performance.now() < until) {
      const t = performance.now();
      const res = await fetch(`${running.url}/v1/authorize`, {
        method: 'POST',
        headers: { authorization: `Bearer ${SERVICE}`, 'content-type': 'application/json' },
        body: decision,
      });
      await res.arrayBuffer();
      if (res.status !== 200) throw new Error(`decision answered ${res.status}`);
      out.push(performance.now() - t);
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, client));
  return out;
}

function summary(name: string, xs: number[]): string {
  const s = [...xs].sort((a, b) => a - b);
  const at = (q: number) => s[Math.min(s.length - 1, Math.floor(q * s.length))]!.toFixed(2);
  return `${name.padEnd(22)} n=${String(s.length).padStart(6)}  p50=${at(0.5)} ms  p99=${at(0.99)} ms  max=${s[s.length - 1]!.toFixed(2)} ms`;
}

// Warm up: the decision path, and the compile worker (its first start loads Cedar).
await decisions(1000);
await fetch(`${running.url}/v1/policies/validate`, {
  method: 'POST',
  headers: { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json' },
  body: JSON.stringify({ policies: policies.slice(0, 2) }),
});

const alone = await decisions(WINDOW_MS);
const validations: number[] = [];
let stop = false;
const validator = (async () => {
  while (!stop) {
    const t = performance.now();
    const res = await fetch(`${running.url}/v1/policies/validate`, {
      method: 'POST',
      headers: { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json' },
      body: validateBody,
    });
    const body = (await res.json()) as { valid?: boolean; code?: string };
    if (res.status !== 200 || body.valid !== true) throw new Error(`validate answered ${res.status} ${JSON.stringify(body).slice(0, 200)}`);
    validations.push(performance.now() - t);
  }
})();
const during = await decisions(WINDOW_MS);
stop = true;
await validator;

// For comparison, what the route did before: the same compilation on the server's event loop.
const inline: number[] = [];
let inlineStop = false;
const inlineLoop = (async () => {
  while (!inlineStop) {
    await new Promise((r) => setTimeout(r, 10));
    const t = performance.now();
    const r = compilePolicySet({
      schema: readFileSync(join(work, 'cedar/schema.cedarschema'), 'utf8'),
      schemaFile: 'schema.cedarschema',
      policies,
      links: [],
    });
    if (!r.ok) throw new Error('the bench set does not compile');
    inline.push(performance.now() - t);
  }
})();
const blocked = await decisions(WINDOW_MS);
inlineStop = true;
await inlineLoop;

console.log(`decisions, ${CONCURRENCY} in flight, ${WINDOW_MS / 1000} s windows; validate of ${POLICIES} policies`);
console.log(summary('decisions alone', alone));
console.log(summary('during validation', during));
console.log(summary('validate (worker)', validations));
console.log(summary('compile on the loop', blocked));
console.log(summary('inline compile', inline));
await running.shutdown.run();
rmSync(work, { recursive: true, force: true });
