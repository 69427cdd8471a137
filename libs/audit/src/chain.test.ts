import { generateKeyPairSync } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { Chainer, GENESIS_HASH, hashRecord, keyIdOf, loadPrivateKey, serializedRecord, signCheckpoint, verifyChain } from './chain.ts';
import { sampleChain } from './testing/query-store-contract.ts';
import type { AuditRecord, ChainedRecord, CheckpointRecord } from './types.ts';

function signedChain(n: number, every: number): { records: ChainedRecord[]; publicPem: string; privateJwk: object } {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  const plain = sampleChain(n);
  const chainer = new Chainer('w1');
  const out: ChainedRecord[] = [];
  for (const [i, r] of plain.entries()) {
    const { writer: _w, seq: _s, prevHash: _p, hash: _h, ...body } = r as AuditRecord;
    out.push(chainer.chain<AuditRecord>(body));
    if ((i + 1) % every === 0) out.push(chainer.chain<CheckpointRecord>(signCheckpoint('w1', chainer.head(), privateKey, new Date())));
  }
  return {
    records: out,
    publicPem: publicKey.export({ type: 'spki', format: 'pem' }).toString(),
    privateJwk: privateKey.export({ format: 'jwk' }),
  };
}

describe('hash chain', () => {
  it('links records from the genesis and verifies clean', () => {
    const records = sampleChain(5);
    expect(records[0]!.prevHash).toBe(GENESIS_HASH);
    expect(records[1]!.prevHash).toBe(records[0]!.hash);
    expect(records.map((r) => r.seq)).toEqual([1, 2, 3, 4, 5]);
    expect(hashRecord(records[2]!)).toBe(records[2]!.hash);
    const v = verifyChain(records);
    expect(v).toMatchObject({ ok: true, checked: 5, issues: [], writers: ['w1'] });
  });

  it('keeps each chained record frozen, with JSON text equal to the record', () => {
    const records = sampleChain(3);
    for (const r of records) {
      expect(Object.isFrozen(r)).toBe(true);
      expect(JSON.parse(serializedRecord(r))).toEqual(r);
      expect(hashRecord(JSON.parse(serializedRecord(r)) as ChainedRecord)).toBe(r.hash);
    }
    // A copy (as a reader holds) has no kept text and serializes the usual way.
    expect(JSON.parse(serializedRecord({ ...records[0]! }))).toEqual(records[0]);
  });

  it('resumes from a head', () => {
    const records = sampleChain(3);
    const chainer = new Chainer('w1', { seq: 3, hash: records[2]!.hash });
    const { writer: _w, seq: _s, prevHash: _p, hash: _h, ...body } = records[0] as AuditRecord;
    const next = chainer.chain<AuditRecord>(body);
    expect(next.seq).toBe(4);
    expect(verifyChain([...records, next]).ok).toBe(true);
  });

  it('detects an edited record', () => {
    const records = sampleChain(6) as AuditRecord[];
    records[2] = { ...records[2]!, outcome: 'allow', allow: true };
    const v = verifyChain(records);
    expect(v.ok).toBe(false);
    expect(v.first).toMatchObject({ kind: 'edited', seq: 3, decisionId: records[2]!.decision_id });
    expect(v.issues).toHaveLength(1);
  });

  it('detects an edited record whose hash was recomputed (the link breaks)', () => {
    const records = sampleChain(6) as AuditRecord[];
    const forged = { ...records[2]!, outcome: 'allow' as const };
    forged.hash = hashRecord(forged);
    records[2] = forged;
    expect(verifyChain(records).first).toMatchObject({ kind: 'broken_link', seq: 4 });
  });

  it('reports a record whose query columns disagree with it (a store says which), asked only of intact records', () => {
    const records = sampleChain(6) as AuditRecord[];
    records[1] = { ...records[1]!, outcome: 'allow' as const };
    const asked: number[] = [];
    const v = verifyChain(records, undefined, {
      columns: (r) => {
        asked.push(r.seq);
        return r.seq === 4 ? { column: 'outcome', stored: 'allow', expected: 'deny' } : undefined;
      },
    });
    expect(asked).toEqual([1, 3, 4, 5, 6]);
    expect(v.ok).toBe(false);
    expect(v.issues.map((i) => [i.kind, i.seq])).toEqual([
      ['edited', 2],
      ['column_mismatch', 4],
    ]);
    expect(v.issues[1]).toMatchObject({
      column: 'outcome',
      decisionId: records[3]!.decision_id,
      message: 'column `outcome` of record 4 of `w1` holds `allow`, the record `deny`',
    });
  });

  it('detects a deleted record', () => {
    const records = sampleChain(6);
    records.splice(3, 1);
    const v = verifyChain(records);
    expect(v.first).toMatchObject({ kind: 'missing', seq: 4 });
    expect(v.issues).toHaveLength(1);
  });

  it('detects deleted records at the start of a full chain', () => {
    expect(verifyChain(sampleChain(4).slice(2)).first).toMatchObject({ kind: 'missing', seq: 1, toSeq: 2 });
    expect(verifyChain(sampleChain(4).slice(2), undefined, { fromSeq: 3 }).ok).toBe(true);
  });

  it('detects a reordered record', () => {
    const records = sampleChain(6);
    const [moved] = records.splice(1, 1);
    records.push(moved!);
    const v = verifyChain(records);
    expect(v.first).toMatchObject({ kind: 'reordered', seq: 2 });
    expect(v.issues.map((i) => i.kind)).toEqual(['reordered']);
  });

  it('detects two swapped records and a duplicate', () => {
    const records = sampleChain(5);
    [records[1], records[2]] = [records[2]!, records[1]!];
    expect(verifyChain(records).first).toMatchObject({ kind: 'reordered', seq: 2 });
    const dup = sampleChain(3);
    expect(verifyChain([...dup, dup[1]!]).first).toMatchObject({ kind: 'duplicate', seq: 2 });
  });

  it('verifies interleaved writers independently', () => {
    const a = sampleChain(3, 'a');
    const b = sampleChain(3, 'b');
    expect(verifyChain([a[0]!, b[0]!, a[1]!, b[1]!, b[2]!, a[2]!]).ok).toBe(true);
    expect(verifyChain([a[0]!, b[0]!, a[2]!, b[1]!]).first).toMatchObject({ kind: 'missing', writer: 'a', seq: 2 });
  });

  it('signs checkpoints with Ed25519 (PEM or JWK) and verifies them', () => {
    const { records, publicPem, privateJwk } = signedChain(10, 4);
    expect(records.filter((r) => r.kind === 'checkpoint')).toHaveLength(2);
    const v = verifyChain(records, publicPem);
    expect(v).toMatchObject({ ok: true, checkpointsVerified: 2, signaturesChecked: true });
    expect(verifyChain(records, privateJwk).ok).toBe(true);
    expect(verifyChain(records, JSON.stringify(privateJwk)).ok).toBe(true);
    expect(keyIdOf(loadPrivateKey(privateJwk))).toBe((records[4] as CheckpointRecord).checkpoint.keyId);
    expect(verifyChain(records).signaturesChecked).toBe(false);
  });

  it('reports a checkpoint signed by another key, or with a forged signature', () => {
    const { records } = signedChain(4, 4);
    const other = generateKeyPairSync('ed25519').publicKey;
    expect(verifyChain(records, other).first).toMatchObject({ kind: 'bad_signature', seq: 5 });
    const cp = records[4] as CheckpointRecord;
    const forged = { ...cp, checkpoint: { ...cp.checkpoint, headSeq: 3 } };
    forged.hash = hashRecord(forged);
    const { publicPem } = signedChain(1, 1);
    expect(verifyChain([...records.slice(0, 4), forged], publicPem).issues.some((i) => i.kind === 'bad_signature')).toBe(true);
  });

  it('catches a rewritten chain through the signed checkpoint', () => {
    const { records, publicPem } = signedChain(8, 8);
    // Rewrite record 2 and re-hash every later record: the plain chain verifies, the checkpoint does not.
    const rewritten: ChainedRecord[] = [];
    let prev = records[0]!.hash;
    rewritten.push(records[0]!);
    for (const r of records.slice(1)) {
      const copy = { ...r, prevHash: prev } as ChainedRecord;
      if (copy.seq === 2 && copy.kind === 'decision') copy.outcome = 'allow';
      copy.hash = hashRecord(copy);
      prev = copy.hash;
      rewritten.push(copy);
    }
    const v = verifyChain(rewritten, publicPem);
    expect(v.first).toMatchObject({ kind: 'checkpoint_mismatch', seq: 9 });
  });

  it('accepts a prefix gone below a signed `prunedBefore` (retention), and nothing beyond it', () => {
    const { privateKey, publicKey } = generateKeyPairSync('ed25519');
    const chainer = new Chainer('w1');
    const plain = sampleChain(30);
    const all: ChainedRecord[] = [];
    const body = (i: number) => {
      const { writer: _w, seq: _s, prevHash: _p, hash: _h, ...rest } = plain[i] as AuditRecord;
      return rest;
    };
    for (let i = 0; i < 10; i++) all.push(chainer.chain<AuditRecord>(body(i)));
    // The anchor: a checkpoint at seq 11, later below the bound.
    all.push(chainer.chain<CheckpointRecord>(signCheckpoint('w1', chainer.head(), privateKey, new Date())));
    for (let i = 10; i < 20; i++) all.push(chainer.chain<AuditRecord>(body(i)));
    // The writer's word: records below 11 may be gone.
    all.push(chainer.chain<CheckpointRecord>(signCheckpoint('w1', chainer.head(), privateKey, new Date(), 11)));
    for (let i = 20; i < 25; i++) all.push(chainer.chain<AuditRecord>(body(i)));
    expect(verifyChain(all, publicKey)).toMatchObject({ ok: true, pruned: { w1: 11 } });

    // Pruned up to the bound: clean, with the prune reported.
    const kept = all.filter((r) => r.seq >= 11);
    expect(verifyChain(kept, publicKey)).toMatchObject({ ok: true, checkpointsVerified: 2, pruned: { w1: 11 } });
    // One record past the bound gone too: missing.
    expect(verifyChain(kept.slice(1), publicKey).first).toMatchObject({ kind: 'missing', seq: 11 });
    // Without the writer's word, the same prefix gone is missing, as before.
    const unsaid = all.filter((r) => r.seq >= 11 && !(r.kind === 'checkpoint' && r.checkpoint.prunedBefore !== undefined));
    expect(
      verifyChain(
        unsaid.filter((r) => r.seq < 22),
        publicKey,
      ).first,
    ).toMatchObject({ kind: 'missing', seq: 1, toSeq: 10 });
    // A bound written in by someone without the key: the signature fails and the gap stays missing.
    const forged = all.map((r) => {
      if (r.kind !== 'checkpoint' || r.seq !== 11) return r;
      const edited = { ...r, checkpoint: { ...r.checkpoint, prunedBefore: 11 } };
      return { ...edited, hash: hashRecord(edited) } as ChainedRecord;
    });
    const v = verifyChain(
      forged.filter((r) => r.seq >= 11 && r.seq < 22),
      publicKey,
    );
    expect(v.ok).toBe(false);
    expect(v.issues.map((i) => i.kind)).toEqual(expect.arrayContaining(['bad_signature', 'missing']));
  });

  it('refuses a key that is not Ed25519, without quoting it', () => {
    const rsa = generateKeyPairSync('rsa', { modulusLength: 1024 }).privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
    expect(() => loadPrivateKey(rsa)).toThrow(/not a valid Ed25519/);
    try {
      loadPrivateKey(rsa);
    } catch (err) {
      expect(String((err as Error).message)).not.toContain('PRIVATE KEY');
    }
  });
});
