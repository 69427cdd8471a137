import * as cryptoModule from 'node:crypto';
import { createHash } from 'node:crypto';

// One-shot hashing (Node ≥ 20.12) skips building a Hash object per call; same digest.
const oneShot = (cryptoModule as { hash?: (algorithm: string, data: string, encoding: 'hex') => string }).hash;

/** SHA-256 of the UTF-8 text, as hex. For hot paths (tokens per request, audit chain). */
export function sha256Hex(text: string): string {
  return oneShot ? oneShot('sha256', text, 'hex') : createHash('sha256').update(text, 'utf8').digest('hex');
}
