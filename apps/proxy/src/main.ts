/**
 * The enforcement proxy process: `node apps/proxy/src/main.ts [proxy.yaml]` (or
 * `ARGUS_PROXY_CONFIG`; the image runs the build of this file). Everything it runs is `@argus/proxy`
 * (libs/proxy).
 */
import { errorSummary } from '@argus/platform';
import { main } from '@argus/proxy';

main().catch((err: unknown) => {
  const e = err as { message?: string; errors?: unknown };
  process.stderr.write(
    `${JSON.stringify({ level: 'fatal', msg: 'proxy failed to start', err: errorSummary(err), errors: e.errors ?? [] })}\n`,
  );
  process.exit(1);
});
