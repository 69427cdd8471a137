import type { Server } from 'node:http';
import type { Logger } from 'pino';

/** Something that must be closed on shutdown, in registration order reversed. */
export type Closer = { name: string; close: () => Promise<void> | void };

/**
 * Graceful shutdown: on SIGTERM/SIGINT stop accepting connections, let in-flight requests finish,
 * run the closers (flush audit, close Redis/stores) and exit 0 — or exit 1 once `graceMs` has passed.
 */
export class Shutdown {
  private readonly closers: Closer[] = [];
  private started: Promise<void> | undefined;

  constructor(private readonly logger: Logger, private readonly graceMs: number) {}

  /** Registers a closer; the last registered closes first. */
  add(closer: Closer): void {
    this.closers.push(closer);
  }

  /** Stops `server` first: no new connections, idle keep-alive sockets closed. */
  addServer(name: string, server: Server): void {
    this.add({
      name,
      close: () =>
        new Promise<void>((resolve) => {
          // Keep-alive connections turn idle as their last request finishes: close them as they do,
          // instead of waiting for the keep-alive timeout.
          const sweep = setInterval(() => server.closeIdleConnections(), 50);
          server.close(() => {
            clearInterval(sweep);
            resolve();
          });
          server.closeIdleConnections();
        }),
    });
  }

  /** Installs SIGTERM and SIGINT handlers that run `run()` and exit. */
  installSignalHandlers(exit: (code: number) => void = (code) => process.exit(code)): void {
    const onSignal = (signal: string) => {
      this.logger.info({ signal }, 'shutting down');
      const timer = setTimeout(() => {
        this.logger.error({ graceMs: this.graceMs }, 'shutdown grace period exceeded');
        exit(1);
      }, this.graceMs);
      timer.unref();
      this.run().then(
        () => exit(0),
        () => exit(1),
      );
    };
    process.once('SIGTERM', onSignal);
    process.once('SIGINT', onSignal);
  }

  /** Runs every closer once (servers first, as registered last-in first-out). Safe to call twice. */
  run(): Promise<void> {
    this.started ??= (async () => {
      let failed = false;
      for (const closer of [...this.closers].reverse()) {
        try {
          await closer.close();
        } catch (err) {
          failed = true;
          this.logger.error({ closer: closer.name, err: err instanceof Error ? err.message : String(err) }, 'close failed');
        }
      }
      if (failed) throw new Error('one or more closers failed');
    })();
    return this.started;
  }
}
