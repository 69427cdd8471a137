/**
 * In-memory stand-ins for the registry and the governance facts, filled from a policy test
 * suite's fixtures, so `argus policy test|explain|diff` decide through the production
 * `DecisionService` exactly as the server would.
 */
import type { EntityRef } from '@argus/contracts';
import { createGovernanceStep, type GovernanceStep, type RegistryReader } from '@argus/decision';
import type { IntentCatalogue } from '@argus/governance';
import { isGrantActive, MemoryBudgetCounter, type DelegationGrant, type Goal as StoredGoal, type GoalBudget } from '@argus/store';

/** An agent as a test suite declares it. */
export interface AgentFixture {
  trust: string;
  owner?: string;
  kind?: string;
  capabilities?: string[];
  clearance?: string;
  labels?: Record<string, string>;
  lease?: 'alive' | 'expired' | 'unknown';
}

/** A human as a test suite declares it. */
export interface HumanFixture {
  email?: string;
  roles?: string[];
}

/** An MCP server as a test suite declares it. */
export interface ServerFixture {
  trust: string;
  tools?: Array<{ name: string; hash?: string }>;
}

/** The registry part of a suite: records by id. */
export interface RegistryFixtures {
  agents?: Record<string, AgentFixture>;
  humans?: Record<string, HumanFixture>;
  servers?: Record<string, ServerFixture>;
}

/** A goal as a test suite declares it (the id is its key). */
export interface GoalFixture {
  objective?: string;
  owner: string;
  status?: StoredGoal['status'];
  intents: string[];
  agents: string[];
  expiresAt?: string;
  budget?: GoalBudget;
}

/** A delegation grant as a test suite declares it. */
export interface GrantFixture {
  id: string;
  from: EntityRef;
  to: EntityRef;
  scope: { actions: string[]; resources: string[] };
  expiresAt: string;
  maxDepth?: number;
  status?: 'active' | 'revoked';
  parentId?: string;
}

/** Governance settings of a suite; the defaults match the server's. */
export interface GovernanceSettings {
  maxDepth?: number;
  requireIntent?: boolean;
}

/** A `RegistryReader` over fixture records. Unknown ids read as absent, like an empty registry. */
export function fixtureRegistry(fixtures: RegistryFixtures = {}): RegistryReader {
  const agents = fixtures.agents ?? {};
  const humans = fixtures.humans ?? {};
  const servers = fixtures.servers ?? {};
  const own = <T>(rec: Record<string, T>, id: string): T | undefined => (Object.hasOwn(rec, id) ? rec[id] : undefined);
  return {
    async getAgent(id) {
      const a = own(agents, id);
      if (!a) return undefined;
      const labels = { ...(a.labels ?? {}), ...(a.clearance ? { clearance: a.clearance } : {}) };
      return {
        id,
        trust: a.trust,
        ...(a.owner ? { owner: a.owner } : {}),
        kind: a.kind ?? 'llm-agent',
        capabilities: a.capabilities ?? [],
        labels,
      };
    },
    async getHuman(id) {
      const h = own(humans, id);
      return h ? { id, email: h.email ?? '', roles: h.roles ?? [] } : undefined;
    },
    async getMcpServer(id) {
      const s = own(servers, id);
      return s ? { id, trust: s.trust, tools: (s.tools ?? []).map((t) => ({ name: t.name, hash: t.hash ?? '' })) } : undefined;
    },
    async leaseState(kind, id) {
      if (kind === 'agent') return own(agents, id)?.lease ?? (own(agents, id) ? 'alive' : 'expired');
      return own(servers, id) ? 'alive' : 'expired';
    },
  };
}

/** What the fixture governance step is built from. */
export interface FixtureGovernanceInput {
  registry?: RegistryFixtures;
  grants?: GrantFixture[];
  goals?: Record<string, GoalFixture>;
  intents?: IntentCatalogue;
  settings?: GovernanceSettings;
}

/** Default maximum delegation depth (hops), as the server's (`governance.maxDelegationDepth`). */
export const DEFAULT_MAX_DEPTH = 4;

/**
 * The server's own governance step (`createGovernanceStep` of `@argus/decision`, over
 * `resolveGovernance`) reading fixture grants, goals and registry records from memory instead of
 * the stores: chain, intent and goal failures are hard denies, the rest becomes Cedar entities and
 * context. Goal budgets start unused and are consumed by allowed decisions, as in the server.
 */
export function fixtureGovernance(input: FixtureGovernanceInput): GovernanceStep {
  const created = '1970-01-01T00:00:00.000Z';
  const grants: DelegationGrant[] = (input.grants ?? []).map((g) => {
    const { status, ...rest } = g;
    return { ...rest, createdBy: 'fixture', createdAt: created, ...(status === 'revoked' ? { revokedAt: created } : {}) };
  });
  const goals = new Map<string, StoredGoal>(
    Object.entries(input.goals ?? {}).map(([id, g]) => [
      id,
      {
        id,
        owner: g.owner,
        objective: g.objective ?? '',
        intents: g.intents,
        agents: g.agents,
        // An absent expiry means none: the store type insists on a string, governance does not.
        ...(g.expiresAt ? { expiresAt: g.expiresAt } : {}),
        budget: g.budget ?? {},
        status: g.status ?? 'active',
        createdAt: created,
        updatedAt: created,
        version: 1,
      } as StoredGoal,
    ]),
  );
  const same = (a: EntityRef, b: EntityRef) => a.id === b.id && a.type.replace(/^Argus::/, '') === b.type.replace(/^Argus::/, '');
  return createGovernanceStep({
    delegations: {
      get: async (id) => grants.find((g) => g.id === id),
      findActive: async (from, to, at) => {
        const when = at ?? new Date().toISOString();
        return grants.filter((g) => same(g.from, from) && same(g.to, to) && isGrantActive(g, when)).at(-1);
      },
      list: async (query) => ({
        items: grants.filter((g) => (!query?.from || same(g.from, query.from)) && (!query?.to || same(g.to, query.to))),
      }),
    },
    goals: { get: async (id) => goals.get(id) },
    budget: new MemoryBudgetCounter(),
    intents: input.intents ?? { intents: {} },
    registry: fixtureRegistry(input.registry),
    maxDepth: input.settings?.maxDepth ?? DEFAULT_MAX_DEPTH,
    requireIntent: input.settings?.requireIntent ?? false,
  });
}
