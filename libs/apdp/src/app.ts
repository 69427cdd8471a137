import type { DecisionRecorder } from '@argus/contracts';
import {
  type Authenticator,
  createMetricsRegistry,
  errorHandler,
  healthRouter,
  jsonBody,
  Counter,
  malformedEscape,
  metric,
  permissionGuard,
  requestContext,
  type DecisionAuthMode,
  type PermissionTable,
  type ReadinessCheck,
  type Registry,
} from '@argus/platform';
import { DecisionMemo, type CompiledEvaluation } from '@argus/engine';
import express, { type Express, type RequestHandler, type Router } from 'express';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import { DecisionService, type DecisionEffects, type GovernanceStep, type RegistryReader } from '@argus/decision';
import { PolicyHolder } from './policy-holder.ts';
import { decisionListener, serveDecisionRoutes } from './routes/decision-routes.ts';
import { policiesRouter, type PolicyLimits, type PolicyPublished } from './routes/policies.ts';
import { shadowRouter, templatesRouter } from './routes/templates.ts';
import { ShadowEvaluator } from './shadow.ts';
import type { SwitchBoard } from './switches.ts';

/** Limits of the decision API, all with defaults in the config schema. */
export interface ApdpLimits {
  maxBodyBytes: number;
  maxJsonDepth: number;
  maxBatchSize: number;
  decisionTimeoutMs: number;
}

/** Everything the decision API is built from. */
export interface ApdpDeps {
  holder: PolicyHolder;
  registry: RegistryReader;
  governance?: GovernanceStep;
  effects?: DecisionEffects;
  recorder?: DecisionRecorder;
  /** The admin guard of the publishing routes, used only when no `auth` is given (tests, embeddings). */
  requireAdmin: RequestHandler;
  /**
   * Authenticates every caller against the permission table (`@argus/platform` `PERMISSIONS`),
   * for the lean listener and the app alike. Absent only in tests and in-process embeddings:
   * then no table applies and every caller is trusted.
   */
  auth?: Authenticator;
  /** `auth.decisions`: `required` (default) or `open` (anonymous decisions, side effects skipped). */
  decisionAuth?: DecisionAuthMode;
  /** The permission table (default: the platform's). */
  permissions?: PermissionTable;
  logger: Logger;
  metrics: Registry;
  limits: ApdpLimits;
  /** Check each request against the Cedar schema at decision time (default false). */
  validateRequest?: boolean;
  /** Bound on memoised Cedar answers (0 or absent: off). */
  decisionMemo?: number;
  onPublished?: PolicyPublished;
  /** The document `POST /` answers (OPA's default decision, `server.defaultDecision`); default `argus/allow`. */
  defaultDecision?: string;
  /** Bounds on caller-supplied policy sets (validate, publish); defaults in `DEFAULT_POLICY_LIMITS`. */
  policyLimits?: PolicyLimits;
  /** Extra routers mounted after the decision routes (registry, audit, governance in `argus serve`). */
  routers?: Router[];
  readiness?: ReadinessCheck[];
  clock?: () => Date;
  /** Hears the registered agents whose traffic was decided (lease and lastSeen renewal). */
  seen?: (agentId: string) => void;
  /** Compiled evaluation settings (see `DecisionServiceDeps.compiled`). */
  compiled?: CompiledEvaluation | false;
  /** The switch snapshot decisions check first (see `DecisionServiceDeps.switches`). */
  switches?: SwitchBoard;
}

/** The built decision API: the express app and its decision service (for in-process callers like the proxy). */
export interface Apdp {
  app: Express;
  /** What a server should listen with: the decision routes (`routes/decision-routes.ts`) without the framework, the rest through `app`. */
  listener: (req: IncomingMessage, res: ServerResponse) => void;
  decisions: DecisionService;
  shadow: ShadowEvaluator;
}

/** Builds the decision API from injected collaborators. No I/O happens here. */
export function createApdp(deps: ApdpDeps): Apdp {
  const shadow = new ShadowEvaluator({ metrics: deps.metrics, validateRequest: deps.validateRequest ?? false });
  const decisions = new DecisionService({
    shadow,
    policies: deps.holder,
    registry: deps.registry,
    ...(deps.governance ? { governance: deps.governance } : {}),
    ...(deps.effects ? { effects: deps.effects } : {}),
    ...(deps.recorder ? { recorder: deps.recorder } : {}),
    metrics: deps.metrics,
    logger: deps.logger,
    decisionTimeoutMs: deps.limits.decisionTimeoutMs,
    ...(deps.validateRequest !== undefined ? { validateRequest: deps.validateRequest } : {}),
    ...(deps.decisionMemo ? { memo: new DecisionMemo(deps.decisionMemo) } : {}),
    ...(deps.clock ? { clock: deps.clock } : {}),
    ...(deps.seen ? { seen: deps.seen } : {}),
    ...(deps.compiled !== undefined ? { compiled: deps.compiled } : {}),
    ...(deps.switches ? { switches: deps.switches } : {}),
  });
  const admission = deps.auth
    ? { auth: deps.auth, decisions: deps.decisionAuth ?? 'required', ...(deps.permissions ? { table: deps.permissions } : {}) }
    : undefined;
  const limits = { maxBodyBytes: deps.limits.maxBodyBytes, maxJsonDepth: deps.limits.maxJsonDepth };
  const decisionRoutes = serveDecisionRoutes({
    decisions,
    maxBatchSize: deps.limits.maxBatchSize,
    ...(deps.defaultDecision ? { defaultDecision: deps.defaultDecision } : {}),
    ...(admission ? { admission } : {}),
    limits,
    logger: deps.logger,
  });
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
  // The decision routes are the table's, served exactly as the listener serves them: before any middleware here.
  app.use((req, res, next) => {
    if (!decisionRoutes(req, res)) next();
  });
  app.use(requestContext(deps.logger));
  // Every request passes the permission table before any route or body parser runs.
  app.use(admission ? permissionGuard(admission) : (req, _res, next) => next(malformedEscape(req.originalUrl)));
  app.use(
    healthRouter({
      metrics: deps.metrics,
      checks: [
        {
          name: 'policies',
          check: () => {
            const failure = deps.holder.failure;
            if (!deps.holder.current) return { ok: false, detail: 'no policy set loaded' };
            return failure
              ? { ok: true, detail: `serving ${deps.holder.current.set.version}; last reload refused at ${failure.at}` }
              : { ok: true, detail: deps.holder.current.set.version };
          },
        },
        ...(deps.readiness ?? []),
      ],
    }),
  );
  const body = jsonBody(limits);
  app.use((req, res, next) =>
    req.method === 'POST' || req.method === 'PUT' || req.method === 'PATCH' ? runAll(body, req, res, next) : next(),
  );
  const published = deps.onPublished ? { onPublished: deps.onPublished } : {};
  // With the table in front, the publishing routes' own guard has nothing left to check.
  const requireAdmin: RequestHandler = admission ? (_req, _res, next) => next() : deps.requireAdmin;
  app.use(templatesRouter({ holder: deps.holder, requireAdmin, ...published }));
  app.use(shadowRouter({ shadow, holder: deps.holder, requireAdmin }));
  app.use(policiesRouter({ holder: deps.holder, requireAdmin, ...published, ...(deps.policyLimits ? { limits: deps.policyLimits } : {}) }));
  for (const r of deps.routers ?? []) app.use(r);
  app.use((req, res) => {
    res.status(404).json({ code: 'not_found', message: `no route for ${req.method} \`${req.path}\``, errors: [] });
  });
  app.use(errorHandler(deps.logger));
  return { app, listener: decisionListener(decisionRoutes, app), decisions, shadow };
}

function runAll(
  handlers: RequestHandler[],
  req: Parameters<RequestHandler>[0],
  res: Parameters<RequestHandler>[1],
  next: Parameters<RequestHandler>[2],
): void {
  let i = 0;
  const step = (err?: unknown): void => {
    if (err !== undefined) return next(err);
    const h = handlers[i++];
    if (!h) return next();
    h(req, res, step);
  };
  step();
}

/** Policy reload counters, shared by the directory watcher and the API. */
export function reloadMetrics(registry: Registry): { reloads: Counter; failures: Counter } {
  return {
    reloads: metric(
      registry,
      'argus_policy_reloads_total',
      () => new Counter({ name: 'argus_policy_reloads_total', help: 'Policy set loads that succeeded', registers: [registry] }),
    ),
    failures: metric(
      registry,
      'argus_policy_reload_failures_total',
      () =>
        new Counter({
          name: 'argus_policy_reload_failures_total',
          help: 'Policy set reloads refused (the last good set stayed active)',
          registers: [registry],
        }),
    ),
  };
}

export { createMetricsRegistry, PolicyHolder };
