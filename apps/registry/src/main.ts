/**
 * The registry process: `node apps/registry/src/main.ts`, configured by the `ARGUS_*` variables (the
 * image runs the build of this file). Everything it runs is `@argus/registry` (libs/registry).
 */
import { createLogger } from '@argus/platform';
import { loadRegistryConfig, startRegistry } from '@argus/registry';

const logger = createLogger({ name: 'argus-registry' });
try {
  const running = await startRegistry(loadRegistryConfig(), logger);
  running.shutdown.installSignalHandlers();
} catch (err) {
  const e = err as { message?: string; errors?: unknown };
  logger.fatal({ message: e.message, errors: e.errors }, 'registry failed to start');
  process.exit(1);
}
