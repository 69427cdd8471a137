import { describe, expect, it } from 'vitest';
import { parseSuite } from './suite.ts';

const suite = (codes: string) => `cases:
  - name: revoked agent
    request:
      principal: { type: Agent, id: bot }
      action: tool:call
      resource: { type: Tool, id: crm/lookup }
    expect:
      decision: deny
      codes: ${codes}
`;

describe('policy test suites', () => {
  it('accepts expected codes from the catalogue', () => {
    expect(parseSuite('s.yaml', suite('[agent_revoked, delegation_expired]'))).toMatchObject({ ok: true });
  });

  it('refuses an expected code the catalogue does not hold, naming where', () => {
    expect(parseSuite('s.yaml', suite('[agent_revoked, agent_revokd]'))).toEqual({
      ok: false,
      problems: [
        { file: 's.yaml', path: '/cases/0/expect/codes/1', line: 9, message: 'unknown code `agent_revokd` (docs/codes.md lists them)' },
      ],
    });
  });
});

describe('the test runner’s governance defaults', () => {
  it('take the server’s delegation depth (a suite must not allow a chain the server refuses)', async () => {
    const { readFileSync } = await import('node:fs');
    const { DEFAULT_MAX_DEPTH } = await import('./fixtures.ts');
    const schema = JSON.parse(readFileSync(new URL('../../../../schemas/config/governance.schema.json', import.meta.url), 'utf8')) as {
      properties: { maxDelegationDepth: { default: number } };
    };
    expect(DEFAULT_MAX_DEPTH).toBe(schema.properties.maxDelegationDepth.default);
  });
});
