/**
 * A quarantining forbid in one process takes effect on the very next decision of another
 * process: the trust move is written to the shared SQLite file and `registry.changed` goes over
 * Redis pub/sub, which drops the agent from the other process's registry cache (whose TTL is far
 * longer than the test). The delay from the quarantining decision to the first hard deny in the
 * other process is measured and printed.
 */
import type { ChildProcessWithoutNullStreams } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { spawnTsx, type LineChild } from '@argus/platform/testing/line-child';
import { afterAll, describe, expect, it } from 'vitest';
import { RedisEventBus } from '@argus/store';
import { deleteKeys, SHARED_REDIS_URL, testPrefix } from '@argus/store/testing';
import { buildWorld, call, seed, type World } from './testing/world.ts';

const CHILD = fileURLToPath(new URL('./testing/quarantine-child.ts', import.meta.url));
const POLICIES = [
  '@id("allow-internal") permit (principal, action == Argus::Action::"tool:call", resource is Argus::Tool) when { resource.sensitivity == "internal" };',
  '@id("q-secret") @effect("quarantine") forbid (principal, action == Argus::Action::"tool:call", resource is Argus::Tool) when { resource.sensitivity == "secret" };',
].join('\n');

const prefix = testPrefix();
const dir = mkdtempSync(join(tmpdir(), 'argus-quarantine-'));
let child: ChildProcessWithoutNullStreams | undefined;
let world: World | undefined;
let bus: RedisEventBus | undefined;

afterAll(async () => {
  child?.kill('SIGTERM');
  await world?.close();
  await bus?.close();
  await deleteKeys(SHARED_REDIS_URL, prefix);
  rmSync(dir, { recursive: true, force: true });
});

function startChild(sqlitePath: string): LineChild {
  const started = spawnTsx(CHILD, [sqlitePath, SHARED_REDIS_URL, prefix, JSON.stringify(POLICIES)]);
  child = started.child;
  return started;
}

async function authorize(
  port: number,
  input: unknown,
): Promise<{ decision_id: string; result: { allow: boolean; decision: string; codes?: string[] } }> {
  const res = await fetch(`http://127.0.0.1:${port}/v1/authorize`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ input }),
  });
  if (res.status !== 200) throw new Error(`child answered ${res.status}: ${await res.text()}`);
  return (await res.json()) as { decision_id: string; result: { allow: boolean; decision: string; codes?: string[] } };
}

describe('quarantine across processes', () => {
  it('the next decision in a second process is a hard deny', { timeout: 45_000 }, async () => {
    const sqlitePath = join(dir, 'argus.db');
    bus = new RedisEventBus({ url: SHARED_REDIS_URL, prefix });
    await bus.ready();
    world = await buildWorld({ policies: POLICIES, sqlitePath, events: bus });
    await seed(world);

    const other = startChild(sqlitePath);
    const port = Number((await other.waitFor((l) => l.startsWith('READY'))).split(' ')[1]);
    // The child's subscriptions are live once a ping published here comes back.
    for (let i = 0; !other.lines.includes('PONG'); i++) {
      expect(i).toBeLessThan(200);
      await bus.publish('test.ping', {});
      await new Promise((r) => setTimeout(r, 25));
    }

    // Warm the child's registry cache with the agent as trusted.
    expect((await authorize(port, call('crm.search'))).result.allow).toBe(true);

    // Control: a trust move written without the event stays invisible to the child (its cache holds).
    await world.storage.registry.setTrust('agent', 'support-bot', { to: 'quarantined', by: 'test', reason: 'control' });
    expect((await authorize(port, call('crm.search'))).result.allow).toBe(true);
    await world.storage.registry.setTrust('agent', 'support-bot', { to: 'pending', by: 'test', reason: 'control' });
    await world.storage.registry.setTrust('agent', 'support-bot', { to: 'trusted', by: 'test', reason: 'control' });

    expect((await world.decide(call('crm.search'))).result.allow).toBe(true);
    const startedAt = Date.now();
    const quarantining = await world.decide(call('vault.read', 'secret'));
    const decidedAt = Date.now();
    expect(quarantining.result).toMatchObject({
      decision: 'deny',
      effects: [{ policy: 'q-secret', effect: 'quarantine', status: 'applied' }],
    });

    let attempts = 0;
    let next: Awaited<ReturnType<typeof authorize>>;
    do {
      next = await authorize(port, call('crm.search'));
      attempts++;
    } while (next.result.allow && attempts < 500);
    const denyMs = Date.now() - decidedAt;
    const eventLine = await other.waitFor((l) => l.startsWith('EVENT'));
    const eventMs = Number(eventLine.split(' ')[1]) - startedAt;
    console.log(
      `quarantine across processes: quarantining decision took ${decidedAt - startedAt} ms; the other process got registry.changed ${eventMs} ms after it started; ` +
        `its first decision after the quarantining one returned was ${attempts === 1 ? 'already' : `only at attempt ${attempts}`} a hard deny, ${denyMs} ms later`,
    );

    expect(next.result).toMatchObject({ allow: false, decision: 'deny', codes: ['agent_quarantined'] });
    expect(denyMs).toBeLessThan(2_000);
    const history = await world.storage.registry.trustHistory('agent', 'support-bot');
    expect(history.items.at(-1)).toMatchObject({
      to: 'quarantined',
      by: 'policy:q-secret',
      reason: `decision ${quarantining.decision_id}`,
    });
  });
});
