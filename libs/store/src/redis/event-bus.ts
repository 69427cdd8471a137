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
 * process ignores the echo of its own messages. ioredis re-subscribes after a reconnect.
 */
export class RedisEventBus implements EventBus {
  private readonly pub: Redis;
  private readonly sub: Redis;
  private readonly local: LocalDispatcher;
  private readonly origin = randomUUID();
  private readonly channelPrefix: string;
  private readonly counts = new Map<string, number>();
  private closed = false;
  private readonly startupWaitMs: number;

  constructor(options: RedisConnectionOptions, private readonly logger?: Logger) {
    this.startupWaitMs = options.connectTimeoutMs ?? 1_000;
    this.pub = openRedis(options);
    // The subscriber connection must queue its SUBSCRIBE until connected.
    this.sub = openRedis(options, { enableOfflineQueue: true, maxRetriesPerRequest: null, commandTimeout: undefined });
    this.local = new LocalDispatcher(logger);
    this.channelPrefix = `${options.prefix ?? 'argus:'}events:`;
    this.sub.on('message', (channel: string, message: string) => this.onMessage(channel, message));
  }

  /** Resolves once the subscriber connection is ready (useful for tests and start-up ordering). */
  async ready(): Promise<void> {
    await Promise.all([awaitFirstConnection(this.sub, this.startupWaitMs), awaitFirstConnection(this.pub, this.startupWaitMs)]);
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
    if (n === 1) this.sub.subscribe(this.channelPrefix + topic).catch((err: unknown) => this.logger?.warn({ topic, err: String(err) }, 'subscribe failed'));
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
      if (!this.closed) this.sub.unsubscribe(this.channelPrefix + topic).catch(() => undefined);
    };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.local.clear();
    await Promise.all([closeRedis(this.pub), closeRedis(this.sub)]);
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
