/**
 * What the proxy holds for one call between its first byte and its audit record, and the
 * bookkeeping of the decisions made for it.
 */
import type { ClientRequest, IncomingMessage, ServerResponse } from 'node:http';
import type { AuthorizeInput, AuthorizeResponse, DenyCode, ErrorCode } from '@argus/contracts';
import { newDecisionId, type Logger } from '@argus/platform';
import type { ResolvedSecret } from '@argus/secrets';
import type { Dialect } from './answers.ts';
import type { UpstreamConfig } from './config.ts';
import type { ProxyContext } from './context.ts';
import type { CredentialInjection } from './inject-credential.ts';
import type { JsonRpcErrorResponse } from './mcp.ts';
import type { ListFilterContext, ListRequests } from './mcp-lists.ts';
import type { Applied, ProxyObligations } from './obligations.ts';
import type { TokenUsage } from './usage.ts';

/** One decision made for a call, kept until the record is written. */
export interface Decided {
  input: AuthorizeInput;
  answer: AuthorizeResponse;
  latencyMs: number;
  /** False when the call (or this JSON-RPC message) was not forwarded. */
  forwarded: boolean;
}

/** What the proxy remembers about one call between the decision and the record. */
export interface CallState {
  upstream: UpstreamConfig;
  /** The error format of the caller's SDK. */
  dialect: Dialect;
  agent: string;
  /** The obligations of the allows the call went up under, when there are any. */
  obligations?: ProxyObligations;
  /** What applying them did to the answer. */
  applied?: Applied;
  /** True when the call was refused before its caller was authenticated (`agent` is then a placeholder). */
  anonymous?: boolean;
  goal?: string;
  body?: Buffer;
  credential?: ResolvedSecret;
  injection?: CredentialInjection;
  decisions: Decided[];
  /** MCP only: the answers for refused messages, whether an `initialize` went up, the session a DELETE ends. */
  mcp?: {
    batch: boolean;
    denied: JsonRpcErrorResponse[];
    initialize: boolean;
    endsSession?: string;
    lists?: { requests: ListRequests; ctx: ListFilterContext };
  };
  started: number;
  forwardedAt?: number;
  status?: number;
  usage?: TokenUsage;
  /**
   * Set when the proxy asked an OpenAI stream for its usage chunk the client did not ask for
   * (`stream_options.include_usage`): the chunk is charged, then dropped from the client's stream.
   */
  stripUsageChunk?: boolean;
  /** The usage an answer under way has reported so far (a stream the client left early is charged it). */
  usageSoFar?: () => TokenUsage | undefined;
  error?: string;
  timers: NodeJS.Timeout[];
  done: boolean;
  /** Set once forwarded: what a shutdown needs to abort the call (see `abortCall`). */
  inFlight?: { res: ServerResponse; upstreamReq?: ClientRequest; upstreamRes?: IncomingMessage; cut?: () => void; aborted?: boolean };
  /** The request's logger (built on first use). */
  lazyLog: () => Logger;
}

/** What the proxy knows of a call so far (to record it however it ends). */
export interface Seen {
  started: number;
  /** The authenticated agent, once known. */
  agent?: string;
  state?: CallState;
}

/** How a call ended, for its record. */
export interface CallOutcome {
  status: number | undefined;
  error: string | undefined;
}

/** The principal recorded for a call refused before its caller was authenticated. */
export const ANONYMOUS = 'anonymous';

/** The `policy_version` of a refusal the proxy made itself, without asking the decision point. */
export const REFUSED_BY_PROXY = 'proxy';

/** Records a refusal the proxy made itself (no decision point asked): a deny with `code`. */
export function refusal(ctx: ProxyContext, state: CallState, input: AuthorizeInput, code: DenyCode | ErrorCode): Decided {
  ctx.metrics.decisions.inc({ upstream: state.upstream.name, outcome: 'refused' });
  const decided: Decided = {
    input,
    answer: {
      decision_id: newDecisionId(),
      policy_version: REFUSED_BY_PROXY,
      result: { allow: false, decision: 'deny', reasons: [], errors: [], codes: [code] },
    },
    latencyMs: 0,
    forwarded: false,
  };
  state.decisions.push(decided);
  return decided;
}
