import { watch, type FSWatcher } from 'chokidar';
import type { Logger } from 'pino';
import type { Counter } from 'prom-client';
import type { PolicyHolder } from './policy-holder.ts';
import { readDirectoryVersion, readPolicyDir } from './policy-files.ts';

/** Options of the directory watcher. */
export interface PolicyWatcherOptions {
  dir: string;
  debounceMs: number;
  holder: PolicyHolder;
  logger: Logger;
  failures: Counter;
  reloads: Counter;
}

/**
 * Loads the policy directory and reloads it when a file changes: debounced, single-flight (a change
 * during a reload schedules exactly one more), and a bad file keeps the last good set active.
 *
 * Precedence: a set published through the API (or adopted from the store) pins over the directory.
 * Touching policy files then changes nothing; changing the directory's `VERSION` marker (creating,
 * editing or removing it) is the deliberate step that makes the directory's set active again.
 */
export class PolicyWatcher {
  private watcher: FSWatcher | undefined;
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private again = false;
  /** The `VERSION` marker last seen; `null` before the first look. */
  private marker: string | undefined | null = null;

  constructor(private readonly options: PolicyWatcherOptions) {}

  /** Reads the directory now; resolves true when the set it holds is active. */
  async load(): Promise<boolean> {
    const { dir, holder, logger, failures, reloads } = this.options;
    try {
      const marker = await readDirectoryVersion(dir);
      const seen = this.marker;
      this.marker = marker;
      const active = holder.current;
      if (active && active.source !== 'directory' && (seen === null || seen === marker)) {
        logger.warn(
          { dir, version: active.set.version, source: active.source },
          'a published policy set is active: the directory is not applied until its VERSION file changes',
        );
        return false;
      }
      const input = await readPolicyDir(dir);
      const result = holder.replace(input, 'directory');
      if (!result.ok) {
        failures.inc();
        logger.error({ dir, diagnostics: result.diagnostics.slice(0, 20) }, 'policy reload refused; the last good set stays active');
        return false;
      }
      reloads.inc();
      if (result.changed)
        logger.info({ version: result.active.set.version, policies: result.active.set.policies.size }, 'policy set loaded');
      return true;
    } catch (err) {
      failures.inc();
      logger.error(
        { dir, err: err instanceof Error ? err.message : String(err) },
        'policy directory could not be read; the last good set stays active',
      );
      return false;
    }
  }

  /** Starts watching; changes are debounced. */
  start(): void {
    this.watcher = watch(this.options.dir, { ignoreInitial: true, awaitWriteFinish: false });
    this.watcher.on('all', () => this.schedule());
  }

  /** Triggers a debounced reload (also used by tests and by a `policy.changed` event). */
  schedule(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => void this.reload(), this.options.debounceMs);
  }

  /** Single-flight reload. */
  reload(): Promise<void> {
    if (this.running) {
      this.again = true;
      return this.running;
    }
    this.running = (async () => {
      do {
        this.again = false;
        await this.load();
      } while (this.again);
    })().finally(() => {
      this.running = undefined;
    });
    return this.running;
  }

  /** Stops watching. */
  async close(): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    await this.watcher?.close();
    await this.running;
  }
}
