import type { AuthorizeRequest, BatchAuthorizeRequest, BatchAuthorizeResponse, DecisionCaller } from '@argus/contracts';
import { validatorFor } from '@argus/contracts';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { InvalidInputError, sendJson, type Authenticator } from '@argus/platform';
import express, { type Request, type Router } from 'express';
import type { DecisionService } from '../decision-service.ts';

const validateOne = validatorFor<AuthorizeRequest>('https://argus.dev/schemas/authorize-request.json');
const validateBatch = validatorFor<BatchAuthorizeRequest>('https://argus.dev/schemas/authorize-batch-request.json');

/** Who is calling, as far as the audit trail is concerned. */
export function callerOf(req: IncomingMessage, kind: string): DecisionCaller {
  const subject = ((req as Partial<Request>).res?.locals.subject as string | undefined) ?? undefined;
  return subject ? { kind, subject } : { kind };
}

/**
 * Whether this request may skip the audit record: only a caller holding the admin credential (the proxy, which
 * writes the record itself once the upstream answered) may ask, with `x-argus-audit: false`.
 */
async function auditWanted(req: IncomingMessage, auth: Authenticator | undefined): Promise<boolean> {
  if (req.headers['x-argus-audit'] !== 'false' || !auth) return true;
  const who = await auth.authenticate(req.headers.authorization);
  return !(who.ok && who.principal.kind === 'admin');
}

/** Decides one validated-or-not authorize body and sends the answer. */
export async function authorizeOne(deps: { decisions: DecisionService; auth?: Authenticator }, raw: unknown, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const body = validateOne(raw);
  if (!body.ok) throw new InvalidInputError('invalid authorize request', body.errors);
  const audit = await auditWanted(req, deps.auth);
  const caller = callerOf(req, typeof req.headers['x-argus-caller'] === 'string' && !audit ? req.headers['x-argus-caller'].slice(0, 64) : 'apdp');
  const answer = await deps.decisions.decide(body.value.input, { caller, explain: body.value.explain ?? 'reasons', audit });
  sendJson(res, 200, answer);
}

/** `POST /v1/authorize` and `POST /v1/authorize/batch`. */
export function authorizeRouter(deps: { decisions: DecisionService; maxBatchSize: number; auth?: Authenticator }): Router {
  const router = express.Router();

  router.post('/v1/authorize', (req, res) => authorizeOne(deps, req.body, req, res));

  router.post('/v1/authorize/batch', async (req, res) => {
    const body = validateBatch(req.body);
    if (!body.ok) throw new InvalidInputError('invalid batch request', body.errors);
    const { inputs, entities = [], explain = 'reasons' } = body.value;
    if (inputs.length > deps.maxBatchSize) {
      throw new InvalidInputError(`batch of ${inputs.length} exceeds the limit of ${deps.maxBatchSize}`, [{ path: '/inputs', message: `at most ${deps.maxBatchSize} items` }]);
    }
    const caller = callerOf(req, 'apdp-batch');
    const results = [];
    for (let i = 0; i < inputs.length; i++) {
      try {
        results.push(await deps.decisions.decide(inputs[i]!, { caller, explain }, entities));
      } catch (err) {
        if (err instanceof InvalidInputError) {
          throw new InvalidInputError(`invalid batch item ${i}: ${err.message}`, err.errors.map((e) => ({ path: e.path.replace(/^\/input/, `/inputs/${i}`), message: e.message })));
        }
        throw err;
      }
    }
    const response: BatchAuthorizeResponse = { policy_version: results[0]?.policy_version ?? 'none', results };
    res.json(response);
  });

  return router;
}
