import type { AuthorizeInput } from '@argus/contracts';
import { validatorFor } from '@argus/contracts';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { InvalidInputError, sendJson } from '@argus/platform';
import express, { type Router } from 'express';
import type { DecisionService } from '../decision-service.ts';
import { callerOf } from './authorize.ts';

const validate = validatorFor<{ input: AuthorizeInput }>('https://argus.dev/schemas/data-request.json');

/**
 * Answers one OPA Data API request for the document at `path` (`argus/allow`, `argus/authorize`,
 * `argus`; anything else is an undefined document: 200 without `result`, as OPA answers).
 */
export async function answerData(deps: { decisions: DecisionService }, raw: unknown, rawPath: string, explainFull: boolean, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const path = rawPath.replace(/\/+$/, '');
  const body = validate(raw ?? {});
  if (!body.ok) throw new InvalidInputError('invalid data request', body.errors);
  if (path !== 'argus/allow' && path !== 'argus/authorize' && path !== 'argus') {
    sendJson(res, 200, {});
    return;
  }
  const answer = await deps.decisions.decide(body.value.input, { caller: callerOf(req, 'opa'), explain: explainFull ? 'full' : 'reasons' });
  if (path === 'argus/allow') {
    sendJson(res, 200, { decision_id: answer.decision_id, result: answer.result.allow });
  } else if (path === 'argus/authorize') {
    sendJson(res, 200, { decision_id: answer.decision_id, result: { ...answer.result, policy_version: answer.policy_version } });
  } else {
    sendJson(res, 200, { decision_id: answer.decision_id, result: { allow: answer.result.allow, authorize: { ...answer.result, policy_version: answer.policy_version } } });
  }
}

/**
 * OPA Data API compatibility, so OPA clients and integrations work unchanged:
 * `POST /v1/data/argus/allow` answers a boolean, `POST /v1/data/argus/authorize` the full result.
 */
export function dataRouter(deps: { decisions: DecisionService }): Router {
  const router = express.Router();
  router.post(/^\/v1\/data\/(.*)$/, (req, res) => answerData(deps, req.body, String((req.params as Record<string, string>)[0] ?? ''), req.query.explain === 'full', req, res));
  return router;
}
