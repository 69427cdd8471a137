import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import { OpenList } from './open-list.ts';

/** Something that must be closed on shutdown, in registration order reversed. */
export type Closer = { name: string; close: () => Promise<void> | void };

/**
 * What a listener does with the calls still open when shutdown starts. Each hook is optional.
 */
export interface DrainHooks {
  /** In flight right now (for the log and the clean/not-clean verdict). */
  inFlight?: () => number;
  /** Called as draining starts: end what never ends on its own (server-pushed event streams). */
  start?: () => void;
  /** Called once the grace has passed: end every call still open (each with its own record). */
  abort?: () => Promise<void> | void;
}

/** Options of {@link Shutdown.addServer}. */
export interface ServerShutdownOptions {
  /**
   * End the server's open event streams (`text/event-stream` answers) as soon as draining starts,
   * each with a final `event: shutdown`: they never end on their own, so they would hold the drain
   * for the whole grace (the decision stream).
   */
  endStreams?: boolean;
  /** The listener's own drain behaviour (the proxy aborts its calls with an audit record). */
  drain?: DrainHooks;
}

/** How a shutdown went: `clean` when every call finished within the grace and every closer closed. */
export interface ShutdownReport {
  clean: boolean;
  /** Calls (requests, or the listener's own calls) still open when the grace ran out, then aborted. */
  aborted: number;
  /** Closers that failed. */
  failed: string[];
}

/** The exit codes a signal handler exits with (documented in docs/deployment.md). */
export const SHUTDOWN_EXIT = { clean: 0, unclean: 1 } as const;

/** The final event an event stream gets when the server shuts down. */
export const SHUTDOWN_EVENT = 'event: shutdown\ndata: {"reason":"server shutting down"}\n\n';

/** Time given to the closers (audit flush, stores) after the drain, before the process exits anyway. */
const DEFAULT_CLOSE_MS = 5000;

interface Listener {
  name: string;
  server: Server;
  options: ServerShutdownOptions;
  /** The responses not closed yet (not a `Set`: see {@link OpenList}). */
  open: OpenList<ServerResponse>;
}

/**
 * Graceful shutdown in three steps, the same for every Argus process:
 *
 * 1. **Stop accepting**: every registered listener closes at once (a new connection is refused on
 *    all of them), idle keep-alive connections are closed as they turn idle, open event streams of
 *    an `endStreams` listener get a final event and end.
 * 2. **Drain**: the calls in flight finish, up to `graceMs`; past it each listener's `abort` hook
 *    ends what is left (the proxy answers and records each call as `aborted`) and the remaining
 *    connections are closed.
 * 3. **Close**: the closers run last-in first-out (audit writer flush, Redis, stores).
 *
 * Kept by hand rather than taken from `http-terminator` or `stoppable`: since Node 18.2,
 * `server.close()`, `closeIdleConnections()` and `closeAllConnections()` do the socket bookkeeping
 * those libraries exist for, and neither library stops several listeners together, gives event
 * streams a final event, or lets a listener abort its calls with a record before the sockets go.
 */
export class Shutdown {
  private readonly closers: Closer[] = [];
  private readonly listeners: Listener[] = [];
  private started: Promise<ShutdownReport> | undefined;

  constructor(
    private readonly logger: Logger,
    private readonly graceMs: number,
    private readonly closeMs: number = DEFAULT_CLOSE_MS,
  ) {}

  /** Registers a closer; the last registered closes first, after every listener has drained. */
  add(closer: Closer): void {
    this.closers.push(closer);
  }

  /** Registers a listener: it stops accepting first (with every other one), then drains. */
  addServer(name: string, server: Server, options: ServerShutdownOptions = {}): void {
    const open = new OpenList<ServerResponse>();
    server.on('request', (_req: IncomingMessage, res: ServerResponse) => {
      const entry = open.add(res);
      res.once('close', () => open.remove(entry));
      // INVARIANT: a request arriving on a kept-alive connection while draining is the last one on it.
      if (this.started) res.shouldKeepAlive = false;
    });
    this.listeners.push({ name, server, options, open });
  }

  /**
   * Installs SIGTERM and SIGINT handlers that run {@link run} and exit: 0 when the drain was clean,
   * 1 when calls had to be aborted or a closer failed, 1 also when the closers overrun their time.
   */
  installSignalHandlers(exit: (code: number) => void = (code) => process.exit(code)): void {
    const onSignal = (signal: string) => {
      this.logger.info({ signal, graceMs: this.graceMs }, 'shutting down');
      const timer = setTimeout(() => {
        this.logger.error({ graceMs: this.graceMs, closeMs: this.closeMs }, 'shutdown did not finish in time');
        exit(SHUTDOWN_EXIT.unclean);
      }, this.graceMs + this.closeMs);
      timer.unref();
      this.run().then(
        (report) => exit(report.clean ? SHUTDOWN_EXIT.clean : SHUTDOWN_EXIT.unclean),
        () => exit(SHUTDOWN_EXIT.unclean),
      );
    };
    process.once('SIGTERM', onSignal);
    process.once('SIGINT', onSignal);
  }

  /** Stops accepting, drains, aborts what is left past the grace, runs the closers. Safe to call twice. */
  run(): Promise<ShutdownReport> {
    this.started ??= this.shutdown();
    return this.started;
  }

  private async shutdown(): Promise<ShutdownReport> {
    const closed = this.listeners.map((l) => this.stopAccepting(l));
    const drained = await within(Promise.all(closed), this.graceMs);
    let aborted = 0;
    if (!drained) {
      for (const l of this.listeners) aborted += l.options.drain?.inFlight?.() ?? l.open.size;
      this.logger.warn({ graceMs: this.graceMs, aborted }, 'shutdown grace period exceeded');
      for (const l of this.listeners) {
        try {
          await l.options.drain?.abort?.();
        } catch (err) {
          this.logger.error({ listener: l.name, err: err instanceof Error ? err.message : String(err) }, 'abort failed');
        }
      }
      // Whatever the hooks left open goes now (the answers they wrote are flushed first).
      await new Promise((r) => setTimeout(r, 50));
      for (const l of this.listeners) l.server.closeAllConnections();
      await within(Promise.all(closed), this.closeMs);
    }
    const failed: string[] = [];
    for (const closer of [...this.closers].reverse()) {
      try {
        await closer.close();
      } catch (err) {
        failed.push(closer.name);
        this.logger.error({ closer: closer.name, err: err instanceof Error ? err.message : String(err) }, 'close failed');
      }
    }
    const report = { clean: drained && failed.length === 0, aborted, failed };
    this.logger.info(report, 'shut down');
    return report;
  }

  /** Closes the listening socket, ends event streams when asked, and resolves once every connection is gone. */
  private stopAccepting(l: Listener): Promise<void> {
    return new Promise<void>((resolve) => {
      const endOpen = () => {
        for (const res of l.open) {
          res.shouldKeepAlive = false;
          if (l.options.endStreams && isEventStream(res)) endStream(res);
        }
      };
      // Keep-alive connections turn idle as their last request finishes: close them as they do,
      // instead of waiting for the keep-alive timeout. A request accepted just before the socket
      // closed may open its stream after this point: each sweep ends those too.
      const sweep = setInterval(() => {
        endOpen();
        l.server.closeIdleConnections();
      }, 50);
      sweep.unref();
      l.server.close(() => {
        clearInterval(sweep);
        resolve();
      });
      endOpen();
      try {
        l.options.drain?.start?.();
      } catch (err) {
        this.logger.error({ listener: l.name, err: err instanceof Error ? err.message : String(err) }, 'drain start failed');
      }
      l.server.closeIdleConnections();
    });
  }
}

function isEventStream(res: ServerResponse): boolean {
  return res.headersSent && /^text\/event-stream/i.test(String(res.getHeader('content-type') ?? ''));
}

/** Writes the final event and ends the stream; a late write by its producer is dropped, not thrown. */
function endStream(res: ServerResponse): void {
  if (res.writableEnded || res.destroyed) return;
  res.on('error', () => undefined);
  res.end(SHUTDOWN_EVENT);
}

/** True when `p` settles within `ms`. */
async function within(p: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<false>((r) => (timer = setTimeout(() => r(false), ms)));
  try {
    return await Promise.race([p.then(() => true as const), timeout]);
  } finally {
    clearTimeout(timer);
  }
}
