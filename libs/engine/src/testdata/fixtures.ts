import type { CedarEntity, EntityUid, PolicySetInput } from '../types.ts';

/** A small schema for engine tests: agents under humans, tools under servers. */
export const SCHEMA = `
namespace T {
  entity Human = { roles: Set<String> };
  entity Agent in [Human, Agent] = { trust: String, level: Long, boss?: Agent };
  entity Server;
  entity Tool in [Server] = { sensitivity: String, intents: Set<String> };
  type Ctx = { intent: String, depth: Long };
  action "call" appliesTo { principal: Agent, resource: Tool, context: Ctx };
  action "read" appliesTo { principal: Agent, resource: Tool, context: Ctx };
  action "all" ;
  action "write" in ["all"] appliesTo { principal: Agent, resource: Tool, context: Ctx };
}
`;

export const uid = (type: string, id: string): EntityUid => ({ type: `T::${type}`, id });
export const CALL = uid('Action', 'call');
export const READ = uid('Action', 'read');
export const WRITE = uid('Action', 'write');

/** Builds the input for `compilePolicySet` from file → text pairs. */
export function setOf(files: Record<string, string>, links: PolicySetInput['links'] = []): PolicySetInput {
  return { schema: SCHEMA, policies: Object.entries(files).map(([file, text]) => ({ file, text })), links };
}

/** alice ← planner ← sub; tools under server s1. */
export function world(): CedarEntity[] {
  return [
    { uid: uid('Human', 'alice'), attrs: { roles: ['finance'] }, parents: [] },
    { uid: uid('Human', 'bob'), attrs: { roles: [] }, parents: [] },
    { uid: uid('Agent', 'planner'), attrs: { trust: 'trusted', level: 1 }, parents: [uid('Human', 'alice')] },
    { uid: uid('Agent', 'sub'), attrs: { trust: 'trusted', level: 2, boss: { __entity: uid('Agent', 'planner') } }, parents: [uid('Agent', 'planner')] },
    { uid: uid('Agent', 'rogue'), attrs: { trust: 'pending', level: 1, boss: { __entity: uid('Agent', 'helper') } }, parents: [uid('Human', 'bob')] },
    { uid: uid('Agent', 'helper'), attrs: { trust: 'trusted', level: 0 }, parents: [] },
    { uid: uid('Server', 's1'), attrs: {}, parents: [] },
    { uid: uid('Tool', 'search'), attrs: { sensitivity: 'public', intents: ['research'] }, parents: [uid('Server', 's1')] },
    { uid: uid('Tool', 'vault'), attrs: { sensitivity: 'secret', intents: ['research'] }, parents: [uid('Server', 's1')] },
    { uid: uid('Tool', 'loose'), attrs: { sensitivity: 'public', intents: [] }, parents: [] },
  ];
}
