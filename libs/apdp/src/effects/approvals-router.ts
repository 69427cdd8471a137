/**
 * The human side of approvals: `GET /v1/approvals` (by status, paged: `{items, next_cursor?}`), `GET /v1/approvals/:id`,
 * and `POST /v1/approvals/:id` `{decision: "approve"|"reject", reason?}` by an authenticated human,
 * never a caller that asked for the held decision.
 */
import { validatorFor } from '@argus/contracts';
import { ConflictError, ForbiddenError, InvalidInputError, NotFoundError, UnauthorizedError, type AuthPrincipal } from '@argus/platform';
import express, { type Request, type RequestHandler, type Response, type Router } from 'express';
import type { Logger } from 'pino';
import {
  isRequester,
  MAX_REQUESTERS,
  type ApprovalQuery,
  type ApprovalRequest,
  type ApprovalStatus,
  type ApprovalStore,
} from '@argus/store';

/** Collaborators of {@link createApprovalsRouter}. */
export interface ApprovalsRouterDeps {
  store: ApprovalStore;
  /**
   * Authenticates a human or admin and leaves the identity on `res.locals.principal`
   * (`AuthPrincipal`, as `requireAuth`/`requireRole` of `@argus/platform` do) or
   * `res.locals.subject` (a string). Agents and scanners are refused by the router itself.
   */
  requireHuman: RequestHandler;
  /**
   * The human at the root of a held request (see {@link approvalRootFrom}). A human without the
   * `approver` role may see and answer only the requests rooted at itself; without this hook,
   * only approvers and admins may.
   */
  rootOf?: (request: ApprovalRequest) => Promise<string | undefined>;
  clock?: () => Date;
  logger?: Logger;
}

interface ApprovalsQuery {
  status?: ApprovalStatus;
  limit?: string;
  cursor?: string;
}

interface ApprovalDecisionBody {
  decision: 'approve' | 'reject';
  reason?: string;
}

const validateQuery = validatorFor<ApprovalsQuery>('https://argus.dev/schemas/effects/approvals-query.json');
const validateDecision = validatorFor<ApprovalDecisionBody>('https://argus.dev/schemas/effects/approval-decision.json');
const ID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;

/** The role that lets a human answer any approval request. */
export const APPROVER_ROLE = 'approver';

/** The deciding identity, as its credential says (`kind` absent for a bare subject); `any`: may answer every request. */
interface Answerer {
  kind?: string;
  subject: string;
  any: boolean;
}

/** The deciding identity: a human or admin subject; agents, services and scanners may not decide. */
function humanOf(res: Response): Answerer {
  const principal = res.locals.principal as AuthPrincipal | undefined;
  if (principal) {
    if (principal.kind !== 'human' && principal.kind !== 'admin') throw new ForbiddenError('only a human may answer an approval request');
    return {
      kind: principal.kind,
      subject: principal.subject,
      any: principal.kind === 'admin' || principal.roles.includes(APPROVER_ROLE),
    };
  }
  const subject = res.locals.subject as unknown;
  if (typeof subject === 'string' && subject !== '') return { subject, any: true };
  throw new UnauthorizedError();
}

/**
 * Builds {@link ApprovalsRouterDeps.rootOf}: the human at the root of the held delegation chain
 * (given in `delegation` or carried by a delegation token, stored with the request), else the
 * goal's owner, else the agent's owner in the registry.
 */
export function approvalRootFrom(deps: {
  goal: (id: string) => Promise<{ owner: string } | undefined>;
  agent: (id: string) => Promise<{ owner?: string } | undefined>;
}): (request: ApprovalRequest) => Promise<string | undefined> {
  return async (request) => {
    if (request.root !== undefined) return request.root;
    if (request.goal !== undefined) {
      const goal = await deps.goal(request.goal);
      if (goal) return goal.owner;
    }
    if (/(^|::)Agent$/.test(request.principal.type)) return (await deps.agent(request.principal.id))?.owner;
    return undefined;
  };
}

function idOf(req: Request): string {
  const id = String(req.params.id ?? '');
  if (!ID.test(id)) throw new InvalidInputError('invalid approval id', [{ path: '/id', message: 'not an approval id' }]);
  return id;
}

/** Builds the approvals routes. Errors go to the app's error handler (wire shape). */
export function createApprovalsRouter(deps: ApprovalsRouterDeps): Router {
  const clock = deps.clock ?? (() => new Date());
  const router = express.Router();

  /** Whether `who` may see or answer `request`: an approver, an admin, or the human at its root. */
  const mayAnswer = async (who: Answerer, request: ApprovalRequest): Promise<boolean> =>
    who.any || (deps.rootOf !== undefined && (await deps.rootOf(request)) === who.subject);

  router.get('/v1/approvals', deps.requireHuman, async (req, res) => {
    const who = humanOf(res);
    const checked = validateQuery({ ...(req.query as Record<string, unknown>) });
    if (!checked.ok) {
      const param = checked.errors[0]?.path.split('/')[1] ?? '';
      throw new InvalidInputError(param ? `invalid query parameter \`${param}\`` : 'invalid query', checked.errors);
    }
    const q = checked.value;
    const query: ApprovalQuery = {
      ...(q.status !== undefined ? { status: q.status } : {}),
      ...(q.limit !== undefined ? { limit: Number(q.limit) } : {}),
      ...(q.cursor !== undefined ? { cursor: q.cursor } : {}),
    };
    const page = await deps.store.list(query, clock());
    const items = [];
    for (const item of page.items) if (await mayAnswer(who, item)) items.push(item);
    res.json({ items, ...(page.nextCursor ? { next_cursor: page.nextCursor } : {}) });
  });

  router.get('/v1/approvals/:id', deps.requireHuman, async (req, res) => {
    const who = humanOf(res);
    const id = idOf(req);
    const found = await deps.store.get(id, clock());
    // A request the caller may not answer is not shown to exist.
    if (!found || !(await mayAnswer(who, found))) throw new NotFoundError(`no approval request \`${id}\``);
    res.json(found);
  });

  router.post('/v1/approvals/:id', deps.requireHuman, async (req, res) => {
    const who = humanOf(res);
    const by = who.subject;
    const id = idOf(req);
    const checked = validateDecision(req.body);
    if (!checked.ok) throw new InvalidInputError('invalid approval decision', checked.errors);
    const now = clock();
    const current = await deps.store.get(id, now);
    if (!current) throw new NotFoundError(`no approval request \`${id}\``);
    // INVARIANT: the agent that asked can never answer for itself, whatever credential it holds.
    if (current.principal.id === by) throw new ForbiddenError('a principal cannot answer its own approval request');
    // INVARIANT: nor can any caller that asked for the held decision (an admin asking on an agent's
    // behalf, first or after another caller): the same kind and subject, a bare subject by subject alone.
    if (isRequester(current, who))
      throw new ForbiddenError(`\`${by}\` asked for the held decision and cannot answer its own approval request; another approver must`);
    // INVARIANT: past the recorded callers, whoever asked is unknown: the request can only be rejected.
    if (current.requestersOverflow && checked.value.decision === 'approve')
      throw new ForbiddenError(
        `more than ${MAX_REQUESTERS} distinct callers asked for the held decision, so who asked is not known and it cannot be approved; reject it and the next ask opens a new request`,
      );
    if (!(await mayAnswer(who, current)))
      throw new ForbiddenError(
        `answering approval requests needs the \`${APPROVER_ROLE}\` role, or being the human at the root of the request's chain`,
      );
    const outcome = await deps.store.decide(id, {
      decision: checked.value.decision,
      by,
      at: now,
      ...(checked.value.reason !== undefined ? { reason: checked.value.reason } : {}),
    });
    if (outcome.ok) {
      deps.logger?.info(
        { approvalId: id, decision: checked.value.decision, by, decisionId: outcome.request.decisionId },
        'approval request answered',
      );
      res.json(outcome.request);
      return;
    }
    if (outcome.reason === 'unknown') throw new NotFoundError(`no approval request \`${id}\``);
    throw new ConflictError(
      outcome.reason === 'expired'
        ? `approval request \`${id}\` expired`
        : `approval request \`${id}\` was already answered (${outcome.request?.status ?? 'unknown'})`,
    );
  });

  return router;
}
