import type { ClientRequest } from 'node:http';
import { UnavailableError, errorSummary } from '@argus/platform';
import type { ResolvedSecret } from '@argus/secrets';
import type { CallState } from './call.ts';
import type { UpstreamConfig } from './config.ts';
import type { ProxyContext } from './context.ts';
import { finish } from './record.ts';
import type { Route } from './routing.ts';

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

/**
 * Resolves the upstream's credential for this agent and goal into `state` (written on the
 * outgoing request by {@link injectCredential}). An upstream without a credential needs none.
 * Throws `UnavailableError` (503), the call recorded, when it cannot be resolved: a call never
 * goes up without the credential its upstream is configured with.
 */
export async function resolveCredential(ctx: ProxyContext, route: Route, state: CallState): Promise<void> {
  const { upstream, injection } = route;
  if (!upstream.credential || !injection) return;
  let credential: ResolvedSecret | undefined;
  try {
    const scope: { agent: string; goal?: string } = { agent: state.agent };
    if (state.goal !== undefined) scope.goal = state.goal;
    credential = await ctx.deps.secrets.resolve(upstream.credential.name, scope);
  } catch (err) {
    state.lazyLog().error({ err: errorSummary(err), upstream: upstream.name }, 'credential lookup failed');
  }
  if (!credential) {
    finish(ctx, state, { status: undefined, error: 'credential_unavailable' });
    throw new UnavailableError(`credential for upstream \`${upstream.name}\` is not available`);
  }
  state.credential = credential;
  state.injection = injection;
}

/** Writes the credential on the upstream request (after every agent credential was removed). */
export function injectCredential(proxyReq: ClientRequest, injection: CredentialInjection, value: string): void {
  proxyReq.setHeader(injection.header, `${injection.prefix}${value}`);
}
