/**
 * The audit trail's configuration: one JSON Schema (`schemas/config/audit.schema.json`), every
 * limit with an explicit default, validated at start-up, frozen.
 */
import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { defineSection, parseSection, type ConfigIssue } from '@argus/platform';
import type { MaskRule } from './record.ts';

/** SQLite sink: the `audit_records` table in the database file at `path` (WAL). */
export interface SqliteSinkConfig {
  type: 'sqlite';
  path: string;
  /** How long a write waits on a locked database before failing (and spilling). Default 1000. */
  busyTimeoutMs?: number;
}

/** MongoDB sink (official driver). */
export interface MongoSinkConfig {
  type: 'mongodb';
  url: string;
  /** Default: the database named in the URL, else `argus`. */
  database?: string;
  /** Default `audit_records`. */
  collection?: string;
}

/** Rotating JSONL file sink. */
export interface JsonlSinkConfig {
  type: 'jsonl';
  path: string;
  /** Rotate when the file would exceed this size. Default 100 MiB. */
  maxBytes?: number;
  /** Rotated files kept (`path.1` .. `path.N`). Default 10. */
  maxFiles?: number;
  /** fsync every batch. Default: true with `durability: strict`, false otherwise. */
  fsync?: boolean;
}

/** One JSON line per record on standard output. */
export interface StdoutSinkConfig {
  type: 'stdout';
}

/** Any sink. */
export type SinkConfig = SqliteSinkConfig | MongoSinkConfig | JsonlSinkConfig | StdoutSinkConfig;

/** How far a record has gone when its decision is answered (see {@link AuditConfig.durability}). */
export type AuditDurability = 'async' | 'process' | 'strict';

/** Whether a caller waits for its record's commit (`process`, `strict`: group commit). */
export function waitsForCommit(durability: AuditDurability): boolean {
  return durability !== 'async';
}

/** Whether each commit is synced to the disk before it is acknowledged (`strict`). */
export function syncsCommits(durability: AuditDurability): boolean {
  return durability === 'strict';
}

/** The validated, defaulted audit configuration. */
export interface AuditConfig {
  enabled: boolean;
  /** Chain owner, stable across restarts of the same replica. Default: the host name. */
  writerId: string;
  /**
   * `process` (default): group commit, `record` resolves once the batch holding the record is
   * written to the sinks: a crash or `kill -9` of Argus loses no acknowledged record; an OS crash
   * or power loss may lose the last commits. `strict`: the same, each commit synced to the disk
   * before it is acknowledged (SQLite `synchronous=FULL`, JSONL fsync). `async`: `record` returns
   * at once; a crash may lose the records not yet written.
   */
  durability: AuditDurability;
  buffer: {
    /** Records held in memory before `onFull` applies. */
    maxRecords: number;
    /** Records per sink write. */
    batchSize: number;
    /** How long a partial batch waits for company (async mode). */
    flushIntervalMs: number;
    /** When the buffer is full: spill to the local file, drop (counted, logged), or make `record` wait. */
    onFull: 'spill' | 'drop' | 'block';
  };
  spill: {
    /** Directory of the spill file (`<writerId>.spill.jsonl`). */
    dir: string;
    /** Beyond this size, records are dropped (counted, logged) instead of spilled. */
    maxBytes: number;
  };
  retry: { initialBackoffMs: number; maxBackoffMs: number };
  record: { includePaths: string[]; mask: MaskRule[]; hashSalt?: string };
  /**
   * Signed checkpoints (Ed25519), on by default. Without `privateKey`/`privateKeyFile` the key is
   * `audit-key` beside the spill directory (`.argus/audit-key`), generated when missing. The latest
   * checkpoint every sink holds is copied to `headFile` (default `audit-head.json` beside the key).
   */
  signing: { enabled: boolean; privateKey?: string; privateKeyFile?: string; headFile?: string; everyRecords: number; everyMs: number };
  /**
   * Unset `maxAge`: every record is kept. With it (`<n>h`, `<n>d`), records older than it are
   * deleted by the sinks that can (SQLite), cut at a signed checkpoint (see `Retention`).
   */
  retention: { maxAge?: string };
  sinks: SinkConfig[];
}

/** The configuration as written by a user: every field optional. */
export type AuditConfigInput = {
  [K in keyof AuditConfig]?: NonNullable<AuditConfig[K]> extends object
    ? NonNullable<AuditConfig[K]> extends unknown[]
      ? AuditConfig[K]
      : Partial<NonNullable<AuditConfig[K]>>
    : AuditConfig[K];
};

/**
 * `audit` (`schemas/config/audit.schema.json`), with its environment overrides `ARGUS_AUDIT_ENABLED`
 * and `ARGUS_AUDIT_DURABILITY`. Beyond the schema: the writer id defaults to the host name, a
 * `signing.privateKeyFile` is read, and `retry.maxBackoffMs` is at least `retry.initialBackoffMs`.
 */
export const auditSection = defineSection<AuditConfig>({
  key: 'audit',
  schemaId: 'https://argus.dev/schemas/config/audit.json',
  env: {
    ARGUS_AUDIT_ENABLED: { pointer: '/enabled', type: 'boolean' },
    ARGUS_AUDIT_DURABILITY: { pointer: '/durability', type: 'string' },
  },
  check(cfg) {
    cfg.writerId ??= sanitizeWriterId(hostname());
    const errors: ConfigIssue[] = [];
    if (cfg.signing?.privateKeyFile && !cfg.signing.privateKey) {
      try {
        cfg.signing.privateKey = readFileSync(cfg.signing.privateKeyFile, 'utf8');
      } catch {
        errors.push({ path: '/signing/privateKeyFile', message: 'cannot be read' });
      }
    }
    if (cfg.retention?.maxAge !== undefined && !cfg.signing.enabled)
      errors.push({ path: '/retention/maxAge', message: 'needs signed checkpoints (`signing.enabled`): the cut is signed' });
    if (cfg.retry.maxBackoffMs < cfg.retry.initialBackoffMs)
      errors.push({ path: '/retry/maxBackoffMs', message: 'must be at least `initialBackoffMs`' });
    return errors;
  },
});

/** `retention.maxAge` in milliseconds (`<n>h`, `<n>d`); undefined when unset. */
export function retentionMs(cfg: Pick<AuditConfig, 'retention'>): number | undefined {
  const m = /^(\d+)(h|d)$/.exec(cfg.retention?.maxAge ?? '');
  return m ? Number(m[1]) * (m[2] === 'd' ? 86_400_000 : 3_600_000) : undefined;
}

/**
 * Validates `raw` against the schema, applies defaults and returns the frozen configuration.
 * Throws a `ConfigError` naming every offending path; never echoes a key.
 */
export function parseAuditConfig(raw: unknown = {}): AuditConfig {
  return parseSection(auditSection, raw);
}

function sanitizeWriterId(name: string): string {
  const id = name.replace(/[^A-Za-z0-9_.:-]/g, '-').slice(0, 128);
  return id === '' ? 'argus' : id;
}
