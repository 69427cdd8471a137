/**
 * The second process of the quarantine test: a decision API over the SQLite file the parent
 * writes and the Redis event bus the parent publishes on, with a registry cache far longer than
 * the test (so only the `registry.changed` invalidation can make it see a trust move).
 * argv: sqlitePath redisUrl prefix policiesJson. Prints `READY <port>`, `PONG` for each
 * `test.ping`, and `EVENT <epochMs>` when `registry.changed` arrives.
 */
import type { AddressInfo } from 'node:net';
import { RedisEventBus, TOPICS } from '@argus/store';
import { buildWorld } from './world.ts';

const [sqlitePath, redisUrl, prefix, policiesJson] = process.argv.slice(2);
if (!sqlitePath || !redisUrl || !prefix || !policiesJson) {
  process.stderr.write('usage: quarantine-child <sqlitePath> <redisUrl> <prefix> <policiesJson>\n');
  process.exit(2);
}
const events = new RedisEventBus({ url: redisUrl, prefix });
const world = await buildWorld({ policies: JSON.parse(policiesJson) as string, sqlitePath, events, viewTtlMs: 600_000 });
await world.leases.renew('agent', 'support-bot', 3_600_000);
events.subscribe(TOPICS.registryChanged, () => void process.stdout.write(`EVENT ${Date.now()}\n`));
events.subscribe('test.ping', () => void process.stdout.write('PONG\n'));
await events.ready();
const server = world.app.listen(0, '127.0.0.1', () => {
  process.stdout.write(`READY ${(server.address() as AddressInfo).port}\n`);
});
const stop = async () => {
  server.close();
  await world.close();
  await events.close();
  process.exit(0);
};
process.on('SIGTERM', () => void stop());
process.stdin.on('end', () => void stop());
process.stdin.resume();
