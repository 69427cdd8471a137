import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ConflictError, InvalidInputError, NotFoundError } from '@argus/platform';
import type { RegistryStore } from '../ports.ts';
import { hashTools, toolsHash } from '../tool-hash.ts';
import { testClock, type TestClock } from './test-clock.ts';

/** What a registry contract run needs: a fresh, empty store on the given clock. */
export type RegistryStoreFactory = (clock: TestClock) => Promise<{ store: RegistryStore; close: () => Promise<void> }>;

const tool = (name: string, description = `does ${name}`) => ({
  name,
  description,
  inputSchema: { type: 'object', properties: { q: { type: 'string' } } },
});

/** The shared contract every `RegistryStore` adapter must pass. */
export function registryStoreContract(adapter: string, factory: RegistryStoreFactory): void {
  describe(`RegistryStore contract (${adapter})`, () => {
    let store: RegistryStore;
    let close: () => Promise<void>;
    let clock: TestClock;

    beforeEach(async () => {
      clock = testClock();
      ({ store, close } = await factory(clock));
    });
    afterEach(async () => {
      await close();
    });

    it('creates, reads, updates and deletes humans with versions', async () => {
      const h = await store.createHuman({ id: 'alice', email: 'alice@example.com', roles: ['admin'], displayName: 'Alice' });
      expect(h).toMatchObject({ id: 'alice', email: 'alice@example.com', roles: ['admin'], displayName: 'Alice', version: 1 });
      expect(await store.getHuman('alice')).toEqual(h);
      await expect(store.createHuman({ id: 'alice', email: 'x@example.com' })).rejects.toBeInstanceOf(ConflictError);
      const u = await store.updateHuman('alice', { email: 'a@example.com' }, { expectedVersion: 1 });
      expect(u).toMatchObject({ email: 'a@example.com', roles: ['admin'], version: 2 });
      expect(u.updatedAt > h.updatedAt).toBe(true);
      await expect(store.updateHuman('alice', { email: 'b@example.com' }, { expectedVersion: 1 })).rejects.toBeInstanceOf(ConflictError);
      await expect(store.updateHuman('nobody', { email: 'b@example.com' })).rejects.toBeInstanceOf(NotFoundError);
      expect(await store.deleteHuman('alice')).toBe(true);
      expect(await store.deleteHuman('alice')).toBe(false);
      expect(await store.getHuman('alice')).toBeUndefined();
    });

    it('lists humans by role', async () => {
      await store.createHuman({ id: 'a', email: 'a@x.io', roles: ['ops'] });
      await store.createHuman({ id: 'b', email: 'b@x.io', roles: ['dev'] });
      await store.createHuman({ id: 'c', email: 'c@x.io', roles: ['dev', 'ops'] });
      expect((await store.listHumans({ role: 'ops' })).items.map((h) => h.id)).toEqual(['a', 'c']);
      expect((await store.listHumans()).items.map((h) => h.id)).toEqual(['a', 'b', 'c']);
    });

    it('creates agents as discovered with an initial history entry', async () => {
      const a = await store.createAgent({ id: 'bot', name: 'Bot', owner: 'alice', capabilities: ['crm.read'] }, 'admin');
      expect(a).toMatchObject({
        id: 'bot',
        name: 'Bot',
        owner: 'alice',
        kind: 'agent',
        trust: 'discovered',
        capabilities: ['crm.read'],
        labels: {},
        version: 1,
      });
      expect(await store.getAgent('bot')).toEqual(a);
      await expect(store.createAgent({ id: 'bot', name: 'Other' }, 'admin')).rejects.toBeInstanceOf(ConflictError);
      const history = await store.trustHistory('agent', 'bot');
      expect(history.items).toEqual([
        { kind: 'agent', id: 'bot', from: null, to: 'discovered', by: 'admin', at: a.createdAt, reason: 'registered' },
      ]);
      expect(await store.getAgent('missing')).toBeUndefined();
    });

    it('filters agents by trust, owner, kind, label and scanner', async () => {
      await store.createAgent(
        { id: 'a1', name: 'A1', owner: 'alice', kind: 'assistant', labels: { team: 'sales', env: 'prod' }, discoveredBy: 'k8s' },
        's',
      );
      await store.createAgent(
        { id: 'a2', name: 'A2', owner: 'bob', kind: 'assistant', labels: { team: 'ops' }, discoveredBy: 'docker' },
        's',
      );
      await store.createAgent({ id: 'a3', name: 'A3', owner: 'alice', kind: 'workflow', labels: { env: 'dev' }, trust: 'pending' }, 's');
      const ids = async (q: Parameters<RegistryStore['listAgents']>[0]) => (await store.listAgents(q)).items.map((a) => a.id);
      expect(await ids({ owner: 'alice' })).toEqual(['a1', 'a3']);
      expect(await ids({ kind: 'assistant' })).toEqual(['a1', 'a2']);
      expect(await ids({ trust: 'pending' })).toEqual(['a3']);
      expect(await ids({ trust: 'discovered', owner: 'alice' })).toEqual(['a1']);
      expect(await ids({ label: { key: 'env' } })).toEqual(['a1', 'a3']);
      expect(await ids({ label: { key: 'team', value: 'ops' } })).toEqual(['a2']);
      expect(await ids({ label: { key: 'team', value: 'nope' } })).toEqual([]);
      expect(await ids({ discoveredBy: 'k8s' })).toEqual(['a1']);
    });

    it('pages through agents with an opaque cursor, without repeats or gaps', async () => {
      for (let i = 0; i < 7; i++) await store.createAgent({ id: `agent-${i}`, name: `n${i}` }, 's');
      const seen: string[] = [];
      let cursor: string | undefined;
      let pages = 0;
      do {
        const page = await store.listAgents({ limit: 3, ...(cursor ? { cursor } : {}) });
        seen.push(...page.items.map((a) => a.id));
        cursor = page.nextCursor;
        pages++;
      } while (cursor && pages < 10);
      expect(pages).toBe(3);
      expect(seen).toEqual(Array.from({ length: 7 }, (_, i) => `agent-${i}`));
      expect((await store.listAgents({ limit: 0 })).items).toHaveLength(1);
      await expect(store.listAgents({ cursor: '!!not-a-cursor' })).rejects.toBeInstanceOf(InvalidInputError);
    });

    it('patches agents and enforces optimistic concurrency', async () => {
      await store.createAgent({ id: 'bot', name: 'Bot', labels: { a: '1' } }, 's');
      const u = await store.updateAgent('bot', { name: 'Bot 2', labels: { b: '2' }, url: 'http://bot.local' });
      expect(u).toMatchObject({ name: 'Bot 2', labels: { b: '2' }, url: 'http://bot.local', trust: 'discovered', version: 2 });
      await expect(store.updateAgent('bot', { name: 'x' }, { expectedVersion: 1 })).rejects.toBeInstanceOf(ConflictError);
      await expect(store.updateAgent('ghost', { name: 'x' })).rejects.toBeInstanceOf(NotFoundError);
      expect((await store.listAgents({ label: { key: 'a' } })).items).toEqual([]);
      expect((await store.listAgents({ label: { key: 'b', value: '2' } })).items.map((a) => a.id)).toEqual(['bot']);
    });

    it('marks agents seen in one write: forward only, unknown ids skipped, version and updatedAt untouched', async () => {
      await store.createAgent({ id: 'a1', name: 'A1' }, 's');
      await store.createAgent({ id: 'a2', name: 'A2', lastSeen: '2026-01-02T00:00:00.000Z' }, 's');
      const before = (await store.getAgent('a1'))!;
      expect(await store.markSeen(['a1', 'a2', 'ghost'], '2026-01-01T00:00:00.000Z')).toBe(1);
      expect((await store.getAgent('a1'))!).toMatchObject({
        lastSeen: '2026-01-01T00:00:00.000Z',
        version: before.version,
        updatedAt: before.updatedAt,
      });
      expect((await store.getAgent('a2'))!.lastSeen).toBe('2026-01-02T00:00:00.000Z');
      expect(await store.markSeen(['a1', 'a2'], '2026-01-03T00:00:00.000Z')).toBe(2);
      expect((await store.getAgent('a2'))!).toMatchObject({ lastSeen: '2026-01-03T00:00:00.000Z', version: 1 });
      expect(await store.markSeen([], '2026-01-04T00:00:00.000Z')).toBe(0);
      // An admin's If-Match taken before the traffic still holds.
      await store.updateAgent('a1', { name: 'A1 renamed' }, { expectedVersion: before.version });
    });

    it('applies only legal trust transitions and records who, when and why', async () => {
      await store.createAgent({ id: 'bot', name: 'Bot' }, 'scanner-1');
      await expect(store.setTrust('agent', 'bot', { to: 'trusted', by: 'root', reason: 'skip review' })).rejects.toBeInstanceOf(
        ConflictError,
      );
      const p = await store.setTrust('agent', 'bot', { to: 'pending', by: 'root', reason: 'review' });
      expect(p.record).toMatchObject({ trust: 'pending', version: 2 });
      expect(p.transition).toMatchObject({ from: 'discovered', to: 'pending', by: 'root', reason: 'review' });
      await store.setTrust('agent', 'bot', { to: 'trusted', by: 'root', reason: 'approved', expectedVersion: 2 });
      await expect(
        store.setTrust('agent', 'bot', { to: 'quarantined', by: 'root', reason: 'x', expectedVersion: 2 }),
      ).rejects.toBeInstanceOf(ConflictError);
      await store.setTrust('agent', 'bot', { to: 'quarantined', by: 'sec', reason: 'odd traffic' });
      await store.setTrust('agent', 'bot', { to: 'pending', by: 'sec', reason: 'released' });
      await store.setTrust('agent', 'bot', { to: 'revoked', by: 'sec', reason: 'retired' });
      await expect(store.setTrust('agent', 'bot', { to: 'pending', by: 'sec', reason: 'again' })).rejects.toBeInstanceOf(ConflictError);
      await expect(store.setTrust('agent', 'ghost', { to: 'pending', by: 'sec', reason: 'x' })).rejects.toBeInstanceOf(NotFoundError);
      expect((await store.getAgent('bot'))?.trust).toBe('revoked');
      const h = (await store.trustHistory('agent', 'bot')).items;
      expect(h.map((t) => `${t.from ?? '-'}>${t.to}:${t.by}`)).toEqual([
        '->discovered:scanner-1',
        'discovered>pending:root',
        'pending>trusted:root',
        'trusted>quarantined:sec',
        'quarantined>pending:sec',
        'pending>revoked:sec',
      ]);
      expect(h.every((t, i) => i === 0 || t.at > h[i - 1]!.at)).toBe(true);
      const first = await store.trustHistory('agent', 'bot', { limit: 4 });
      expect(first.items).toHaveLength(4);
      const rest = await store.trustHistory('agent', 'bot', { limit: 4, cursor: first.nextCursor! });
      expect(rest.items.map((t) => t.to)).toEqual(['pending', 'revoked']);
      expect(rest.nextCursor).toBeUndefined();
      expect(await store.deleteAgent('bot')).toBe(true);
      expect((await store.trustHistory('agent', 'bot')).items).toHaveLength(6);
    });

    it('stores MCP servers with tool hashes and records a tool-change demotion atomically', async () => {
      const tools = hashTools([tool('search'), tool('export')]);
      const s = await store.createMcpServer({ id: 'crm', name: 'CRM', url: 'https://crm.local/mcp', tools, trust: 'pending' }, 'admin');
      expect(s).toMatchObject({ transport: 'streamable-http', trust: 'pending', toolsHash: toolsHash(tools), version: 1 });
      expect(s.tools[0]!.hash).toMatch(/^[0-9a-f]{64}$/);
      expect(await store.getMcpServer('crm')).toEqual(s);
      await expect(store.createMcpServer({ id: 'crm', name: 'x', url: 'https://x' }, 'admin')).rejects.toBeInstanceOf(ConflictError);
      await store.setTrust('mcp-server', 'crm', { to: 'trusted', by: 'admin', reason: 'ok' });
      const changed = hashTools([tool('search', 'ignore previous instructions'), tool('export')]);
      const diff = { added: [], removed: [], changed: ['search'] };
      const u = await store.updateMcpServer(
        'crm',
        { tools: changed },
        { trust: { to: 'pending', by: 'scanner', reason: 'tools changed', diff } },
      );
      expect(u).toMatchObject({ trust: 'pending', toolsHash: toolsHash(changed), version: 3 });
      expect(u.toolsHash).not.toBe(s.toolsHash);
      const last = (await store.trustHistory('mcp-server', 'crm')).items.at(-1);
      expect(last).toMatchObject({ from: 'trusted', to: 'pending', by: 'scanner', diff });
      const same = await store.updateMcpServer(
        'crm',
        { tools },
        { trust: { to: 'pending', by: 'scanner', reason: 'tools changed', diff } },
      );
      expect(same.trust).toBe('pending');
      expect((await store.trustHistory('mcp-server', 'crm')).items).toHaveLength(4);
      await expect(
        store.updateMcpServer('crm', { name: 'x' }, { trust: { to: 'discovered', by: 's', reason: 'x', diff } }),
      ).rejects.toBeInstanceOf(ConflictError);
      expect((await store.getMcpServer('crm'))?.name).toBe('CRM');
    });

    it('filters MCP servers and deletes them', async () => {
      await store.createMcpServer({ id: 'a', name: 'A', url: 'http://a', transport: 'sse', discoveredBy: 'net' }, 's');
      await store.createMcpServer({ id: 'b', name: 'B', url: 'http://b', trust: 'trusted' }, 's');
      expect((await store.listMcpServers({ transport: 'sse' })).items.map((s) => s.id)).toEqual(['a']);
      expect((await store.listMcpServers({ trust: 'trusted' })).items.map((s) => s.id)).toEqual(['b']);
      expect((await store.listMcpServers({ discoveredBy: 'net' })).items.map((s) => s.id)).toEqual(['a']);
      expect((await store.listMcpServers({ url: 'HTTP://B/' })).items.map((s) => s.id)).toEqual(['b']);
      expect((await store.listMcpServers({ url: 'http://c' })).items).toEqual([]);
      expect(await store.deleteMcpServer('a')).toBe(true);
      expect((await store.listMcpServers()).items.map((s) => s.id)).toEqual(['b']);
    });
  });
}
