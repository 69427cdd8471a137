/**
 * What the proxy's per-call body checks cost beside their floor, in process:
 * - `duplicateKeyPath` (a key named twice in a model body or MCP message) against `JSON.parse` of
 *   the same text, which every such body already pays;
 * - `Scrubber.contains` (every form of three secrets: raw in any letter case, base64, escapes, hex,
 *   UTF-16) against `String.includes` of the three raw keys, on an audit record's JSON text.
 * Run: `taskset -c 0 node --import tsx bench/proxy/body-checks.ts` (medians of 5 rounds).
 */
import { duplicateKeyPath } from '@argus/platform';
import { Scrubber } from '@argus/secrets';

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

/** µs per call of `fn`, median of 5 rounds of `n` calls after a warm-up. */
function measure(fn: () => unknown, n: number): number {
  for (let i = 0; i < n; i++) fn();
  const rounds: number[] = [];
  for (let r = 0; r < 5; r++) {
    const t = process.hrtime.bigint();
    for (let i = 0; i < n; i++) fn();
    rounds.push(Number(process.hrtime.bigint() - t) / n / 1000);
  }
  return median(rounds);
}

const message = (i: number) => ({
  role: i % 2 ? 'user' : 'assistant',
  content: `${'Lorem ipsum dolor sit amet, consectetur adipiscing elit. '.repeat(8)}${i}`,
});
console.log('| check | text | Argus (µs) | floor (µs) | ratio |');
console.log('|---|---|---|---|---|');
for (const count of [2, 200]) {
  const text = JSON.stringify({
    model: 'gpt-4o',
    messages: Array.from({ length: count }, (_, i) => message(i)),
    temperature: 0.2,
    stream: true,
  });
  const n = count > 10 ? 2_000 : 50_000;
  const scan = measure(() => duplicateKeyPath(text), n);
  const parse = measure(() => JSON.parse(text), n);
  console.log(
    `| duplicateKeyPath vs JSON.parse | ${text.length} B model body | ${scan.toFixed(2)} | ${parse.toFixed(2)} | ${(scan / parse).toFixed(2)}× |`,
  );
}
const secrets = ['sk-bench-upstream-key-0123456789', 'sk-ant-api03-abcdefghijklmnopqrstuvwxyz012345', 'internal-CANARY-556677'];
const scrubber = new Scrubber(secrets);
const record = JSON.stringify({
  decisionId: 'dec_0123456789',
  input: {
    principal: { type: 'Agent', id: 'support-bot' },
    action: 'llm:invoke',
    resource: { type: 'Model', id: 'gpt-4o' },
    context: { upstream: 'openai', path: '/v1/chat/completions', text: 'Lorem ipsum dolor sit amet %20 \\u0041 consectetur '.repeat(20) },
  },
  result: { allow: true, reasons: [{ policy: 'p1' }] },
});
const contains = measure(() => scrubber.contains(record), 100_000);
const includes = measure(() => secrets.some((s) => record.includes(s)), 100_000);
console.log(
  `| Scrubber.contains vs includes of the raw keys | ${record.length} B record | ${contains.toFixed(2)} | ${includes.toFixed(2)} | ${(contains / includes).toFixed(1)}× |`,
);
