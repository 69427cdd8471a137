/**
 * Generates the Cedar equivalent of the Cerbos peer scenario (`../shared/bench/cerbos`): N policies
 * over tool kinds. Kind 0 (`tool`) is the one the benchmark request targets; the others cycle
 * through four rule templates, so the set is not N copies of one policy.
 *   permit: a trusted agent calls a tool of the kind for an intent the tool allows
 *   forbid: a secret (or regulated) tool of the kind, unless the agent has clearance high
 * Usage: tsx bench/policies/generate.ts N OUTDIR   (writes OUTDIR/policies/*.cedar + schema + seed)
 */
import { copyFileSync, mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

const NAMES = ['email', 'shell', 'db', 'http', 'files', 'calendar', 'payments', 'code', 'search'];
const kindName = (i: number) => (i === 0 ? 'tool' : i <= NAMES.length ? `tool_${NAMES[i - 1]}` : `tool_gen_${String(i).padStart(5, '0')}`);

/** The policies of one kind (2 or 3 of them). */
function kindPolicies(i: number): string[] {
  const kind = kindName(i);
  const server = `Argus::McpServer::"${kind}"`;
  const deny =
    i % 3 === 2 ? '(resource.sensitivity == "secret" || resource.sensitivity == "regulated")' : 'resource.sensitivity == "secret"';
  const out = [
    `@id("${kind}-invoke-for-intent")\n@reason("a trusted agent calls a ${kind} tool for an intent the tool allows")\npermit (principal is Argus::Agent, action == Argus::Action::"tool:call", resource in ${server})\nwhen { principal.trust == "trusted" && resource has allowedIntents && resource.allowedIntents.contains(context.intent) };`,
    `@id("${kind}-sensitive-needs-clearance")\n@reason("sensitive ${kind} tools need clearance high")\nforbid (principal, action == Argus::Action::"tool:call", resource in ${server})\nwhen { ${deny} }\nunless { principal has clearance && principal.clearance == "high" };`,
  ];
  const t = i % 4;
  if (t === 0)
    out.push(
      `@id("${kind}-connect-trusted")\npermit (principal is Argus::Agent, action == Argus::Action::"mcp:connect", resource == ${server})\nwhen { principal.trust == "trusted" && resource.trust == "trusted" };`,
    );
  if (t === 1)
    out.push(
      `@id("${kind}-read-resources")\npermit (principal is Argus::Agent, action == Argus::Action::"resource:read", resource in ${server})\nwhen { principal.trust == "trusted" && resource.sensitivity != "confidential" };`,
    );
  if (t === 2)
    out.push(
      `@id("${kind}-prompts")\npermit (principal is Argus::Agent, action == Argus::Action::"prompt:get", resource in ${server})\nwhen { principal.trust == "trusted" };`,
    );
  if (t === 3)
    out.push(`@id("${kind}-forbid-untrusted")\nforbid (principal, action, resource in ${server})\nwhen { principal.trust != "trusted" };`);
  return out;
}

/** Exactly `n` policies, kind by kind. */
export function generate(n: number): string[] {
  const out: string[] = [];
  for (let i = 0; out.length < n; i++) out.push(...kindPolicies(i));
  return out.slice(0, n);
}

/** Writes a policy directory usable by `argus serve --policies DIR --seed DIR/seed.json`. */
export function writePolicyDir(n: number, dir: string): void {
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(join(dir, 'policies'), { recursive: true });
  copyFileSync(resolve(import.meta.dirname, '../../cedar/schema.cedarschema'), join(dir, 'schema.cedarschema'));
  copyFileSync(resolve(import.meta.dirname, '../../cedar/intents.json'), join(dir, 'intents.json'));
  const policies = generate(n);
  const perFile = 100;
  for (let f = 0; f * perFile < policies.length; f++) {
    writeFileSync(
      join(dir, 'policies', `p${String(f).padStart(4, '0')}.cedar`),
      policies.slice(f * perFile, (f + 1) * perFile).join('\n\n') + '\n',
    );
  }
  writeFileSync(join(dir, 'seed.json'), JSON.stringify(SEED, null, 2));
}

/** The registry the scenario needs: alice, agent-7 (trusted), the `tool` server with its tools. */
export const SEED = {
  humans: [{ id: 'alice', email: 'alice@example.com', roles: ['support'] }],
  agents: [
    { id: 'agent-7', name: 'agent 7', owner: 'alice', kind: 'assistant', trust: 'trusted' },
    { id: 'agent-cleared', name: 'cleared agent', owner: 'alice', kind: 'assistant', trust: 'trusted', labels: { clearance: 'high' } },
  ],
  mcpServers: [
    {
      id: 'tool',
      name: 'tool kind',
      url: 'http://127.0.0.1:9/mcp',
      trust: 'trusted',
      tools: [
        { name: 'summarizer', description: 'summarize text', inputSchema: { type: 'object' } },
        { name: 'vault', description: 'read secrets', inputSchema: { type: 'object' } },
      ],
    },
  ],
};

/** The request body (Argus format) equivalent to the Cerbos allow body. */
export const ALLOW_BODY = {
  input: {
    principal: { type: 'Agent', id: 'agent-7' },
    action: 'tool:call',
    resource: { type: 'Tool', id: 'tool/summarizer', attributes: { sensitivity: 'internal', allowedIntents: ['research', 'translate'] } },
    intent: 'research',
  },
};

if (process.argv[1] && resolve(process.argv[1]) === resolve(import.meta.filename)) {
  const n = Number(process.argv[2] ?? '10');
  const out = process.argv[3];
  if (!out || !(n >= 1)) {
    process.stderr.write('usage: tsx bench/policies/generate.ts N OUTDIR\n');
    process.exit(2);
  }
  writePolicyDir(n, out);
  writeFileSync(join(out, 'allow-body.json'), JSON.stringify(ALLOW_BODY));
  process.stdout.write(`${readdirSync(join(out, 'policies')).length} files, ${n} policies in ${out}\n`);
}
