/**
 * Renders the code catalogue (`codes.ts`) as `docs/codes.md`, so the page cannot say anything the
 * code does not. `codes-doc.test.ts` fails when the page is stale.
 */
import { DECISION_ERROR_CODES, DENY_CODES, ERROR_CODES, type DenyCode, type DenyGroup } from './codes.ts';

const GROUP_TITLES: Record<DenyGroup, string> = {
  registry: 'The agent in the registry',
  delegation: 'The delegation chain',
  intent: 'The declared intent',
  goal: 'The goal and its budget',
  approval: 'Human approval',
  quota: 'Quotas',
  switch: 'Kill switches',
  policy:
    "The policies' answer (in the proxy's refusals and MCP errors; `POST /v1/authorize` says it with `result.decision` and `reasons`, its `result.codes` holding the other groups' codes)",
  request: 'A refused decision request (answered 400, still recorded)',
  decision: 'The decision point failing closed',
  proxy: 'Refusals of the proxy',
  mcp: 'Refusals of the proxy on MCP traffic',
};

/** `docs/codes.md`, generated from the catalogue. */
export function codesMarkdown(): string {
  const out = [
    '# Codes',
    '',
    '<!-- Generated from `libs/contracts/src/codes.ts` by `libs/contracts/src/codes-doc.test.ts`; do not edit by hand.',
    '     Regenerate: cd libs/contracts && UPDATE_CODES_DOC=1 npx vitest run --config ../../vitest.shared.ts src/codes-doc.test.ts -->',
    '',
    'Every stable code Argus puts on the wire. Clients may branch on them; they never change meaning.',
    '',
    '- **Deny codes** say why a decision is not an allow: `result.codes` of `POST /v1/authorize`, the `codes` of a',
    '  refusal the proxy answers (and `error.data.codes` of a refused MCP message).',
    '- **Error codes** are the `code` of an error response `{code, message, errors}`, each with its HTTP status.',
    "- **Decision error codes** are the `code` of an entry in a decision's `errors` (besides deny and error codes).",
    '',
    '## Deny codes',
  ];
  const byGroup = new Map<DenyGroup, DenyCode[]>();
  for (const code of Object.keys(DENY_CODES) as DenyCode[]) {
    const group = DENY_CODES[code].group;
    byGroup.set(group, [...(byGroup.get(group) ?? []), code]);
  }
  for (const [group, codes] of byGroup) {
    out.push('', `### ${GROUP_TITLES[group]}`, '', '| Code | Meaning |', '| --- | --- |');
    for (const code of codes) out.push(`| \`${code}\` | ${cell(DENY_CODES[code].meaning)} |`);
  }
  out.push('', '## Error codes', '', '| Code | HTTP status | Meaning |', '| --- | --- | --- |');
  for (const [code, info] of Object.entries(ERROR_CODES)) out.push(`| \`${code}\` | ${info.status} | ${cell(info.meaning)} |`);
  out.push('', '## Decision error codes', '', '| Code | Meaning |', '| --- | --- |');
  for (const [code, info] of Object.entries(DECISION_ERROR_CODES)) out.push(`| \`${code}\` | ${cell(info.meaning)} |`);
  out.push('');
  return out.join('\n');
}

function cell(text: string): string {
  return text.replace(/\|/g, '\\|');
}
