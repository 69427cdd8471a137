import { validatorFor } from '@argus/contracts';
import { ConfigError } from '@argus/platform';

/** The `effects` section of the configuration (`schemas/config/effects.schema.json`), defaults filled. */
export interface EffectsConfig {
  approvals: { ttlMs: number; retentionMs: number };
  quotas: { enabled: boolean };
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
  if (!checked.ok) throw new ConfigError('invalid effects configuration', checked.errors.map((e) => ({ path: `/effects${e.path}`, message: e.message })));
  return deepFreeze(checked.value);
}

function deepFreeze<T>(value: T): Readonly<T> {
  if (value && typeof value === 'object') {
    for (const v of Object.values(value)) deepFreeze(v);
    Object.freeze(value);
  }
  return value;
}
