/**
 * The discovery process: `node apps/discover/src/main.ts <config.json|yaml>` (or
 * `ARGUS_DISCOVER_CONFIG`; the image runs the build of this file). Everything it runs is
 * `@argus/discover` (libs/discover).
 */
import { main } from '@argus/discover';

main().catch((err: unknown) => {
  process.stderr.write(`argus-discover: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
