import express, { Router, type Express } from 'express';
import {
  errorHandler,
  healthRouter,
  jsonBody,
  notFoundHandler,
  permissionGuard,
  requestContext,
  type ReadinessCheck,
} from '@argus/platform';
import { resolveDeps, type RegistryDeps } from './deps.ts';
import { agentsRouter } from './routes/agents.ts';
import { humansRouter } from './routes/humans.ts';
import { mcpServersRouter } from './routes/mcp-servers.ts';
import { toolAttributesRouter } from './routes/tool-attributes.ts';
import { liveToolsRouter } from './routes/live-tools.ts';

/**
 * The registry API under `/v1/registry/...`: humans, agents and MCP servers, their trust states,
 * history and leases; who may call what is the platform's permission table (`PERMISSIONS`).
 * Every change emits `registry.changed`. Errors inside these paths are
 * answered in the wire shape by the router itself, so it can be mounted into any app
 * (`argus serve` mounts it next to the decision point).
 */
export function createRegistryRouter(deps: RegistryDeps): Router {
  const resolved = resolveDeps(deps);
  const router = Router();
  const v1 = Router();
  // The permission table first (a no-op when the app it is mounted in already applied it), then the body.
  v1.use(permissionGuard({ auth: resolved.auth }));
  v1.use(jsonBody({ maxBodyBytes: resolved.limits.maxBodyBytes, maxJsonDepth: resolved.limits.maxJsonDepth }));
  v1.use('/humans', humansRouter(resolved));
  v1.use('/agents', agentsRouter(resolved));
  v1.use('/mcp-servers', mcpServersRouter(resolved));
  v1.use('/mcp-servers', toolAttributesRouter(resolved));
  v1.use('/mcp-servers', liveToolsRouter(resolved));
  v1.use(notFoundHandler);
  v1.use(errorHandler(resolved.logger));
  router.use('/v1/registry', v1);
  return router;
}

/** A standalone express app: request ids, the registry router, health and readiness, 404s. */
export function createRegistryApp(deps: RegistryDeps & { readiness?: ReadinessCheck[] }): Express {
  const app = express();
  app.disable('x-powered-by');
  app.use(requestContext(deps.logger));
  app.use(healthRouter({ checks: deps.readiness ?? [] }));
  app.use(createRegistryRouter(deps));
  app.use(notFoundHandler);
  app.use(errorHandler(deps.logger));
  return app;
}

export { DEFAULT_REGISTRY_LIMITS, type RegistryDeps, type RegistryLimits } from './deps.ts';
