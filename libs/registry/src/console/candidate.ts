/**
 * Evaluates one request against a candidate policy set, for the console's policy playground.
 *
 * The request is the exact Cedar request the live decision point built (the `explanation` of an
 * `explain: "full"` answer, as it is or flattened: uids, context and entity slice), so the only
 * thing that differs from the live decision is the policy set. Governance hard denies happen
 * before Cedar and are not re-evaluated here: the console shows them from the live answer.
 */
import { evaluateOnCandidate, invalidPolicySet } from '@argus/decision';
import {
  compilePolicySet,
  type CedarEntity,
  type EvaluationRequest,
  type CedarValue,
  type Diagnostic,
  type EntityUid,
  type PolicySource,
  type TemplateLinkInput,
} from '@argus/engine';
import { InvalidInputError, type ErrorDetail } from '@argus/platform';

/** Body of `POST {basePath}/api/candidate/evaluate`. */
export interface CandidateEvaluateRequest {
  /** Cedar schema text (the live one from `GET /v1/policies/source`, or an edit). */
  schema: string;
  policies: PolicySource[];
  /** Template links of the set, slot values with fully qualified types (as `GET /v1/policies/source` lists them). */
  links?: TemplateLinkInput[];
  /**
   * The Cedar request, flat. {@link parseCandidateRequest} also takes the `explanation` of an
   * `explain: "full"` answer as it is (`{request: {principal, action, resource}, context, entities}`,
   * its `closest` ignored) and flattens it to this.
   */
  request: {
    principal: EntityUid;
    action: EntityUid;
    resource: EntityUid;
    context: Record<string, CedarValue>;
    entities: CedarEntity[];
  };
}

/** What the candidate set decided. */
export interface CandidateEvaluateResponse {
  version: string;
  decision: 'allow' | 'deny';
  allow: boolean;
  needsApproval: boolean;
  reasons: Array<{ policy: string; effect: 'permit' | 'forbid'; annotations: Record<string, string> }>;
  errors: Array<{ policy?: string; code: string; message: string }>;
  observed: string[];
  warnings: Diagnostic[];
}

/** Limits on a candidate evaluation body, beyond the JSON body limits. */
export interface CandidateLimits {
  /** Most policy files in one candidate. Default 200. */
  maxPolicyFiles: number;
  /** Most entities in the request slice. Default 1000. */
  maxEntities: number;
}

/** Default candidate limits. */
export const DEFAULT_CANDIDATE_LIMITS: Readonly<CandidateLimits> = Object.freeze({ maxPolicyFiles: 200, maxEntities: 1000 });

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

function checkUid(v: unknown, path: string, errors: ErrorDetail[]): void {
  if (!isObject(v)) return void errors.push({ path, message: 'must be an object `{type, id}`' });
  if (typeof v.type !== 'string' || v.type.length === 0) errors.push({ path: `${path}/type`, message: 'must be a non-empty string' });
  if (typeof v.id !== 'string') errors.push({ path: `${path}/id`, message: 'must be a string' });
}

/** Checks the shape of a candidate evaluation body; every problem is reported with its JSON path. */
export function parseCandidateRequest(body: unknown, limits: CandidateLimits = DEFAULT_CANDIDATE_LIMITS): CandidateEvaluateRequest {
  const errors: ErrorDetail[] = [];
  if (!isObject(body)) throw new InvalidInputError('invalid candidate evaluation', [{ path: '', message: 'must be an object' }]);
  for (const key of Object.keys(body))
    if (!['schema', 'policies', 'links', 'request'].includes(key)) errors.push({ path: `/${key}`, message: 'unknown property' });
  if (typeof body.schema !== 'string') errors.push({ path: '/schema', message: 'must be the Cedar schema text' });
  if (!Array.isArray(body.policies)) errors.push({ path: '/policies', message: 'must be an array of `{file, text}`' });
  else {
    if (body.policies.length > limits.maxPolicyFiles) errors.push({ path: '/policies', message: `at most ${limits.maxPolicyFiles} files` });
    body.policies.forEach((p: unknown, i) => {
      if (!isObject(p)) return void errors.push({ path: `/policies/${i}`, message: 'must be an object `{file, text}`' });
      if (typeof p.file !== 'string' || !/^[\w./-]{1,200}\.cedar$/.test(p.file) || p.file.includes('..'))
        errors.push({ path: `/policies/${i}/file`, message: 'must be a relative `.cedar` path' });
      if (typeof p.text !== 'string') errors.push({ path: `/policies/${i}/text`, message: 'must be a string' });
    });
  }
  if (body.links !== undefined) {
    if (!Array.isArray(body.links)) errors.push({ path: '/links', message: 'must be an array' });
    else
      body.links.forEach((l: unknown, i) => {
        if (!isObject(l) || typeof l.templateId !== 'string' || typeof l.linkId !== 'string' || !isObject(l.values)) {
          return void errors.push({ path: `/links/${i}`, message: 'must be `{templateId, linkId, values}`' });
        }
        for (const [slot, value] of Object.entries(l.values)) {
          if (slot !== '?principal' && slot !== '?resource') errors.push({ path: `/links/${i}/values/${slot}`, message: 'unknown slot' });
          else checkUid(value, `/links/${i}/values/${slot}`, errors);
        }
      });
  }
  const given = body.request;
  // The explanation as the decision API returns it names the uids under `request`: flattened here,
  // every error still located in the body as sent.
  const explanation = isObject(given) && isObject(given.request);
  const r = explanation ? { ...(given.request as Record<string, unknown>), context: given.context, entities: given.entities } : given;
  if (!isObject(r))
    errors.push({
      path: '/request',
      message:
        'must be the `explanation` of an `explain: "full"` answer (`{request, context, entities}`), or `{principal, action, resource, context, entities}`',
    });
  else {
    const uidPath = explanation ? '/request/request' : '/request';
    for (const k of ['principal', 'action', 'resource'] as const) checkUid(r[k], `${uidPath}/${k}`, errors);
    if (!isObject(r.context)) errors.push({ path: '/request/context', message: 'must be an object' });
    if (!Array.isArray(r.entities)) errors.push({ path: '/request/entities', message: 'must be an array' });
    else {
      if (r.entities.length > limits.maxEntities)
        errors.push({ path: '/request/entities', message: `at most ${limits.maxEntities} entities` });
      r.entities.forEach((e: unknown, i) => {
        if (!isObject(e)) return void errors.push({ path: `/request/entities/${i}`, message: 'must be an object' });
        checkUid(e.uid, `/request/entities/${i}/uid`, errors);
        if (e.attrs !== undefined && !isObject(e.attrs))
          errors.push({ path: `/request/entities/${i}/attrs`, message: 'must be an object' });
        if (e.parents !== undefined && !Array.isArray(e.parents))
          errors.push({ path: `/request/entities/${i}/parents`, message: 'must be an array' });
      });
    }
    if (explanation) {
      for (const key of Object.keys(given))
        if (!['request', 'context', 'entities', 'closest'].includes(key))
          errors.push({ path: `/request/${key}`, message: 'unknown property' });
      for (const key of Object.keys(given.request as object))
        if (!['principal', 'action', 'resource'].includes(key))
          errors.push({ path: `/request/request/${key}`, message: 'unknown property' });
    } else {
      for (const key of Object.keys(r))
        if (!['principal', 'action', 'resource', 'context', 'entities'].includes(key))
          errors.push({ path: `/request/${key}`, message: 'unknown property' });
    }
  }
  if (errors.length > 0) throw new InvalidInputError('invalid candidate evaluation', errors);
  return { ...body, request: r } as unknown as CandidateEvaluateRequest;
}

/**
 * Compiles the candidate set and evaluates the request on it. A set that does not compile is an
 * `invalid_policy` error (422) carrying located diagnostics, like `PUT /v1/policies`.
 */
export function evaluateCandidate(body: CandidateEvaluateRequest): CandidateEvaluateResponse {
  const compiled = compilePolicySet({
    schema: body.schema,
    schemaFile: 'schema.cedarschema',
    policies: body.policies,
    ...(body.links ? { links: body.links } : {}),
  });
  if (!compiled.ok) throw invalidPolicySet(compiled.diagnostics, `candidate set refused: ${compiled.diagnostics.length} error(s)`);
  const { request } = body;
  const entities = request.entities.map((e) => ({
    uid: e.uid,
    attrs: e.attrs ?? {},
    parents: e.parents ?? [],
    ...(e.tags ? { tags: e.tags } : {}),
  }));
  // As the decision point does: no per-request schema, and `now` only when a policy reads it.
  const answer = evaluateOnCandidate(compiled.policySet, { ...request, entities } as EvaluationRequest, {
    now: new Date(),
    validateRequest: false,
  });
  return {
    version: compiled.policySet.version,
    decision: answer.decision,
    allow: answer.decision === 'allow' && !answer.needsApproval,
    needsApproval: answer.needsApproval,
    reasons: answer.determining.map((p) => ({ policy: p.id, effect: p.effect, annotations: p.annotations })),
    errors: answer.errors.map((e) => ({ ...(e.policyId ? { policy: e.policyId } : {}), code: e.code, message: e.message })),
    observed: answer.observed.map((p) => p.id),
    warnings: compiled.warnings,
  };
}
