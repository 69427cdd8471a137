import { Router } from 'express';
import { asyncRoute, ConflictError, InvalidInputError, principalOf, requireAdmin, requireAuth, requireRole } from '@argus/platform';
import { canonicalJson, type Agent, type AgentPatch, type AgentQuery, type NewAgent, type TrustState } from '@argus/store';
import { asPrecondition, ifMatch, pathId, queryOf, sendRecord, validate, type ResolvedDeps } from '../deps.ts';
import { page } from './humans.ts';
import { mountTrustRoutes } from './trust.ts';

type AgentBody = Omit<NewAgent, 'discoveredBy' | 'lastSeen'> & { owner: string; trust?: TrustState };
type UpsertBody = Omit<AgentPatch, 'lastSeen'> & { name: string };

/** How many times a scanner report is retried when a concurrent writer bumped the version. */
const UPSERT_ATTEMPTS = 3;

/** The fields a decision reads: a change to any of them must invalidate caches. */
function material(a: Agent): string {
  const { lastSeen: _l, updatedAt: _u, version: _v, ...rest } = a;
  return canonicalJson(rest);
}

/** `/v1/registry/agents`: CRUD, the scanners' idempotent upsert, trust, history and leases. */
export function agentsRouter(deps: ResolvedDeps): Router {
  const r = Router();
  const admin = requireAdmin(deps.auth);
  const reader = requireAuth(deps.auth);

  const checkOwner = async (owner: string | undefined) => {
    if (owner !== undefined && !(await deps.store.getHuman(owner))) {
      throw new InvalidInputError('unknown owner', [{ path: '/owner', message: `no human \`${owner}\` in the registry` }]);
    }
  };

  r.post(
    '/',
    admin,
    asyncRoute(async (req, res) => {
      const body = validate<AgentBody>('agent-create', req.body);
      await checkOwner(body.owner);
      const agent = await deps.store.createAgent(body, principalOf(res).subject);
      res.setHeader('location', `/v1/registry/agents/${encodeURIComponent(agent.id)}`);
      sendRecord(res, 201, agent);
      await deps.changed({ kind: 'agent', id: agent.id, change: 'created', trust: agent.trust });
    }),
  );

  r.get(
    '/',
    reader,
    asyncRoute(async (req, res) => {
      const q = validate<Record<string, string>>('agents-query', queryOf(req), 'query');
      const query: AgentQuery = { ...page(q) };
      if (q.trust) query.trust = q.trust as TrustState;
      if (q.owner) query.owner = q.owner;
      if (q.kind) query.kind = q.kind;
      if (q.discoveredBy) query.discoveredBy = q.discoveredBy;
      if (q.label) {
        const eq = q.label.indexOf('=');
        query.label = eq < 0 ? { key: q.label } : { key: q.label.slice(0, eq), value: q.label.slice(eq + 1) };
      }
      res.json(await deps.store.listAgents(query));
    }),
  );

  r.get(
    '/:id',
    reader,
    asyncRoute(async (req, res) => {
      const id = pathId(req);
      const agent = await deps.store.getAgent(id);
      if (!agent) return void res.status(404).json({ code: 'not_found', message: `agent \`${id}\` not found`, errors: [] });
      // The lease is read, never waited for: with Redis down the record is still served, lease `unknown`.
      sendRecord(res, 200, agent, { lease: await deps.leases.get('agent', id) });
    }),
  );

  r.patch(
    '/:id',
    admin,
    asyncRoute(async (req, res) => {
      const id = pathId(req);
      const expected = ifMatch(req);
      const patch = validate<AgentPatch>('agent-patch', req.body);
      await checkOwner(patch.owner);
      const agent = await deps.store
        .updateAgent(id, patch, expected !== undefined ? { expectedVersion: expected } : {})
        .catch((err: unknown) => {
          throw asPrecondition(err, expected);
        });
      sendRecord(res, 200, agent);
      await deps.changed({ kind: 'agent', id, change: 'updated', trust: agent.trust });
    }),
  );

  r.delete(
    '/:id',
    admin,
    asyncRoute(async (req, res) => {
      const id = pathId(req);
      if (!(await deps.store.deleteAgent(id)))
        return void res.status(404).json({ code: 'not_found', message: `agent \`${id}\` not found`, errors: [] });
      await deps.leases.drop('agent', id).catch(() => undefined);
      res.status(204).end();
      await deps.changed({ kind: 'agent', id, change: 'deleted' });
    }),
  );

  r.put(
    '/:id',
    requireRole(deps.auth, 'scanner'),
    asyncRoute(async (req, res) => {
      const id = pathId(req);
      const body = validate<UpsertBody>('agent-upsert', req.body);
      const by = principalOf(res).subject;
      const lastSeen = deps.clock().toISOString();
      for (let attempt = 1; ; attempt++) {
        try {
          const existing = await deps.store.getAgent(id);
          if (!existing) {
            await checkOwner(body.owner);
            const agent = await deps.store.createAgent({ ...body, id, discoveredBy: by, lastSeen }, by);
            const lease = await renewQuietly(deps, 'agent', id);
            sendRecord(res, 201, agent, { lease });
            await deps.changed({ kind: 'agent', id, change: 'created', trust: agent.trust });
            return;
          }
          // A scanner never reassigns an owner an admin set; it may fill one in.
          const { owner, ...reported } = body;
          const fill = existing.owner === undefined && owner !== undefined ? { owner } : {};
          if (fill.owner !== undefined) await checkOwner(fill.owner);
          const agent = await deps.store.updateAgent(id, { ...reported, ...fill, lastSeen }, { expectedVersion: existing.version });
          const lease = await renewQuietly(deps, 'agent', id);
          sendRecord(res, 200, agent, { lease });
          await deps.changed({
            kind: 'agent',
            id,
            change: material(agent) === material(existing) ? 'seen' : 'updated',
            trust: agent.trust,
          });
          return;
        } catch (err) {
          if (!(err instanceof ConflictError) || attempt >= UPSERT_ATTEMPTS) throw err;
        }
      }
    }),
  );

  mountTrustRoutes(r, 'agent', deps);
  return r;
}

/** Renews the lease of a record a scanner just saw; a lease store outage does not fail the report. */
export async function renewQuietly(deps: ResolvedDeps, kind: 'agent' | 'mcp-server', id: string) {
  try {
    return await deps.leases.renew(kind, id, deps.limits.defaultLeaseTtlMs);
  } catch (err) {
    deps.logger.warn({ kind, id, err: err instanceof Error ? err.message : String(err) }, 'lease not renewed');
    return { state: 'unknown' as const };
  }
}
