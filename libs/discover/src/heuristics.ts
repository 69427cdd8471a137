/**
 * The heuristics data file: loaded, validated against `discovery-heuristics.json`, frozen; and the
 * matchers that say whether a workload (container, pod, service) looks like an agent or MCP server.
 */
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { validatorFor } from '@argus/contracts';
import { ConfigError } from '@argus/platform';
import { globMatch } from './glob.ts';
import type { Heuristics, Hint } from './types.ts';

/** `$id` of the heuristics schema. */
export const HEURISTICS_SCHEMA_ID = 'https://argus.dev/schemas/discovery-heuristics.json';

/** The bundled heuristics file (`libs/discover/heuristics.json`). */
export const DEFAULT_HEURISTICS_FILE = resolve(dirname(fileURLToPath(import.meta.url)), '../heuristics.json');

function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object') {
    for (const v of Object.values(value)) deepFreeze(v);
    Object.freeze(value);
  }
  return value;
}

/** Validates parsed heuristics; throws `ConfigError` naming each offending path. */
export function parseHeuristics(data: unknown, source = 'heuristics'): Heuristics {
  const copy: unknown = structuredClone(data);
  const result = validatorFor<Heuristics>(HEURISTICS_SCHEMA_ID)(copy);
  if (!result.ok) throw new ConfigError(`invalid heuristics in \`${source}\``, result.errors);
  return deepFreeze(result.value);
}

/** Reads and validates a heuristics file (default: the bundled one). */
export function loadHeuristics(file: string = DEFAULT_HEURISTICS_FILE): Heuristics {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new ConfigError(`cannot read heuristics file \`${file}\``, [
      { path: '/', message: (err as NodeJS.ErrnoException).code ?? 'unreadable' },
    ]);
  }
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch {
    throw new ConfigError(`heuristics file \`${file}\` is not JSON`, [{ path: '/', message: 'invalid JSON' }]);
  }
  return parseHeuristics(data, file);
}

/** A workload as the heuristics see it. Env holds variable NAMES only. */
export interface Workload {
  image?: string;
  labels?: Readonly<Record<string, string>>;
  annotations?: Readonly<Record<string, string>>;
  envNames?: readonly string[];
  ports?: readonly number[];
}

/** One reason a workload matched, e.g. `image:*langchain*`, `env:OPENAI_API_KEY`. */
export interface MatchSignal {
  source: 'image' | 'label' | 'annotation' | 'env' | 'port';
  rule: string;
  hint: Hint;
  framework?: string;
}

/** The verdict on a workload. `strong` is false when only well-known ports matched. */
export interface WorkloadMatch {
  matched: boolean;
  strong: boolean;
  signals: MatchSignal[];
  /** Well-known ports exposed by the workload, worth probing first. */
  ports: number[];
}

/** Image name candidates: the full reference, and the last path segment without tag or digest. */
function imageNames(image: string): string[] {
  const noDigest = image.split('@')[0] ?? image;
  const lastSlash = noDigest.lastIndexOf('/');
  const tagColon = noDigest.lastIndexOf(':');
  const repo = tagColon > lastSlash ? noDigest.slice(0, tagColon) : noDigest;
  const base = repo.slice(repo.lastIndexOf('/') + 1);
  const withoutRegistry =
    repo.includes('/') && /[.:]|^localhost$/.test(repo.split('/')[0] ?? '') ? repo.slice(repo.indexOf('/') + 1) : repo;
  return [...new Set([image, repo, withoutRegistry, base])];
}

function matchKeyValues(
  rules: Heuristics['labels'],
  entries: Readonly<Record<string, string>> | undefined,
  source: 'label' | 'annotation',
): MatchSignal[] {
  if (!entries) return [];
  const out: MatchSignal[] = [];
  for (const rule of rules) {
    for (const [key, value] of Object.entries(entries)) {
      if (globMatch(rule.key, key) && (rule.value === undefined || globMatch(rule.value, value))) {
        out.push({ source, rule: rule.value === undefined ? rule.key : `${rule.key}=${rule.value}`, hint: rule.hint });
        break;
      }
    }
  }
  return out;
}

/** Applies every rule to a workload. */
export function matchWorkload(h: Heuristics, w: Workload): WorkloadMatch {
  const signals: MatchSignal[] = [];
  if (w.image) {
    const names = imageNames(w.image);
    for (const rule of h.images) {
      if (names.some((n) => globMatch(rule.pattern, n))) {
        signals.push({ source: 'image', rule: rule.pattern, hint: rule.hint, ...(rule.framework ? { framework: rule.framework } : {}) });
      }
    }
  }
  signals.push(...matchKeyValues(h.labels, w.labels, 'label'));
  signals.push(...matchKeyValues(h.annotations, w.annotations, 'annotation'));
  for (const rule of h.env) {
    const name = w.envNames?.find((n) => globMatch(rule.name, n));
    if (name !== undefined) signals.push({ source: 'env', rule: rule.name, hint: rule.hint });
  }
  const strong = signals.length > 0;
  const ports: number[] = [];
  for (const rule of h.ports) {
    if (w.ports?.includes(rule.port)) {
      ports.push(rule.port);
      signals.push({ source: 'port', rule: String(rule.port), hint: rule.hint });
    }
  }
  return { matched: signals.length > 0, strong, signals, ports };
}

/** Compact label values describing a match, for the registry record (`image:*crewai*,env:OPENAI_API_KEY`). */
export function describeSignals(signals: readonly MatchSignal[]): string {
  return signals
    .map((s) => `${s.source}:${s.rule}`)
    .join(',')
    .slice(0, 256);
}
