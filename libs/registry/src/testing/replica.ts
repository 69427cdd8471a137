/**
 * A stand-in for an apdp replica in another process: a RegistryView over the shared SQLite file,
 * invalidated through Redis pub/sub. Prints `ready`, then for every registry.changed event the
 * agent's trust as the view now answers it, with the time it was seen.
 * argv: <sqlite path> <redis url> <prefix> <agent id>
 */
import { createRegistryView, openEventBus, openLeaseStore, openStorage, RedisEventBus, TOPICS } from '@argus/store';

const [path, redisUrl, prefix, agentId] = process.argv.slice(2) as [string, string, string, string];
const storage = await openStorage(`sqlite:${path}`);
const events = openEventBus({ redisUrl, prefix });
if (events instanceof RedisEventBus) await events.ready();
const view = createRegistryView({ store: storage.registry, leases: openLeaseStore(), events, ttlMs: 60_000 });
// Warm the cache so a stale answer would be served if invalidation did not arrive.
await view.getAgent(agentId);
events.subscribe(TOPICS.registryChanged, async () => {
  // INVARIANT: the view has already evicted the entry (its handler was registered first).
  const agent = await view.getAgent(agentId);
  process.stdout.write(`${JSON.stringify({ at: Date.now(), trust: agent?.trust })}\n`);
});
process.stdout.write('ready\n');
process.stdin.on('end', () => process.exit(0));
process.stdin.resume();
