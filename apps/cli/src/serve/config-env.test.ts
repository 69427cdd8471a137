/**
 * The schemas' words about environment variables against the sections' tables: a description that
 * names an `ARGUS_*` variable names one its section really reads, for that key or a key below it.
 * (The generated docs/configuration.md lists the tables themselves.)
 */
import { describe, expect, it } from 'vitest';
import { ARGUS_SECTIONS } from '@argus/apdp';
import { schemaRegistry } from '@argus/contracts';
import { discoverSection } from '@argus/discover';
import type { ConfigSection } from '@argus/platform';
import { proxySection } from '@argus/proxy/config';
import { registryServiceSection } from '@argus/registry';

type Node = Record<string, unknown>;

/** Every (pointer, description) below a schema, following `$ref`s (each schema once per path). */
function descriptions(schemaId: string): Array<{ pointer: string; text: string }> {
  const ajv = schemaRegistry();
  const out: Array<{ pointer: string; text: string }> = [];
  const resolve = (node: Node, base: string, seen: Set<string>): { node: Node; base: string } | undefined => {
    while (typeof node.$ref === 'string') {
      const [id, fragment = ''] = node.$ref.startsWith('#') ? [base, node.$ref.slice(1)] : node.$ref.split('#');
      if (seen.has(node.$ref)) return undefined;
      seen.add(node.$ref);
      let next = ajv.getSchema(id!)?.schema as Node | undefined;
      for (const part of fragment.split('/').filter(Boolean)) next = next?.[part] as Node | undefined;
      if (!next) return undefined;
      node = next;
      base = id!;
    }
    return { node, base };
  };
  const walk = (raw: Node, base: string, pointer: string, seen: Set<string>): void => {
    if (typeof raw.description === 'string') out.push({ pointer, text: raw.description });
    const r = resolve(raw, base, new Set(seen));
    if (!r) return;
    if (r.node !== raw && typeof r.node.description === 'string') out.push({ pointer, text: r.node.description });
    for (const [key, child] of Object.entries((r.node.properties as Record<string, Node> | undefined) ?? {}))
      walk(child, r.base, `${pointer}/${key}`, new Set(seen));
  };
  walk({ $ref: schemaId }, schemaId, '', new Set());
  return out;
}

/** Every section with its own table (the Argus file's `proxy` and `discover` read theirs as standalone files). */
const SECTIONS: ConfigSection<unknown>[] = [
  ...Object.values({ ...ARGUS_SECTIONS, proxy: proxySection, discover: discoverSection }),
  registryServiceSection,
];

describe('environment variables named in the schemas', () => {
  for (const section of SECTIONS) {
    it(`${section.key} (${section.schemaId}) names only variables it reads, at the key described`, () => {
      for (const { pointer, text } of descriptions(section.schemaId)) {
        for (const [name] of text.matchAll(/\bARGUS_[A-Z0-9_]+\b/g)) {
          const override = section.env[name];
          expect(override, `${section.schemaId}#${pointer} names ${name}, which the section does not read`).toBeDefined();
          expect(override!.pointer === pointer || override!.pointer.startsWith(`${pointer}/`), `${name} at ${pointer}`).toBe(true);
        }
      }
    });
  }

  it('finds the variables the schemas name (the walk reaches them)', () => {
    const named = SECTIONS.flatMap((s) =>
      descriptions(s.schemaId).flatMap((d) => [...d.text.matchAll(/\bARGUS_[A-Z0-9_]+\b/g)].map((m) => m[0])),
    );
    expect(new Set(named)).toEqual(
      new Set(['ARGUS_STORE_URL', 'ARGUS_REDIS_URL', 'ARGUS_ESCALATION_SECRET', 'ARGUS_REGISTRY_URL', 'ARGUS_DISCOVER_REGISTRY_TOKEN']),
    );
  });
});
