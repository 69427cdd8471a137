/**
 * `docs/security.md` embeds the permission table and a summary of the shipped configurations,
 * both generated here from the code and the files: this test fails when the page drifts.
 * Regenerate with `UPDATE_SECURITY_DOC=1 npx vitest run --config ../../vitest.shared.ts src/security-doc.test.ts`.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { permissionTableMarkdown } from '@argus/platform';

const ROOT = resolve(import.meta.dirname, '../../..');
const DOC = resolve(ROOT, 'docs/security.md');

interface Shipped {
  name: string;
  runs: string;
  config: () => { auth?: Record<string, unknown> } | undefined;
  proxyTokenEnv?: () => string | undefined;
}

const yamlFile = (path: string) => parse(readFileSync(resolve(ROOT, path), 'utf8')) as Record<string, unknown>;
const configMap = () => yamlFile('docker/k8s/configmap.yaml').data as Record<string, string>;

const SHIPPED: Shipped[] = [
  {
    name: '`docker/argus.yaml`',
    runs: 'the decision point replicas of `docker/compose.yaml`',
    config: () => yamlFile('docker/argus.yaml'),
    proxyTokenEnv: () => (yamlFile('docker/proxy.yaml').decision as Record<string, unknown>)?.tokenEnv as string | undefined,
  },
  {
    name: '`docker/k8s/configmap.yaml` (`argus.yaml`)',
    runs: 'the decision point Deployment of `docker/k8s`',
    config: () => parse(configMap()['argus.yaml']!) as Record<string, unknown>,
    proxyTokenEnv: () =>
      (parse(configMap()['proxy.yaml']!) as Record<string, Record<string, unknown>>).decision?.tokenEnv as string | undefined,
  },
  { name: '`argus serve` without `-c`', runs: 'the embedded quick start', config: () => ({ auth: { decisions: 'open' } }) },
  { name: '`argus serve -c FILE`, `apdp` main', runs: 'your own file', config: () => ({ auth: {} }) },
];

function shippedMarkdown(): string {
  const lines = ['| Configuration | Runs | `auth.decisions` | Proxy → decision API credential |', '| --- | --- | --- | --- |'];
  for (const s of SHIPPED) {
    const decisions = (s.config()?.auth?.decisions as string | undefined) ?? 'required (schema default)';
    const proxy = s.proxyTokenEnv ? `service token from \`${s.proxyTokenEnv() ?? '(none)'}\`` : 'in process (no credential)';
    lines.push(
      `| ${s.name} | ${s.runs} | \`${decisions.split(' ')[0]}\`${decisions.includes(' ') ? ' (schema default)' : ''} | ${proxy} |`,
    );
  }
  return lines.join('\n');
}

function withSection(text: string, name: string, body: string): string {
  const start = `<!-- ${name}:start -->`;
  const end = `<!-- ${name}:end -->`;
  const i = text.indexOf(start);
  const j = text.indexOf(end);
  if (i < 0 || j < i) throw new Error(`docs/security.md has no ${name} markers`);
  return `${text.slice(0, i + start.length)}\n${body}\n${text.slice(j)}`;
}

describe('docs/security.md', () => {
  it('holds the permission table and the shipped configurations as the code and the files say', () => {
    const current = readFileSync(DOC, 'utf8');
    const wanted = withSection(withSection(current, 'permission-table', permissionTableMarkdown()), 'shipped-configs', shippedMarkdown());
    if (process.env.UPDATE_SECURITY_DOC === '1') writeFileSync(DOC, wanted);
    expect(current, 'docs/security.md drifted from the code: rerun this test with UPDATE_SECURITY_DOC=1').toBe(wanted);
  });

  it('requires authenticated decision callers in every shipped production configuration', () => {
    for (const s of SHIPPED.slice(0, 2)) {
      expect(s.config()?.auth?.decisions, s.name).toBe('required');
      expect(s.proxyTokenEnv?.(), s.name).toBe('ARGUS_PROXY_SERVICE_TOKEN');
    }
  });
});
