/**
 * `docs/codes.md` is generated from the code catalogue: this test fails when the page is stale.
 * Regenerate with `UPDATE_CODES_DOC=1 npx vitest run --config ../../vitest.shared.ts src/codes-doc.test.ts`.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DENY_CODES, ERROR_CODES } from './codes.ts';
import { codesMarkdown } from './codes-doc.ts';

const DOC = resolve(import.meta.dirname, '../../../docs/codes.md');

describe('docs/codes.md', () => {
  it('is the catalogue as the code says', () => {
    const wanted = codesMarkdown();
    if (process.env.UPDATE_CODES_DOC === '1') writeFileSync(DOC, wanted);
    const current = readFileSync(DOC, 'utf8');
    expect(current, 'docs/codes.md drifted from libs/contracts/src/codes.ts: rerun this test with UPDATE_CODES_DOC=1').toBe(wanted);
  });

  it('lists every code once, with its meaning', () => {
    const text = codesMarkdown();
    for (const code of [...Object.keys(DENY_CODES), ...Object.keys(ERROR_CODES)]) {
      expect(text.split(`| \`${code}\` |`).length - 1, code).toBeGreaterThanOrEqual(1);
    }
    expect(text).toContain('| `approval_consumed` | the approval was already used |');
  });
});
