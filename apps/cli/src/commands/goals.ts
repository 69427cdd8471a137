/**
 * `argus goals create|list|close`: goals on a running Argus, over HTTP.
 *
 * A human's own token creates a goal they own; the admin token creates one on behalf of a named
 * human (`--on-behalf-of alice`). `close` completes a goal (or cancels it with `--cancel`).
 * Exit codes: 0 ok, 1 refused by the server, 2 cannot run.
 */
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

/** A goal as the server answers it. */
export interface GoalRecord {
  id: string;
  owner: string;
  objective: string;
  intents: string[];
  agents: string[];
  status: string;
  expiresAt: string;
  budget?: { maxActions?: number; maxTokens?: number; maxCostUsd?: number };
  usage?: { used: { actions: number; tokens: number; costUsd: number } };
}

/** Options of `argus goals create`. */
export interface CreateGoalCliOptions extends ServerOptions {
  objective?: string;
  intent?: string[];
  agent?: string[];
  expires: string;
  onBehalfOf?: string;
  id?: string;
  maxActions?: string;
  maxTokens?: string;
  maxCostUsd?: string;
}

/** Options of `argus goals list`. */
export interface ListGoalsOptions extends ServerOptions {
  status?: string;
  owner?: string;
  agent?: string;
  limit?: string;
}

/** Options of `argus goals close`. */
export interface CloseGoalOptions extends ServerOptions {
  cancel?: boolean;
}

const STATUSES = ['active', 'paused', 'completed', 'cancelled', 'expired'];

/** `argus goals create`: `POST /v1/goals`. */
export function runCreateGoal(opts: CreateGoalCliOptions, io: ServerCliIo = processServerIo, now = new Date()): Promise<number> {
  return runServerCommand('goals create', io, async () => {
    if (!opts.objective) throw new CannotRun('a goal needs --objective "<what it is for>"');
    const intents = opts.intent ?? [];
    const agents = opts.agent ?? [];
    if (intents.length === 0) throw new CannotRun('a goal needs at least one --intent (see GET /v1/intents)');
    if (agents.length === 0) throw new CannotRun('a goal needs at least one --agent');
    const maxActions = wholeNumber(opts.maxActions, '--max-actions');
    const maxTokens = wholeNumber(opts.maxTokens, '--max-tokens');
    let maxCostUsd: number | undefined;
    if (opts.maxCostUsd !== undefined) {
      maxCostUsd = Number(opts.maxCostUsd);
      if (!/^\d+(\.\d+)?$/.test(opts.maxCostUsd) || !Number.isFinite(maxCostUsd)) {
        throw new CannotRun(`--max-cost-usd must be a non-negative number, got \`${opts.maxCostUsd}\``);
      }
    }
    const budget = {
      ...(maxActions !== undefined ? { maxActions } : {}),
      ...(maxTokens !== undefined ? { maxTokens } : {}),
      ...(maxCostUsd !== undefined ? { maxCostUsd } : {}),
    };
    const body = {
      ...(opts.id !== undefined ? { id: opts.id } : {}),
      ...(opts.onBehalfOf !== undefined ? { onBehalfOf: opts.onBehalfOf } : {}),
      objective: opts.objective,
      intents,
      agents,
      expiresAt: expiryOf(opts.expires, now),
      ...(Object.keys(budget).length > 0 ? { budget } : {}),
    };
    const goal = await callServer<GoalRecord>(opts, io, 'POST', '/v1/goals', body);
    printAnswer(opts, io, goal, (g) => {
      const what = `agents ${g.agents.join(', ')}; intents ${g.intents.join(', ')}; until ${g.expiresAt}`;
      return `created goal ${g.id} for ${g.owner}: ${what}\n`;
    });
  });
}

/** `argus goals list`: `GET /v1/goals`, every page. */
export function runListGoals(opts: ListGoalsOptions, io: ServerCliIo = processServerIo): Promise<number> {
  return runServerCommand('goals list', io, async () => {
    if (opts.status !== undefined && !STATUSES.includes(opts.status)) {
      throw new CannotRun(`--status must be one of ${STATUSES.join(', ')}, got \`${opts.status}\``);
    }
    const limit = wholeNumber(opts.limit, '--limit') ?? 1000;
    const query = new URLSearchParams();
    if (opts.status !== undefined) query.set('status', opts.status);
    if (opts.owner !== undefined) query.set('owner', opts.owner);
    if (opts.agent !== undefined) query.set('agent', opts.agent);
    const goals = await listAll<GoalRecord>(opts, io, '/v1/goals', query, limit);
    printTable(opts, io, goals, 'no goals', ['id', 'status', 'owner', 'agents', 'intents', 'expires', 'objective'], (g) => {
      const objective = g.objective.length > 60 ? `${g.objective.slice(0, 57)}...` : g.objective;
      return [g.id, g.status, g.owner, g.agents.join(','), g.intents.join(','), g.expiresAt, objective];
    });
  });
}

/** `argus goals close <id>`: `PATCH /v1/goals/{id}` to `completed` (or `cancelled`). */
export function runCloseGoal(id: string, opts: CloseGoalOptions, io: ServerCliIo = processServerIo): Promise<number> {
  return runServerCommand('goals close', io, async () => {
    const status = opts.cancel ? 'cancelled' : 'completed';
    const goal = await callServer<GoalRecord>(opts, io, 'PATCH', `/v1/goals/${encodeURIComponent(id)}`, { status });
    printAnswer(opts, io, goal, (g) => `goal ${g.id} is ${g.status}\n`);
  });
}

/** Registers `argus goals create|list|close` on `program`. */
export function registerGoalCommands(program: Command, io: ServerCliIo = processServerIo): Command {
  const goals = program
    .command('goals')
    .description('create, list and close goals on a running Argus (exit 0 ok, 1 refused, 2 cannot run)');
  serverOptions(
    goals
      .command('create')
      .description('set a goal: which agents may pursue it, for which intents, until when, with which budget')
      .requiredOption('--objective <text>', 'what the goal is for')
      .option('--intent <name>', 'an intent the goal allows (repeatable)', collect)
      .option('--agent <id>', 'an agent assigned to the goal (repeatable)', collect)
      .option('--expires <when>', 'a duration (30m, 2h, 7d) or an ISO date-time', '24h')
      .option('--on-behalf-of <human>', 'admin: the human who owns the goal')
      .option('--id <id>', 'the goal id (default: generated)')
      .option('--max-actions <n>', 'budget: allowed actions')
      .option('--max-tokens <n>', 'budget: model tokens')
      .option('--max-cost-usd <usd>', 'budget: cost in USD'),
  ).action(async (opts: CreateGoalCliOptions) => {
    process.exitCode = await runCreateGoal(opts, io);
  });
  serverOptions(
    goals
      .command('list')
      .description('list goals (an admin sees all; a human their own; an agent those it is assigned to)')
      .option('--status <status>', `only goals in this status (${STATUSES.join(', ')})`)
      .option('--owner <human>', 'only goals owned by this human')
      .option('--agent <id>', 'only goals assigning this agent')
      .option('--limit <n>', 'at most n goals', '1000'),
  ).action(async (opts: ListGoalsOptions) => {
    process.exitCode = await runListGoals(opts, io);
  });
  serverOptions(
    goals
      .command('close')
      .description('complete a goal (or cancel it with --cancel); its agents can no longer act under it')
      .argument('<id>', 'the goal id')
      .option('--cancel', 'cancel instead of complete'),
  ).action(async (id: string, opts: CloseGoalOptions) => {
    process.exitCode = await runCloseGoal(id, opts, io);
  });
  return goals;
}
