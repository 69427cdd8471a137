/**
 * The worker thread of {@link PolicyCompiler}: compiles caller-supplied policy sets with the pure
 * engine, off the server's event loop, and answers plain data (version, warnings, diagnostics).
 */
import { parentPort } from 'node:worker_threads';
import { compilePolicySet, type PolicySetInput } from '@argus/engine';

parentPort?.on('message', (message: { id: number; input: PolicySetInput }) => {
  let answer: unknown;
  try {
    const result = compilePolicySet(message.input);
    answer = result.ok
      ? { ok: true, version: result.policySet.version, warnings: result.warnings }
      : { ok: false, diagnostics: result.diagnostics };
  } catch (err) {
    answer = {
      ok: false,
      diagnostics: [
        {
          file: '<set>',
          line: 1,
          column: 1,
          endLine: 1,
          endColumn: 1,
          severity: 'error',
          message: `the policy set could not be compiled: ${err instanceof Error ? err.message : String(err)}`,
        },
      ],
    };
  }
  parentPort!.postMessage({ id: message.id, answer });
});
