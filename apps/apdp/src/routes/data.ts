import type { AuthorizeInput } from '@argus/contracts';
import { validatorFor } from '@argus/contracts';
import { InvalidInputError } from '@argus/platform';
import express, { type Router } from 'express';
import type { DecisionService } from '../decision-service.ts';
import { callerOf } from './authorize.ts';

const validate = validatorFor<{ input: AuthorizeInput }>('https://argus.dev/schemas/data-request.json');

/**
 * OPA Data API compatibility, so OPA clients and integrations work unchanged:
 * `POST /v1/data/argus/allow` answers a boolean, `POST /v1/data/argus/authorize` the full result.
 * Any other path is an undefined document: 200 without `result`, as OPA answers.
 */
export function dataRouter(deps: { decisions: DecisionService }): Router {
  const router = express.Router();
  router.post(/^\/v1\/data\/(.*)$/, async (req, res) => {
    const path = String((req.params as Record<string, string>)[0] ?? '').replace(/\/+$/, '');
    const body = validate(req.body ?? {});
    if (!body.ok) throw new InvalidInputError('invalid data request', body.errors);
    const explain = req.query.explain === 'full' ? 'full' : 'reasons';
    if (path !== 'argus/allow' && path !== 'argus/authorize' && path !== 'argus') {
      res.json({});
      return;
    }
    const answer = await deps.decisions.decide(body.value.input, { caller: callerOf(req, 'opa'), explain });
    if (path === 'argus/allow') {
      res.json({ decision_id: answer.decision_id, result: answer.result.allow });
    } else if (path === 'argus/authorize') {
      res.json({ decision_id: answer.decision_id, result: { ...answer.result, policy_version: answer.policy_version } });
    } else {
      res.json({ decision_id: answer.decision_id, result: { allow: answer.result.allow, authorize: { ...answer.result, policy_version: answer.policy_version } } });
    }
  });
  return router;
}
