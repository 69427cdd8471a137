import { validatorFor } from '@argus/contracts';
import { invalidPolicySet } from '@argus/decision';
import type { Diagnostic, PolicySetInput, TemplateLinkInput } from '@argus/engine';
import { ArgusError, InvalidInputError, UnavailableError, type AuthPrincipal } from '@argus/platform';
import express, { type RequestHandler, type Router } from 'express';
import { cedarType as qualify } from '@argus/governance';
import type { PolicyHolder } from '../policy-holder.ts';
import { PolicyCompiler } from './policy-compiler.ts';
import { checkIfMatch, setPolicyEtag } from './policy-precondition.ts';

interface PutBody {
  schema?: string;
  policies: Array<{ file: string; text: string }>;
  links?: TemplateLinkInput[];
  message?: string;
}

const validate = validatorFor<PutBody>('https://argus.dev/schemas/policies-put-request.json');

/** Called after a successful `PUT /v1/policies` (e.g. to record the version and tell other replicas). */
export type PolicyPublished = (input: PolicySetInput, version: string, meta: { by: string; message: string }) => Promise<void>;

/** Bounds on a caller-supplied policy set (validate, publish). */
export interface PolicyLimits {
  /** Most policies (and template links) in one set. Default 2,000. */
  maxPolicies: number;
  /** Most bytes of policy text and schema in one set. Default 1 MiB. */
  maxBytes: number;
  /** A compilation running longer is abandoned (503). Default 30,000 ms. */
  compileTimeoutMs: number;
}

/** The defaults of {@link PolicyLimits}. */
export const DEFAULT_POLICY_LIMITS: PolicyLimits = { maxPolicies: 2_000, maxBytes: 1024 * 1024, compileTimeoutMs: 30_000 };

/**
 * `GET /v1/policies`, `PUT /v1/policies` (publish), `GET /v1/policies/source` and `POST
 * /v1/policies/validate` (dry run); who may call each is the permission table's business. A
 * caller's set is bounded ({@link PolicyLimits}: 413 past them) and compiled in a worker thread,
 * so decisions never wait behind it. The live set's version is the ETag; a publication under a
 * stale `If-Match` is a 412 (`policy-precondition.ts`).
 */
export function policiesRouter(deps: {
  holder: PolicyHolder;
  requireAdmin: RequestHandler;
  onPublished?: PolicyPublished;
  limits?: Partial<PolicyLimits>;
  compiler?: PolicyCompiler;
}): Router {
  const router = express.Router();
  const limits = { ...DEFAULT_POLICY_LIMITS, ...deps.limits };
  const compiler = deps.compiler ?? new PolicyCompiler({ timeoutMs: limits.compileTimeoutMs });

  router.get('/v1/policies', (_req, res) => {
    const active = deps.holder.current;
    if (!active) throw new UnavailableError('no policy set is loaded');
    const failure = deps.holder.failure;
    setPolicyEtag(res, active.set.version);
    res.json({
      version: active.set.version,
      loadedAt: active.loadedAt,
      source: active.source,
      policies: [...active.set.policies.values()].map((p) => ({
        id: p.id,
        effect: p.effect,
        file: p.file,
        line: p.line,
        template: p.template,
        annotations: p.annotations,
      })),
      files: active.set.sources.policies.map((p) => p.file),
      ...(failure ? { lastReloadFailure: { at: failure.at, diagnostics: failure.diagnostics.slice(0, 50) } } : {}),
    });
  });

  router.get('/v1/policies/source', (_req, res) => {
    const active = deps.holder.current;
    if (!active) throw new UnavailableError('no policy set is loaded');
    setPolicyEtag(res, active.set.version);
    res.json({ version: active.set.version, schema: active.set.schema, policies: active.set.sources.policies, links: active.set.links });
  });

  router.post('/v1/policies/validate', async (req, res) => {
    const input = toInput(req.body, deps.holder, limits);
    const result = await compiler.compile(input);
    res.json(
      result.ok
        ? { valid: true, version: result.version, warnings: result.warnings }
        : { valid: false, diagnostics: result.diagnostics, warnings: [] },
    );
  });

  router.put('/v1/policies', deps.requireAdmin, async (req, res) => {
    checkIfMatch(req, deps.holder.current?.set.version);
    const input = toInput(req.body, deps.holder, limits);
    // A set that does not compile is refused from the worker, without blocking decisions.
    const checked = await compiler.compile(input);
    if (!checked.ok) throw invalidPolicy(checked.diagnostics);
    // Again: another publication may have landed while this set compiled.
    checkIfMatch(req, deps.holder.current?.set.version);
    const result = deps.holder.replace(input, 'api');
    if (!result.ok) throw invalidPolicy(result.diagnostics);
    const by = (res.locals.principal as AuthPrincipal | undefined)?.subject ?? (res.locals.subject as string | undefined) ?? 'admin';
    if (deps.onPublished) await deps.onPublished(input, result.active.set.version, { by, message: (req.body as PutBody).message ?? '' });
    // Warnings do not block loading (custom obligations, no-op annotations, Cedar's own): the author sees them.
    setPolicyEtag(res, result.active.set.version);
    res.json({
      version: result.active.set.version,
      loadedAt: result.active.loadedAt,
      changed: result.changed,
      policies: result.active.set.policies.size,
      warnings: result.active.set.warnings,
    });
  });

  return router;
}

/** A 413 when a caller's set is larger than the limits allow, naming the offending path. */
export function checkPolicyLimits(
  body: { schema?: string; policies: Array<{ text: string }>; links?: unknown[] },
  limits: PolicyLimits,
): void {
  const count = body.policies.length + (body.links?.length ?? 0);
  if (count > limits.maxPolicies) {
    throw new ArgusError('body_too_large', `policy set of ${count} policies and links exceeds the limit of ${limits.maxPolicies}`, {
      errors: [{ path: '/policies', message: `at most ${limits.maxPolicies}` }],
    });
  }
  let bytes = Buffer.byteLength(body.schema ?? '', 'utf8');
  for (const p of body.policies) bytes += Buffer.byteLength(p.text, 'utf8');
  if (bytes > limits.maxBytes) {
    throw new ArgusError('body_too_large', `policy text of ${bytes} bytes exceeds the limit of ${limits.maxBytes}`, {
      errors: [{ path: '/policies', message: `at most ${limits.maxBytes} bytes of schema and policy text` }],
    });
  }
}

function toInput(body: unknown, holder: PolicyHolder, limits: PolicyLimits): PolicySetInput {
  const v = validate(body);
  if (!v.ok) throw new InvalidInputError('invalid policy set', v.errors);
  checkPolicyLimits(v.value, limits);
  const schema = v.value.schema ?? holder.current?.set.schema;
  if (schema === undefined)
    throw new InvalidInputError('no active schema: send `schema`', [{ path: '/schema', message: 'required while no set is loaded' }]);
  const links = (v.value.links ?? []).map((l) => ({
    ...l,
    values: Object.fromEntries(Object.entries(l.values).map(([k, uid]) => [k, { type: qualify(uid!.type), id: uid!.id }])),
  }));
  return { schema, schemaFile: 'schema.cedarschema', policies: v.value.policies, links };
}

/** A 422 carrying Cedar's diagnostics, located. */
export function invalidPolicy(diagnostics: Diagnostic[]): ArgusError {
  return invalidPolicySet(diagnostics, `policy set refused: ${diagnostics.length} error(s); the active set is unchanged`);
}
