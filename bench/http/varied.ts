/**
 * The varied workload of `bench/http/run.sh`: N distinct request bodies (a different registered agent
 * each, 500 tools of the `tool` server, 9 intents that allow `tool:call`), and the registry seed that
 * makes every one of them a real, allowed request (N agents owned by 97 humans, the server with its
 * tools), written beside the 10-policy set of `bench/policies/generate.ts`.
 * Usage: tsx bench/http/varied.ts N POLICY_DIR   (writes POLICY_DIR/varied-seed.json, POLICY_DIR/varied-bodies.jsonl)
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { SEED } from '../policies/generate.ts';

/** Intents of the catalogue (`cedar/intents.json`) that allow `tool:call` on a `Tool`. */
export const TOOL_INTENTS = [
  'lookup-order-status',
  'answer-customer',
  'research',
  'send-notification',
  'code-change',
  'data-analysis',
  'payment',
  'account-admin',
  'incident-response',
];
const TOOLS = 500;
const OWNERS = 97;

const agentId = (i: number) => `agent-v${String(i).padStart(5, '0')}`;
const toolName = (i: number) => `t-${String(i % TOOLS).padStart(3, '0')}`;

/** The registry records: the scenario's own seed plus N agents and the server's 500 tools. */
export function variedSeed(n: number): typeof SEED {
  const humans = [
    ...SEED.humans,
    ...Array.from({ length: OWNERS }, (_, i) => ({ id: `owner-${i}`, email: `owner-${i}@example.com`, roles: ['support'] })),
  ];
  const agents = [
    ...SEED.agents,
    ...Array.from({ length: n }, (_, i) => ({
      id: agentId(i),
      name: `agent ${i}`,
      owner: `owner-${i % OWNERS}`,
      kind: 'assistant',
      trust: 'trusted',
    })),
  ];
  const server = SEED.mcpServers[0]!;
  const tools = [
    ...server.tools,
    ...Array.from({ length: TOOLS }, (_, i) => ({ name: toolName(i), description: `tool ${i}`, inputSchema: { type: 'object' } })),
  ];
  return { humans, agents, mcpServers: [{ ...server, tools }] };
}

/** Body i: agent i, tool i mod 500, intent i mod 9 (allowed by the tool), all distinct. */
export function variedBody(i: number): unknown {
  const intent = TOOL_INTENTS[i % TOOL_INTENTS.length]!;
  const other = TOOL_INTENTS[(i + 4) % TOOL_INTENTS.length]!;
  return {
    input: {
      principal: { type: 'Agent', id: agentId(i) },
      action: 'tool:call',
      resource: {
        type: 'Tool',
        id: `tool/${toolName(i)}`,
        attributes: { sensitivity: i % 2 === 0 ? 'internal' : 'public', allowedIntents: [intent, other] },
      },
      intent,
    },
  };
}

if (process.argv[1] && resolve(process.argv[1]) === resolve(import.meta.filename)) {
  const n = Number(process.argv[2] ?? '10000');
  const dir = process.argv[3];
  if (!dir || !(n >= 1)) {
    process.stderr.write('usage: tsx bench/http/varied.ts N POLICY_DIR\n');
    process.exit(2);
  }
  readFileSync(join(dir, 'seed.json'));
  writeFileSync(join(dir, 'varied-seed.json'), JSON.stringify(variedSeed(n)));
  const lines: string[] = [];
  for (let i = 0; i < n; i++) lines.push(JSON.stringify(variedBody(i)));
  writeFileSync(join(dir, 'varied-bodies.jsonl'), `${lines.join('\n')}\n`);
  process.stdout.write(`${n} bodies, ${n} agents in ${dir}\n`);
}
