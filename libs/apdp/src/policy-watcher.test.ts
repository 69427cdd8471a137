import { cpSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createMetricsRegistry, silentLogger } from '@argus/platform';
import { afterEach, describe, expect, it } from 'vitest';
import { reloadMetrics } from './app.ts';
import { PolicyHolder } from './policy-holder.ts';
import { PolicyWatcher } from './policy-watcher.ts';
import { CEDAR_DIR } from './testing/harness.ts';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function setup() {
  const dir = mkdtempSync(join(tmpdir(), 'argus-watch-'));
  dirs.push(dir);
  cpSync(CEDAR_DIR, dir, { recursive: true });
  const holder = new PolicyHolder();
  const metrics = createMetricsRegistry({ defaultMetrics: false });
  const { reloads, failures } = reloadMetrics(metrics);
  const watcher = new PolicyWatcher({ dir, debounceMs: 50, holder, logger: silentLogger(), reloads, failures });
  return { dir, holder, metrics, watcher };
}

async function until(check: () => boolean, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 25));
  }
}

describe('PolicyWatcher', () => {
  it('reloads on a change, and a bad file keeps the last good set', async () => {
    const { dir, holder, metrics, watcher } = setup();
    expect(await watcher.load()).toBe(true);
    const first = holder.current!.set.version;
    watcher.start();
    try {
      await new Promise((r) => setTimeout(r, 300));
      writeFileSync(
        join(dir, 'policies', 'extra.cedar'),
        '@id("extra")\nforbid (principal, action, resource) when { context.now < datetime("2000-01-01") };\n',
      );
      await until(() => holder.current!.set.version !== first);
      const second = holder.current!.set.version;
      expect(holder.current!.set.policies.has('extra')).toBe(true);

      writeFileSync(join(dir, 'policies', 'broken.cedar'), 'permit (principal, action, resource) when { principal.nope };\n');
      await until(() => holder.failure !== undefined);
      expect(holder.current!.set.version).toBe(second);
      expect(holder.failure!.diagnostics[0]!.file).toBe('policies/broken.cedar');
      expect(await metrics.getSingleMetricAsString('argus_policy_reload_failures_total')).toMatch(
        /argus_policy_reload_failures_total [1-9]/,
      );

      rmSync(join(dir, 'policies', 'broken.cedar'));
      await until(() => holder.failure === undefined);
      expect(holder.current!.set.version).toBe(second);
    } finally {
      await watcher.close();
    }
  });

  it('reloads single-flight: a burst of reloads ends on the files as they are', async () => {
    const { dir, holder, watcher } = setup();
    await watcher.load();
    const runs = Array.from({ length: 10 }, (_, i) => {
      writeFileSync(
        join(dir, 'policies', 'burst.cedar'),
        `@id("burst-${i}")\nforbid (principal, action, resource) when { context.now < datetime("2000-01-01") };\n`,
      );
      return watcher.reload();
    });
    await Promise.all(runs);
    await watcher.reload();
    const ids = [...holder.current!.set.policies.keys()].filter((id) => id.startsWith('burst-'));
    expect(ids).toEqual(['burst-9']);
  });

  it('refuses to start from a directory with no valid set', async () => {
    const { dir, holder, watcher } = setup();
    writeFileSync(join(dir, 'schema.cedarschema'), 'namespace {');
    expect(await watcher.load()).toBe(false);
    expect(holder.current).toBeUndefined();
  });
});

describe('PolicyWatcher precedence and guard', () => {
  it('keeps a set published through the API over directory edits until the VERSION marker changes', async () => {
    const { dir, holder, watcher } = setup();
    expect(await watcher.load()).toBe(true);
    const fromDir = holder.current!.set;
    const published = holder.replace(
      {
        ...fromDir.sources,
        policies: [
          ...fromDir.sources.policies,
          { file: 'published.cedar', text: '@id("published")\nforbid (principal, action, resource) when { context has nope };\n' },
        ],
      },
      'api',
    );
    expect(published.ok).toBe(true);
    const pinned = holder.current!.set.version;

    writeFileSync(
      join(dir, 'policies', 'touched.cedar'),
      '@id("touched")\nforbid (principal, action, resource) when { context has other };\n',
    );
    expect(await watcher.load()).toBe(false);
    expect(holder.current!.set.version).toBe(pinned);
    expect(holder.current!.source).toBe('api');

    writeFileSync(join(dir, 'VERSION'), '2026.12.1\n');
    expect(await watcher.load()).toBe(true);
    expect(holder.current!.source).toBe('directory');
    expect(holder.current!.set.policies.has('touched')).toBe(true);
    expect(holder.current!.set.policies.has('published')).toBe(false);
  });

  it('refuses a reload in which a file loses all its policies at once; deleting the file is accepted', async () => {
    const { dir, holder, watcher } = setup();
    expect(await watcher.load()).toBe(true);
    const before = holder.current!.set.version;
    const file = 'policies/tools.cedar';
    const lost = [...holder.current!.set.policies.values()].filter((p) => p.file === file).length;
    expect(lost).toBeGreaterThan(0);

    writeFileSync(join(dir, file), '');
    expect(await watcher.load()).toBe(false);
    expect(holder.current!.set.version).toBe(before);
    expect(holder.failure!.diagnostics).toEqual([
      expect.objectContaining({ file, message: expect.stringContaining(`lose all its ${lost}`) }),
    ]);

    rmSync(join(dir, file));
    expect(await watcher.load()).toBe(true);
    expect([...holder.current!.set.policies.values()].some((p) => p.file === file)).toBe(false);
  });

  it('lets a forced replacement empty a file', () => {
    const holder = new PolicyHolder();
    const schema = 'entity User; action view appliesTo { principal: User, resource: User };';
    expect(holder.replace({ schema, policies: [{ file: 'a.cedar', text: 'permit (principal, action, resource);' }] }, 'api').ok).toBe(true);
    expect(holder.replace({ schema, policies: [{ file: 'a.cedar', text: '// retired\n' }] }, 'api').ok).toBe(false);
    expect(holder.replace({ schema, policies: [{ file: 'a.cedar', text: '// retired\n' }] }, 'api', { force: true }).ok).toBe(true);
  });
});
