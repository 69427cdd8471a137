import { composeConfigFile, ConfigError, defineSection, type ConfigIssue } from '@argus/platform';

/** The `effects` section of the configuration (`schemas/config/effects.schema.json`), defaults filled. */
export interface EffectsConfig {
  approvals: { ttlMs: number; retentionMs: number };
  quotas: { enabled: boolean; rules: QuotaRuleConfig[] };
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

/** The quotas part of the section as its users may give it: `rules` left out means none. */
export type QuotaSettings = { enabled: boolean; rules?: readonly QuotaRuleConfig[] };

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

/** The problems of the configured quota rules (pointers relative to the `effects` section). */
function quotaIssues(config: { quotas: QuotaSettings }): ConfigIssue[] {
  const seen = new Set<string>();
  const errors: ConfigIssue[] = [];
  (config.quotas.rules ?? []).forEach((r, i) => {
    const ms = windowMs(r.window);
    if (!Number.isInteger(ms) || ms < 1_000 || ms > MAX_QUOTA_WINDOW_MS)
      errors.push({ path: `/quotas/rules/${i}/window`, message: 'must be between 1s and 31d' });
    if (seen.has(r.name)) errors.push({ path: `/quotas/rules/${i}/name`, message: `\`${r.name}\` is used by an earlier rule` });
    seen.add(r.name);
  });
  return errors;
}

/**
 * The configured rules with their windows in milliseconds. A window under 1 s or over 31 days, or
 * a name used twice, throws `ConfigError` naming `/effects/quotas/rules/<i>/...` (the `effects`
 * section has already refused both at load).
 */
export function quotaRules(config: { quotas: QuotaSettings }): QuotaRule[] {
  const errors = quotaIssues(config);
  if (errors.length > 0)
    throw new ConfigError(
      'invalid effects configuration',
      errors.map((e) => ({ path: `/effects${e.path}`, message: e.message })),
    );
  return (config.quotas.rules ?? []).map((r) => ({
    name: r.name,
    key: [...r.key],
    windowMs: windowMs(r.window),
    ...(r.limit !== undefined ? { limit: r.limit } : {}),
    ...(r.actions ? { actions: [...r.actions] } : {}),
  }));
}

/** The schema `$id` of the section. */
export const EFFECTS_CONFIG_SCHEMA = 'https://argus.dev/schemas/config/effects.json';

/**
 * `effects` (`schemas/config/effects.schema.json`), with its environment overrides
 * `ARGUS_ESCALATION_WEBHOOK_URL` and `ARGUS_ESCALATION_SECRET`; beyond the schema, quota windows
 * between 1 s and 31 days and unique rule names.
 */
export const effectsSection = defineSection<EffectsConfig>({
  key: 'effects',
  schemaId: EFFECTS_CONFIG_SCHEMA,
  env: {
    ARGUS_ESCALATION_WEBHOOK_URL: { pointer: '/escalation/webhookUrl', type: 'string' },
    ARGUS_ESCALATION_SECRET: { pointer: '/escalation/secret', type: 'string' },
  },
  check: (value) => quotaIssues(value),
});

/**
 * The `effects` section alone, its environment overrides applied: validated, defaults filled,
 * frozen. A bad section throws `ConfigError` naming each path under `/effects`; values are never
 * echoed. (The configuration file loads it with every other section.)
 */
export function loadEffectsConfig(raw: unknown = {}, env: NodeJS.ProcessEnv = process.env): Readonly<EffectsConfig> {
  return composeConfigFile(EFFECTS_CONFIG_SCHEMA, { effects: effectsSection }).load({ document: { effects: raw ?? {} }, env }).effects;
}
