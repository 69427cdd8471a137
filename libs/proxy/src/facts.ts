/**
 * The decision facts an agent declares in headers (intent, goal, delegation), and the Cedar
 * request of a call made with them. Nothing is read from the body to identify the caller.
 */
import type { IncomingMessage } from 'node:http';
import type { AuthorizeInput, EntityRef } from '@argus/contracts';
import { InvalidInputError } from '@argus/platform';
import type { AgentIdentity } from './identity.ts';
import type { CallDescription } from './route-mapping.ts';

/** The request headers carrying the decision facts. */
export const ARGUS_HEADERS = {
  intent: 'x-argus-intent',
  goal: 'x-argus-goal',
  delegation: 'x-argus-delegation',
  delegationToken: 'x-argus-delegation-token',
} as const;

/** The decision facts an agent declares in headers. */
export interface Facts {
  intent?: string;
  goal?: string;
  delegation?: EntityRef[];
  delegationToken?: string;
}

const SAFE_ID = /^[\w.:@/-]{1,256}$/;
const DELEGATION_HOP = /^\s*([A-Za-z_][A-Za-z0-9_]*)::(?:"([^"\\]{1,256})"|([\w.:@/-]{1,256}))\s*$/;

/**
 * Reads the facts `identity` declares; throws `InvalidInputError` naming `/headers/<name>` for a
 * malformed one, or a delegation chain that does not end at the caller.
 */
export function readFacts(req: IncomingMessage, identity: AgentIdentity): Facts {
  const facts: Facts = {};
  const intent = header(req, ARGUS_HEADERS.intent);
  const goal = header(req, ARGUS_HEADERS.goal);
  const delegation = header(req, ARGUS_HEADERS.delegation);
  const token = header(req, ARGUS_HEADERS.delegationToken);
  if (intent !== undefined) {
    if (!SAFE_ID.test(intent))
      throw new InvalidInputError('invalid intent header', [
        { path: `/headers/${ARGUS_HEADERS.intent}`, message: 'must match ^[\\w.:@/-]{1,256}$' },
      ]);
    facts.intent = intent;
  }
  if (goal !== undefined) {
    if (!SAFE_ID.test(goal))
      throw new InvalidInputError('invalid goal header', [
        { path: `/headers/${ARGUS_HEADERS.goal}`, message: 'must match ^[\\w.:@/-]{1,256}$' },
      ]);
    facts.goal = goal;
  }
  if (delegation !== undefined) {
    const hops = delegation.split(',');
    if (hops.length > 16)
      throw new InvalidInputError('delegation chain too long', [
        { path: `/headers/${ARGUS_HEADERS.delegation}`, message: 'at most 16 hops' },
      ]);
    facts.delegation = hops.map((hop, i) => {
      const m = DELEGATION_HOP.exec(hop);
      if (!m)
        throw new InvalidInputError('invalid delegation header', [
          { path: `/headers/${ARGUS_HEADERS.delegation}/${i}`, message: 'each hop must be `Type::id`' },
        ]);
      return { type: m[1]!, id: m[2] ?? m[3]! };
    });
    const last = facts.delegation[facts.delegation.length - 1];
    if (!last || last.type !== 'Agent' || last.id !== identity.agent) {
      throw new InvalidInputError('delegation chain must end at the calling agent', [
        { path: `/headers/${ARGUS_HEADERS.delegation}`, message: `last hop must be Agent::${identity.agent}` },
      ]);
    }
  }
  if (token !== undefined) {
    if (token.length > 16_384)
      throw new InvalidInputError('delegation token too long', [
        { path: `/headers/${ARGUS_HEADERS.delegationToken}`, message: 'at most 16384 characters' },
      ]);
    facts.delegationToken = token;
  }
  return facts;
}

/** The Cedar request of `call` by `agent` with `facts` (session traffic is decided without intent and goal). */
export function buildInput(agent: string, facts: Facts, call: CallDescription): AuthorizeInput {
  const input: AuthorizeInput = { principal: { type: 'Agent', id: agent }, action: call.action, resource: call.resource };
  if (!call.sessionTraffic) {
    if (facts.intent !== undefined) input.intent = facts.intent;
    if (facts.goal !== undefined) input.goal = facts.goal;
  }
  if (facts.delegation !== undefined) input.delegation = facts.delegation;
  if (facts.delegationToken !== undefined) input.delegationToken = facts.delegationToken;
  input.context = call.context;
  return input;
}

/** A request header's value (the first, when repeated). */
export function header(req: IncomingMessage, name: string): string | undefined {
  const v = req.headers[name];
  return typeof v === 'string' ? v : Array.isArray(v) ? v[0] : undefined;
}
