/**
 * Partitioning: Cedar evaluates every policy it is given, linearly. Argus indexes each policy by
 * the action(s) its scope names and by one anchor — the most selective entity or type its
 * principal/resource scope requires — so a request meets only the policies that can match it.
 *
 * INVARIANT: a policy is left out of a request's partition only when its scope cannot match that
 * request: its action is not the request's action, or its anchor entity is neither the request's
 * principal/resource nor one of their ancestors in the entity slice, or its anchor type differs.
 */

/** What the index keeps of one policy's scope. */
export interface ScopeFacts {
  actions: string[] | '*';
  principal: Anchor;
  resource: Anchor;
}

/** A constraint's anchor: an entity (`==`/`in`), a type (`is`), an unfilled template slot, or nothing. */
export type Anchor = { kind: 'entity'; key: string } | { kind: 'type'; key: string } | { kind: 'slot'; slot: string } | { kind: 'none' };

/** action key (or `*`) → bucket name → policy ids. */
export type PartitionIndex = ReadonlyMap<string, ReadonlyMap<string, readonly string[]>>;

/** The bucket a policy lives in: the most selective anchor first. */
export function bucketOf(scope: ScopeFacts): string {
  if (scope.resource.kind === 'entity') return `r:${scope.resource.key}`;
  if (scope.principal.kind === 'entity') return `p:${scope.principal.key}`;
  if (scope.resource.kind === 'type') return `rt:${scope.resource.key}`;
  if (scope.principal.kind === 'type') return `pt:${scope.principal.key}`;
  return '*';
}

/** Builds the index from every policy's scope facts. Templates themselves (unlinked) are left out. */
export function buildIndex(scopes: ReadonlyMap<string, ScopeFacts>): PartitionIndex {
  const index = new Map<string, Map<string, string[]>>();
  for (const [id, scope] of scopes) {
    if (scope.principal.kind === 'slot' || scope.resource.kind === 'slot') continue;
    const bucket = bucketOf(scope);
    for (const action of scope.actions === '*' ? ['*'] : scope.actions) {
      let buckets = index.get(action);
      if (!buckets) index.set(action, (buckets = new Map()));
      const ids = buckets.get(bucket);
      if (ids) ids.push(id);
      else buckets.set(bucket, [id]);
    }
  }
  return index;
}

/** The request facts partitioning needs: uid keys of principal, resource and their ancestors. */
export interface RequestAnchors {
  action: string;
  principalType: string;
  resourceType: string;
  /** The principal's own key and every ancestor's key. */
  principalKeys: readonly string[];
  resourceKeys: readonly string[];
}

/**
 * The non-empty buckets a request can meet, as `action|bucket` names, sorted: the partition key.
 * The same key always names the same policies for a given index.
 */
export function partitionKey(index: PartitionIndex, anchors: RequestAnchors): { key: string; buckets: Array<readonly string[]> } {
  const names: string[] = [];
  const buckets: Array<readonly string[]> = [];
  for (const action of [anchors.action, '*']) {
    const byBucket = index.get(action);
    if (!byBucket) continue;
    const consider = (bucket: string) => {
      const ids = byBucket.get(bucket);
      if (ids) {
        names.push(`${action}|${bucket}`);
        buckets.push(ids);
      }
    };
    consider('*');
    consider(`rt:${anchors.resourceType}`);
    consider(`pt:${anchors.principalType}`);
    for (const k of anchors.resourceKeys) consider(`r:${k}`);
    for (const k of anchors.principalKeys) consider(`p:${k}`);
  }
  return { key: names.sort().join('\n'), buckets };
}
