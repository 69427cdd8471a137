/**
 * Validators compile on first use (start-up compiles only what it validates), so a schema that
 * does not compile must fail here, in the tests, and not on a route's first request.
 */
import { describe, expect, it } from 'vitest';
import { schemaRegistry, validatorFor } from './validator.ts';

const ARGUS = 'https://argus.dev/schemas/';

describe('validatorFor', () => {
  it('compiles its schema on the first validation, not when it is made', () => {
    const id = `${ARGUS}registry/mcp-server-create.json`;
    const registry = schemaRegistry();
    expect(registry.schemas[id]).toBeDefined();
    const validate = validatorFor(id);
    expect(registry.schemas[id]!.validate).toBeUndefined();
    expect(validate({}).ok).toBe(false);
    expect(registry.schemas[id]!.validate).toBeTypeOf('function');
  });

  it('refuses an unknown schema when it is made', () => {
    expect(() => validatorFor(`${ARGUS}no-such.json`)).toThrow(/is not registered/);
  });

  it('every registered Argus schema compiles (strict mode)', () => {
    const registry = schemaRegistry();
    const ids = Object.keys(registry.schemas).filter((id) => id.startsWith(ARGUS));
    expect(ids.length).toBeGreaterThan(30);
    for (const id of ids) expect(() => registry.getSchema(id), id).not.toThrow();
  });
});
