/**
 * The audit trail's configuration: one JSON Schema (`schemas/config/audit.schema.json`), every
 * limit with an explicit default, validated at start-up, frozen.
 */
import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { validatorFor } from '@argus/contracts';
import { ConfigError } from '@argus/platform';
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
  /** fsync every batch. Default: true in strict mode, false otherwise. */
  fsync?: boolean;
}

/** One JSON line per record on standard output. */
export interface StdoutSinkConfig {
  type: 'stdout';
}

/** Any sink. */
export type SinkConfig = SqliteSinkConfig | MongoSinkConfig | JsonlSinkConfig | StdoutSinkConfig;

/** The validated, defaulted audit configuration. */
export interface AuditConfig {
  enabled: boolean;
  /** Chain owner, stable across restarts of the same replica. Default: the host name. */
  writerId: string;
  /**
   * `strict` (default): group commit, `record` resolves once the batch holding the record is durable.
   * `async`: `record` returns at once; a crash may lose the records not yet written.
   */
  durability: 'async' | 'strict';
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
  signing?: { enabled?: boolean; privateKey?: string; privateKeyFile?: string; headFile?: string; everyRecords: number; everyMs: number };
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

const SCHEMA_ID = 'https://argus.dev/schemas/config/audit.json';

function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object') {
    for (const v of Object.values(value)) deepFreeze(v);
    Object.freeze(value);
  }
  return value;
}

/**
 * Validates `raw` against the schema, applies defaults and returns the frozen configuration.
 * Throws a `ConfigError` naming every offending path; never echoes a key.
 */
export function parseAuditConfig(raw: unknown = {}): AuditConfig {
  const copy: unknown = raw === undefined ? {} : structuredClone(raw);
  const result = validatorFor<AuditConfig>(SCHEMA_ID)(copy);
  if (!result.ok) throw new ConfigError('invalid audit configuration', result.errors);
  const cfg = result.value;
  cfg.writerId ??= sanitizeWriterId(hostname());
  if (cfg.signing?.privateKeyFile && !cfg.signing.privateKey) {
    try {
      cfg.signing.privateKey = readFileSync(cfg.signing.privateKeyFile, 'utf8');
    } catch {
      throw new ConfigError('invalid audit configuration', [{ path: '/signing/privateKeyFile', message: 'cannot be read' }]);
    }
  }
  if (cfg.retry.maxBackoffMs < cfg.retry.initialBackoffMs) {
    throw new ConfigError('invalid audit configuration', [{ path: '/retry/maxBackoffMs', message: 'must be at least `initialBackoffMs`' }]);
  }
  return deepFreeze(cfg);
}

function sanitizeWriterId(name: string): string {
  const id = name.replace(/[^A-Za-z0-9_.:-]/g, '-').slice(0, 128);
  return id === '' ? 'argus' : id;
}
