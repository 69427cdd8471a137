import { Router } from 'express';
import { asyncRoute, InvalidInputError, principalOf, requireAdmin, requireAuth, requireRole } from '@argus/platform';
import { canonicalJson, type Agent, type AgentPatch, type AgentQuery, type NewAgent, type TrustState } from '@argus/store';
import { ifMatch, pathId, queryOf, sendRecord, validate, type ResolvedDeps } from '../deps.ts';
import { page } from './humans.ts';
import { deleteRoute, readRoute, retryOnConflict, sendCreated, sendReported, updateExpecting } from './record-routes.ts';
import { mountTrustRoutes } from './trust.ts';

type AgentBody = Omit<NewAgent, 'discoveredBy' | 'lastSeen'> & { owner: string; trust?: TrustState };
type UpsertBody = Omit<AgentPatch, 'lastSeen'> & { name: string };

/** The fields a decision reads: a change to any of them must invalidate caches. */
function material(a: Agent): string {
  const { lastSeen: _l, updatedAt: _u, version: _v, ...rest } = a;
  return canonicalJson(rest);
}

/** The same capabilities in any order (policies ask `contains`, never a position). */
const capabilitySet = (caps: readonly string[]) => canonicalJson([...new Set(caps)].sort());

/**
 * The fields of `existing` a decision reads as authority that `report` names with another value,
 * as `/field` paths: the owner (the `owner` relation, the root approver of its held requests),
 * `kind`, `capabilities` and `labels` (`clearance`, the quota key `tenant`). A scanner's upsert
 * may set them on a record it creates, never change them on an existing one (that is an admin's
 * `PATCH`): there they are ignored. Trust has its own route.
 */
function authorityChanges(existing: Agent, report: UpsertBody): string[] {
  const changed: string[] = [];
  if (report.owner !== undefined && report.owner !== existing.owner) changed.push('/owner');
  if (report.kind !== undefined && report.kind !== existing.kind) changed.push('/kind');
  if (report.capabilities !== undefined && capabilitySet(report.capabilities) !== capabilitySet(existing.capabilities))
    changed.push('/capabilities');
  if (report.labels !== undefined && canonicalJson(report.labels) !== canonicalJson(existing.labels)) changed.push('/labels');
  return changed;
}

/** The labels a decision reads as authority: `clearance` (the agent's entity), `tenant` (the quota key). */
const AUTHORITY_LABELS = ['clearance', 'tenant'] as const;

/** What a scanner's report of a new agent names that grants authority, as `/field` paths. */
function grantedOnCreate(report: UpsertBody): string[] {
  const labels = report.labels ?? {};
  return [
    ...(report.owner !== undefined ? ['/owner'] : []),
    ...AUTHORITY_LABELS.filter((k) => Object.hasOwn(labels, k)).map((k) => `/labels/${k}`),
  ];
}

/** The report without what grants authority ({@link grantedOnCreate}). */
function withoutGranted(report: UpsertBody): UpsertBody {
  const { owner: _owner, labels, ...rest } = report;
  if (!labels) return rest;
  const kept = Object.fromEntries(Object.entries(labels).filter(([k]) => !(AUTHORITY_LABELS as readonly string[]).includes(k)));
  return { ...rest, labels: kept };
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
      await sendCreated(res, deps, 'agent', await deps.store.createAgent(body, principalOf(res).subject));
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
    readRoute(deps, 'agent', (id) => deps.store.getAgent(id)),
  );

  r.patch(
    '/:id',
    admin,
    asyncRoute(async (req, res) => {
      const id = pathId(req);
      const expected = ifMatch(req);
      const patch = validate<AgentPatch>('agent-patch', req.body);
      await checkOwner(patch.owner);
      const agent = await updateExpecting(expected, (options) => deps.store.updateAgent(id, patch, options));
      sendRecord(res, 200, agent);
      await deps.changed({ kind: 'agent', id, change: 'updated', trust: agent.trust });
    }),
  );

  r.delete(
    '/:id',
    admin,
    deleteRoute(
      deps,
      'agent',
      (id) => deps.store.getAgent(id),
      (id) => deps.store.deleteAgent(id),
    ),
  );

  r.put(
    '/:id',
    requireRole(deps.auth, 'scanner'),
    asyncRoute(async (req, res) => {
      const id = pathId(req);
      const body = validate<UpsertBody>('agent-upsert', req.body);
      const by = principalOf(res).subject;
      const lastSeen = deps.clock().toISOString();
      await retryOnConflict(async () => {
        const existing = await deps.store.getAgent(id);
        if (!existing) {
          // A scanner creates what it observed, not who answers for the agent nor what it may do:
          // the owner (the root approver of its held requests) and the labels a decision reads as
          // authority are an admin's to set, even on a new record.
          const scanner = principalOf(res).kind === 'scanner';
          const dropped = scanner ? grantedOnCreate(body) : [];
          const report = scanner ? withoutGranted(body) : body;
          if (dropped.length > 0) res.setHeader('x-argus-ignored', dropped.join(','));
          await checkOwner(report.owner);
          const agent = await deps.store.createAgent({ ...report, id, discoveredBy: by, lastSeen }, by);
          return sendReported(res, deps, 'agent', 201, agent, 'created');
        }
        // What grants authority is never changed by a report: kept as the registry has it, and
        // the report still refreshes what discovery observes (a refusal would stop every later scan
        // of an agent an admin has labelled). The answer names what was ignored.
        const ignored = authorityChanges(existing, body);
        if (ignored.length > 0) {
          res.setHeader('x-argus-ignored', ignored.join(','));
          deps.logger.debug(
            { agent: id, scanner: by, ignored },
            'a scanner report named authority fields other than the record; kept the record',
          );
        }
        const { owner: _o, kind: _k, labels: _l, capabilities: _c, ...observed } = body;
        const agent = await deps.store.updateAgent(id, { ...observed, lastSeen }, { expectedVersion: existing.version });
        await sendReported(res, deps, 'agent', 200, agent, material(agent) === material(existing) ? 'seen' : 'updated');
      });
    }),
  );

  mountTrustRoutes(r, 'agent', deps);
  return r;
}
