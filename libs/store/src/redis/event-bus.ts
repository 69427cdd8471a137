import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import { UnavailableError, type Logger } from '@argus/platform';
import type { EventBus, EventHandler } from '../ports.ts';
import { LocalDispatcher } from '../memory/event-bus.ts';
import { awaitFirstConnection, closeRedis, openRedis, type RedisConnectionOptions } from './connection.ts';

interface Envelope {
  origin: string;
  payload: unknown;
}

/**
 * Redis pub/sub between processes, on channels `<prefix>events:<topic>`. Local subscribers get a
 * local publication directly (so invalidation works in-process even with Redis down) and the
 * process ignores the echo of its own messages.
 *
 * INVARIANT: SUBSCRIBE is only ever sent on a ready connection: every time the subscriber
 * connection becomes ready (the first time and after each reconnect) it subscribes to every topic
 * that has handlers. Queuing SUBSCRIBE before the connection is ready can lose the subscription
 * (a slow ready check interleaves with the queued commands and the client drops them), which
 * leaves a replica deaf until it restarts. After a reconnect, messages published in the gap are
 * lost, so the resync handlers run once the subscriptions are back.
 */
export class RedisEventBus implements EventBus {
  private readonly pub: Redis;
  private readonly sub: Redis;
  private readonly local: LocalDispatcher;
  private readonly origin = randomUUID();
  private readonly channelPrefix: string;
  private readonly counts = new Map<string, number>();
  private readonly resyncHandlers = new Set<() => void | Promise<void>>();
  private closed = false;
  private everSubscribed = false;
  private readonly startupWaitMs: number;
  private subscribedOnce: Promise<void>;
  private markSubscribed!: () => void;

  constructor(
    options: RedisConnectionOptions,
    private readonly logger?: Logger,
  ) {
    this.startupWaitMs = options.connectTimeoutMs ?? 1_000;
    this.pub = openRedis(options);
    // The subscriber connection manages its subscriptions itself (see the invariant above).
    this.sub = openRedis(options, {
      enableOfflineQueue: false,
      autoResubscribe: false,
      maxRetriesPerRequest: null,
      commandTimeout: undefined,
    });
    this.local = new LocalDispatcher(logger);
    this.channelPrefix = `${options.prefix ?? 'argus:'}events:`;
    this.subscribedOnce = new Promise<void>((resolve) => (this.markSubscribed = resolve));
    this.sub.on('message', (channel: string, message: string) => this.onMessage(channel, message));
    this.sub.on('ready', () => void this.onSubscriberReady());
  }

  /** Resolves once the connections are ready and the first subscriptions are in place (bounded by the start-up wait). */
  async ready(): Promise<void> {
    await Promise.all([awaitFirstConnection(this.sub, this.startupWaitMs), awaitFirstConnection(this.pub, this.startupWaitMs)]);
    if (this.counts.size > 0) await Promise.race([this.subscribedOnce, new Promise((r) => setTimeout(r, this.startupWaitMs).unref())]);
  }

  async publish(topic: string, payload: unknown): Promise<void> {
    if (this.closed) return;
    this.local.dispatch(topic, payload);
    const envelope: Envelope = { origin: this.origin, payload };
    await awaitFirstConnection(this.pub, this.startupWaitMs);
    try {
      await this.pub.publish(this.channelPrefix + topic, JSON.stringify(envelope));
    } catch (err) {
      throw new UnavailableError('event bus unavailable', err);
    }
  }

  subscribe(topic: string, handler: EventHandler): () => void {
    const unsubscribeLocal = this.local.subscribe(topic, handler);
    const n = (this.counts.get(topic) ?? 0) + 1;
    this.counts.set(topic, n);
    // Not ready yet: the 'ready' handler subscribes to every topic then.
    if (n === 1 && this.sub.status === 'ready') {
      this.sub
        .subscribe(this.channelPrefix + topic)
        .catch((err: unknown) => this.logger?.warn({ topic, err: String(err) }, 'subscribe failed; retried on the next reconnect'));
    }
    let active = true;
    return () => {
      if (!active) return;
      active = false;
      unsubscribeLocal();
      const left = (this.counts.get(topic) ?? 1) - 1;
      if (left > 0) {
        this.counts.set(topic, left);
        return;
      }
      this.counts.delete(topic);
      if (!this.closed && this.sub.status === 'ready') this.sub.unsubscribe(this.channelPrefix + topic).catch(() => undefined);
    };
  }

  onResync(handler: () => void | Promise<void>): () => void {
    this.resyncHandlers.add(handler);
    return () => void this.resyncHandlers.delete(handler);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.local.clear();
    this.resyncHandlers.clear();
    await Promise.all([closeRedis(this.pub), closeRedis(this.sub)]);
  }

  private async onSubscriberReady(): Promise<void> {
    const channels = [...this.counts.keys()].map((t) => this.channelPrefix + t);
    if (channels.length > 0) {
      try {
        await this.sub.subscribe(...channels);
      } catch (err) {
        // The connection dropped again; the next 'ready' tries again.
        this.logger?.warn({ err: String(err) }, 'subscribe failed; retried on the next reconnect');
        return;
      }
    }
    const reconnected = this.everSubscribed;
    this.everSubscribed = true;
    this.markSubscribed();
    if (!reconnected || this.closed) return;
    this.logger?.warn(
      { topics: [...this.counts.keys()] },
      'event bus reconnected; events published meanwhile were missed, resynchronising',
    );
    for (const handler of [...this.resyncHandlers]) {
      try {
        await handler();
      } catch (err) {
        this.logger?.warn({ err: err instanceof Error ? err.message : String(err) }, 'resync handler failed');
      }
    }
  }

  private onMessage(channel: string, message: string): void {
    if (!channel.startsWith(this.channelPrefix)) return;
    let envelope: Envelope;
    try {
      envelope = JSON.parse(message) as Envelope;
    } catch {
      this.logger?.warn({ channel }, 'ignored a malformed event');
      return;
    }
    if (!envelope || typeof envelope !== 'object' || envelope.origin === this.origin) return;
    this.local.dispatch(channel.slice(this.channelPrefix.length), envelope.payload);
  }
}
