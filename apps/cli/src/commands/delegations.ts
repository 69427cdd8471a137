/**
 * `argus delegations grant|list|revoke`: delegation grants on a running Argus, over HTTP.
 *
 * With a human's or an agent's own token the grant is made as that caller; with the admin token
 * (what `argus serve` writes to `.argus/admin-token`) it is made on behalf of a named human
 * (`--on-behalf-of alice`) or, for a hop below a grant an agent holds, of a named agent
 * (`--from-agent orchestrator`). The server checks the attenuation (scope subset, expiry, depth).
 * Exit codes: 0 ok, 1 refused by the server, 2 cannot run.
 */
import type { EntityRef } from '@argus/contracts';
import type { DelegationGrant } from '@argus/store';
import type { Command } from 'commander';
import {
  callServer,
  CannotRun,
  collect,
  expiryOf,
  listAll,
  printAnswer,
  printTable,
  processServerIo,
  runServerCommand,
  serverOptions,
  wholeNumber,
  type ServerCliIo,
  type ServerOptions,
} from './server-client.ts';

/** A grant as the server answers it: the store's record. */
export type GrantRecord = DelegationGrant;

/** Options of `argus delegations grant`. */
export interface GrantCliOptions extends ServerOptions {
  action?: string[];
  resource?: string[];
  expires: string;
  onBehalfOf?: string;
  fromAgent?: string;
  parent?: string;
  maxDepth?: string;
}

/** Options of `argus delegations list`. */
export interface ListDelegationsOptions extends ServerOptions {
  to?: string;
  fromHuman?: string;
  fromAgent?: string;
  active?: boolean;
  limit?: string;
}

/** Options of `argus delegations revoke`. */
export interface RevokeCliOptions extends ServerOptions {
  reason?: string;
}

const uid = (e: EntityRef) => `${e.type.replace(/^Argus::/, '')}::"${e.id}"`;

/** `argus delegations grant <agent>`: `POST /v1/delegations`. */
export function runGrant(to: string, opts: GrantCliOptions, io: ServerCliIo = processServerIo, now = new Date()): Promise<number> {
  return runServerCommand('delegations grant', io, async () => {
    const actions = opts.action ?? [];
    const resources = opts.resource ?? [];
    if (actions.length === 0 || resources.length === 0) {
      throw new CannotRun('a grant needs at least one --action and one --resource (e.g. --action tool:call --resource \'Tool::"crm.*"\')');
    }
    if (opts.onBehalfOf !== undefined && opts.fromAgent !== undefined) {
      throw new CannotRun('give --on-behalf-of (a root grant) or --from-agent (a hop below), not both');
    }
    const maxDepth = wholeNumber(opts.maxDepth, '--max-depth');
    const body = {
      to: { type: 'Agent', id: to },
      scope: { actions, resources },
      expiresAt: expiryOf(opts.expires, now),
      ...(opts.onBehalfOf !== undefined ? { onBehalfOf: opts.onBehalfOf } : {}),
      ...(opts.fromAgent !== undefined ? { from: { type: 'Agent', id: opts.fromAgent } } : {}),
      ...(opts.parent !== undefined ? { parent: opts.parent } : {}),
      ...(maxDepth !== undefined ? { maxDepth } : {}),
    };
    const grant = await callServer<GrantRecord>(opts, io, 'POST', '/v1/delegations', body);
    printAnswer(opts, io, grant, (g) => {
      const below = g.parentId ? ` (below ${g.parentId})` : '';
      return `granted ${g.id}: ${uid(g.from)} → ${uid(g.to)} ${describeScope(g)} until ${g.expiresAt}${below}\n`;
    });
  });
}

/** `argus delegations list`: `GET /v1/delegations`, every page. */
export function runListDelegations(opts: ListDelegationsOptions, io: ServerCliIo = processServerIo, now = new Date()): Promise<number> {
  return runServerCommand('delegations list', io, async () => {
    if (opts.fromHuman !== undefined && opts.fromAgent !== undefined) throw new CannotRun('give --from-human or --from-agent, not both');
    const limit = wholeNumber(opts.limit, '--limit') ?? 1000;
    const query = new URLSearchParams();
    if (opts.to !== undefined) query.set('to', uid({ type: 'Agent', id: opts.to }));
    if (opts.fromHuman !== undefined) query.set('from', uid({ type: 'Human', id: opts.fromHuman }));
    if (opts.fromAgent !== undefined) query.set('from', uid({ type: 'Agent', id: opts.fromAgent }));
    if (opts.active) query.set('active', 'true');
    const items = await listAll<GrantRecord>(opts, io, '/v1/delegations', query, limit);
    printTable(opts, io, items, 'no delegations', ['id', 'from', 'to', 'scope', 'expires', 'state', 'parent'], (g) => [
      g.id,
      uid(g.from),
      uid(g.to),
      describeScope(g),
      g.expiresAt,
      stateOf(g, now),
      g.parentId ?? '-',
    ]);
  });
}

/** `argus delegations revoke <id>`: `POST /v1/delegations/{id}/revoke` (cascades below it). */
export function runRevoke(id: string, opts: RevokeCliOptions, io: ServerCliIo = processServerIo): Promise<number> {
  return runServerCommand('delegations revoke', io, async () => {
    const body = opts.reason !== undefined ? { reason: opts.reason } : {};
    const path = `/v1/delegations/${encodeURIComponent(id)}/revoke`;
    const r = await callServer<{ revoked: string[]; at: string }>(opts, io, 'POST', path, body);
    printAnswer(opts, io, r, (a) =>
      a.revoked.length === 0 ? `${id} was already revoked\n` : `revoked ${a.revoked.join(', ')} at ${a.at}\n`,
    );
  });
}

function describeScope(g: GrantRecord): string {
  return `${g.scope.actions.join(',')} on ${g.scope.resources.join(',')}`;
}

function stateOf(g: GrantRecord, now: Date): string {
  if (g.revokedAt !== undefined) return 'revoked';
  return Date.parse(g.expiresAt) <= now.getTime() ? 'expired' : 'active';
}

/** Registers `argus delegations grant|list|revoke` on `program`. */
export function registerDelegationCommands(program: Command, io: ServerCliIo = processServerIo): Command {
  const delegations = program
    .command('delegations')
    .description('grant, list and revoke delegations on a running Argus (exit 0 ok, 1 refused, 2 cannot run)');
  serverOptions(
    delegations
      .command('grant')
      .description(
        'grant an agent a scope: as yourself, on behalf of a human (--on-behalf-of), ' +
          'or as a hop below a grant an agent holds (--from-agent)',
      )
      .argument('<agent>', 'the agent receiving the grant')
      .option('--action <pattern>', 'an action pattern, e.g. tool:call or llm:* (repeatable)', collect)
      .option('--resource <pattern>', 'a resource pattern, e.g. \'Tool::"crm.*"\' (repeatable)', collect)
      .option('--expires <when>', 'a duration (30m, 2h, 7d) or an ISO date-time', '1h')
      .option('--on-behalf-of <human>', 'admin: the human the root grant is made for')
      .option('--from-agent <agent>', 'admin: the agent delegating (from a grant it holds)')
      .option('--parent <grant-id>', 'the grant delegated from (default: one the grantor holds that covers the scope)')
      .option('--max-depth <n>', 'how many hops may follow below this grant'),
  ).action(async (agent: string, opts: GrantCliOptions) => {
    process.exitCode = await runGrant(agent, opts, io);
  });
  serverOptions(
    delegations
      .command('list')
      .description('list grants (an admin sees all; others those they gave or hold)')
      .option('--to <agent>', 'grants held by this agent')
      .option('--from-human <human>', 'grants made by this human')
      .option('--from-agent <agent>', 'grants made by this agent')
      .option('--active', 'only grants neither revoked nor expired')
      .option('--limit <n>', 'at most n grants', '1000'),
  ).action(async (opts: ListDelegationsOptions) => {
    process.exitCode = await runListDelegations(opts, io);
  });
  serverOptions(
    delegations
      .command('revoke')
      .description('revoke a grant and every grant below it')
      .argument('<id>', 'the grant id')
      .option('--reason <text>', 'why (recorded with the revocation)'),
  ).action(async (id: string, opts: RevokeCliOptions) => {
    process.exitCode = await runRevoke(id, opts, io);
  });
  return delegations;
}
