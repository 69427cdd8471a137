import type { EntityRef } from '@argus/contracts';

/** The Cedar namespace every Argus entity type lives in. */
export const NAMESPACE = 'Argus';

/**
 * Drops a leading `Argus::` from a type name, so `Argus::Tool` and `Tool` compare equal.
 * Wire types are written without the namespace; Cedar types with it.
 */
export function bareType(type: string): string {
  return type.startsWith(`${NAMESPACE}::`) ? type.slice(NAMESPACE.length + 2) : type;
}

/** Prefixes `Argus::` unless the type already carries a namespace. */
export function cedarType(type: string): string {
  return type.includes('::') ? type : `${NAMESPACE}::${type}`;
}

/** A wire reference as a Cedar uid: `{ type: 'Argus::Agent', id }`. */
export function cedarUid(ref: EntityRef): { type: string; id: string } {
  return { type: cedarType(ref.type), id: ref.id };
}

/** Formats an entity reference as a Cedar uid string: `Agent::"support-bot"` (namespace dropped, id escaped). */
export function formatUid(ref: EntityRef): string {
  return `${bareType(ref.type)}::${JSON.stringify(ref.id)}`;
}

/** Parses `Type::"id"` (with an optional `Argus::` prefix) back into a reference; undefined when malformed. */
export function parseUid(uid: string): EntityRef | undefined {
  const m = /^([A-Za-z_][A-Za-z0-9_]*(?:::[A-Za-z_][A-Za-z0-9_]*)*)::("(?:[^"\\]|\\.)*")$/.exec(uid);
  if (!m) return undefined;
  try {
    const id = JSON.parse(m[2]!) as unknown;
    return typeof id === 'string' ? { type: bareType(m[1]!), id } : undefined;
  } catch {
    return undefined;
  }
}

/** True when two references name the same entity (namespace-insensitive). */
export function sameEntity(a: EntityRef, b: EntityRef): boolean {
  return a.id === b.id && bareType(a.type) === bareType(b.type);
}
