/**
 * The decision point process: `node apps/apdp/src/main.ts [config.yaml]` (or `ARGUS_CONFIG`; the
 * image runs the build of this file). Everything it runs is `@argus/apdp` (libs/apdp).
 */
import { main } from '@argus/apdp';
import { errorSummary } from '@argus/platform';

main().catch((err: unknown) => {
  const e = err as { errors?: unknown };
  process.stderr.write(
    `${JSON.stringify({ level: 'fatal', name: 'argus-apdp', msg: 'decision point failed to start', err: errorSummary(err), errors: e.errors ?? [] })}\n`,
  );
  process.exit(1);
});
