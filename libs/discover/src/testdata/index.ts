/** Test helpers other projects may use (`@argus/discover/testing`): loopback agent/MCP servers and a registry stub. */
export * from './loopback-servers.ts';
export { startRegistryStub, type RegistryStub } from './registry-stub.ts';
