import { describe, expect, it } from 'vitest';
import { eventBusContract, leaseStoreContract } from '../testing/index.ts';
import { MemoryEventBus } from './event-bus.ts';
import { MemoryLeaseStore } from './lease-store.ts';

leaseStoreContract('memory', async () => new MemoryLeaseStore());
eventBusContract('memory', async () => {
  const bus = new MemoryEventBus();
  return [bus, bus];
});

describe('memory lease store', () => {
  it('expires on its clock, without waiting', async () => {
    let now = Date.parse('2030-01-01T00:00:00Z');
    const leases = new MemoryLeaseStore(() => new Date(now));
    await leases.renew('agent', 'bot', 1_000);
    expect(await leases.get('agent', 'bot')).toEqual({ state: 'alive', expiresAt: '2030-01-01T00:00:01.000Z' });
    now += 1_000;
    expect(await leases.get('agent', 'bot')).toEqual({ state: 'expired' });
    await leases.close();
  });
});
