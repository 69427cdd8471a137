/** Step 2 — resolve facts: kill switches first, then what the registry knows (entities, hard denies). */
import type { AuthorizeInput, DenyCode } from '@argus/contracts';
import type { CedarEntity } from '@argus/engine';
import type { CheckedRequest } from './check-request.ts';
import { bareType } from '@argus/governance';
import { buildEntities, type RegistryReader } from './entities.ts';
import { deny, denied, switchDeny, type Denied } from './outcome.ts';
import type { SwitchVerdict } from './ports.ts';

/** The switches a decision consults (`SwitchBoard`). */
export interface SwitchReader {
  check(input: AuthorizeInput): SwitchVerdict | undefined;
  /** The agents of the chain governance resolved (a delegation token's chain is known only then). */
  checkAgents?(ids: readonly string[]): SwitchVerdict | undefined;
}

/**
 * The hard deny of a stopped agent, tool, server or `all`.
 * INVARIANT: checked before any read or policy: a kill switch must not depend on the registry
 * being reachable or the policies being right.
 */
export function checkSwitches(switches: SwitchReader | undefined, input: AuthorizeInput): Denied | undefined {
  const stopped = switches?.check(input);
  return stopped ? denied(switchDeny(stopped)) : undefined;
}

/** The registry's side of a decision: the entity map and the facts document so far. */
export interface ResolvedFacts {
  entities: Map<string, CedarEntity>;
  facts: Record<string, unknown>;
}

/**
 * Builds the entities (registry-owned ones from the registry, the rest from the caller) and turns
 * what the registry says of the principal into hard denies: unknown (when registration is
 * required), revoked, quarantined, lease unreadable.
 */
export async function resolveFacts(
  checked: CheckedRequest,
  registry: RegistryReader,
  requireRegistered: boolean,
): Promise<ResolvedFacts | Denied> {
  const { input, principal } = checked;
  const { entities, facts: registryFacts } = await buildEntities(input, registry, checked.set.entityTypes, checked.shared);
  const codes: DenyCode[] = [];
  const unregisteredAgent = bareType(principal.type) === 'Agent' && !registryFacts.agent.registered;
  if (requireRegistered && unregisteredAgent) codes.push('agent_unknown');
  if (registryFacts.agent.trust === 'revoked') codes.push('agent_revoked');
  if (registryFacts.agent.trust === 'quarantined') codes.push('agent_quarantined');
  if (registryFacts.agent.lease === 'unknown') codes.push('lease_unknown');
  const facts: Record<string, unknown> = { agent: registryFacts.agent, resource: registryFacts.resource };
  if (registryFacts.ignored.length > 0) facts.ignored = registryFacts.ignored;
  if (unregisteredAgent && !requireRegistered) {
    facts.registry = {
      requireRegistered: false,
      note: 'registry.requireRegistered is off (quick start): an unregistered agent is decided by the policies',
    };
  }
  if (codes.length > 0) return denied(deny([], codes, facts, hardDenySentence(codes, input)));
  return { entities, facts };
}

const HARD_DENY_TEXT: Partial<Record<DenyCode, (input: AuthorizeInput) => string>> = {
  agent_unknown: (i) => `agent \`${i.principal.id}\` is not registered (registry.requireRegistered is on)`,
  agent_revoked: (i) => `agent \`${i.principal.id}\` is revoked`,
  agent_quarantined: (i) => `agent \`${i.principal.id}\` is quarantined`,
  lease_unknown: () => "the agent's lease could not be read",
};

function hardDenySentence(codes: DenyCode[], input: AuthorizeInput): string {
  return `hard deny: ${codes.map((c) => `${c} — ${HARD_DENY_TEXT[c]?.(input) ?? c}`).join('; ')}`;
}
