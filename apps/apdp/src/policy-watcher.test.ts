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
      writeFileSync(join(dir, 'policies', 'extra.cedar'), '@id("extra")\nforbid (principal, action, resource) when { context.now < datetime("2000-01-01") };\n');
      await until(() => holder.current!.set.version !== first);
      const second = holder.current!.set.version;
      expect(holder.current!.set.policies.has('extra')).toBe(true);

      writeFileSync(join(dir, 'policies', 'broken.cedar'), 'permit (principal, action, resource) when { principal.nope };\n');
      await until(() => holder.failure !== undefined);
      expect(holder.current!.set.version).toBe(second);
      expect(holder.failure!.diagnostics[0]!.file).toBe('policies/broken.cedar');
      expect(await metrics.getSingleMetricAsString('argus_policy_reload_failures_total')).toMatch(/argus_policy_reload_failures_total [1-9]/);

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
      writeFileSync(join(dir, 'policies', 'burst.cedar'), `@id("burst-${i}")\nforbid (principal, action, resource) when { context.now < datetime("2000-01-01") };\n`);
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
