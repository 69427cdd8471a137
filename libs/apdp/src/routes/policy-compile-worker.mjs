// Entry of the policy compile worker thread: registers tsx (as `node --import tsx` does for the
// server) whatever the parent runs under (tsx, vitest), then loads the TypeScript worker.
import { register } from 'tsx/esm/api';

register();
await import('./policy-compile-worker.ts');
