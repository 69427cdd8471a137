import type { UsageSink } from '@argus/contracts';
import { UnavailableError } from '@argus/platform';

/** Options of a usage sink reached over HTTP. */
export interface RemoteUsageSinkOptions {
  /** Base URL of the apdp, e.g. `http://127.0.0.1:8181`; `/v1/goals/{id}/usage` is appended. */
  url: string;
  /** Whole-request deadline. */
  timeoutMs: number;
  /** The proxy's service credential (`auth.serviceTokens.proxy` on the apdp). */
  token?: string;
  /** The fetch to use (tests). */
  fetch?: typeof fetch;
}

/**
 * The goal budgets of a remote apdp, for the standalone proxy: each report is a
 * `POST {url}/v1/goals/{goal}/usage` with the agent, tokens, cost and decision id. A refusal,
 * timeout or network error rejects (the proxy counts it in `argus_proxy_sink_failures_total`).
 */
export function createRemoteUsageSink(options: RemoteUsageSinkOptions): UsageSink {
  const base = options.url.replace(/\/+$/, '');
  const doFetch = options.fetch ?? fetch;
  return {
    async reportUsage(report) {
      const headers: Record<string, string> = { 'content-type': 'application/json', accept: 'application/json' };
      if (options.token) headers.authorization = `Bearer ${options.token}`;
      const body = {
        agent: report.agent,
        ...(report.actions !== undefined ? { actions: report.actions } : {}),
        ...(report.tokens !== undefined ? { tokens: report.tokens } : {}),
        ...(report.costUsd !== undefined ? { costUsd: report.costUsd } : {}),
        ...(report.decisionId !== undefined ? { decisionId: report.decisionId } : {}),
      };
      let res: Response;
      try {
        res = await doFetch(`${base}/v1/goals/${encodeURIComponent(report.goal)}/usage`, {
          method: 'POST',
          headers,
          body: JSON.stringify(body),
          signal: AbortSignal.timeout(options.timeoutMs),
          redirect: 'error',
        });
      } catch (err) {
        throw new UnavailableError('usage report: decision point unreachable', err);
      }
      await res.body?.cancel();
      if (res.status !== 200) throw new UnavailableError(`usage report: decision point answered ${res.status}`);
    },
  };
}
