/**
 * Tamper evidence: every record carries its writer's sequence number, the previous record's hash
 * and its own hash; the chain head is periodically signed with Ed25519 into checkpoint records.
 * `verifyChain` reports edited, missing and reordered records, bad checkpoints and, for a store
 * that keeps query columns beside each record, rows whose columns disagree with their record.
 */
import { createHash, createPrivateKey, createPublicKey, sign, verify, type KeyObject } from 'node:crypto';
import { ConfigError, sha256Hex } from '@argus/platform';
import { canonicalJson } from './canonical-json.ts';
import type { ChainedRecord, ChainHead, CheckpointRecord } from './types.ts';

/** `prevHash` of the first record of a chain. */
export const GENESIS_HASH = '0'.repeat(64);

/** sha256 (hex) over the canonical JSON of the record without its `hash`. */
export function hashRecord(record: Omit<ChainedRecord, 'hash'> | ChainedRecord): string {
  return sha256Hex(canonicalJson(record, 'hash'));
}

type Unchained<T> = T extends ChainedRecord ? Omit<T, 'writer' | 'seq' | 'prevHash' | 'hash'> : never;

/** Assigns seq, prevHash and hash to records of one writer, in order. Not thread-shared: one per writer. */
export class Chainer {
  private seq: number;
  private prev: string;

  /** Starts after `head` (resume) or at the genesis. */
  constructor(
    readonly writer: string,
    head?: ChainHead,
  ) {
    this.seq = head?.seq ?? 0;
    this.prev = head?.hash ?? GENESIS_HASH;
  }

  /** The last record chained. */
  head(): ChainHead {
    return { seq: this.seq, hash: this.prev };
  }

  /**
   * Chains one record: it takes the next seq and links to the previous one. The record object is
   * completed in place (the caller hands it over). Its JSON text, computed for the hash anyway, is
   * kept for the sinks ({@link serializedRecord}).
   */
  chain<T extends ChainedRecord>(record: Unchained<T>): T {
    const linked = record as unknown as ChainedRecord;
    linked.writer = this.writer;
    linked.seq = this.seq + 1;
    linked.prevHash = this.prev;
    const canonical = canonicalJson(linked, 'hash');
    const hash = sha256Hex(canonical);
    linked.hash = hash;
    // The canonical text of the record without its hash, plus the hash: valid JSON of the whole record.
    // (`writer`, `seq` and `prevHash` are always there, so the text never is `{}`.)
    Object.defineProperty(linked, SERIALIZED, { value: `${canonical.slice(0, -1)},"hash":"${hash}"}` });
    this.seq += 1;
    this.prev = hash;
    // INVARIANT: a chained record never changes (its hash and kept text would lie): frozen.
    return Object.freeze(linked) as unknown as T;
  }
}

// The kept text rides on the record itself, non-enumerable (no JSON, key listing or equality sees
// it): a WeakMap entry per record would cost the garbage collector an ephemeron per decision.
const SERIALIZED = Symbol('argus.audit.serialized');

/** The record as JSON text: kept from chaining when possible (same content, canonical key order but `hash` last). */
export function serializedRecord(record: ChainedRecord): string {
  const text = (record as unknown as { [SERIALIZED]?: string })[SERIALIZED];
  if (text !== undefined) return text;
  return JSON.stringify(record);
}

/** Loads an Ed25519 private key given as PEM or as a JWK (object or JSON text). */
export function loadPrivateKey(key: string | object): KeyObject {
  try {
    const k =
      typeof key === 'object'
        ? createPrivateKey({ key: key as never, format: 'jwk' })
        : key.trim().startsWith('{')
          ? createPrivateKey({ key: JSON.parse(key) as never, format: 'jwk' })
          : createPrivateKey(key);
    if (k.asymmetricKeyType !== 'ed25519') throw new Error('not an Ed25519 key');
    return k;
  } catch {
    // The key text is a secret: the message never quotes it.
    throw new ConfigError('audit signing key is not a valid Ed25519 private key (PEM or JWK)', [
      { path: '/signing/privateKey', message: 'invalid Ed25519 private key' },
    ]);
  }
}

/** Loads an Ed25519 public key given as PEM or JWK; a private key yields its public half. */
export function loadPublicKey(key: string | object | KeyObject): KeyObject {
  if (typeof key === 'object' && 'asymmetricKeyType' in key) return key.type === 'private' ? createPublicKey(key) : key;
  try {
    const k =
      typeof key === 'object'
        ? createPublicKey({ key: publicJwk(key as Record<string, unknown>) as never, format: 'jwk' })
        : key.trim().startsWith('{')
          ? createPublicKey({ key: publicJwk(JSON.parse(key) as Record<string, unknown>) as never, format: 'jwk' })
          : createPublicKey(key);
    if (k.asymmetricKeyType !== 'ed25519') throw new Error('not an Ed25519 key');
    return k;
  } catch {
    throw new ConfigError('not a valid Ed25519 public key (PEM or JWK)', [{ path: '/publicKey', message: 'invalid Ed25519 public key' }]);
  }
}

function publicJwk(jwk: Record<string, unknown>): Record<string, unknown> {
  const { d: _d, ...pub } = jwk;
  return pub;
}

/** First 16 hex of sha256 over the SPKI DER of the public key. */
export function keyIdOf(key: KeyObject): string {
  const pub = key.type === 'private' ? createPublicKey(key) : key;
  return createHash('sha256')
    .update(pub.export({ type: 'spki', format: 'der' }))
    .digest('hex')
    .slice(0, 16);
}

function signedPayload(writer: string, headSeq: number, headHash: string, time: string, prunedBefore: number | undefined): Buffer {
  return Buffer.from(canonicalJson({ writer, headSeq, headHash, time, ...(prunedBefore !== undefined ? { prunedBefore } : {}) }));
}

/** Whether checkpoint `rec` carries a good signature by `key`. */
function signedBy(rec: CheckpointRecord, key: KeyObject, keyId: string | undefined): boolean {
  const cp = rec.checkpoint;
  return (
    cp.keyId === keyId &&
    verify(
      null,
      signedPayload(String(rec.writer), cp.headSeq, cp.headHash, rec.time, cp.prunedBefore),
      key,
      Buffer.from(cp.signature, 'base64url'),
    )
  );
}

/**
 * Builds the (unchained) checkpoint that signs `head`; with `prunedBefore`, it also states (signed)
 * that this writer's records below that seq may be gone (the retention period).
 */
export function signCheckpoint(
  writer: string,
  head: ChainHead,
  key: KeyObject,
  time: Date,
  prunedBefore?: number,
): Unchained<CheckpointRecord> {
  const iso = time.toISOString();
  const signature = sign(null, signedPayload(writer, head.seq, head.hash, iso, prunedBefore), key).toString('base64url');
  return {
    kind: 'checkpoint',
    time: iso,
    checkpoint: {
      headSeq: head.seq,
      headHash: head.hash,
      alg: 'Ed25519',
      keyId: keyIdOf(key),
      ...(prunedBefore !== undefined ? { prunedBefore } : {}),
      signature,
    },
  };
}

/** What is wrong with a record. */
export type ChainIssueKind =
  | 'edited'
  | 'broken_link'
  | 'missing'
  | 'reordered'
  | 'duplicate'
  | 'bad_signature'
  | 'checkpoint_mismatch'
  | 'truncated'
  | 'column_mismatch';

/**
 * A column a store keeps beside a record (to filter queries on) that does not hold what the record
 * says: the hash covers the record, not the column, so such a row hides the record from queries.
 */
export interface ColumnDisagreement {
  column: string;
  /** What the row holds. */
  stored: unknown;
  /** What the writer stores for this record. */
  expected: unknown;
}

/** One problem found by `verifyChain`. */
export interface ChainIssue {
  kind: ChainIssueKind;
  writer: string;
  /** The record concerned (for `missing`, the first missing seq). */
  seq: number;
  /** For `missing`: the last missing seq of the gap. */
  toSeq?: number;
  decisionId?: string;
  /** For `column_mismatch`: the column that disagrees with the record. */
  column?: string;
  message: string;
  /** Position in the input where the problem shows (for ordering issues). */
  index: number;
}

/** The verdict of `verifyChain`. */
export interface ChainVerification {
  ok: boolean;
  /** Records examined. */
  checked: number;
  /** Checkpoints whose signature was verified. */
  checkpointsVerified: number;
  /** False when no public key was given: checkpoint signatures were not checked. */
  signaturesChecked: boolean;
  writers: string[];
  /**
   * Per writer, the seq below which its records may be gone by its signed word (the retention
   * period): gaps below it are not `missing`. Absent when no writer pruned.
   */
  pruned?: Record<string, number>;
  issues: ChainIssue[];
  /** The first issue in storage order. */
  first?: ChainIssue;
}

/** Options of a verification. */
export interface VerifyOptions {
  /**
   * Seq the range starts at. When it is above 1, the first record of each writer is the anchor and
   * its `prevHash` is taken on trust. Default: 1 (the chain must start at the genesis).
   */
  fromSeq?: number;
  /**
   * The signed head kept outside the store (`audit-head.json`, the latest checkpoint every sink
   * held): the chain of its writer must reach it with the same hash, else the tail was cut
   * (`truncated`). Its signature is checked when a public key is given.
   */
  head?: ChainedRecord;
  /**
   * For a store that keeps query columns beside each record (SQLite): the first column of the
   * record's row that disagrees with the record, else undefined. Asked for every intact record;
   * a disagreement is a `column_mismatch`.
   */
  columns?: (record: ChainedRecord) => ColumnDisagreement | undefined;
}

interface WriterState {
  /** The highest `prunedBefore` of an intact, well-signed checkpoint (or the head file) of the writer; 0 when none. */
  prunedBefore: number;
  expected: number;
  lastHash: string | undefined;
  /** seq -> hash of records verified so far, for checkpoint checks. */
  hashes: Map<number, string>;
  gaps: Array<{ from: number; to: number; index: number }>;
}

/**
 * Verifies records in storage order (several writers may interleave). Detects: a record whose hash
 * does not match its content (`edited`), a record not linked to its predecessor (`broken_link`),
 * a gap in seq (`missing`), a record stored out of place (`reordered`), a seq seen twice
 * (`duplicate`), a checkpoint whose signature fails (`bad_signature`) or that signs a hash the
 * chain does not hold (`checkpoint_mismatch`), and with `options.columns`, a row whose query
 * columns disagree with its record (`column_mismatch`).
 */
export function verifyChain(
  records: Iterable<ChainedRecord>,
  publicKey?: KeyObject | string | object,
  options: VerifyOptions = {},
): ChainVerification {
  const key = publicKey === undefined ? undefined : loadPublicKey(publicKey);
  const keyId = key ? keyIdOf(key) : undefined;
  const fromSeq = options.fromSeq ?? 1;
  const states = new Map<string, WriterState>();
  const issues: ChainIssue[] = [];
  let checked = 0;
  let checkpointsVerified = 0;
  let index = -1;

  for (const rec of records) {
    index++;
    checked++;
    const writer = String(rec.writer);
    let st = states.get(writer);
    if (!st) {
      const anchored = fromSeq > 1;
      st = {
        prunedBefore: 0,
        expected: anchored ? rec.seq : fromSeq,
        lastHash: anchored ? undefined : GENESIS_HASH,
        hashes: new Map(),
        gaps: [],
      };
      states.set(writer, st);
    }
    const decisionId = rec.kind === 'decision' ? rec.decision_id : undefined;
    const base = { writer, seq: rec.seq, index, ...(decisionId ? { decisionId } : {}) };

    const actual = hashRecord(rec);
    const intact = actual === rec.hash;
    if (!intact) issues.push({ ...base, kind: 'edited', message: `record ${rec.seq} of \`${writer}\` does not match its hash` });
    const disagreement = intact ? options.columns?.(rec) : undefined;
    if (disagreement) {
      const { column, stored, expected } = disagreement;
      issues.push({
        ...base,
        kind: 'column_mismatch',
        column,
        message: `column \`${column}\` of record ${rec.seq} of \`${writer}\` holds ${quote(stored)}, the record ${quote(expected)}`,
      });
    }

    if (!Number.isInteger(rec.seq) || rec.seq < st.expected) {
      const gap = st.gaps.find((g) => rec.seq >= g.from && rec.seq <= g.to);
      if (gap) {
        issues.push({ ...base, index: gap.index, kind: 'reordered', message: `record ${rec.seq} of \`${writer}\` is stored out of order` });
        splitGap(st, gap, rec.seq);
      } else {
        issues.push({ ...base, kind: 'duplicate', message: `record ${rec.seq} of \`${writer}\` appears more than once` });
      }
      continue;
    }
    if (rec.seq > st.expected) {
      st.gaps.push({ from: st.expected, to: rec.seq - 1, index });
    } else if (st.lastHash !== undefined && rec.prevHash !== st.lastHash && intact) {
      issues.push({ ...base, kind: 'broken_link', message: `record ${rec.seq} of \`${writer}\` does not link to record ${rec.seq - 1}` });
    }
    st.expected = rec.seq + 1;
    st.lastHash = rec.hash;
    st.hashes.set(rec.seq, rec.hash);

    if (rec.kind === 'checkpoint') {
      const cp = rec.checkpoint;
      const held = st.hashes.get(cp.headSeq);
      if (held !== undefined && held !== cp.headHash) {
        issues.push({
          ...base,
          kind: 'checkpoint_mismatch',
          message: `checkpoint ${rec.seq} of \`${writer}\` signs a head hash that record ${cp.headSeq} does not have`,
        });
      }
      const good = key ? signedBy(rec, key, keyId) : true;
      if (key) {
        if (good) checkpointsVerified++;
        else issues.push({ ...base, kind: 'bad_signature', message: `checkpoint ${rec.seq} of \`${writer}\` has a bad signature` });
      }
      if (good && intact) prune(st, cp.prunedBefore);
    }
  }

  const head = options.head;
  if (head) {
    const writer = String(head.writer);
    const base = { writer, seq: head.seq, index };
    const st = states.get(writer);
    if (head.kind !== 'checkpoint' || hashRecord(head) !== head.hash) {
      issues.push({ ...base, kind: 'edited', message: 'the head file is not an intact checkpoint record' });
    } else {
      if (key && !signedBy(head, key, keyId)) {
        issues.push({
          ...base,
          kind: 'bad_signature',
          message: `the head file (checkpoint ${head.seq} of \`${writer}\`) has a bad signature`,
        });
      } else if (st) prune(st, head.checkpoint.prunedBefore);
      const held = st?.hashes.get(head.seq);
      if (!st || st.expected <= head.seq) {
        const last = st ? st.expected - 1 : 0;
        issues.push({
          ...base,
          kind: 'truncated',
          message: `the chain of \`${writer}\` ends at record ${last}, but checkpoint ${head.seq} was signed and written: records ${last + 1}..${head.seq} or more are gone`,
        });
      } else if (held !== undefined && held !== head.hash) {
        issues.push({
          ...base,
          kind: 'checkpoint_mismatch',
          message: `record ${head.seq} of \`${writer}\` is not the checkpoint in the head file`,
        });
      }
    }
  }

  const pruned: Record<string, number> = {};
  for (const [writer, st] of states) {
    if (st.prunedBefore > 1) pruned[writer] = st.prunedBefore;
    for (const g of st.gaps) {
      // Below a signed `prunedBefore` records may be gone (the retention period): not missing.
      if (g.to < st.prunedBefore) continue;
      if (g.from < st.prunedBefore) g.from = st.prunedBefore;
      issues.push({
        kind: 'missing',
        writer,
        seq: g.from,
        ...(g.to !== g.from ? { toSeq: g.to } : {}),
        index: g.index,
        message:
          g.to === g.from ? `record ${g.from} of \`${writer}\` is missing` : `records ${g.from}..${g.to} of \`${writer}\` are missing`,
      });
    }
  }
  issues.sort((a, b) => a.index - b.index || a.seq - b.seq);
  return {
    ok: issues.length === 0,
    checked,
    checkpointsVerified,
    signaturesChecked: key !== undefined,
    writers: [...states.keys()],
    ...(Object.keys(pruned).length > 0 ? { pruned } : {}),
    issues,
    ...(issues[0] ? { first: issues[0] } : {}),
  };
}

/** A column value for a message, in backticks: a string as it is, anything else as JSON; cut at 80 characters. */
function quote(value: unknown): string {
  const text = typeof value === 'string' ? value : (JSON.stringify(value) ?? String(value));
  return `\`${text.length > 80 ? `${text.slice(0, 80)}…` : text}\``;
}

/** Raises the writer's pruned bound to a checkpoint's `prunedBefore` (a positive integer), if higher. */
function prune(st: WriterState, prunedBefore: number | undefined): void {
  if (typeof prunedBefore === 'number' && Number.isSafeInteger(prunedBefore) && prunedBefore > st.prunedBefore)
    st.prunedBefore = prunedBefore;
}

function splitGap(st: WriterState, gap: { from: number; to: number; index: number }, seq: number): void {
  const i = st.gaps.indexOf(gap);
  const parts: typeof st.gaps = [];
  if (gap.from <= seq - 1) parts.push({ from: gap.from, to: seq - 1, index: gap.index });
  if (seq + 1 <= gap.to) parts.push({ from: seq + 1, to: gap.to, index: gap.index });
  st.gaps.splice(i, 1, ...parts);
}
