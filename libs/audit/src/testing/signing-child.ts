/**
 * A child for the signing-key race test: resolves the checkpoint key of a data directory when told
 * `go` on stdin and prints the sha256 of the key it got (or `ERROR <message>`).
 */
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { parseAuditConfig } from '../config.ts';
import { resolveSigning } from '../signing.ts';

const dir = process.argv[2]!;
const cfg = parseAuditConfig({ sinks: [{ type: 'sqlite', path: join(dir, 'audit.db') }], spill: { dir: join(dir, 'audit-spill') } });
process.stdout.write('READY\n');
createInterface({ input: process.stdin }).once('line', () => {
  try {
    const { keyPem } = resolveSigning(cfg);
    process.stdout.write(
      `KEY ${createHash('sha256')
        .update(keyPem ?? '')
        .digest('hex')}\n`,
    );
  } catch (err) {
    process.stdout.write(`ERROR ${err instanceof Error ? err.message : String(err)}\n`);
  }
  process.exit(0);
});
