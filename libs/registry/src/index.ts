/** The registry service: agents, MCP servers, humans, trust states and leases. */
export { createRegistryApp, createRegistryRouter, DEFAULT_REGISTRY_LIMITS, type RegistryDeps, type RegistryLimits } from './app.ts';
export { startRegistry, type RunningRegistry } from './service.ts';
export * from './config.ts';
export { createConsoleRouter, type ConsoleRouterOptions } from './console/index.ts';
export {
  recordLiveTools,
  registryToolCatalogue,
  toolChangeReason,
  type LiveToolsDeps,
  type LiveToolsOutcome,
  type ProxyToolCatalogue,
} from './tool-change.ts';
