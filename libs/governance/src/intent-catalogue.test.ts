/** The shipped catalogue (`cedar/intents.json`) is valid and speaks the Cedar schema's language. */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { validatorFor } from '@argus/contracts';
import { describe, expect, it } from 'vitest';
import { actionMatches } from './scope.ts';
import type { IntentCatalogue } from './intent.ts';

const read = (rel: string) => readFileSync(fileURLToPath(new URL(rel, import.meta.url)), 'utf8');
const catalogue = JSON.parse(read('../../../cedar/intents.json')) as IntentCatalogue;
const schema = read('../../../cedar/schema.cedarschema');
const validate = validatorFor<IntentCatalogue>('https://argus.dev/schemas/governance/intent-catalogue.json');

describe('cedar/intents.json', () => {
  it('validates against its JSON Schema', () => {
    expect(validate(catalogue)).toMatchObject({ ok: true });
  });

  it('rejects unknown fields and empty action lists with their path', () => {
    const r = validate({ intents: { x: { description: 'd', actions: [], extra: 1 } } });
    expect(r.ok).toBe(false);
    expect(!r.ok && r.errors.map((e) => e.path).sort()).toEqual(['/intents/x/actions', '/intents/x/extra']);
  });

  it('ships the agent scenarios', () => {
    for (const name of ['lookup-order-status', 'summarize', 'research', 'send-notification', 'code-change', 'payment'])
      expect(catalogue.intents[name]).toBeDefined();
  });

  it('every action pattern and resource type names something the Cedar schema declares', () => {
    const actions = [...schema.matchAll(/action\s+"([^"]+)"/g)].map((m) => m[1]!);
    const types = [...schema.matchAll(/entity\s+([A-Za-z_]\w*)/g)].map((m) => m[1]!);
    for (const [name, def] of Object.entries(catalogue.intents)) {
      for (const p of def.actions)
        expect(
          actions.some((a) => actionMatches(p, a)),
          `${name}: ${p}`,
        ).toBe(true);
      for (const t of def.resourceTypes ?? []) expect(types, `${name}: ${t}`).toContain(t);
    }
  });
});
