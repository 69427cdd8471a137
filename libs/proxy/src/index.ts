/** The enforcement proxy: decide every call to an LLM API, HTTP API or MCP server, inject the real credential, audit. */
export * from './app.ts';
export * from './config.ts';
export * from './decision.ts';
export * from './headers.ts';
export * from './identity.ts';
export * from './inject-credential.ts';
export * from './journal.ts';
export * from './mcp.ts';
export * from './metrics.ts';
export * from './route-mapping.ts';
export * from './usage.ts';
export { main } from './service.ts';
