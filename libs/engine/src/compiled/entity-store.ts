import { BAIL, entFromUid, fromJson, wellFormed, type Ent, type Value } from './values.ts';

/** One entity as the compiled evaluator reads it. */
export interface StoreEntity {
  attrs: ReadonlyMap<string, Value>;
  tags: ReadonlyMap<string, Value> | undefined;
  /** Keys of the direct parents. */
  parents: readonly string[];
}

/**
 * The entities of one request, read from cedar-wasm's JSON entity form (no schema). Building it
 * gives up ({@link BAIL}) wherever cedar-wasm would refuse the entities (duplicate uids, a parent
 * cycle, a malformed value) or might read them otherwise: cedar-wasm then answers the request.
 */
export class EntityStore {
  private readonly byKey = new Map<string, StoreEntity>();
  private readonly ancestors = new Map<string, ReadonlySet<string>>();

  constructor(entities: readonly unknown[]) {
    for (const raw of entities) {
      if (raw === null || typeof raw !== 'object') throw BAIL;
      const { uid, attrs, parents, tags, ...rest } = raw as Record<string, unknown>;
      if (Object.keys(rest).length > 0 || attrs === undefined || parents === undefined) throw BAIL;
      const ent = entFromUid(uid);
      if (this.byKey.has(ent.key)) throw BAIL;
      this.byKey.set(ent.key, {
        attrs: readRecord(attrs),
        tags: tags === undefined ? undefined : readRecord(tags),
        parents: readParents(parents),
      });
    }
    this.checkAcyclic();
  }

  /** The entity with this key, if given. */
  get(key: string): StoreEntity | undefined {
    return this.byKey.get(key);
  }

  /** Cedar's `in` on entities: the same uid, or an ancestor through `parents`, transitively. */
  isIn(e: Ent, key: string): boolean {
    if (e.key === key) return true;
    const entity = this.byKey.get(e.key);
    if (!entity || entity.parents.length === 0) return false;
    return this.ancestorsOf(e.key).has(key);
  }

  private ancestorsOf(key: string): ReadonlySet<string> {
    let found = this.ancestors.get(key);
    if (found) return found;
    const seen = new Set<string>();
    const stack = [...(this.byKey.get(key)?.parents ?? [])];
    while (stack.length > 0) {
      const k = stack.pop()!;
      if (seen.has(k)) continue;
      seen.add(k);
      const parent = this.byKey.get(k);
      if (parent) for (const p of parent.parents) stack.push(p);
    }
    found = seen;
    this.ancestors.set(key, found);
    return found;
  }

  /** Cedar refuses a parent graph with a cycle: give up on one (cedar-wasm then fails the call). */
  private checkAcyclic(): void {
    const state = new Map<string, 1 | 2>();
    const visit = (key: string): void => {
      const s = state.get(key);
      if (s === 2) return;
      if (s === 1) throw BAIL;
      state.set(key, 1);
      for (const p of this.byKey.get(key)?.parents ?? []) if (this.byKey.has(p)) visit(p);
      state.set(key, 2);
    };
    for (const [key, e] of this.byKey) {
      if (e.parents.length > 0) visit(key);
    }
  }
}

function readRecord(json: unknown): ReadonlyMap<string, Value> {
  if (json === null || typeof json !== 'object' || Array.isArray(json)) throw BAIL;
  const out = new Map<string, Value>();
  for (const k of Object.keys(json)) {
    if (k.startsWith('__') || !wellFormed(k)) throw BAIL;
    out.set(k, fromJson((json as Record<string, unknown>)[k]));
  }
  return out;
}

function readParents(json: unknown): string[] {
  if (!Array.isArray(json)) throw BAIL;
  return json.map((uid: unknown) => {
    if (uid === null || typeof uid !== 'object' || Object.keys(uid).length !== 2) throw BAIL;
    return entFromUid(uid).key;
  });
}
