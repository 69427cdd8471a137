import { schemaRegistry, toIssues, validatorFor } from '@argus/contracts';
import { cedarWasm as cedar, type CompiledPolicySet, type Diagnostic, type PolicySetInput, type TemplateLinkInput } from '@argus/engine';
import { ConflictError, InvalidInputError, NotFoundError, UnavailableError, type AuthPrincipal } from '@argus/platform';
import express, { type RequestHandler, type Response, type Router } from 'express';
import { cedarType as qualify } from '@argus/governance';
import type { ActivePolicySet, PolicyHolder } from '../policy-holder.ts';
import type { ShadowEvaluator } from '../shadow.ts';
import { checkPolicyLimits, DEFAULT_POLICY_LIMITS, invalidPolicy, type PolicyLimits, type PolicyPublished } from './policies.ts';
import { checkIfMatch, setPolicyEtag } from './policy-precondition.ts';

/** A template link as the API takes it: slot values with unqualified types (`Agent`). */
interface LinkBody {
  templateId: string;
  linkId: string;
  values: { '?principal'?: { type: string; id: string }; '?resource'?: { type: string; id: string } };
}

interface ShadowBody {
  schema?: string;
  policies: Array<{ file: string; text: string }>;
  links?: LinkBody[];
}

let validateLink:
  ((data: unknown) => { ok: true; value: LinkBody } | { ok: false; errors: Array<{ path: string; message: string }> }) | undefined;

function checkLink(body: unknown): LinkBody {
  if (!validateLink) {
    // The link shape is the one `PUT /v1/policies` takes for each of its links.
    const fn = schemaRegistry().compile({ $ref: 'https://argus.dev/schemas/policies-put-request.json#/properties/links/items' });
    validateLink = (data) => (fn(data) ? { ok: true, value: data as LinkBody } : { ok: false, errors: toIssues(fn.errors ?? []) });
  }
  const v = validateLink(body);
  if (!v.ok) throw new InvalidInputError('invalid template link', v.errors);
  return v.value;
}

function toLink(body: LinkBody): TemplateLinkInput {
  const values: TemplateLinkInput['values'] = {};
  for (const slot of ['?principal', '?resource'] as const) {
    const uid = body.values[slot];
    if (uid) values[slot] = { type: qualify(uid.type), id: uid.id };
  }
  return { templateId: body.templateId, linkId: body.linkId, values };
}

function activeSet(holder: PolicyHolder): ActivePolicySet {
  const active = holder.current;
  if (!active) throw new UnavailableError('no policy set is loaded');
  return active;
}

/** Who published a change: the authenticated caller (audit of policy versions). */
function publisherOf(res: Response): string | undefined {
  return (res.locals.principal as AuthPrincipal | undefined)?.subject ?? (res.locals.subject as string | undefined);
}

function slotsOf(text: string): string[] {
  return ['?principal', '?resource'].filter((s) => text.includes(s));
}

/** Collaborators of the template routes. */
export interface TemplatesRouterDeps {
  holder: PolicyHolder;
  requireAdmin: RequestHandler;
  /** Called after a link change made a new active set (to record the version, tell other replicas). */
  onPublished?: PolicyPublished;
}

/**
 * `GET /v1/policies/templates` (the templates of the active set), `GET /v1/policies/links`,
 * `POST /v1/policies/links` (admin: link a template; the new set is validated, a bad link is a 422
 * and the active set stays) and `DELETE /v1/policies/links/{linkId}` (admin).
 */
export function templatesRouter(deps: TemplatesRouterDeps): Router {
  const router = express.Router();

  router.get('/v1/policies/templates', (_req, res) => {
    const { set } = activeSet(deps.holder);
    const templates = [...set.policies.values()]
      .filter((p) => p.template)
      .map((p) => ({
        id: p.id,
        effect: p.effect,
        file: p.file,
        line: p.line,
        annotations: p.annotations,
        slots: slotsOf(p.text),
        text: p.text,
        links: set.links.filter((l) => l.templateId === p.id).length,
      }));
    res.json({ version: set.version, templates });
  });

  router.get('/v1/policies/links', (req, res) => {
    const { set } = activeSet(deps.holder);
    const template = typeof req.query.templateId === 'string' ? req.query.templateId : undefined;
    setPolicyEtag(res, set.version);
    res.json({ version: set.version, links: set.links.filter((l) => template === undefined || l.templateId === template) });
  });

  router.post('/v1/policies/links', deps.requireAdmin, async (req, res) => {
    const link = toLink(checkLink(req.body));
    const active = activeSet(deps.holder);
    checkIfMatch(req, active.set.version);
    if (active.set.links.some((l) => l.linkId === link.linkId)) {
      throw new ConflictError(`link \`${link.linkId}\` already exists`, [
        { path: '/linkId', message: 'delete it first, or choose another id' },
      ]);
    }
    const problems = linkProblems(active.set, link);
    if (problems.length > 0) throw invalidPolicy(problems);
    const version = await publish(deps, active, [...active.set.links, link], publisherOf(res), `link ${link.linkId} → ${link.templateId}`);
    setPolicyEtag(res, version);
    res.status(201).json({ version, link });
  });

  router.delete('/v1/policies/links/:linkId', deps.requireAdmin, async (req, res) => {
    const linkId = String(req.params.linkId);
    const active = activeSet(deps.holder);
    checkIfMatch(req, active.set.version);
    if (!active.set.links.some((l) => l.linkId === linkId)) throw new NotFoundError(`link \`${linkId}\` does not exist`);
    const version = await publish(
      deps,
      active,
      active.set.links.filter((l) => l.linkId !== linkId),
      publisherOf(res),
      `unlink ${linkId}`,
    );
    setPolicyEtag(res, version);
    res.json({ version, deleted: linkId });
  });

  return router;
}

/**
 * Validates one link against the schema: slot values of unknown types are errors, and so is a link
 * whose slot types leave the template no action it could apply to (a grant that can never match).
 * `compilePolicySet` checks that the template exists and the id is free.
 */
export function linkProblems(set: CompiledPolicySet, link: TemplateLinkInput): Diagnostic[] {
  const template = set.templateTexts.get(link.templateId);
  if (template === undefined) return [];
  const at = { file: '<links>', line: 1, column: 1, endLine: 1, endColumn: 1, policyId: link.linkId };
  let answer: ReturnType<typeof cedar.validate>;
  try {
    answer = cedar.validate({
      schema: set.schema,
      policies: {
        templates: { [link.templateId]: template },
        templateLinks: [
          { templateId: link.templateId, newId: link.linkId, values: link.values as Record<string, { type: string; id: string }> },
        ],
      },
      validationSettings: { mode: 'strict' },
    });
  } catch {
    return [{ ...at, severity: 'error', message: `link \`${link.linkId}\` could not be validated` }];
  }
  if (answer.type === 'failure') return answer.errors.map((e) => ({ ...at, severity: 'error' as const, message: e.message }));
  const mine = (x: { policyId: string }) => x.policyId === link.linkId;
  return [
    ...answer.validationErrors
      .filter(mine)
      .map((v) => ({ ...at, severity: 'error' as const, message: v.error.message, ...(v.error.help ? { help: v.error.help } : {}) })),
    ...answer.validationWarnings
      .filter((v) => mine(v) && v.error.message.includes('unable to find an applicable action'))
      .map((v) => ({ ...at, severity: 'error' as const, message: `${v.error.message}: the slot values do not fit the template's scope` })),
  ];
}

async function publish(
  deps: TemplatesRouterDeps,
  active: ActivePolicySet,
  links: TemplateLinkInput[],
  subject: string | undefined,
  message: string,
): Promise<string> {
  const input: PolicySetInput = { ...active.set.sources, links };
  const result = deps.holder.replace(input, 'api');
  if (!result.ok) throw invalidPolicy(result.diagnostics);
  if (deps.onPublished) await deps.onPublished(input, result.active.set.version, { by: subject ?? 'admin', message });
  return result.active.set.version;
}

/** Collaborators of the shadow routes. */
export interface ShadowRouterDeps {
  shadow: ShadowEvaluator;
  holder: PolicyHolder;
  requireAdmin: RequestHandler;
  /** Bounds on the candidate set (default {@link DEFAULT_POLICY_LIMITS}). */
  limits?: Partial<PolicyLimits>;
}

const validateShadow = validatorFor<ShadowBody>('https://argus.dev/schemas/policies-put-request.json');

/**
 * `GET /v1/policies/shadow` (the candidate and its flip counts), `POST /v1/policies/shadow` (admin:
 * a `PUT /v1/policies` body installs a candidate — the active schema when none is sent; `{"clear":
 * true}` removes it) and `DELETE /v1/policies/shadow` (admin: remove it).
 */
export function shadowRouter(deps: ShadowRouterDeps): Router {
  const router = express.Router();

  router.get('/v1/policies/shadow', (_req, res) => {
    res.json({ live: deps.holder.current?.set.version ?? null, ...deps.shadow.status() });
  });

  router.post('/v1/policies/shadow', deps.requireAdmin, (req, res) => {
    const body = req.body as Record<string, unknown> | undefined;
    if (body && typeof body === 'object' && 'clear' in body) {
      if (body.clear !== true || Object.keys(body).length !== 1) {
        throw new InvalidInputError('invalid shadow request', [
          { path: '/clear', message: 'send exactly {"clear": true} to remove the candidate' },
        ]);
      }
      deps.shadow.clear();
      res.json(deps.shadow.status());
      return;
    }
    const v = validateShadow(body);
    if (!v.ok) throw new InvalidInputError('invalid candidate policy set', v.errors);
    checkPolicyLimits(v.value, { ...DEFAULT_POLICY_LIMITS, ...deps.limits });
    const schema = v.value.schema ?? deps.holder.current?.set.schema;
    if (schema === undefined)
      throw new InvalidInputError('no active schema: send `schema`', [{ path: '/schema', message: 'required while no set is loaded' }]);
    const result = deps.shadow.setCandidate({
      schema,
      schemaFile: 'schema.cedarschema',
      policies: v.value.policies,
      links: (v.value.links ?? []).map(toLink),
    });
    if (!result.ok) throw invalidPolicy(result.diagnostics);
    res.json(deps.shadow.status());
  });

  router.delete('/v1/policies/shadow', deps.requireAdmin, (_req, res) => {
    deps.shadow.clear();
    res.json(deps.shadow.status());
  });

  return router;
}
