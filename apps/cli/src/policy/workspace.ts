/**
 * A policy directory as the toolkit sees it, and the decision service that decides over it exactly
 * as the server does (registry and governance replaced by fixtures).
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { PolicyHolder, readPolicyDir } from '@argus/apdp';
import { DecisionService } from '@argus/decision';
import { compilePolicySet, type CompiledPolicySet, type Diagnostic, type PolicySetInput } from '@argus/engine';
import type { IntentCatalogue } from '@argus/governance';
import { createMetricsRegistry, silentLogger } from '@argus/platform';
import { fixtureGovernance, fixtureRegistry } from './fixtures.ts';
import type { PolicyTestSuite } from './suite.ts';
import { firstCallUsage, type Usage } from './usage.ts';

/** The intent catalogue file of a policy directory. */
export const INTENTS_FILE = 'intents.json';

/** A loaded policy directory. */
export interface PolicyWorkspace {
  dir: string;
  input: PolicySetInput;
  set: CompiledPolicySet;
  intents: IntentCatalogue;
}

/** The answer of `loadWorkspace`: the set, the located errors that refused it, or why nothing could be read. */
export type WorkspaceLoad =
  | { ok: true; workspace: PolicyWorkspace }
  | { ok: false; reason: 'invalid'; diagnostics: Diagnostic[] }
  | { ok: false; reason: 'unreadable'; message: string };

/** Reads and compiles a policy directory (`schema.cedarschema`, `policies/`, `links.json`, `intents.json`). */
export async function loadWorkspace(dir: string): Promise<WorkspaceLoad> {
  let input: PolicySetInput;
  let intents: IntentCatalogue = { intents: {} };
  try {
    input = await readPolicyDir(dir);
  } catch (err) {
    return {
      ok: false,
      reason: 'unreadable',
      message: `cannot read the policy directory \`${dir}\`: ${err instanceof Error ? err.message : String(err)}`,
    };
  }
  try {
    intents = JSON.parse(await readFile(join(dir, INTENTS_FILE), 'utf8')) as IntentCatalogue;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') {
      return {
        ok: false,
        reason: 'unreadable',
        message: `cannot read \`${join(dir, INTENTS_FILE)}\`: ${err instanceof Error ? err.message : String(err)}`,
      };
    }
  }
  const compiled = compilePolicySet(input);
  if (!compiled.ok) return { ok: false, reason: 'invalid', diagnostics: compiled.diagnostics };
  return { ok: true, workspace: { dir, input, set: compiled.policySet, intents } };
}

/** A decision service over `input`, with the suite's fixtures as registry and governance facts. */
export interface FixtureDecisions {
  service: DecisionService;
  /** Sets the decision time of the next decisions. */
  setNow(now: Date): void;
  /** Sets the `context.usage` of the next decisions (undefined: absent, as when the counters cannot be read). */
  setUsage(usage: Usage | undefined): void;
  /** What a fresh server shows a first call (the default): every built-in and declared counter at 0. */
  readonly firstCallUsage: Usage;
}

/** Builds the production decision service over a policy set and a suite's fixtures. */
export function fixtureDecisions(input: PolicySetInput, intents: IntentCatalogue, fixtures: PolicyTestSuite = {}): FixtureDecisions {
  const holder = new PolicyHolder();
  const loaded = holder.replace(input, 'directory');
  if (!loaded.ok) throw new Error('policy set does not compile');
  let now = new Date();
  const fresh = firstCallUsage(input.schema);
  let usage: Usage | undefined = fresh;
  const service = new DecisionService({
    policies: holder,
    registry: fixtureRegistry(fixtures.registry),
    governance: fixtureGovernance({
      ...(fixtures.registry ? { registry: fixtures.registry } : {}),
      ...(fixtures.grants ? { grants: fixtures.grants } : {}),
      ...(fixtures.goals ? { goals: fixtures.goals } : {}),
      ...(fixtures.governance ? { settings: fixtures.governance } : {}),
      intents,
    }),
    metrics: createMetricsRegistry({ defaultMetrics: false }),
    logger: silentLogger(),
    clock: () => now,
    decisionTimeoutMs: 10_000,
    // A permit gated by `@effect("require_approval")` is held, as the server holds it: a suite
    // expects `needs_approval` (no human answers here, so no approval is ever given).
    effects: {
      approval: async () => ({ status: 'pending', id: 'policy-test', expiresAt: new Date(now.getTime() + 3_600_000).toISOString() }),
      // The server's counters, as a case gives them (`usage`); by default a fresh server's first call.
      usage: async () => (usage ? { ...usage } : undefined),
    },
  });
  return { service, setNow: (d) => (now = d), setUsage: (u) => (usage = u), firstCallUsage: fresh };
}
