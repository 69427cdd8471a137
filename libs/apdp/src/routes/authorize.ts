import type {
  AuthorizeInput,
  AuthorizeRequest,
  BatchAuthorizeRequest,
  BatchAuthorizeResponse,
  DecideOptions,
  DecisionCaller,
} from '@argus/contracts';
import { validatorFor } from '@argus/contracts';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { ArgusError, ForbiddenError, InvalidInputError, sendJson, type AuthPrincipal } from '@argus/platform';
import { DecisionRefusedError, type DecisionService } from '@argus/decision';

const validateOne = validatorFor<AuthorizeRequest>('https://argus.dev/schemas/authorize-request.json');
const validateBatch = validatorFor<BatchAuthorizeRequest>('https://argus.dev/schemas/authorize-batch-request.json');

/** The caller kind recorded for a decision asked without a credential (`auth.decisions: open`): its side effects are skipped. */
export const ANONYMOUS_CALLER = 'anonymous';

const admitted = new WeakMap<IncomingMessage, AuthPrincipal | null>();

/** Leaves the caller the permission table admitted for {@link callerOf} (`undefined`: admitted without a credential). */
export function setCaller(req: IncomingMessage, principal: AuthPrincipal | undefined): void {
  admitted.set(req, principal ?? null);
}

/** The authenticated caller of `req`, if any. */
export function principalOfRequest(req: IncomingMessage): AuthPrincipal | undefined {
  return admitted.get(req) ?? undefined;
}

/**
 * Who is calling, as the audit trail records it: the credential's kind and subject, or
 * `anonymous` (admitted without a credential, `auth.decisions: open`). Without a permission
 * table (tests, in-process embeddings) the route's name (`route`) stands for the caller.
 */
export function callerOf(req: IncomingMessage, route = 'apdp'): DecisionCaller {
  const p = admitted.get(req);
  if (p) return { kind: p.kind, subject: p.subject };
  if (p === null) return { kind: ANONYMOUS_CALLER };
  return { kind: route };
}

/**
 * The decision service as a route may call it: an agent may only ask about itself (a 403
 * otherwise), so no agent can trigger another agent's quarantine or spend another's budget.
 */
export function callerChecked(decisions: DecisionService): DecisionService {
  const check = (input: AuthorizeInput, options: DecideOptions, path: string) => {
    if (options.caller.kind !== 'agent') return;
    const p = input?.principal as { type?: unknown; id?: unknown } | undefined;
    if (p && (p.type !== 'Agent' || p.id !== options.caller.subject)) {
      throw new ArgusError('forbidden', 'an agent may only ask for decisions about itself', {
        errors: [{ path, message: `the principal must be Agent::"${options.caller.subject}"` }],
      });
    }
  };
  return new Proxy(decisions, {
    get(target, prop, receiver) {
      if (prop === 'decide') {
        return (input: AuthorizeInput, options: DecideOptions, shared?: AuthorizeInput['entities']) => {
          check(input, options, '/input/principal');
          return target.decide(input, options, shared);
        };
      }
      const value = Reflect.get(target, prop, receiver) as unknown;
      return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
    },
  });
}

/**
 * Whether this request may skip the audit record: only a service or admin caller (the proxy,
 * which writes the record itself once the upstream answered) may ask, with `x-argus-audit: false`.
 */
export function auditWanted(req: IncomingMessage): boolean {
  if (req.headers['x-argus-audit'] !== 'false') return true;
  const p = principalOfRequest(req);
  return !(p && (p.kind === 'admin' || p.kind === 'service'));
}

/**
 * The service subject of the enforcement proxy (`auth.serviceTokens.proxy`).
 * INVARIANT: only that service token authenticates as it; the authenticator refuses an IdP JWT
 * naming the service `proxy` (`reserved_subject` in `@argus/platform`), so a check on this
 * subject is a check on the proxy's configured credential.
 */
export const PROXY_SERVICE = 'proxy';

/**
 * Whether this request is a what-if (`x-argus-what-if: true`): decided as usual, with no side
 * effect and no audit record. Only admins, human policy authors and the proxy's service credential
 * may ask (the proxy filters MCP lists item by item with what-ifs, and records the list request
 * itself); anyone else is refused, so a caller can never shed its record by asking. Roles count
 * for humans only: an agent or a service claiming `policy-author` is refused like any other.
 */
export function whatIfWanted(req: IncomingMessage): boolean {
  const asked = req.headers['x-argus-what-if'];
  if (asked === undefined || asked === 'false') return false;
  const p = principalOfRequest(req);
  const proxy = p?.kind === 'service' && p.subject === PROXY_SERVICE;
  const author = p?.kind === 'human' && p.roles.includes('policy-author');
  if (asked !== 'true' || !p || !(p.kind === 'admin' || author || proxy)) {
    throw new ForbiddenError('`x-argus-what-if: true` needs an admin, human policy-author or proxy service credential');
  }
  return true;
}

/** Decides one authorize body (`POST /v1/authorize`), validated here, and sends the answer. */
export async function authorizeOne(
  deps: { decisions: DecisionService },
  raw: unknown,
  req: IncomingMessage,
  res: ServerResponse,
): Promise<void> {
  const body = validateOne(raw);
  // A refused body is still a decision request: recorded as a deny, its decision_id in the 400.
  if (!body.ok)
    throw await deps.decisions.refuse(raw, new InvalidInputError('invalid authorize request', body.errors), { caller: callerOf(req) });
  const whatIf = whatIfWanted(req);
  const answer = await deps.decisions.decide(body.value.input, {
    caller: callerOf(req),
    explain: body.value.explain ?? 'reasons',
    audit: auditWanted(req),
    ...(whatIf ? { whatIf } : {}),
  });
  sendJson(res, 200, answer);
}

/**
 * The error of batch item `i`, its paths under `/inputs/i`. A refused item keeps the `decision_id`
 * of its record (the items before it were decided and recorded; the 400 says which item stopped it).
 */
function batchItemError(err: unknown, i: number): unknown {
  if (!(err instanceof InvalidInputError || (err instanceof ArgusError && err.code === 'forbidden'))) return err;
  const errors = err.errors.map((e) => ({ path: e.path.replace(/^\/input/, `/inputs/${i}`), message: e.message }));
  const message = `batch item ${i}: ${err.message}`;
  if (err instanceof DecisionRefusedError)
    return new DecisionRefusedError(err.decisionId, err.reason, new InvalidInputError(message, errors));
  return err instanceof InvalidInputError ? new InvalidInputError(message, errors) : new ArgusError('forbidden', message, { errors });
}

/** Decides one batch body (`POST /v1/authorize/batch`) item by item and sends the answers. */
export async function authorizeBatch(
  deps: { decisions: DecisionService; maxBatchSize: number },
  raw: unknown,
  req: IncomingMessage,
  res: ServerResponse,
): Promise<void> {
  const caller = callerOf(req, 'apdp-batch');
  const body = validateBatch(raw);
  // A refused batch is still a decision request: recorded as one deny, its decision_id in the 400.
  if (!body.ok) throw await deps.decisions.refuse(raw, new InvalidInputError('invalid batch request', body.errors), { caller });
  const { inputs, entities = [], explain = 'reasons' } = body.value;
  if (inputs.length > deps.maxBatchSize) {
    const tooMany = new InvalidInputError(`batch of ${inputs.length} exceeds the limit of ${deps.maxBatchSize}`, [
      { path: '/inputs', message: `at most ${deps.maxBatchSize} items` },
    ]);
    throw await deps.decisions.refuse({ inputs: inputs.length }, tooMany, { caller });
  }
  const whatIf = whatIfWanted(req);
  const options = { caller, explain, audit: auditWanted(req), ...(whatIf ? { whatIf } : {}) };
  const results = [];
  for (let i = 0; i < inputs.length; i++) {
    try {
      results.push(await deps.decisions.decide(inputs[i]!, options, entities));
    } catch (err) {
      throw batchItemError(err, i);
    }
  }
  const response: BatchAuthorizeResponse = { policy_version: results[0]?.policy_version ?? 'none', results };
  sendJson(res, 200, response);
}
