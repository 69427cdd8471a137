import { validatorFor } from '@argus/contracts';
import { compilePolicySet, type Diagnostic, type PolicySetInput, type TemplateLinkInput } from '@argus/engine';
import { ArgusError, InvalidInputError, UnavailableError, type ErrorDetail } from '@argus/platform';
import express, { type RequestHandler, type Router } from 'express';
import { qualify } from '../entities.ts';
import type { PolicyHolder } from '../policy-holder.ts';

interface PutBody {
  schema?: string;
  policies: Array<{ file: string; text: string }>;
  links?: TemplateLinkInput[];
  message?: string;
}

const validate = validatorFor<PutBody>('https://argus.dev/schemas/policies-put-request.json');

/** Called after a successful `PUT /v1/policies` (e.g. to record the version and tell other replicas). */
export type PolicyPublished = (input: PolicySetInput, version: string, meta: { by: string; message: string }) => Promise<void>;

/** `GET /v1/policies`, `PUT /v1/policies` (admin), `POST /v1/policies/validate` (dry run). */
export function policiesRouter(deps: { holder: PolicyHolder; requireAdmin: RequestHandler; onPublished?: PolicyPublished }): Router {
  const router = express.Router();

  router.get('/v1/policies', (_req, res) => {
    const active = deps.holder.current;
    if (!active) throw new UnavailableError('no policy set is loaded');
    const failure = deps.holder.failure;
    res.json({
      version: active.set.version,
      loadedAt: active.loadedAt,
      source: active.source,
      policies: [...active.set.policies.values()].map((p) => ({ id: p.id, effect: p.effect, file: p.file, line: p.line, template: p.template, annotations: p.annotations })),
      files: active.set.sources.policies.map((p) => p.file),
      ...(failure ? { lastReloadFailure: { at: failure.at, diagnostics: failure.diagnostics.slice(0, 50) } } : {}),
    });
  });

  router.get('/v1/policies/source', (_req, res) => {
    const active = deps.holder.current;
    if (!active) throw new UnavailableError('no policy set is loaded');
    res.json({ version: active.set.version, schema: active.set.schema, policies: active.set.sources.policies, links: active.set.links });
  });

  router.post('/v1/policies/validate', (req, res) => {
    const input = toInput(req.body, deps.holder);
    const result = compileOnly(input);
    res.json(result.ok ? { valid: true, version: result.version, warnings: result.warnings } : { valid: false, diagnostics: result.diagnostics, warnings: [] });
  });

  router.put('/v1/policies', deps.requireAdmin, async (req, res) => {
    const input = toInput(req.body, deps.holder);
    const result = deps.holder.replace(input, 'api');
    if (!result.ok) throw invalidPolicy(result.diagnostics);
    const by = (res.locals.subject as string | undefined) ?? 'admin';
    if (deps.onPublished) await deps.onPublished(input, result.active.set.version, { by, message: (req.body as PutBody).message ?? '' });
    res.json({ version: result.active.set.version, loadedAt: result.active.loadedAt, changed: result.changed, policies: result.active.set.policies.size });
  });

  return router;
}

function toInput(body: unknown, holder: PolicyHolder): PolicySetInput {
  const v = validate(body);
  if (!v.ok) throw new InvalidInputError('invalid policy set', v.errors);
  const schema = v.value.schema ?? holder.current?.set.schema;
  if (schema === undefined) throw new InvalidInputError('no active schema: send `schema`', [{ path: '/schema', message: 'required while no set is loaded' }]);
  const links = (v.value.links ?? []).map((l) => ({
    ...l,
    values: Object.fromEntries(Object.entries(l.values).map(([k, uid]) => [k, { type: qualify(uid!.type), id: uid!.id }])),
  }));
  return { schema, schemaFile: 'schema.cedarschema', policies: v.value.policies, links };
}

function compileOnly(input: PolicySetInput): { ok: true; version: string; warnings: Diagnostic[] } | { ok: false; diagnostics: Diagnostic[] } {
  const result = compilePolicySet(input);
  return result.ok ? { ok: true, version: result.policySet.version, warnings: result.warnings } : { ok: false, diagnostics: result.diagnostics };
}

/** A 422 carrying Cedar's diagnostics, located. */
export function invalidPolicy(diagnostics: Diagnostic[]): ArgusError {
  const errors: ErrorDetail[] = diagnostics.map((d) => ({ path: `${d.file}:${d.line}:${d.column}`, message: d.message + (d.help ? ` (help: ${d.help})` : '') }));
  const err = new ArgusError('invalid_policy', `policy set refused: ${diagnostics.length} error(s); the active set is unchanged`, { errors });
  (err as ArgusError & { diagnostics: Diagnostic[] }).diagnostics = diagnostics;
  return err;
}

