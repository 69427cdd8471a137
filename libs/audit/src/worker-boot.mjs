// Entry of the audit thread when Argus runs from its TypeScript sources: registers tsx in this
// thread (loaders registered by the parent do not reach workers on Node 20), then loads the worker.
import { register } from 'tsx/esm/api';

register();
await import('./worker.ts');
