/** The request both engine benchmarks decide: an agent calling a tool for an intent, with its 4-entity slice. */
import type { CedarEntity, EvaluationRequest } from '@argus/engine';

const A = (type: string, id: string) => ({ type: `Argus::${type}`, id });
export const entities: CedarEntity[] = [
  {
    uid: A('Agent', 'agent-7'),
    attrs: { trust: 'trusted', kind: 'assistant', capabilities: [], leaseAlive: true, owner: { __entity: A('Human', 'alice') } },
    parents: [],
  },
  { uid: A('Human', 'alice'), attrs: { roles: ['support'] }, parents: [] },
  { uid: A('McpServer', 'tool'), attrs: { trust: 'trusted' }, parents: [] },
  {
    uid: A('Tool', 'tool/summarizer'),
    attrs: { sensitivity: 'internal', allowedIntents: ['research', 'translate'], serverTrust: 'trusted' },
    parents: [A('McpServer', 'tool')],
  },
];
export const request: EvaluationRequest = {
  principal: A('Agent', 'agent-7'),
  action: A('Action', 'tool:call'),
  resource: A('Tool', 'tool/summarizer'),
  context: {
    intent: 'research',
    delegation: { depth: 0, scope: [] },
    now: { __extn: { fn: 'datetime', arg: '2026-11-25T10:00:00.000Z' } },
  },
  entities,
};
