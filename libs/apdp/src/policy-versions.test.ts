import { compilePolicySet } from '@argus/engine';
import { describe, expect, it } from 'vitest';
import { readPolicyDir } from './policy-files.ts';
import { fromVersionFiles, toVersionFiles } from './policy-versions.ts';
import { CEDAR_DIR } from './testing/harness.ts';

describe('policy versions as files', () => {
  it('round-trips a set with template links to the same version', async () => {
    const dir = await readPolicyDir(CEDAR_DIR);
    const input = {
      ...dir,
      policies: [
        ...dir.policies,
        {
          file: 'policies/grants.cedar',
          text: '@id("grant")\npermit (principal == ?principal, action == Argus::Action::"llm:invoke", resource);',
        },
      ],
      links: [{ templateId: 'grant', linkId: 'grant-bot', values: { '?principal': { type: 'Argus::Agent', id: 'bot' } } }],
    };
    const before = compilePolicySet(input);
    const after = compilePolicySet(fromVersionFiles(toVersionFiles(input)));
    expect(before.ok && after.ok).toBe(true);
    if (!before.ok || !after.ok) return;
    expect(after.policySet.version).toBe(before.policySet.version);
    expect(after.policySet.policies.has('grant-bot')).toBe(true);
  });
});
