/**
 * Types of the decision audit trail: the records it writes, the ports its sinks implement and the
 * query port the decisions API reads through.
 */
import type { AuditDurability } from './config.ts';
import type { DecisionCaller, DecisionError, DecisionOutcome, EntityRef } from '@argus/contracts';

/** Fields every chained record carries. The hash covers every other field of the record. */
export interface ChainFields {
  /** The writer (process / replica) whose chain this record belongs to. */
  writer: string;
  /** Position in the writer's chain, starting at 1, without gaps. */
  seq: number;
  /** `hash` of the previous record of the same writer; 64 zeros for the first. */
  prevHash: string;
  /** sha256 (hex) of the canonical JSON of the record without `hash`. */
  hash: string;
}

/** What a proxied call adds to its record. Carries the credential *name*, never a value. */
export interface AuditProxyOutcome {
  upstream: string;
  status?: number;
  credentialName?: string;
  usage?: { inputTokens?: number; outputTokens?: number; totalTokens?: number; costUsd?: number; estimated?: boolean };
  error?: string;
}

/** One decision as written to the trail: value-free unless fields were opted in, masked, chained. */
export interface AuditRecord extends ChainFields {
  kind: 'decision';
  decision_id: string;
  /** When the decision was made (ISO 8601, UTC). */
  time: string;
  /** When the record was chained by the writer. */
  recordedAt: string;
  principal: EntityRef;
  /** The full chain of authority, root first. Empty when the request carried none. */
  delegation: EntityRef[];
  /** The root of the delegation chain when it is a Human. */
  root?: EntityRef;
  intent?: string;
  goal?: string;
  action: string;
  resource: EntityRef;
  outcome: DecisionOutcome;
  allow: boolean;
  /** Ids of the determining policies. */
  policies: string[];
  errors: DecisionError[];
  /** Hard-deny reason codes. */
  codes: string[];
  policyVersion: string;
  latencyMs: number;
  caller: DecisionCaller;
  proxy?: AuditProxyOutcome;
  relatedDecisionId?: string;
  /** Observe-mode forbids that matched: "would have denied by" these (never enforced). */
  observed?: string[];
  /** Effects carried out by determining forbids (quarantine, revoke, escalate). */
  effects?: Array<{ policy: string; effect: string; status: string }>;
  /** The approval request a held decision opened, or the approval an allowed retry consumed. */
  approval?: { id: string; status?: string };
  /** A shadow (candidate) policy set that would have decided otherwise. */
  shadow?: { candidateVersion: string; from: string; to: string; candidatePolicies: string[] };
  /** Opted-in values, keyed by the JSON Pointer they were configured with (`/input/context/ticket`). */
  included?: Record<string, unknown>;
  /** Concrete JSON Pointers that were removed or hashed before writing. */
  masked?: string[];
}

/** A signed statement of a writer's chain head, itself chained. */
export interface CheckpointRecord extends ChainFields {
  kind: 'checkpoint';
  time: string;
  checkpoint: {
    /** The record signed: its seq and hash. */
    headSeq: number;
    headHash: string;
    alg: 'Ed25519';
    /** First 16 hex of sha256 over the public key (SPKI DER). */
    keyId: string;
    /**
     * With a retention period (`audit.retention.maxAge`): the records of this writer below this seq
     * may be gone, deleted as older than the retention. Signed with the rest, so a verifier accepts
     * their absence only on the writer's word.
     */
    prunedBefore?: number;
    /** base64url Ed25519 signature over the canonical JSON of `{writer, headSeq, headHash, time}` (and `prunedBefore` when set). */
    signature: string;
  };
}

/** Anything written to the chain. */
export type ChainedRecord = AuditRecord | CheckpointRecord;

/** The last record of a writer's chain, from which a restarted writer resumes. */
export interface ChainHead {
  seq: number;
  hash: string;
}

/**
 * A destination for records. `write` resolves once the batch is committed (durable for sinks that
 * can be); it throws on failure, and the writer spills and retries. Writing a record twice (after a
 * partial failure) must be harmless: sinks keyed by `(writer, seq)` ignore duplicates.
 */
export interface AuditSink {
  readonly name: string;
  write(records: readonly ChainedRecord[]): Promise<void>;
  /** The last record of `writer` held by the sink, when the sink can tell. */
  head?(writer: string): Promise<ChainHead | undefined>;
  /**
   * A sink that deletes records past the retention period (SQLite): the seq of the newest
   * checkpoint of `writer` it holds signed at or before `cutoff` (ISO time), if any. Records below
   * it are older than the cutoff; the next checkpoint says so (`prunedBefore`), and once the sink
   * holds that checkpoint it deletes them.
   */
  retainFrom?(writer: string, cutoff: string): number | undefined;
  close(): Promise<void>;
}

/** One sink as the writer sees it. */
export interface AuditSinkStats {
  name: string;
  /** The last seq of this writer the sink holds. */
  committedSeq: number;
  /** False from a failed write until the next write succeeds. */
  healthy: boolean;
  written: number;
  /** Successful writes (transactions); `written / batches` is the mean batch. */
  batches: number;
  failed: number;
}

/** A snapshot of the writer's counters. */
export interface AuditTrailStats {
  writer: string;
  durability: AuditDurability;
  /** Where canonicalization, hashing and the sinks run. */
  thread: 'worker' | 'inline';
  /** Records in memory waiting for the sinks (on the audit thread, and handed over but not yet taken). */
  queued: number;
  /** True while records go through the spill file (sink down or buffer full). */
  spilling: boolean;
  /** Spill bytes not yet replayed. */
  spillBacklogBytes: number;
  recorded: number;
  written: number;
  failedWrites: number;
  spilled: number;
  replayed: number;
  dropped: number;
  /** Drops by reason (`buffer_full`, `spill_full`, `spill_failed`, `closed`, `thread_failed`). */
  droppedBy: Record<string, number>;
  checkpoints: number;
  head: ChainHead;
  sinks: AuditSinkStats[];
}

/** Filters of `GET /v1/decisions`. Every field narrows the result (AND). */
export interface AuditQueryFilters {
  /** Principal id, or `Type::id`. */
  principal?: string;
  /** Id of the Human at the root of the delegation chain. */
  root?: string;
  goal?: string;
  intent?: string;
  action?: string;
  outcome?: DecisionOutcome;
  /** A determining policy id. */
  policy?: string;
  /** Inclusive lower bound on `time` (ISO 8601). */
  from?: string;
  /** Exclusive upper bound on `time` (ISO 8601). */
  to?: string;
}

/**
 * One page of decision records, newest first (by `time`, then `writer`, then `seq`, descending);
 * `nextCursor` is there only when more records follow.
 */
export interface AuditPage {
  records: AuditRecord[];
  nextCursor?: string;
}

/**
 * The read side of the trail (the port `GET /v1/decisions` reads through), implemented by the
 * memory, SQLite and MongoDB stores; the JSONL and stdout sinks are write-only. Every store honours
 * the one contract suite, `testing/query-store-contract.ts`.
 */
export interface AuditQueryStore {
  /**
   * Up to `limit` decision records (never checkpoints) matching `filters`, newest first, after the
   * opaque `cursor` of the previous page. A cursor this API did not hand out is an `InvalidInputError`.
   */
  query(filters: AuditQueryFilters, cursor: string | undefined, limit: number): Promise<AuditPage>;
  /** The record of one decision (the first stored, should a decision id repeat), or undefined. */
  get(decisionId: string): Promise<AuditRecord | undefined>;
  /** Every chained record (checkpoints included) with `fromSeq <= seq <= toSeq`, in storage order. */
  range(fromSeq: number, toSeq: number, writer?: string): Promise<ChainedRecord[]>;
  /** The writers present in the store. */
  writers(): Promise<string[]>;
}

/** Receives every record as it is chained (live tail). */
export type AuditListener = (record: ChainedRecord) => void;

/** In-process subscription to live records; returns the unsubscribe function. */
export interface AuditSubscribe {
  subscribe(listener: AuditListener): () => void;
}
