/**
 * The switches API: list what is stopped, stop an agent, a tool, an MCP server or everything,
 * and resume. Admin only (the permission table); every change is logged with who, when and why,
 * applied to this replica's snapshot at once and announced on the event bus for the others.
 *
 *   GET    /v1/switches                      → { switches: [...], snapshot: { fresh, ageMs, maxStaleMs } }
 *   PUT    /v1/switches/all                  { reason } → { switch }
 *   PUT    /v1/switches/{scope}/{id}         { reason } → { switch }     scope: agent | tool | server
 *   DELETE /v1/switches/all | /{scope}/{id}  → { resumed }               (404 when it was not stopped)
 *
 * A tool id is `<server>/<tool>`, as the proxy names `Tool::"<server>/<tool>"`; it may be sent
 * as two path segments or with the slash encoded (`github%2Fcreate_issue`).
 */
import express, { type Router } from 'express';
import { asyncRoute, InvalidInputError, NotFoundError, principalOf } from '@argus/platform';
import { ALL_SWITCH_ID, type EventBus, type SwitchRecord, type SwitchScope, type SwitchStore } from '@argus/store';
import type { Logger } from 'pino';
import { idProblem } from '@argus/decision';
import { announceSwitch, type SwitchBoard } from '../switches.ts';

/** What the switches routes need. */
export interface SwitchesRouterDeps {
  store: SwitchStore;
  board: SwitchBoard;
  events?: EventBus;
  logger: Logger;
}

/** Longest reason accepted (it is repeated in every deny the switch causes). */
export const MAX_SWITCH_REASON = 500;

const NAMED_SCOPES: ReadonlyArray<Exclude<SwitchScope, 'all'>> = ['agent', 'tool', 'server'];

/** Builds the switches router. */
export function switchesRouter(deps: SwitchesRouterDeps): Router {
  const router = express.Router();

  router.get(
    '/v1/switches',
    asyncRoute(async (_req, res) => {
      const switches = await deps.store.list();
      res.json({ switches, snapshot: deps.board.state() });
    }),
  );

  const stop = asyncRoute(async (req, res) => {
    const target = targetOf(req.path.slice('/v1/switches'.length));
    const by = principalOf(res).subject;
    const reason = reasonOf(req.body);
    const record = await deps.store.stop({ ...target, reason, by });
    deps.logger.warn({ switch: { scope: record.scope, id: record.id }, by, at: record.at, reason }, 'switch stopped');
    await applied(deps, record, 'stopped');
    res.json({ switch: record, snapshot: deps.board.state() });
  });
  const resume = asyncRoute(async (req, res) => {
    const target = targetOf(req.path.slice('/v1/switches'.length));
    const by = principalOf(res).subject;
    const resumed = await deps.store.resume(target.scope, target.id);
    if (!resumed) throw new NotFoundError(`${named(target)} is not stopped`);
    deps.logger.warn(
      { switch: { scope: target.scope, id: target.id }, by, at: new Date().toISOString(), stoppedBy: resumed.by },
      'switch resumed',
    );
    await applied(deps, resumed, 'resumed');
    res.json({ resumed, snapshot: deps.board.state() });
  });
  router.put('/v1/switches/all', stop);
  router.delete('/v1/switches/all', resume);
  // `*id`: one or more segments, so a tool id `<server>/<tool>` may be sent with its slash as is.
  router.put('/v1/switches/:scope/*id', stop);
  router.delete('/v1/switches/:scope/*id', resume);
  return router;
}

/** This replica sees the change before the answer; the others through the bus (or their periodic read). */
async function applied(deps: SwitchesRouterDeps, record: SwitchRecord, change: 'stopped' | 'resumed'): Promise<void> {
  await deps.board.refresh();
  await announceSwitch(deps.events, { scope: record.scope, id: record.id, change }, deps.logger);
}

/** `/all`, `/agent/<id>`, `/tool/<server>/<tool>`, `/server/<id>` (relative to `/v1/switches`) → scope and id. */
export function targetOf(path: string): { scope: SwitchScope; id: string } {
  const segments = path.split('/').filter((s, i) => i > 0 || s !== '');
  let decoded: string[];
  try {
    decoded = segments.map((s) => decodeURIComponent(s));
  } catch {
    throw new InvalidInputError('malformed percent-escape in the switch path', [{ path: '/id', message: 'malformed percent-escape' }]);
  }
  const [scope, ...rest] = decoded;
  if (scope === 'all') {
    if (rest.length > 0)
      throw new InvalidInputError('the `all` switch takes no id', [{ path: '/id', message: 'must be absent for scope `all`' }]);
    return { scope: 'all', id: ALL_SWITCH_ID };
  }
  if (!NAMED_SCOPES.includes(scope as Exclude<SwitchScope, 'all'>)) {
    throw new InvalidInputError(`unknown switch scope \`${scope ?? ''}\``, [
      { path: '/scope', message: 'must be one of all, agent, tool, server' },
    ]);
  }
  const id = rest.join('/');
  const problem = id === '' ? 'must not be empty' : idProblem(id);
  if (problem) throw new InvalidInputError(`invalid ${scope} id: ${problem}`, [{ path: '/id', message: `id ${problem}` }]);
  if (scope === 'tool') {
    const parts = id.split('/');
    if (parts.length !== 2 || parts.some((p) => p === '')) {
      throw new InvalidInputError(`invalid tool id \`${id}\`: expected \`<server>/<tool>\``, [
        { path: '/id', message: 'a tool id is `<server>/<tool>`' },
      ]);
    }
  } else if (rest.length > 1) {
    throw new InvalidInputError(`invalid ${scope} id \`${id}\`: one path segment expected`, [
      { path: '/id', message: 'must be one path segment (encode a `/` as %2F)' },
    ]);
  }
  return { scope: scope as SwitchScope, id };
}

/** The body of a stop: `{ "reason": "..." }`, non-empty, at most `MAX_SWITCH_REASON` characters. */
function reasonOf(body: unknown): string {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) {
    throw new InvalidInputError('a stop needs a JSON body `{ "reason": "..." }`', [
      { path: '', message: 'must be an object with `reason`' },
    ]);
  }
  const extra = Object.keys(body).filter((k) => k !== 'reason');
  if (extra.length > 0) throw new InvalidInputError(`unknown field \`${extra[0]}\``, [{ path: `/${extra[0]}`, message: 'unknown field' }]);
  const reason = (body as { reason?: unknown }).reason;
  if (typeof reason !== 'string' || reason.trim() === '')
    throw new InvalidInputError('a stop needs a reason', [{ path: '/reason', message: 'must be a non-empty string' }]);
  if (reason.length > MAX_SWITCH_REASON)
    throw new InvalidInputError(`the reason is longer than ${MAX_SWITCH_REASON} characters`, [
      { path: '/reason', message: `at most ${MAX_SWITCH_REASON} characters` },
    ]);
  // eslint-disable-next-line no-control-regex -- control characters are what is refused
  if (/[\u0000-\u001F\u007F]/.test(reason.replace(/\n/g, ' ')))
    throw new InvalidInputError('the reason holds control characters', [{ path: '/reason', message: 'no control characters' }]);
  return reason.trim();
}

function named(t: { scope: SwitchScope; id: string }): string {
  return t.scope === 'all' ? 'the `all` switch' : `${t.scope} \`${t.id}\``;
}
