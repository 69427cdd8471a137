import { randomBytes } from 'node:crypto';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import type { DecisionEvent, DecisionPoint, UsageReport } from '@argus/contracts';
import { createHttpServer, createLogger, createMetricsRegistry, type Registry } from '@argus/platform';
import { MemorySecretStore, SecretsBroker } from '@argus/secrets';
import type { JWTVerifyGetKey } from 'jose';
import { createProxyApp } from '../app.ts';
import { parseProxyConfig, type ProxyConfig } from '../config.ts';
import { createAuthenticator, hashAgentToken } from '../identity.ts';
import type { McpToolCatalogue } from '../mcp-lists.ts';

/** A running proxy with everything it wrote captured. */
export interface RunningProxy {
  url: string;
  config: Readonly<ProxyConfig>;
  events: DecisionEvent[];
  usage: UsageReport[];
  /** Every log line the proxy wrote (pino JSON). */
  logs: string[];
  metrics: Registry;
  broker: SecretsBroker;
  close(): Promise<void>;
}

/** Options of `startProxy`. */
export interface StartProxyOptions {
  /** The raw configuration (validated like a file would be). */
  config: Record<string, unknown>;
  decisionPoint: DecisionPoint;
  /** Secrets stored before start, name → value. */
  secrets?: Record<string, string>;
  /** Agent tokens accepted from the configuration, agent → token. */
  tokens?: Record<string, string>;
  jwks?: JWTVerifyGetKey;
  /** Make the recorder fail (to prove a failing sink is counted, not fatal). */
  failingRecorder?: boolean;
  /** No recorder at all: the audit trail switched off, as `argus serve` wires it then. */
  auditOff?: boolean;
  /** The registry's MCP tools, for the rug-pull check of lists. */
  tools?: McpToolCatalogue;
}

/** Starts `createProxyApp` on an ephemeral loopback port with a memory secret store and capturing sinks. */
export async function startProxy(options: StartProxyOptions): Promise<RunningProxy> {
  const raw = structuredClone(options.config) as Record<string, unknown>;
  const auth = { ...((raw.auth as Record<string, unknown> | undefined) ?? {}) };
  auth.agentTokens = [
    ...((auth.agentTokens as unknown[] | undefined) ?? []),
    ...Object.entries(options.tokens ?? {}).map(([agent, token]) => ({ agent, sha256: hashAgentToken(token) })),
  ];
  raw.auth = auth;
  const config = parseProxyConfig(raw);
  const store = new MemorySecretStore({ key: randomBytes(32) });
  for (const [name, value] of Object.entries(options.secrets ?? {})) await store.put(name, value);
  const broker = new SecretsBroker(store);
  await broker.loadAll();
  const logs: string[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _enc, done) {
      logs.push(chunk.toString('utf8'));
      done();
    },
  });
  const logger = createLogger({ level: 'debug', destination });
  const events: DecisionEvent[] = [];
  const usage: UsageReport[] = [];
  const metrics = createMetricsRegistry({ defaultMetrics: false });
  const app = createProxyApp({
    config,
    decisionPoint: options.decisionPoint,
    secrets: broker,
    ...(options.auditOff
      ? {}
      : {
          recorder: {
            async record(event: DecisionEvent) {
              if (options.failingRecorder) throw new Error('audit sink down');
              events.push(event);
            },
          },
        }),
    usage: {
      async reportUsage(report) {
        usage.push(report);
      },
    },
    logger,
    metrics,
    authenticate: createAuthenticator({ auth: config.auth, secrets: broker, ...(options.jwks ? { jwks: options.jwks } : {}) }),
    ...(options.tools ? { tools: options.tools } : {}),
  });
  const server: Server = createHttpServer({}, app, false);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url,
    config,
    events,
    usage,
    logs,
    metrics,
    broker,
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
      await store.close();
    },
  };
}

/** Waits until `check` holds (records are written after the response ends). */
export async function eventually(check: () => boolean, timeoutMs = 2000): Promise<void> {
  const start = Date.now();
  while (!check()) {
    if (Date.now() - start > timeoutMs) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 5));
  }
}
