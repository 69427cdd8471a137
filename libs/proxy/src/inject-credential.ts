import type { ClientRequest } from 'node:http';
import type { UpstreamConfig } from './config.ts';

/** Where and how an upstream's real credential is written on the outgoing request. */
export interface CredentialInjection {
  header: string;
  prefix: string;
}

/** The injection for an upstream: explicit configuration first, else the kind's convention. */
export function injectionFor(upstream: UpstreamConfig): CredentialInjection | undefined {
  const c = upstream.credential;
  if (!c) return undefined;
  const type = c.inject ?? (upstream.kind === 'anthropic' ? 'x-api-key' : 'bearer');
  if (type === 'x-api-key') return { header: 'x-api-key', prefix: c.prefix ?? '' };
  if (type === 'header') return { header: (c.header ?? 'authorization').toLowerCase(), prefix: c.prefix ?? '' };
  return { header: 'authorization', prefix: c.prefix ?? 'Bearer ' };
}

/** Writes the credential on the upstream request (after every agent credential was removed). */
export function injectCredential(proxyReq: ClientRequest, injection: CredentialInjection, value: string): void {
  proxyReq.setHeader(injection.header, `${injection.prefix}${value}`);
}
