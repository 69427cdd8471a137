/**
 * Delegations, goals and intents over HTTP.
 *
 * Who may do what:
 * - A human grants to an agent as themselves (`from` is the caller). An agent grants to a
 *   sub-agent only within a grant it holds: the new scope must be a subset, the expiry no later,
 *   the depth within both the grant's `maxDepth` and the configured maximum, and no entity may
 *   appear twice up the chain. The same checks run again at every decision (`verifyChain`).
 * - An admin acts on behalf of others, so that a deployment without an IdP (`argus serve` and its
 *   admin token) can still build a chain: a root grant for a named human (`onBehalfOf`, or `from`
 *   a Human), an agent→agent hop for a named agent (`from` an Agent, checked exactly as if that
 *   agent had asked), and a goal owned by a named human (`onBehalfOf`). `createdBy` records the
 *   admin.
 * - Revoking is open to an admin, the grantee, and every grantor up the grant's chain (its own
 *   grantor and the root human among them); it cascades to every grant below and publishes
 *   `delegation.revoked`.
 * - Goals are created by humans (or an admin on behalf of one), changed by their owner (or an
 *   admin), read by the owner, the assigned agents and admins.
 *
 * The router never decides how its callers are authenticated: it reads them with `principalOf`,
 * behind the guard it is given (`guard`, default `requireAuth(auth)`).
 */
import { randomUUID } from 'node:crypto';
import type { DenyCode, EntityRef } from '@argus/contracts';
import { validatorFor } from '@argus/contracts';
import {
  budgetLeft,
  canTransition,
  formatUid,
  isExpired,
  isSubset,
  linkGrants,
  parseUid,
  reportedGoalStatus,
  sameEntity,
  signDelegationToken,
  unknownIntents,
  verifyChain,
  widenedPatterns,
  type IntentCatalogue,
  type Scope,
  type TokenKey,
} from '@argus/governance';
import {
  ArgusError,
  asyncRoute,
  ConflictError,
  ForbiddenError,
  escapePointer,
  InvalidInputError,
  NotFoundError,
  principalOf,
  requireAuth,
  UnavailableError,
  type AuthPrincipal,
  type Authenticator,
} from '@argus/platform';
import {
  TOPICS,
  type BudgetCounter,
  type DelegationGrant,
  type DelegationQuery,
  type DelegationStore,
  type EventBus,
  type Goal,
  type GoalQuery,
  type GoalStatus,
  type GoalStore,
} from '@argus/store';
import express, { type Request, type RequestHandler, type Router } from 'express';
import { PROXY_SERVICE } from './authorize.ts';

/** Signs delegation tokens for `POST /v1/delegations/token`. */
export interface DelegationSigner {
  /** Ed25519 private key. */
  privateKey: TokenKey;
  issuer: string;
  audience?: string;
  kid?: string;
  /** Default token lifetime; capped by the shortest grant of the chain. */
  ttlSeconds: number;
}

/** Collaborators of the governance routes. */
export interface GovernanceRouterDeps {
  delegations: DelegationStore;
  goals: GoalStore;
  budget: BudgetCounter;
  intents: IntentCatalogue;
  auth: Authenticator;
  /** The guard in front of every route; default `requireAuth(auth)`. The routes read the caller with `principalOf`. */
  guard?: RequestHandler;
  events: Pick<EventBus, 'publish'>;
  clock: () => Date;
  /** Absent: `POST /v1/delegations/token` answers 503. */
  signer?: DelegationSigner;
  /** Longest chain (hops) a grant may extend. Default 4, as `governance.maxDelegationDepth`. */
  maxDelegationDepth?: number;
  /**
   * The registry trust state of an agent: a revoked or quarantined agent grants nothing, and no
   * grant extends a chain through one (decisions refuse such chains too). Absent: not checked.
   */
  agentTrust?: (id: string) => Promise<string | undefined>;
  newId?: () => string;
}

interface CreateDelegationBody {
  from?: EntityRef;
  onBehalfOf?: string;
  to: EntityRef;
  scope: Scope;
  expiresAt: string;
  maxDepth?: number;
  parent?: string;
}
interface TokenBody {
  chain: EntityRef[];
  ttlSeconds?: number;
}
interface CreateGoalBody {
  id?: string;
  onBehalfOf?: string;
  objective: string;
  intents: string[];
  agents: string[];
  expiresAt: string;
  budget?: { maxActions?: number; maxTokens?: number; maxCostUsd?: number };
}
interface UsageBody {
  agent?: string;
  actions?: number;
  tokens?: number;
  costUsd?: number;
  decisionId?: string;
}

const schema = (name: string) => `https://argus.dev/schemas/governance/${name}.json`;

function parse<T>(
  validate: (d: unknown) => { ok: true; value: T } | { ok: false; errors: { path: string; message: string }[] },
  body: unknown,
  what: string,
): T {
  const v = validate(body ?? {});
  if (!v.ok) throw new InvalidInputError(`invalid ${what}`, v.errors);
  return v.value;
}

/** The caller as an entity: `Human::"sub"` or `Agent::"sub"`; admins and scanners have none. */
function callerEntity(p: AuthPrincipal): EntityRef | undefined {
  if (p.kind === 'human') return { type: 'Human', id: p.subject };
  if (p.kind === 'agent') return { type: 'Agent', id: p.subject };
  return undefined;
}

function isActive(g: DelegationGrant, now: Date): boolean {
  return g.revokedAt === undefined && !isExpired(g.expiresAt, now.getTime());
}

/** A 400 naming the first query parameter the route does not take (`limit[]=1` is not `limit`). */
function onlyQuery(req: Request, names: readonly string[]): void {
  for (const k of Object.keys(req.query)) {
    if (!names.includes(k)) {
      throw new InvalidInputError(`unknown query parameter \`${k.slice(0, 100)}\``, [
        { path: `/${escapePointer(k.slice(0, 100))}`, message: `not one of ${names.join(', ')}` },
      ]);
    }
  }
}

function queryString(req: Request, name: string): string | undefined {
  const v = req.query[name];
  if (v === undefined) return undefined;
  if (typeof v !== 'string')
    throw new InvalidInputError(`query parameter \`${name}\` must be given once`, [
      { path: `/${name}`, message: 'must be a single string' },
    ]);
  return v;
}

function queryUid(req: Request, name: string): EntityRef | undefined {
  const v = queryString(req, name);
  if (v === undefined) return undefined;
  const ref = parseUid(v);
  if (!ref)
    throw new InvalidInputError(`query parameter \`${name}\` is not an entity uid`, [
      { path: `/${name}`, message: 'expected `Type::"id"`' },
    ]);
  return ref;
}

function paging(req: Request): { limit?: number; cursor?: string } {
  const limit = queryString(req, 'limit');
  const cursor = queryString(req, 'cursor');
  if (limit !== undefined && !/^[1-9]\d{0,3}$/.test(limit))
    throw new InvalidInputError('`limit` must be a positive integer', [
      { path: '/limit', message: 'must be an integer between 1 and 9999' },
    ]);
  return { ...(limit ? { limit: Number(limit) } : {}), ...(cursor ? { cursor } : {}) };
}

/** `/v1/delegations*`, `/v1/goals*`, `/v1/intents`. Expects the JSON body parsed upstream. */
export function createGovernanceRouter(deps: GovernanceRouterDeps): Router {
  const router = express.Router();
  const auth = deps.guard ?? requireAuth(deps.auth);
  const maxDepth = deps.maxDelegationDepth ?? 4;
  const newId = deps.newId ?? randomUUID;
  const v = {
    createDelegation: validatorFor<CreateDelegationBody>(schema('delegation-create')),
    revoke: validatorFor<{ reason?: string }>(schema('delegation-revoke')),
    token: validatorFor<TokenBody>(schema('delegation-token-request')),
    createGoal: validatorFor<CreateGoalBody>(schema('goal-create')),
    patchGoal: validatorFor<{ status: GoalStatus }>(schema('goal-patch')),
    usage: validatorFor<UsageBody>(schema('goal-usage')),
  };

  /** The grants from `grant` up to its root, grant first. Bounded: a corrupt parent loop stops. */
  async function ancestry(grant: DelegationGrant): Promise<DelegationGrant[]> {
    const out = [grant];
    let cur = grant;
    while (cur.parentId !== undefined && out.length <= maxDepth + 1) {
      const parent = await deps.delegations.get(cur.parentId);
      if (!parent || out.some((g) => g.id === parent.id)) break;
      out.push(parent);
      cur = parent;
    }
    return out;
  }

  async function loadGrant(id: string): Promise<DelegationGrant> {
    const g = await deps.delegations.get(id);
    if (!g) throw new NotFoundError(`delegation \`${id}\` does not exist`);
    return g;
  }

  /** May `p` see or revoke `grant`: admin, its grantee, or any grantor up its chain. */
  async function involved(p: AuthPrincipal, grant: DelegationGrant): Promise<boolean> {
    if (p.kind === 'admin') return true;
    const me = callerEntity(p);
    if (!me) return false;
    if (sameEntity(grant.to, me)) return true;
    return (await ancestry(grant)).some((g) => sameEntity(g.from, me));
  }

  // ---- delegations ------------------------------------------------------------------------

  router.post(
    '/v1/delegations',
    auth,
    asyncRoute(async (req, res) => {
      const p = principalOf(res);
      const body = parse(v.createDelegation, req.body, 'delegation');
      const now = deps.clock();
      const me = callerEntity(p);
      let from: EntityRef;
      if (p.kind === 'admin') {
        from = adminGrantor(body);
      } else if (me && (p.kind === 'human' || p.kind === 'agent')) {
        if (body.from && !sameEntity(body.from, me)) throw new ForbiddenError(`a ${p.kind} grants only as itself`);
        if (body.onBehalfOf !== undefined) throw new ForbiddenError('only an admin grants on behalf of someone else');
        from = me;
      } else {
        throw new ForbiddenError('only humans, agents and admins grant delegations');
      }
      if (body.to.type !== 'Agent') throw new InvalidInputError('grants go to agents', [{ path: '/to/type', message: 'must be `Agent`' }]);
      if (sameEntity(body.to, from))
        throw new InvalidInputError('an entity cannot grant to itself', [{ path: '/to', message: 'equals the grantor' }]);
      if (isExpired(body.expiresAt, now.getTime()))
        throw new InvalidInputError('`expiresAt` is in the past', [{ path: '/expiresAt', message: 'must be in the future' }]);

      let parent: DelegationGrant | undefined;
      let depth = 1;
      let grantMaxDepth = body.maxDepth;
      if (from.type === 'Agent') {
        const held = await heldGrant(from, body, now);
        parent = held.grant;
        const chain = await ancestry(parent);
        depth = chain.length + 1;
        const entities = [chain[chain.length - 1]!.from, ...chain.map((g) => g.to).reverse()];
        for (const e of entities) {
          const trust = e.type === 'Agent' && deps.agentTrust ? await deps.agentTrust(e.id) : undefined;
          if (trust === 'revoked' || trust === 'quarantined') {
            const code = trust === 'revoked' ? 'agent_revoked' : 'agent_quarantined';
            throw forbidden('/from', code, `agent \`${e.id}\` is ${trust}: no authority passes through it`);
          }
        }
        if (entities.some((e) => sameEntity(e, body.to))) {
          throw new ConflictError('the grant would create a cycle', [
            { path: '/to', message: `delegation_cycle: \`${formatUid(body.to)}\` is already in the chain` },
          ]);
        }
        if (parent.maxDepth !== undefined) {
          const allowed = parent.maxDepth - 1;
          if (allowed < 1) throw forbidden('/parent', 'delegation_depth_exceeded', `grant \`${parent.id}\` does not allow re-delegation`);
          grantMaxDepth = Math.min(grantMaxDepth ?? allowed, allowed);
        }
      }
      if (depth > maxDepth)
        throw forbidden('/to', 'delegation_depth_exceeded', `the chain would be ${depth} hops deep; the maximum is ${maxDepth}`);

      const grant = await deps.delegations.create({
        id: newId(),
        from,
        to: body.to,
        scope: body.scope,
        expiresAt: body.expiresAt,
        ...(grantMaxDepth === undefined ? {} : { maxDepth: grantMaxDepth }),
        ...(parent ? { parentId: parent.id } : {}),
        createdBy: p.subject,
      });
      res.status(201).json(grant);
    }),
  );

  /** The grant an agent delegates from: the named one, or any active one it holds that covers the request. */
  async function heldGrant(agent: EntityRef, body: CreateDelegationBody, now: Date): Promise<{ grant: DelegationGrant }> {
    const candidates: DelegationGrant[] = [];
    if (body.parent !== undefined) {
      const g = await deps.delegations.get(body.parent);
      if (!g || !sameEntity(g.to, agent))
        throw forbidden('/parent', 'delegation_unknown_hop', `\`${formatUid(agent)}\` holds no grant \`${body.parent}\``);
      if (!isActive(g, now))
        throw forbidden('/parent', g.revokedAt ? 'delegation_revoked' : 'delegation_expired', `grant \`${g.id}\` is no longer active`);
      candidates.push(g);
    } else {
      candidates.push(...(await deps.delegations.list({ to: agent, active: true, at: now.toISOString(), limit: 100 })).items);
      if (candidates.length === 0)
        throw forbidden('/from', 'delegation_unknown_hop', `\`${formatUid(agent)}\` holds no active grant to delegate from`);
    }
    const covering = candidates.filter((g) => isSubset(body.scope, g.scope));
    if (covering.length === 0) {
      const w = widenedPatterns(body.scope, candidates[0]!.scope);
      throw forbidden(
        '/scope',
        'delegation_scope_widened',
        `the scope exceeds what \`${formatUid(agent)}\` holds: ${[...w.actions, ...w.resources].map((x) => `\`${x}\``).join(', ')}`,
      );
    }
    const lasting = covering.filter((g) => Date.parse(body.expiresAt) <= Date.parse(g.expiresAt));
    if (lasting.length === 0)
      throw forbidden(
        '/expiresAt',
        'delegation_outlives_parent',
        `the grant would outlive every grant \`${formatUid(agent)}\` holds for this scope`,
      );
    return { grant: lasting[0]! };
  }

  router.get(
    '/v1/delegations',
    auth,
    asyncRoute(async (req, res) => {
      onlyQuery(req, ['from', 'to', 'active', 'limit', 'cursor']);
      const p = principalOf(res);
      const from = queryUid(req, 'from');
      const to = queryUid(req, 'to');
      const active = queryString(req, 'active');
      if (active !== undefined && active !== 'true' && active !== 'false')
        throw new InvalidInputError('`active` must be true or false', [{ path: '/active', message: 'must be `true` or `false`' }]);
      if (p.kind !== 'admin') {
        const me = callerEntity(p);
        if (!me || !((from && sameEntity(from, me)) || (to && sameEntity(to, me)))) {
          throw new ForbiddenError('list the grants you gave (`from`) or hold (`to`)');
        }
      }
      const query: DelegationQuery = {
        ...paging(req),
        ...(from ? { from } : {}),
        ...(to ? { to } : {}),
        ...(active ? { active: active === 'true', at: deps.clock().toISOString() } : {}),
      };
      res.json(await deps.delegations.list(query));
    }),
  );

  router.get(
    '/v1/delegations/:id',
    auth,
    asyncRoute(async (req, res) => {
      const grant = await loadGrant(String(req.params.id));
      if (!(await involved(principalOf(res), grant))) throw new NotFoundError(`delegation \`${grant.id}\` does not exist`);
      res.json({ ...grant, active: isActive(grant, deps.clock()) });
    }),
  );

  router.post(
    '/v1/delegations/:id/revoke',
    auth,
    asyncRoute(async (req, res) => {
      const p = principalOf(res);
      const body = parse(v.revoke, req.body, 'revocation');
      const grant = await loadGrant(String(req.params.id));
      if (!(await involved(p, grant))) throw new NotFoundError(`delegation \`${grant.id}\` does not exist`);
      const revoked = await deps.delegations.revoke(grant.id, p.subject, body.reason ?? '');
      const at = deps.clock().toISOString();
      if (revoked.length > 0) await deps.events.publish(TOPICS.delegationRevoked, { ids: revoked, root: grant.id, by: p.subject, at });
      res.json({ revoked, at });
    }),
  );

  router.post(
    '/v1/delegations/token',
    auth,
    asyncRoute(async (req, res) => {
      const p = principalOf(res);
      const body = parse(v.token, req.body, 'token request');
      if (!deps.signer) throw new UnavailableError('delegation tokens are not configured');
      const me = callerEntity(p);
      const first = body.chain[0]!;
      const last = body.chain[body.chain.length - 1]!;
      if (p.kind !== 'admin' && !(me && (sameEntity(me, first) || sameEntity(me, last)))) {
        throw new ForbiddenError("a token is issued to the chain's principal or its root human");
      }
      const now = deps.clock();
      const pairs = body.chain.slice(1).map((to, i) => [body.chain[i]!, to] as const);
      const found = await Promise.all(pairs.map(([f, t]) => deps.delegations.findActive(f, t, now.toISOString())));
      // As at a decision: a hop whose grant was carved out of another chain is looked up under the previous hop's grant.
      const grants = await linkGrants(
        body.chain,
        (f, t) => found[pairs.findIndex(([a, b]) => sameEntity(a, f) && sameEntity(b, t))],
        async (f, t, parentId) =>
          (await deps.delegations.list({ from: f, to: t, active: true, at: now.toISOString(), limit: 20 })).items.find(
            (g) => g.parentId === parentId,
          ),
      );
      const chain = verifyChain({ chain: body.chain, grants, now, maxDepth });
      if (!chain.ok) throw forbidden(`/chain/${chain.hop}`, chain.code, chain.message);
      const signer = deps.signer;
      const token = await signDelegationToken({
        hops: chain.hops,
        privateKey: signer.privateKey,
        now,
        ttlSeconds: body.ttlSeconds ?? signer.ttlSeconds,
        issuer: signer.issuer,
        ...(signer.audience ? { audience: signer.audience } : {}),
        ...(signer.kid ? { kid: signer.kid } : {}),
        tokenId: newId(),
      });
      const exp = JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString('utf8')) as { exp: number };
      res.status(201).json({ token, expiresAt: new Date(exp.exp * 1000).toISOString(), grants: chain.grantIds, depth: chain.depth });
    }),
  );

  // ---- goals --------------------------------------------------------------------------------

  /** The goal, if `p` may see it: its owner, an agent it assigns, or an admin. Otherwise the same 404 as for no goal. */
  async function readableGoal(p: AuthPrincipal, id: string): Promise<Goal> {
    const g = await deps.goals.get(id);
    if (
      !g ||
      !(p.kind === 'admin' || (p.kind === 'human' && p.subject === g.owner) || (p.kind === 'agent' && g.agents.includes(p.subject)))
    )
      throw new NotFoundError(`goal \`${id}\` does not exist`);
    return g;
  }

  /**
   * The goal a usage report charges: one the caller may read, or, for the enforcement proxy's
   * service credential (which reports the tokens and cost of the calls it forwarded), a goal that
   * lists the reported agent.
   */
  async function goalForUsage(p: AuthPrincipal, id: string, agent: string | undefined): Promise<Goal> {
    if (p.kind !== 'service' || p.subject !== PROXY_SERVICE) return readableGoal(p, id);
    const g = await deps.goals.get(id);
    if (!g || agent === undefined || !g.agents.includes(agent)) throw new NotFoundError(`goal \`${id}\` does not exist`);
    return g;
  }

  /** A goal as readers see it: an active or paused goal past its `expiresAt` reads `expired`. */
  function reported(g: Goal): Goal {
    const status = reportedGoalStatus(g, deps.clock());
    return status === g.status ? g : { ...g, status };
  }

  async function withUsage(g: Goal): Promise<Goal & { usage: unknown }> {
    const used = await deps.budget.get(g.id);
    return { ...reported(g), usage: { used, remaining: budgetLeft(g.budget, used) } };
  }

  router.post(
    '/v1/goals',
    auth,
    asyncRoute(async (req, res) => {
      const p = principalOf(res);
      const body = parse(v.createGoal, req.body, 'goal');
      const owner = goalOwner(p, body);
      const unknown = unknownIntents(deps.intents, body.intents);
      if (unknown.length > 0) {
        throw new InvalidInputError(
          'unknown intents',
          body.intents.flatMap((name, i) =>
            unknown.includes(name) ? [{ path: `/intents/${i}`, message: `intent \`${name}\` is not in the catalogue` }] : [],
          ),
        );
      }
      if (isExpired(body.expiresAt, deps.clock().getTime()))
        throw new InvalidInputError('`expiresAt` is in the past', [{ path: '/expiresAt', message: 'must be in the future' }]);
      const goal = await deps.goals.create({
        id: body.id ?? newId(),
        owner,
        objective: body.objective,
        intents: body.intents,
        agents: body.agents,
        expiresAt: body.expiresAt,
        ...(body.budget ? { budget: body.budget } : {}),
      });
      await deps.events.publish(TOPICS.goalChanged, { id: goal.id, status: goal.status, change: 'created' });
      res.status(201).json(await withUsage(goal));
    }),
  );

  router.get(
    '/v1/goals',
    auth,
    asyncRoute(async (req, res) => {
      onlyQuery(req, ['status', 'owner', 'agent', 'limit', 'cursor']);
      const p = principalOf(res);
      const status = queryString(req, 'status');
      if (status !== undefined && !['active', 'paused', 'completed', 'cancelled', 'expired'].includes(status)) {
        throw new InvalidInputError('unknown status', [{ path: '/status', message: 'must be a goal status' }]);
      }
      const owner = queryString(req, 'owner');
      const agent = queryString(req, 'agent');
      // The store filters on the stored status; an expired goal may be stored `active` or `paused`,
      // so `expired` reads them all and keeps those reported expired (a page may hold fewer than
      // `limit`; `next_cursor` still says whether more follow).
      const wanted = status as GoalStatus | undefined;
      const query: GoalQuery = {
        ...paging(req),
        ...(owner ? { owner } : {}),
        ...(agent ? { agent } : {}),
        ...(wanted && wanted !== 'expired' ? { status: wanted } : {}),
      };
      // Non-admins see only their own goals (as owner or as assigned agent).
      if (p.kind === 'human') query.owner = p.subject;
      else if (p.kind === 'agent') query.agent = p.subject;
      else if (p.kind !== 'admin') throw new ForbiddenError('goals are visible to their owners, agents and admins');
      const page = await deps.goals.list(query);
      res.json({ ...page, items: page.items.map(reported).filter((g) => wanted === undefined || g.status === wanted) });
    }),
  );

  router.get(
    '/v1/goals/:id',
    auth,
    asyncRoute(async (req, res) => {
      const g = await readableGoal(principalOf(res), String(req.params.id));
      res.json(await withUsage(g));
    }),
  );

  router.patch(
    '/v1/goals/:id',
    auth,
    asyncRoute(async (req, res) => {
      const p = principalOf(res);
      const body = parse(v.patchGoal, req.body, 'goal change');
      const g = await readableGoal(p, String(req.params.id));
      if (!(p.kind === 'admin' || (p.kind === 'human' && p.subject === g.owner)))
        throw new ForbiddenError("only the goal's owner changes its status");
      const from = reported(g).status;
      if (!canTransition(from, body.status))
        throw new ConflictError(`goal \`${g.id}\` cannot move from ${from} to ${body.status}`, [
          { path: '/status', message: `illegal transition from \`${from}\`` },
        ]);
      const updated = await deps.goals.updateStatus(g.id, body.status, { expectedVersion: g.version });
      await deps.events.publish(TOPICS.goalChanged, { id: g.id, status: updated.status, change: 'status' });
      res.json(await withUsage(updated));
    }),
  );

  router.post(
    '/v1/goals/:id/usage',
    auth,
    asyncRoute(async (req, res) => {
      const p = principalOf(res);
      const body = parse(v.usage, req.body, 'usage report');
      const g = await goalForUsage(p, String(req.params.id), body.agent);
      const used = await deps.budget.report(g.id, {
        ...(body.actions !== undefined ? { actions: body.actions } : {}),
        ...(body.tokens !== undefined ? { tokens: body.tokens } : {}),
        ...(body.costUsd !== undefined ? { costUsd: body.costUsd } : {}),
      });
      res.json({ goal: g.id, used, remaining: budgetLeft(g.budget, used) });
    }),
  );

  // ---- intents -----------------------------------------------------------------------------

  router.get('/v1/intents', auth, (_req, res) => {
    res.json(deps.intents);
  });

  return router;
}

/**
 * The grantor an admin names: `onBehalfOf` (a human id) or `from` (a Human for a root grant, an
 * Agent for a hop below a grant that agent holds). Both given must agree.
 */
function adminGrantor(body: CreateDelegationBody): EntityRef {
  const named = body.onBehalfOf !== undefined ? { type: 'Human', id: body.onBehalfOf } : undefined;
  if (named && body.from && !sameEntity(named, body.from)) {
    throw new InvalidInputError('`from` and `onBehalfOf` name different grantors', [
      { path: '/onBehalfOf', message: `differs from \`${formatUid(body.from)}\`` },
    ]);
  }
  const from = named ?? body.from;
  if (!from) {
    const errors = [{ path: '/onBehalfOf', message: 'name the human (or give `from`)' }];
    throw new InvalidInputError('an admin grants on behalf of a named human or agent', errors);
  }
  const type = from.type.replace(/^Argus::/, '');
  if (type !== 'Human' && type !== 'Agent') {
    throw new InvalidInputError('grantors are humans or agents', [{ path: '/from/type', message: 'must be `Human` or `Agent`' }]);
  }
  return { type, id: from.id };
}

/** The owner of a new goal: the calling human, or the human an admin names with `onBehalfOf`. */
function goalOwner(p: AuthPrincipal, body: CreateGoalBody): string {
  if (p.kind === 'admin') {
    if (body.onBehalfOf === undefined) {
      const errors = [{ path: '/onBehalfOf', message: 'name the human who owns the goal' }];
      throw new InvalidInputError('an admin sets a goal on behalf of a named human', errors);
    }
    return body.onBehalfOf;
  }
  if (p.kind !== 'human') throw new ForbiddenError('goals are set by humans (or an admin on behalf of one)');
  if (body.onBehalfOf !== undefined && body.onBehalfOf !== p.subject) {
    throw new ForbiddenError('only an admin sets a goal on behalf of someone else');
  }
  return p.subject;
}

/** A 403 whose detail carries the stable governance reason code. */
function forbidden(path: string, code: DenyCode, message: string): ArgusError {
  return new ArgusError('forbidden', message, { errors: [{ path, message: `${code}: ${message}` }] });
}
