import { createHash } from 'node:crypto';
import { cedar } from './cedar-wasm.ts';
import { toDiagnostic } from './diagnostics.ts';
import { checkPolicyAnnotations } from './obligations.ts';
import { analyseReads, type EstPolicy, type PolicyReads } from './reads.ts';
import { buildIndex, type PartitionIndex, type ScopeFacts } from './partition.ts';
import { resolvedSchemaJson, schemaValues, type SchemaValues } from './schema-values.ts';
import {
  type CedarEntity,
  type Diagnostic,
  type EntityUid,
  type PolicyEffect,
  type PolicyInfo,
  type PolicySetInput,
  type TemplateLinkInput,
} from './types.ts';

/**
 * A validated, immutable policy set, ready to evaluate. Built only by `compilePolicySet`.
 * Evaluation preparses partitions lazily into the shared slot pools.
 */
export interface CompiledPolicySet {
  /** Content hash of schema + policies + links: reported on every decision. */
  readonly version: string;
  readonly schema: string;
  readonly schemaHash: string;
  readonly policies: ReadonlyMap<string, PolicyInfo>;
  /** Static policy texts by id, and template texts by id. */
  readonly staticTexts: ReadonlyMap<string, string>;
  readonly templateTexts: ReadonlyMap<string, string>;
  readonly links: readonly TemplateLinkInput[];
  /**
   * The JSON form (`policyToJson`/`templateToJson`) of every static policy and template, read once
   * here and handed to compiled evaluation, which would otherwise ask cedar-wasm again for each
   * policy on its first decision. Compiled evaluation takes a static policy's entry out once it has
   * compiled it (the closure is what stays); template entries stay, their links share them.
   */
  readonly policyJson: Map<string, unknown>;
  readonly index: PartitionIndex;
  /** Observe-mode forbids, indexed the same way and evaluated apart from the enforced set. */
  readonly observeIndex: PartitionIndex;
  readonly warnings: readonly Diagnostic[];
  readonly sources: PolicySetInput;
  /** Qualified entity type names the schema declares (`Argus::Agent`). */
  readonly entityTypes: ReadonlySet<string>;
  /** Action uids the schema declares, as `Argus::Action::"tool:call"`. */
  readonly actions: ReadonlySet<string>;
  /**
   * For actions in action groups: the action entity and its ancestor groups, with their parents.
   * Evaluating without the schema, Cedar learns the action hierarchy only from these entities.
   */
  readonly actionEntities: ReadonlyMap<string, CedarEntity[]>;
  /**
   * Whether some policy can read `context.now` (from the policies' JSON form, see `reads`). Parsing a
   * datetime costs a Cedar call a fifth of its time, so callers leave `context.now` out when false.
   */
  readonly mentionsNow: boolean;
  /** What the policies can read (entities, attributes, tags, context keys), from their JSON form: see `sliceFor`, `contextFor`. */
  readonly reads: PolicyReads;
  /**
   * How the schema reads entity and context values written without their escapes (an entity as
   * `{ type, id }`, an extension value as its argument); undefined when it declares none. See
   * `schema-values.ts`: applied to every request evaluated without the schema.
   */
  readonly values: SchemaValues | undefined;
}

/** The answer of `compilePolicySet`: the set, or every error found (the whole set is refused). */
export type CompileResult = { ok: true; policySet: CompiledPolicySet; warnings: Diagnostic[] } | { ok: false; diagnostics: Diagnostic[] };

const ANNOTATION_ID = 'id';

/** Renders a uid the way Cedar prints it: `Type::"id"`. */
export function uidKey(uid: EntityUid): string {
  return `${uid.type}::${JSON.stringify(uid.id)}`;
}

/**
 * Parses and strictly validates every policy against the schema, assigns stable ids (`@id`, else
 * `file#n`), reads annotations and scopes, and builds the partition index. Any error refuses the
 * whole set, with located diagnostics.
 */
export function compilePolicySet(input: PolicySetInput): CompileResult {
  const schemaFile = input.schemaFile ?? 'schema.cedarschema';
  const diagnostics: Diagnostic[] = [];
  const warnings: Diagnostic[] = [];

  const schemaCheck = safe(() => cedar.checkParseSchema(input.schema));
  if (!schemaCheck.ok || schemaCheck.value.type === 'failure') {
    const errs =
      schemaCheck.ok && schemaCheck.value.type === 'failure' ? schemaCheck.value.errors : [{ message: 'schema could not be parsed' }];
    return { ok: false, diagnostics: errs.map((e) => toDiagnostic(schemaFile, input.schema, e)) };
  }
  // One JSON form of the schema serves its facts and its value plans (each conversion costs ms).
  const schemaJson = resolvedSchemaJson(input.schema);
  const { groups: actionGroups, entityTypes, actionEntities } = readSchemaFacts(schemaJson);

  const policies = new Map<string, PolicyInfo>();
  const staticTexts = new Map<string, string>();
  const templateTexts = new Map<string, string>();
  const scopes = new Map<string, ScopeFacts>();
  const ests: EstPolicy[] = [];
  const estById = new Map<string, unknown>();

  // Per file, in file order: what it contributes to the set, and its own diagnostics (so the
  // answer lists them file by file, as it always did).
  const files: FileState[] = [];
  for (const source of [...input.policies].sort((a, b) => a.file.localeCompare(b.file))) {
    const file: FileState = { source, diagnostics: [], warnings: [], fileStatic: {}, fileTemplates: {}, offsets: new Map() };
    files.push(file);
    const parts = safe(() => cedar.policySetTextToParts(source.text));
    if (!parts.ok) {
      file.diagnostics.push({ ...locatedAt(source.file, source.text, 0), message: 'policy file could not be parsed', severity: 'error' });
      continue;
    }
    if (parts.value.type === 'failure') {
      for (const e of parts.value.errors) file.diagnostics.push(toDiagnostic(source.file, source.text, e));
      continue;
    }
    let cursor = 0;
    let n = 0;
    const ordered = [
      ...(parts.value.policies ?? []).map((text) => ({ text, template: false })),
      ...(parts.value.policy_templates ?? []).map((text) => ({ text, template: true })),
    ]
      .map((p) => ({ ...p, offset: source.text.indexOf(p.text) }))
      .sort((a, b) => a.offset - b.offset);
    for (const part of ordered) {
      n++;
      const offset = source.text.indexOf(part.text, cursor);
      cursor = offset >= 0 ? offset + part.text.length : cursor;
      const json = safe(() => (part.template ? cedar.templateToJson(part.text) : cedar.policyToJson(part.text)));
      if (!json.ok || json.value.type === 'failure') {
        file.diagnostics.push({
          ...locatedAt(source.file, source.text, Math.max(0, offset)),
          message: 'policy could not be read',
          severity: 'error',
        });
        continue;
      }
      const est = json.value.json;
      const annotations: Record<string, string> = { ...(est.annotations ?? {}) } as Record<string, string>;
      const id = annotations[ANNOTATION_ID] ?? `${source.file}#${n}`;
      const at = locatedAt(source.file, source.text, Math.max(0, offset));
      if (policies.has(id)) {
        file.diagnostics.push({ ...at, severity: 'error', message: `duplicate policy id \`${id}\``, policyId: id });
        continue;
      }
      if (!/^[\w.:/#@-]{1,200}$/.test(id)) {
        file.diagnostics.push({
          ...at,
          severity: 'error',
          message: `policy id \`${id}\` must be 1-200 characters of letters, digits and . : / # @ - _`,
          policyId: id,
        });
        continue;
      }
      if (
        !checkAnnotations(
          annotations,
          est.effect,
          { id, file: source.file, text: source.text, offset: Math.max(0, offset), policyText: part.text },
          file.diagnostics,
          file.warnings,
        )
      )
        continue;
      const info: PolicyInfo = {
        id,
        effect: est.effect,
        file: source.file,
        line: at.line,
        annotations,
        text: part.text,
        template: part.template,
      };
      if (annotations.effect) info.enforcement = annotations.effect as PolicyEffect;
      policies.set(id, info);
      (part.template ? templateTexts : staticTexts).set(id, part.text);
      (part.template ? file.fileTemplates : file.fileStatic)[id] = part.text;
      file.offsets.set(id, Math.max(0, offset));
      scopes.set(id, scopeFacts(est, actionGroups));
      ests.push(est as EstPolicy);
      estById.set(id, est);
    }
  }
  validateFiles(input.schema, files);
  for (const file of files) {
    diagnostics.push(...file.diagnostics);
    warnings.push(...file.warnings);
  }

  const links = input.links ?? [];
  const linkIds = new Set<string>();
  for (const link of links) {
    const where = { file: '<links>', line: 1, column: 1, endLine: 1, endColumn: 1 };
    if (!templateTexts.has(link.templateId)) {
      diagnostics.push({
        ...where,
        severity: 'error',
        message: `link \`${link.linkId}\` names unknown template \`${link.templateId}\``,
        policyId: link.linkId,
      });
      continue;
    }
    if (policies.has(link.linkId) || linkIds.has(link.linkId)) {
      diagnostics.push({ ...where, severity: 'error', message: `duplicate policy id \`${link.linkId}\``, policyId: link.linkId });
      continue;
    }
    linkIds.add(link.linkId);
  }
  if (links.length > 0 && diagnostics.length === 0) {
    const check = safe(() =>
      cedar.checkParsePolicySet({
        staticPolicies: Object.fromEntries(staticTexts),
        templates: Object.fromEntries(templateTexts),
        templateLinks: links.map((l) => ({ templateId: l.templateId, newId: l.linkId, values: l.values as Record<string, EntityUid> })),
      }),
    );
    if (!check.ok || check.value.type === 'failure') {
      const errs = check.ok && check.value.type === 'failure' ? check.value.errors : [{ message: 'template links could not be applied' }];
      for (const e of errs)
        diagnostics.push({ file: '<links>', line: 1, column: 1, endLine: 1, endColumn: 1, severity: 'error', message: e.message });
    }
  }

  if (diagnostics.length > 0) return { ok: false, diagnostics };

  for (const link of links) {
    const template = policies.get(link.templateId)!;
    policies.set(link.linkId, {
      ...template,
      id: link.linkId,
      template: false,
      annotations: { ...template.annotations, template: link.templateId },
    });
    scopes.set(link.linkId, linkScope(scopes.get(link.templateId)!, link));
  }

  const schemaHash = sha256(input.schema);
  const version = `sha256:${sha256(
    JSON.stringify({
      schema: schemaHash,
      policies: [...input.policies].sort((a, b) => a.file.localeCompare(b.file)).map((p) => [p.file, sha256(p.text)]),
      links: links.map((l) => [l.templateId, l.linkId, l.values]),
    }),
  ).slice(0, 32)}`;

  // What evaluation may need, from every policy's and template's JSON form and every link's values.
  const reads = analyseReads(ests, links);
  const policySet: CompiledPolicySet = Object.freeze({
    version,
    schema: input.schema,
    schemaHash,
    policies,
    staticTexts,
    templateTexts,
    links,
    policyJson: estById,
    index: buildIndex(new Map([...scopes].filter(([id]) => policies.get(id)?.enforcement !== 'observe'))),
    observeIndex: buildIndex(new Map([...scopes].filter(([id]) => policies.get(id)?.enforcement === 'observe'))),
    warnings,
    sources: input,
    entityTypes,
    actions: new Set(actionGroups?.keys() ?? []),
    actionEntities,
    mentionsNow: reads.now,
    reads,
    values: schemaValues(schemaJson),
  });
  return { ok: true, policySet, warnings };
}

/** One policy file while a set is compiled: what it contributes, and what was found in it. */
interface FileState {
  source: { file: string; text: string };
  diagnostics: Diagnostic[];
  warnings: Diagnostic[];
  fileStatic: Record<string, string>;
  fileTemplates: Record<string, string>;
  /** Policy id → offset of the policy in the file, where its validation diagnostics are located. */
  offsets: Map<string, number>;
}

/**
 * Strictly validates every file's policies against the schema, in one cedar-wasm call for the
 * whole set: each `validate` parses the schema again (the costliest part of loading a set), and
 * Cedar validates each policy on its own, so one call finds what a call per file finds. Each
 * error and warning goes to the file of its policy. Should the one call fail (it cannot once
 * every policy has parsed, but cedar-wasm is defensive code), each file is validated alone, as
 * before, so the answer stays located file by file.
 */
function validateFiles(schema: string, files: FileState[]): void {
  const withPolicies = files.filter((f) => Object.keys(f.fileStatic).length + Object.keys(f.fileTemplates).length > 0);
  if (withPolicies.length === 0) return;
  if (withPolicies.length > 1) {
    const staticPolicies = Object.assign({}, ...withPolicies.map((f) => f.fileStatic)) as Record<string, string>;
    const templates = Object.assign({}, ...withPolicies.map((f) => f.fileTemplates)) as Record<string, string>;
    const all = safe(() => cedar.validate({ schema, policies: { staticPolicies, templates }, validationSettings: { mode: 'strict' } }));
    if (all.ok && all.value.type === 'success') {
      const fileOf = new Map<string, FileState>();
      for (const f of withPolicies) for (const id of f.offsets.keys()) fileOf.set(id, f);
      const answer = all.value;
      if ([...answer.validationErrors, ...answer.validationWarnings].every((v) => fileOf.has(v.policyId))) {
        for (const v of answer.validationErrors) {
          const f = fileOf.get(v.policyId)!;
          f.diagnostics.push(
            toDiagnostic(f.source.file, f.source.text, v.error, { policyId: v.policyId, baseOffset: f.offsets.get(v.policyId) ?? 0 }),
          );
        }
        for (const v of answer.validationWarnings) {
          const f = fileOf.get(v.policyId)!;
          f.warnings.push(
            toDiagnostic(f.source.file, f.source.text, v.error, {
              severity: 'warning',
              policyId: v.policyId,
              baseOffset: f.offsets.get(v.policyId) ?? 0,
            }),
          );
        }
        return;
      }
    }
  }
  for (const f of withPolicies) validateFile(schema, f);
}

/** Validates one file's policies alone (see `validateFiles`). */
function validateFile(schema: string, file: FileState): void {
  const { source, offsets } = file;
  const validation = safe(() =>
    cedar.validate({
      schema,
      policies: { staticPolicies: file.fileStatic, templates: file.fileTemplates },
      validationSettings: { mode: 'strict' },
    }),
  );
  if (!validation.ok) {
    file.diagnostics.push({ ...locatedAt(source.file, source.text, 0), severity: 'error', message: 'validation failed unexpectedly' });
    return;
  }
  if (validation.value.type === 'failure') {
    for (const e of validation.value.errors) file.diagnostics.push(toDiagnostic(source.file, source.text, e));
    return;
  }
  for (const v of validation.value.validationErrors) {
    file.diagnostics.push(
      toDiagnostic(source.file, source.text, v.error, { policyId: v.policyId, baseOffset: offsets.get(v.policyId) ?? 0 }),
    );
  }
  for (const v of validation.value.validationWarnings) {
    file.warnings.push(
      toDiagnostic(source.file, source.text, v.error, {
        severity: 'warning',
        policyId: v.policyId,
        baseOffset: offsets.get(v.policyId) ?? 0,
      }),
    );
  }
}

/**
 * Type-checks the annotations Argus gives meaning to (`@effect`, `@obligation_*`; see
 * `ARGUS_ANNOTATIONS`): errors (unknown names in Argus's namespaces, near-misses of known names,
 * malformed values) go to `diagnostics` and refuse the set, warnings go to `warnings`. Each is
 * located at the annotation itself. Answers false when the policy has an error.
 */
function checkAnnotations(
  annotations: Record<string, string>,
  effect: 'permit' | 'forbid',
  where: { id: string; file: string; text: string; offset: number; policyText: string },
  diagnostics: Diagnostic[],
  warnings: Diagnostic[],
): boolean {
  let ok = true;
  for (const problem of checkPolicyAnnotations(annotations, effect)) {
    const found = new RegExp(`@\\s*${problem.name}\\b`).exec(where.policyText);
    // INVARIANT: `locatedAt` takes a UTF-8 byte offset into the file; `where.offset` is a character index.
    const at = locatedAt(where.file, where.text, Buffer.byteLength(where.text.slice(0, where.offset + (found?.index ?? 0)), 'utf8'));
    const d: Diagnostic = { ...at, severity: problem.severity, message: `policy \`${where.id}\`: ${problem.message}`, policyId: where.id };
    if (problem.severity === 'error') {
      diagnostics.push(d);
      ok = false;
    } else {
      warnings.push(d);
    }
  }
  return ok;
}

function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

function locatedAt(file: string, text: string, offset: number) {
  const d = toDiagnostic(file, text, { message: '', sourceLocations: [{ start: offset, end: offset }] });
  return { file, line: d.line, column: d.column, endLine: d.endLine, endColumn: d.endColumn, excerpt: d.excerpt };
}

type Safe<T> = { ok: true; value: T } | { ok: false; error: unknown };

/** cedar-wasm throws on malformed call shapes: every call goes through here. */
export function safe<T>(fn: () => T): Safe<T> {
  try {
    return { ok: true, value: fn() };
  } catch (error) {
    return { ok: false, error };
  }
}

interface EstEntity {
  type: string;
  id: string;
}
type EstScope =
  | { op: 'All' }
  | { op: '=='; entity?: EstEntity; slot?: string }
  | { op: 'in'; entity?: EstEntity; slot?: string; entities?: EstEntity[] }
  | { op: 'is'; entity_type: string; in?: { entity?: EstEntity; slot?: string } };

/** Action uid key → every action uid key it stands for (itself plus members, transitively). */
type ActionGroups = Map<string, string[]>;

function readSchemaFacts(schemaJson: Record<string, unknown> | undefined): {
  groups: ActionGroups | undefined;
  entityTypes: Set<string>;
  actionEntities: Map<string, CedarEntity[]>;
} {
  const entityTypes = new Set<string>();
  const actionEntities = new Map<string, CedarEntity[]>();
  if (!schemaJson) return { groups: undefined, entityTypes, actionEntities };
  const parentsOf = new Map<string, string[]>();
  const uids = new Map<string, EntityUid>();
  type Ns = { entityTypes?: Record<string, unknown>; actions?: Record<string, { memberOf?: Array<{ id: string; type?: string }> }> };
  for (const [ns, def] of Object.entries(schemaJson as Record<string, Ns>)) {
    for (const name of Object.keys(def.entityTypes ?? {})) entityTypes.add(ns ? `${ns}::${name}` : name);
    const actionType = ns ? `${ns}::Action` : 'Action';
    for (const [name, action] of Object.entries(def.actions ?? {})) {
      const key = uidKey({ type: actionType, id: name });
      uids.set(key, { type: actionType, id: name });
      const parents = (action.memberOf ?? []).map((m) => ({
        type: m.type ? (m.type.includes('::') || !ns ? m.type : `${ns}::${m.type}`) : actionType,
        id: m.id,
      }));
      for (const p of parents) uids.set(uidKey(p), p);
      parentsOf.set(key, parents.map(uidKey));
    }
  }
  const groups: ActionGroups = new Map();
  for (const action of parentsOf.keys()) {
    const seen = new Set<string>();
    const stack = [action];
    while (stack.length > 0) {
      const a = stack.pop()!;
      if (seen.has(a)) continue;
      seen.add(a);
      for (const p of parentsOf.get(a) ?? []) stack.push(p);
    }
    for (const ancestor of seen) {
      const members = groups.get(ancestor) ?? [];
      members.push(action);
      groups.set(ancestor, members);
    }
    if (seen.size > 1) {
      actionEntities.set(
        action,
        [...seen].map((k) => ({ uid: uids.get(k)!, attrs: {}, parents: (parentsOf.get(k) ?? []).map((p) => uids.get(p)!) })),
      );
    }
  }
  return { groups, entityTypes, actionEntities };
}

function scopeFacts(est: { principal: unknown; action: unknown; resource: unknown }, groups: ActionGroups | undefined): ScopeFacts {
  return {
    actions: actionKeys(est.action as EstScope, groups),
    principal: anchorOf(est.principal as EstScope),
    resource: anchorOf(est.resource as EstScope),
  };
}

function actionKeys(scope: EstScope, groups: ActionGroups | undefined): string[] | '*' {
  if (scope.op === '==' && scope.entity) return [uidKey(scope.entity)];
  if (scope.op === 'in') {
    const listed = scope.entities ?? (scope.entity ? [scope.entity] : []);
    if (!groups) return '*';
    const out = new Set<string>();
    for (const e of listed) {
      const key = uidKey(e);
      for (const member of groups.get(key) ?? [key]) out.add(member);
    }
    return [...out];
  }
  return '*';
}

/** The most selective anchor of a principal/resource constraint, or a slot to fill from a link. */
function anchorOf(scope: EstScope): ScopeFacts['principal'] {
  if (scope.op === '==' || scope.op === 'in') {
    if (scope.op === 'in' && scope.entities) return { kind: 'none' };
    if (scope.entity) return { kind: 'entity', key: uidKey(scope.entity) };
    if (scope.slot) return { kind: 'slot', slot: scope.slot };
  }
  if (scope.op === 'is') {
    if (scope.in?.entity) return { kind: 'entity', key: uidKey(scope.in.entity) };
    if (scope.in?.slot) return { kind: 'slot', slot: scope.in.slot };
    return { kind: 'type', key: scope.entity_type };
  }
  return { kind: 'none' };
}

function linkScope(template: ScopeFacts, link: TemplateLinkInput): ScopeFacts {
  const fill = (a: ScopeFacts['principal']): ScopeFacts['principal'] => {
    if (a.kind !== 'slot') return a;
    const value = link.values[a.slot as '?principal' | '?resource'];
    return value ? { kind: 'entity', key: uidKey(value) } : { kind: 'none' };
  };
  return { actions: template.actions, principal: fill(template.principal), resource: fill(template.resource) };
}
