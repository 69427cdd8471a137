import { readFileSync } from 'node:fs';
import { createAuditTrail, openQueryStore, type AuditQueryStore, type AuditTrail } from '@argus/audit';
import { validatorFor } from '@argus/contracts';
import { verifyDelegationToken, type IntentCatalogue, type TokenKey } from '@argus/governance';
import {
  authenticatorOptionsFrom,
  createAuthenticator,
  createLogger,
  errorSummary,
  createMetricsRegistry,
  Counter,
  metric,
  requireAdmin,
  requireAuth,
  type Authenticator,
  type Closer,
  type Logger,
  type Registry,
} from '@argus/platform';
import {
  MemoryBudgetCounter,
  MemoryWindowCounter,
  SqliteWindowCounter,
  openEventBus,
  openLeaseStore,
  openRedis,
  openStorage,
  RedisBudgetCounter,
  RedisWindowCounter,
  createRegistryView,
  TOPICS,
  MemoryApprovalStore,
  RedisApprovalStore,
  SqliteApprovalStore,
  type ApprovalStore,
  type BudgetCounter,
  type EventBus,
  type LeaseStore,
  type Storage,
  type WindowCounter,
} from '@argus/store';
import type { Router } from 'express';
import { createPublicKey, createPrivateKey } from 'node:crypto';
import type { CompiledEvaluation } from '@argus/engine';
import { createApdp, reloadMetrics, type Apdp } from './app.ts';
import { createGovernanceStep, type DecisionEffects, type RegistryReader } from '@argus/decision';
import { PolicyHolder } from './policy-holder.ts';
import { PolicyWatcher } from './policy-watcher.ts';
import { TrafficMarker } from './traffic.ts';
import { fromVersionFiles, toVersionFiles } from './policy-versions.ts';
import { createDecisionsRouter } from './routes/decisions.ts';
import { openapiRouter } from './routes/openapi.ts';
import { createApprovalsRouter, createBullEscalationQueue, createDecisionEffects, createEscalationWorker } from './effects/index.ts';
import type { ArgusConfig } from './config.ts';
import { approvalRootFrom } from './effects/approvals-router.ts';
import { createGovernanceRouter } from './routes/governance.ts';
import { switchesRouter } from './routes/switches.ts';
import { SwitchBoard } from './switches.ts';

/** Everything a decision-serving process holds, for the composition roots (`apdp` main, `argus serve`). */
export interface DecisionRuntime {
  config: ArgusConfig;
  logger: Logger;
  metrics: Registry;
  storage: Storage;
  leases: LeaseStore;
  events: EventBus;
  registry: RegistryReader;
  auth: Authenticator;
  budget: BudgetCounter;
  windows: WindowCounter;
  holder: PolicyHolder;
  watcher: PolicyWatcher;
  /** The switch snapshot every decision checks first (the proxy of `argus serve` cuts calls a stop covers). */
  switches: SwitchBoard;
  audit?: AuditTrail;
  apdp: Apdp;
  /** Closed in reverse order on shutdown. */
  closers: Closer[];
}

/** Hooks a composition root adds to the decision runtime. */
export interface RuntimeExtras {
  /** Routers mounted after the decision routes, built once the runtime's parts exist. */
  routers?: (parts: Omit<DecisionRuntime, 'apdp' | 'closers'>) => Router[];
  effects?: (parts: Omit<DecisionRuntime, 'apdp' | 'closers'>) => DecisionEffects | undefined;
}

const validateIntents = validatorFor<IntentCatalogue>('https://argus.dev/schemas/governance/intent-catalogue.json');

/**
 * Builds the decision runtime from a validated config: storage (SQLite or MongoDB), leases, events
 * and counters (Redis when `store.redisUrl` is set, in-process otherwise), the registry view, the
 * policy holder and watcher, the audit trail, governance, and the decision API.
 */
export async function startDecisionRuntime(config: ArgusConfig, extras: RuntimeExtras = {}): Promise<DecisionRuntime> {
  const logger = createLogger({ level: config.logging.level });
  const metrics = createMetricsRegistry();
  const closers: Closer[] = [];
  const storage = await openStorage(config.store.url);
  closers.push({ name: 'store', close: () => storage.close() });

  const signal = {
    ...(config.store.redisUrl ? { redisUrl: config.store.redisUrl } : {}),
    prefix: config.store.redisPrefix,
    commandTimeoutMs: config.store.redisCommandTimeoutMs,
    reconnectMaxDelayMs: config.store.redisReconnectMaxDelayMs,
    logger,
  };
  const leases = openLeaseStore(signal);
  const events = openEventBus(signal);
  closers.push({ name: 'events', close: () => events.close() });
  closers.push({ name: 'leases', close: () => leases.close() });
  let budget: BudgetCounter;
  let windows: WindowCounter;
  let builtinWindows: WindowCounter | undefined;
  let redisClient: ReturnType<typeof openRedis> | undefined;
  if (config.store.redisUrl) {
    const redis = (redisClient = openRedis({
      url: config.store.redisUrl,
      commandTimeoutMs: config.store.redisCommandTimeoutMs,
      reconnectMaxDelayMs: config.store.redisReconnectMaxDelayMs,
    }));
    closers.push({ name: 'redis-counters', close: async () => void (await redis.quit().catch(() => redis.disconnect())) });
    budget = new RedisBudgetCounter(redis, { prefix: config.store.redisPrefix });
    windows = new RedisWindowCounter(redis, { prefix: config.store.redisPrefix });
  } else {
    budget = new MemoryBudgetCounter();
    // Embedded mode: named quotas count in the SQLite file, so they survive a restart; the
    // built-in calls_last_minute|hour stay in memory (no file write per allowed decision).
    windows = storage.sqlite ? new SqliteWindowCounter(storage.sqlite) : new MemoryWindowCounter();
    if (storage.sqlite) builtinWindows = new MemoryWindowCounter();
  }

  const view = createRegistryView({ store: storage.registry, leases, events });
  // The agents are loaded at start, so the first decision for each is not a store read.
  void view
    .warm((cursor) => storage.registry.listAgents({ limit: 500, ...(cursor !== undefined ? { cursor } : {}) }))
    .then(
      (loaded) => logger.debug({ loaded }, 'registry view loaded'),
      (err: unknown) =>
        logger.warn({ err: errorSummary(err) }, 'could not load the registry view at start; agents are read when asked for'),
    );
  const registry: RegistryReader = {
    getAgent: (id) => view.getAgent(id),
    getHuman: (id) => view.getHuman(id),
    getMcpServer: (id) => view.getMcpServer(id),
    leaseState: async (kind, id) => (await view.leaseState(kind, id)).state,
    requireRegistered: config.registry.requireRegistered,
  };
  const auth = createAuthenticator(authenticatorOptionsFrom(config.auth));

  const holder = new PolicyHolder();
  const { reloads, failures } = reloadMetrics(metrics);
  const watcher = new PolicyWatcher({
    dir: config.policy.dir,
    debounceMs: config.policy.reloadDebounceMs,
    holder,
    logger,
    reloads,
    failures,
  });
  const published = await storage.policies.getActive();
  if (published) {
    const r = holder.replace(fromVersionFiles(published.files), 'store');
    if (!r.ok) logger.error({ version: published.version }, 'the published policy set no longer compiles; loading the directory');
  }
  // With a published set active this only notes the directory's VERSION marker (the set pins).
  await watcher.load();
  if (!holder.current) throw new Error(`the policy directory \`${config.policy.dir}\` holds no valid policy set`);
  if (config.policy.watch) watcher.start();
  closers.push({ name: 'policy-watcher', close: () => watcher.close() });
  const adopt = async (version: string, why: string): Promise<void> => {
    if (version === holder.current?.set.version) return;
    const stored = await storage.policies.getVersion(version);
    if (!stored) {
      logger.warn({ version, why }, 'announced policy version is not in the store; keeping the current set');
      return;
    }
    const r = holder.replace(fromVersionFiles(stored.files), 'store');
    if (!r.ok) failures.inc();
  };
  const unsubscribePolicies = events.subscribe(TOPICS.policyChanged, async (payload) => {
    const version = (payload as { version?: string }).version;
    if (version) await adopt(version, 'policy.changed');
  });
  // After a bus outage a policy.changed may have been missed: the store says which set is active.
  const unsubscribeResync = events.onResync?.(async () => {
    const active = await storage.policies.getActive();
    if (active) await adopt(active.version, 'resync');
  });
  closers.push({
    name: 'policy-events',
    close: () => {
      unsubscribePolicies();
      unsubscribeResync?.();
    },
  });

  let audit: AuditTrail | undefined;
  let auditQuery: AuditQueryStore | undefined;
  if (config.audit.enabled) {
    const auditConfig = config.audit;
    // The audit thread opens the sinks and writes; this thread only reads (decisions API).
    audit = await createAuditTrail(auditConfig, { logger, metrics });
    const query = await openQueryStore(auditConfig);
    auditQuery = query;
    closers.push({
      name: 'audit',
      close: async () => {
        await audit!.close();
        await query?.close();
      },
    });
  }

  const intents = loadIntents(config.governance.intentsFile);
  const publicKey = config.governance.tokenPublicKeyFile
    ? (createPublicKey(readFileSync(config.governance.tokenPublicKeyFile)) as TokenKey)
    : undefined;
  const privateKey = config.governance.tokenPrivateKeyFile
    ? (createPrivateKey(readFileSync(config.governance.tokenPrivateKeyFile)) as TokenKey)
    : undefined;
  const governance = createGovernanceStep({
    delegations: storage.delegations,
    goals: storage.goals,
    budget,
    intents,
    registry,
    maxDepth: config.governance.maxDelegationDepth,
    requireIntent: config.governance.requireIntent,
    ...(publicKey
      ? {
          verifyToken: (token: string) =>
            verifyDelegationToken({
              token,
              publicKey,
              issuer: 'argus',
              now: new Date(),
              maxDepth: config.governance.maxDelegationDepth,
              clockToleranceSeconds: config.governance.tokenClockToleranceSeconds,
            }),
        }
      : {}),
  });

  const effectsConfig = config.effects;
  const approvals: ApprovalStore = redisClient
    ? new RedisApprovalStore(redisClient, { prefix: config.store.redisPrefix, retentionMs: effectsConfig.approvals.retentionMs })
    : storage.sqlite
      ? new SqliteApprovalStore(storage.sqlite, { retentionMs: effectsConfig.approvals.retentionMs })
      : new MemoryApprovalStore();
  let escalation: ReturnType<typeof createBullEscalationQueue> | undefined;
  const { webhookUrl, secret } = effectsConfig.escalation;
  if (webhookUrl && secret && config.store.redisUrl) {
    const connection = openRedis({ url: config.store.redisUrl }, { maxRetriesPerRequest: null, enableOfflineQueue: true });
    escalation = createBullEscalationQueue({
      connection,
      prefix: `${config.store.redisPrefix}bull`,
      queueName: effectsConfig.escalation.queueName,
      attempts: effectsConfig.escalation.attempts,
      backoffMs: effectsConfig.escalation.backoffMs,
    });
    const worker = createEscalationWorker({
      connection: openRedis({ url: config.store.redisUrl }, { maxRetriesPerRequest: null, enableOfflineQueue: true }),
      prefix: `${config.store.redisPrefix}bull`,
      queueName: effectsConfig.escalation.queueName,
      webhookUrl,
      secret,
      timeoutMs: effectsConfig.escalation.timeoutMs,
      concurrency: effectsConfig.escalation.concurrency,
      logger,
    });
    closers.push({
      name: 'escalation',
      close: async () => {
        await worker.close();
        await escalation!.queue.close();
        connection.disconnect();
      },
    });
  } else if (webhookUrl) {
    logger.warn('escalation webhooks need store.redisUrl (BullMQ): `escalate` effects will be reported as failed');
  }
  const effects = createDecisionEffects({
    approvals,
    registry: storage.registry,
    events,
    ...(escalation ? { escalation } : {}),
    counters: windows,
    ...(builtinWindows ? { builtinCounters: builtinWindows } : {}),
    agentOf: (id) => registry.getAgent(id),
    logger,
    config: effectsConfig,
    metrics,
  });

  // Switches: a snapshot re-read on `switch.changed` (Redis pub/sub across replicas) and every few
  // seconds; decisions fail closed when it cannot be refreshed (see switches.ts).
  const switches = new SwitchBoard({ store: storage.switches, events, logger, metrics });
  await switches.start();
  closers.push({ name: 'switches', close: async () => switches.close() });

  const parts = {
    config,
    logger,
    metrics,
    storage,
    leases,
    events,
    registry,
    auth,
    budget,
    windows,
    holder,
    watcher,
    switches,
    ...(audit ? { audit } : {}),
  };
  const query = auditQuery;
  const routers: Router[] = [
    createGovernanceRouter({
      delegations: storage.delegations,
      goals: storage.goals,
      budget,
      intents,
      auth,
      events,
      clock: () => new Date(),
      maxDelegationDepth: config.governance.maxDelegationDepth,
      agentTrust: async (id) => (await registry.getAgent(id))?.trust,
      ...(privateKey ? { signer: { privateKey, issuer: 'argus', ttlSeconds: 3600 } } : {}),
    }),
    ...(query ? [createDecisionsRouter({ query, auth: requireAuth(auth), ...(audit ? { live: audit } : {}) })] : []),
    createApprovalsRouter({
      store: approvals,
      requireHuman: requireAuth(auth),
      rootOf: approvalRootFrom({ goal: (id) => storage.goals.get(id), agent: (id) => storage.registry.getAgent(id) }),
      logger,
    }),
    openapiRouter(),
    switchesRouter({ store: storage.switches, board: switches, events, logger }),
    ...(extras.routers?.(parts) ?? []),
  ];
  // Traffic keeps an agent's lease alive and its lastSeen current (batched; flushed before the store closes).
  const traffic = new TrafficMarker({
    leases,
    registry: storage.registry,
    leaseTtlMs: config.registry.trafficLeaseTtlMs,
    flushMs: 2_000,
    lastSeenEveryMs: 60_000,
    logger,
  });
  closers.push({ name: 'traffic', close: () => traffic.close() });
  const apdp = createApdp({
    seen: (id) => traffic.seen(id),
    holder,
    registry,
    governance,
    effects: extras.effects?.(parts) ?? effects,
    ...(audit ? { recorder: audit } : {}),
    requireAdmin: requireAdmin(auth),
    auth,
    decisionAuth: config.auth.decisions,
    validateRequest: config.policy.validateRequest,
    decisionMemo: config.policy.decisionMemo,
    compiled: compiledEvaluation(config.policy, logger, metrics),
    switches,
    logger,
    metrics,
    defaultDecision: config.server.defaultDecision,
    limits: {
      maxBodyBytes: config.server.maxBodyBytes,
      maxJsonDepth: config.server.maxJsonDepth,
      maxBatchSize: config.server.maxBatchSize,
      decisionTimeoutMs: config.server.decisionTimeoutMs,
    },
    routers,
    readiness: [
      { name: 'store', check: async () => ({ ok: await storage.ping() }) },
      // Budgets, quotas, leases and approvals live in Redis when it is configured: no Redis, no decisions.
      ...(redisClient ? [{ name: 'redis', check: () => redisReady(redisClient!) }] : []),
      // A replica that cannot read its switches denies every decision: take it out of rotation.
      {
        name: 'switches',
        check: () => {
          const s = switches.state();
          return { ok: s.fresh, detail: s.fresh ? `${s.ageMs} ms old` : `unreadable: ${s.error ?? 'never read'}` };
        },
      },
      ...(audit
        ? [
            {
              name: 'audit',
              check: () => {
                const s = audit!.stats();
                return {
                  ok: s.sinks.every((k) => k.healthy) || s.durability === 'async',
                  detail: `queued ${s.queued}, spilled ${s.spilled}, dropped ${s.dropped}`,
                };
              },
            },
          ]
        : []),
    ],
    onPublished: async (input, version, meta) => {
      await storage.policies.saveVersion({ version, files: toVersionFiles(input), author: meta.by, message: meta.message });
      await storage.policies.activate(version, meta.by, meta.message || 'published through the API');
      await events.publish(TOPICS.policyChanged, { version });
    },
  });
  return { ...parts, apdp, closers };
}

/**
 * Compiled evaluation as configured: off, or on with online verification of a sample of decisions,
 * every mismatch logged (input hash, never values) and counted, and the set switched back to cedar-wasm.
 */
function compiledEvaluation(policy: ArgusConfig['policy'], logger: Logger, metrics: Registry): CompiledEvaluation | false {
  if (policy.compiled === false) return false;
  const mismatches = metric(
    metrics,
    'argus_compiled_mismatches_total',
    () =>
      new Counter({
        name: 'argus_compiled_mismatches_total',
        help: 'Sampled decisions where compiled evaluation and cedar-wasm disagreed (the set then uses cedar-wasm)',
        registers: [metrics],
      }),
  );
  return {
    verifySample: policy.verifySample,
    fallbackOnMismatch: true,
    onMismatch: (m) => {
      mismatches.inc();
      logger.error(
        { inputHash: m.inputHash, policies: m.policyIds, compiled: m.compiled, cedar: m.cedar, disabled: m.disabled },
        'compiled evaluation disagreed with cedar-wasm; this policy set now uses cedar-wasm',
      );
    },
  };
}

/** Ready when the connection is up and answers PING within its command timeout. */
async function redisReady(redis: ReturnType<typeof openRedis>): Promise<{ ok: boolean; detail?: string }> {
  if (redis.status !== 'ready') return { ok: false, detail: `redis connection is ${redis.status}` };
  try {
    return { ok: (await redis.ping()) === 'PONG' };
  } catch (err) {
    return { ok: false, detail: `redis did not answer PING: ${err instanceof Error ? err.message : String(err)}` };
  }
}

function loadIntents(file: string): IntentCatalogue {
  const text = readFileSync(file, 'utf8');
  const parsed = validateIntents(JSON.parse(text));
  if (!parsed.ok)
    throw new Error(`intent catalogue \`${file}\` is invalid: ${parsed.errors.map((e) => `${e.path} ${e.message}`).join('; ')}`);
  return parsed.value;
}
