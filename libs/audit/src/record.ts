/**
 * From a decision event to an audit record: value-free by default, opted-in fields copied, masks
 * applied. Works on copies only, so the API response the event came from is never altered.
 */
import { createHmac, randomBytes } from 'node:crypto';
import type { DecisionEvent, EntityRef } from '@argus/contracts';
import { ConfigError } from '@argus/platform';
import { canonicalJson } from './canonical-json.ts';
import { getAt, matchAll, parsePath, removeMatch, replaceMatch, setAt, toPointer, type DocPath } from './paths.ts';
import type { AuditProxyOutcome, AuditRecord, ChainFields } from './types.ts';

/** A path to mask: removed (default) or replaced by a salted sha256 of its value. */
export interface MaskRule {
  path: string;
  mode?: 'remove' | 'hash';
}

/** What goes into a record beyond the value-free fields, and what is masked. */
export interface RecordOptions {
  /**
   * Paths into `{input, result, proxy, caller}` whose values are copied into `included`
   * (e.g. `/input/context/ticket`, `input.resource.attributes.sensitivity`). Empty by default.
   */
  includePaths?: readonly string[];
  /** Paths removed or hashed before writing; the concrete paths masked are listed in `masked`. */
  mask?: readonly MaskRule[];
  /** Salt (HMAC key) of hashed values. A random per-process salt is used when absent. */
  hashSalt?: string;
}

/** A record before the writer chains it. */
export type UnchainedAuditRecord = Omit<AuditRecord, keyof ChainFields>;

/** Builds a record from an event. */
export type RecordBuilder = (event: DecisionEvent, recordedAt: Date) => UnchainedAuditRecord;

const MAX_ERROR_CHARS = 500;

function refCopy(ref: { type?: unknown; id?: unknown } | undefined): EntityRef {
  return { id: typeof ref?.id === 'string' ? ref.id : '', type: typeof ref?.type === 'string' ? ref.type : '' };
}

function compile(paths: readonly string[], key: string): DocPath[] {
  return paths.map((p, i) => {
    const parsed = parsePath(p);
    if (!parsed)
      throw new ConfigError(`invalid audit path \`${p}\``, [{ path: `/${key}/${i}`, message: 'not a JSON Pointer or dotted path' }]);
    return parsed;
  });
}

// What `Date#toISOString` writes: such a time is already in the record's form.
const ISO_UTC = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

function isoTime(time: string): string {
  if (ISO_UTC.test(time)) return time;
  const d = new Date(time);
  return Number.isNaN(d.getTime()) ? time : d.toISOString();
}

/**
 * Compiles the record options once (paths are parsed up front and a bad one throws a
 * `ConfigError`), returning the builder the writer calls for every decision.
 */
export function createRecordBuilder(options: RecordOptions = {}): RecordBuilder {
  const includes = compile(options.includePaths ?? [], 'includePaths');
  const masks = (options.mask ?? []).map((rule, i) => {
    const parsed = parsePath(rule.path);
    if (!parsed)
      throw new ConfigError(`invalid mask path \`${rule.path}\``, [
        { path: `/mask/${i}/path`, message: 'not a JSON Pointer or dotted path' },
      ]);
    return { ...parsed, mode: rule.mode ?? 'remove' };
  });
  const salt = options.hashSalt ?? randomBytes(32).toString('hex');
  const hash = (value: unknown) => `sha256:${createHmac('sha256', salt).update(canonicalJson(value)).digest('hex')}`;

  return (event, recordedAt) => {
    const input = event.input;
    const result = event.result;
    const proxy = event.proxy;
    // The value-free view of the event, in the event's own shape so that paths mean the same thing.
    const doc: Record<string, unknown> = {
      input: {
        principal: refCopy(input.principal),
        action: input.action,
        resource: refCopy(input.resource),
        ...(input.intent !== undefined ? { intent: input.intent } : {}),
        ...(input.goal !== undefined ? { goal: input.goal } : {}),
        delegation: (input.delegation ?? []).map(refCopy),
      },
      result: {
        decision: result.decision,
        allow: result.allow === true,
        policies: (result.reasons ?? []).map((r) => r.policy),
        errors: (result.errors ?? []).map((e) => ({
          code: e.code,
          message: String(e.message).slice(0, MAX_ERROR_CHARS),
          ...(e.policy !== undefined ? { policy: e.policy } : {}),
        })),
        codes: [...(result.codes ?? [])],
      },
      caller: { kind: event.caller.kind, ...(event.caller.subject !== undefined ? { subject: event.caller.subject } : {}) },
      ...(proxy
        ? {
            proxy: {
              ...(proxy.credentialName !== undefined ? { credentialName: proxy.credentialName } : {}),
              ...(proxy.error !== undefined ? { error: String(proxy.error).slice(0, MAX_ERROR_CHARS) } : {}),
              ...(proxy.status !== undefined ? { status: proxy.status } : {}),
              upstream: proxy.upstream,
              ...(proxy.usage !== undefined ? { usage: usageCopy(proxy.usage) } : {}),
            },
          }
        : {}),
    };

    const included: string[][] = [];
    if (includes.length > 0) {
      const source = { input, result, proxy, caller: event.caller };
      for (const inc of includes) {
        for (const m of matchAll(source, inc.segments)) {
          setAt(doc, m.segments, structuredClone(getAt(source, m.segments)));
          included.push(m.segments);
        }
      }
    }

    const masked: string[] = [];
    for (const mask of masks) {
      for (const m of matchAll(doc, mask.segments)) {
        if (mask.mode === 'hash') replaceMatch(m, hash(getAt(m.parent, [m.key])));
        else removeMatch(m);
        masked.push(toPointer(m.segments));
      }
    }

    const v = doc.input as Record<string, unknown>;
    const r = doc.result as Record<string, unknown>;
    const delegation = (Array.isArray(v.delegation) ? v.delegation : [])
      .filter((x): x is EntityRef => x !== null && typeof x === 'object')
      .map(refCopy);
    const first = delegation[0];
    // INVARIANT: keys in canonical (UTF-16) order, nested objects too, with the chain's fields as
    // placeholders the chainer fills in place: the audit thread's canonical JSON of such a record
    // is one JSON.stringify (`canonicalJson` checks the order, and sorts what is out of it). Chaining
    // a record: 12.2–12.5 µs and 7.3 KiB built piece by piece, 7.5–8.0 µs and 2.4 KiB so, the floor
    // of JSON.stringify + SHA-256 (bench/audit/chain.ts).
    const record: UnchainedAuditRecord & Pick<ChainFields, 'prevHash' | 'seq' | 'writer'> = {
      action: typeof v.action === 'string' ? v.action : '[masked]',
      allow: result.allow === true,
      ...(result.approval
        ? { approval: { id: result.approval.id, ...(result.approval.status ? { status: result.approval.status } : {}) } }
        : {}),
      caller: (doc.caller as AuditRecord['caller'] | undefined) ?? { kind: '[masked]' },
      codes: Array.isArray(r.codes) ? (r.codes as string[]) : [],
      decision_id: event.decisionId,
      delegation,
      ...(result.effects && result.effects.length > 0
        ? { effects: result.effects.map((e) => ({ effect: e.effect, policy: e.policy, status: e.status })) }
        : {}),
      errors: Array.isArray(r.errors) ? (r.errors as AuditRecord['errors']) : [],
      ...(typeof v.goal === 'string' ? { goal: v.goal } : {}),
      ...(typeof v.intent === 'string' ? { intent: v.intent } : {}),
      kind: 'decision',
      latencyMs: event.latencyMs,
      ...(result.observed && result.observed.length > 0 ? { observed: result.observed.map((o) => o.policy) } : {}),
      outcome: result.decision,
      policies: Array.isArray(r.policies) ? (r.policies as string[]) : [],
      policyVersion: event.policyVersion,
      prevHash: '',
      principal: maskedRef(v.principal),
      ...(doc.proxy ? { proxy: doc.proxy as AuditRecord['proxy'] } : {}),
      recordedAt: recordedAt.toISOString(),
      ...(event.relatedDecisionId !== undefined ? { relatedDecisionId: event.relatedDecisionId } : {}),
      resource: maskedRef(v.resource),
      ...(first && first.type === 'Human' ? { root: first } : {}),
      seq: 0,
      ...(event.shadow ? { shadow: { ...event.shadow, candidatePolicies: [...event.shadow.candidatePolicies] } } : {}),
      time: isoTime(event.time),
      writer: '',
    };
    if (included.length > 0) {
      const out: Record<string, unknown> = {};
      for (const segs of included) {
        const value = getAt(doc, segs);
        if (value !== undefined) out[toPointer(segs)] = value;
      }
      record.included = out;
    }
    if (masked.length > 0) record.masked = [...new Set(masked)];
    return record;
  };
}

/** A copy of the call's usage figures, the known ones first in canonical key order (any other after). */
function usageCopy(usage: NonNullable<AuditProxyOutcome['usage']>): AuditProxyOutcome['usage'] {
  const { costUsd, estimated, inputTokens, outputTokens, totalTokens, ...rest } = usage;
  return {
    ...(costUsd !== undefined ? { costUsd } : {}),
    ...(estimated !== undefined ? { estimated } : {}),
    ...(inputTokens !== undefined ? { inputTokens } : {}),
    ...(outputTokens !== undefined ? { outputTokens } : {}),
    ...(totalTokens !== undefined ? { totalTokens } : {}),
    ...rest,
  };
}

function maskedRef(value: unknown): EntityRef {
  const ref = (value ?? {}) as { type?: unknown; id?: unknown };
  return { id: typeof ref.id === 'string' ? ref.id : '[masked]', type: typeof ref.type === 'string' ? ref.type : '[masked]' };
}
