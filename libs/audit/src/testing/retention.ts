import { generateKeyPairSync } from 'node:crypto';
import { join } from 'node:path';
import type { AuditConfigInput } from '../config.ts';
import { openSqliteAuditStore } from '../sinks/sqlite.ts';
import { createAuditTrail } from '../writer.ts';
import { makeDecisionEvent } from './events.ts';

const HOUR = 3_600_000;

/**
 * A SQLite audit file of writer `w` on an injected clock: 40 decisions a second apart, two hours,
 * 40 more, checkpoints every 10 records (the first hour's last at seq 44), with `retention` if
 * given. Answers the file and the public key (PEM) of its checkpoints.
 */
export async function writeTwoHoursOfAudit(
  dir: string,
  retention: AuditConfigInput['retention'],
  segmentRecords = 2000,
): Promise<{ db: string; publicKey: string }> {
  const db = join(dir, 'audit.db');
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  let now = Date.UTC(2026, 0, 1);
  const clock = () => new Date(now);
  const trail = await createAuditTrail(
    {
      writerId: 'w',
      durability: 'process',
      spill: { dir: join(dir, 'spill') },
      signing: { privateKey: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(), everyRecords: 10, everyMs: 60_000 },
      ...(retention ? { retention } : {}),
      sinks: [{ type: 'sqlite', path: db }],
    },
    { sinks: [openSqliteAuditStore({ path: db, segmentRecords })], clock },
  );
  const burst = async (from: number) => {
    for (let i = from; i < from + 40; i++) {
      await trail.record(makeDecisionEvent('allow', i, { time: clock().toISOString() }));
      now += 1000;
    }
  };
  await burst(0);
  now += 2 * HOUR;
  await burst(40);
  await trail.flush();
  // The deletion runs a step at a time after the commit that brought the cut.
  await new Promise((r) => setTimeout(r, 200));
  await trail.close();
  return { db, publicKey: publicKey.export({ type: 'spki', format: 'pem' }).toString() };
}
