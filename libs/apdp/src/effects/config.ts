import { validatorFor } from '@argus/contracts';
import { ConfigError } from '@argus/platform';

/** The `effects` section of the configuration (`schemas/config/effects.schema.json`), defaults filled. */
export interface EffectsConfig {
  approvals: { ttlMs: number; retentionMs: number };
  quotas: { enabled: boolean; rules?: QuotaRuleConfig[] };
  escalation: {
    /** Unset: `escalate` effects are reported as failed (nowhere to notify). */
    webhookUrl?: string;
    /** HMAC key of the webhook signature (secret: never logged or echoed). */
    secret?: string;
    queueName: string;
    attempts: number;
    backoffMs: number;
    timeoutMs: number;
    concurrency: number;
  };
}

/** What a named quota counts together (see `docs/policies.md`, Quotas). */
export type QuotaKeyPart = 'principal' | 'human' | 'goal' | 'tenant' | 'resource' | 'action' | 'intent';

/** One named quota as configured (`effects.quotas.rules[]`). */
export interface QuotaRuleConfig {
  name: string;
  key: QuotaKeyPart[];
  /** `90s`, `5m`, `1h`, `1d`, or milliseconds. */
  window: string | number;
  limit?: number;
  actions?: string[];
}

/** A named quota ready to count: the window in milliseconds. */
export interface QuotaRule {
  name: string;
  key: readonly QuotaKeyPart[];
  windowMs: number;
  limit?: number;
  actions?: readonly string[];
}

/** The longest quota window: 31 days. */
export const MAX_QUOTA_WINDOW_MS = 31 * 86_400_000;

const UNIT_MS = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;

/** Milliseconds of a window written `90s`, `5m`, `1h`, `1d` (or already in milliseconds). */
export function windowMs(window: string | number): number {
  if (typeof window === 'number') return window;
  const m = /^([1-9][0-9]*)(ms|s|m|h|d)$/.exec(window);
  if (!m) return Number.NaN;
  return Number(m[1]) * UNIT_MS[m[2] as keyof typeof UNIT_MS];
}

/**
 * The configured rules with their windows in milliseconds. A window under 1 s or over 31 days, or
 * a name used twice, throws `ConfigError` naming `/effects/quotas/rules/<i>/...`.
 */
export function quotaRules(config: Pick<EffectsConfig, 'quotas'>): QuotaRule[] {
  const seen = new Set<string>();
  const errors: Array<{ path: string; message: string }> = [];
  const rules = (config.quotas.rules ?? []).map((r, i) => {
    const ms = windowMs(r.window);
    if (!Number.isInteger(ms) || ms < 1_000 || ms > MAX_QUOTA_WINDOW_MS)
      errors.push({ path: `/effects/quotas/rules/${i}/window`, message: 'must be between 1s and 31d' });
    if (seen.has(r.name)) errors.push({ path: `/effects/quotas/rules/${i}/name`, message: `\`${r.name}\` is used by an earlier rule` });
    seen.add(r.name);
    return {
      name: r.name,
      key: [...r.key],
      windowMs: ms,
      ...(r.limit !== undefined ? { limit: r.limit } : {}),
      ...(r.actions ? { actions: [...r.actions] } : {}),
    };
  });
  if (errors.length > 0) throw new ConfigError('invalid effects configuration', errors);
  return rules;
}

/** The schema `$id` of the section. */
export const EFFECTS_CONFIG_SCHEMA = 'https://argus.dev/schemas/config/effects.json';

/** Environment variables that override the file: `ARGUS_ESCALATION_WEBHOOK_URL`, `ARGUS_ESCALATION_SECRET`. */
export const EFFECTS_ENV = { webhookUrl: 'ARGUS_ESCALATION_WEBHOOK_URL', secret: 'ARGUS_ESCALATION_SECRET' } as const;

/**
 * Validates the `effects` section (after env overrides), fills defaults and freezes it. A bad
 * section throws `ConfigError` naming each path under `/effects`; values are never echoed.
 */
export function loadEffectsConfig(raw: unknown = {}, env: Record<string, string | undefined> = process.env): Readonly<EffectsConfig> {
  const doc = (raw === undefined ? {} : structuredClone(raw)) as Record<string, unknown>;
  if (doc && typeof doc === 'object' && !Array.isArray(doc)) {
    const url = env[EFFECTS_ENV.webhookUrl];
    const secret = env[EFFECTS_ENV.secret];
    if (url !== undefined || secret !== undefined) {
      const escalation = (doc.escalation && typeof doc.escalation === 'object' ? doc.escalation : {}) as Record<string, unknown>;
      if (url !== undefined) escalation.webhookUrl = url;
      if (secret !== undefined) escalation.secret = secret;
      doc.escalation = escalation;
    }
  }
  const checked = validatorFor<EffectsConfig>(EFFECTS_CONFIG_SCHEMA)(doc);
  if (!checked.ok)
    throw new ConfigError(
      'invalid effects configuration',
      checked.errors.map((e) => ({ path: `/effects${e.path}`, message: e.message })),
    );
  quotaRules(checked.value);
  return deepFreeze(checked.value);
}

function deepFreeze<T>(value: T): Readonly<T> {
  if (value && typeof value === 'object') {
    for (const v of Object.values(value)) deepFreeze(v);
    Object.freeze(value);
  }
  return value;
}
