/**
 * In-memory stand-ins for the registry and the governance facts, filled from a policy test
 * suite's fixtures, so `argus policy test|explain|diff` decide through the production
 * `DecisionService` exactly as the server would.
 */
import type { EntityRef } from '@argus/contracts';
import type { GovernanceOutcome, GovernanceStep, RegistryReader } from '@argus/apdp';
import { uidKey, type CedarEntity, type CedarValue } from '@argus/engine';
import { grantLookupFrom, resolveGovernance, type Goal, type Grant, type IntentCatalogue } from '@argus/governance';

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
  status?: Goal['status'];
  intents: string[];
  agents: string[];
  expiresAt?: string;
}

/** A delegation grant as a test suite declares it. */
export type GrantFixture = Omit<Grant, 'status'> & { status?: Grant['status'] };

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
      return { id, trust: a.trust, ...(a.owner ? { owner: a.owner } : {}), kind: a.kind ?? 'llm-agent', capabilities: a.capabilities ?? [], labels };
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

/** Default maximum delegation depth (hops), as the server's. */
export const DEFAULT_MAX_DEPTH = 5;

/**
 * A governance step over fixture grants, goals and the intent catalogue, running the real
 * `resolveGovernance` of `@argus/governance` (budgets read as unused): chain, intent and goal failures are hard denies,
 * the rest becomes Cedar entities and context.
 */
export function fixtureGovernance(input: FixtureGovernanceInput): GovernanceStep {
  const grants: Grant[] = (input.grants ?? []).map((g) => ({ ...g, status: g.status ?? 'active' }));
  const goals = new Map<string, Goal>(
    Object.entries(input.goals ?? {}).map(([id, g]) => [
      id,
      {
        id,
        objective: g.objective ?? '',
        owner: g.owner,
        status: g.status ?? 'active',
        intents: g.intents,
        agents: g.agents,
        ...(g.expiresAt ? { expiresAt: g.expiresAt } : {}),
      },
    ]),
  );
  const agents = input.registry?.agents ?? {};
  const humans = input.registry?.humans ?? {};
  const attributes = (ref: EntityRef): Record<string, unknown> | undefined => {
    const type = ref.type.replace(/^Argus::/, '');
    if (type === 'Human' && Object.hasOwn(humans, ref.id)) {
      const h = humans[ref.id]!;
      return { roles: h.roles ?? [], ...(h.email ? { email: h.email } : {}) };
    }
    if (type === 'Agent' && Object.hasOwn(agents, ref.id)) {
      const a = agents[ref.id]!;
      return {
        trust: a.trust,
        kind: a.kind ?? 'llm-agent',
        capabilities: a.capabilities ?? [],
        leaseAlive: (a.lease ?? 'alive') === 'alive',
        ...(a.clearance ? { clearance: a.clearance } : {}),
      };
    }
    return undefined;
  };
  return async ({ input: request, now, principal, explain }) => {
    const lookup = grantLookupFrom(grants, now);
    const outcome = await resolveGovernance(
      {
        principal: request.principal,
        action: request.action,
        resource: request.resource,
        ...(request.intent !== undefined ? { intent: request.intent } : {}),
        ...(request.goal !== undefined ? { goal: request.goal } : {}),
        ...(request.delegation !== undefined ? { chain: request.delegation } : {}),
        ...(request.delegationToken !== undefined ? { delegationToken: request.delegationToken } : {}),
        now,
        maxDepth: input.settings?.maxDepth ?? DEFAULT_MAX_DEPTH,
        requireIntent: input.settings?.requireIntent ?? false,
        explain,
      },
      {
        findGrant: async (from, to) => lookup(from, to),
        getGrant: async (id) => grants.find((g) => g.id === id),
        getGoal: async (id) => goals.get(id),
        getBudgetUsed: async () => ({ actions: 0, tokens: 0, costUsd: 0 }),
        intents: input.intents ?? { intents: {} },
        attributes,
      },
    );
    const entities = (outcome.entities as CedarEntity[]).filter((e) => uidKey(e.uid) !== uidKey(principal));
    const result: GovernanceOutcome = {
      principalParents: outcome.principalParents,
      entities,
      context: outcome.context as Record<string, CedarValue>,
      facts: outcome.facts as unknown as Record<string, unknown>,
    };
    if (outcome.hardDeny) result.hardDeny = outcome.hardDeny;
    return result;
  };
}
