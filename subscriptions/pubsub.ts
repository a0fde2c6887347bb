import { PubSub as InProcessPubSub } from 'graphql-subscriptions';
import { RedisPubSub, type PubSubRedisOptions } from 'graphql-redis-subscriptions';
import { Redis } from 'ioredis';

/**
 * The pub/sub port: Redis (graphql-redis-subscriptions, one publisher and one subscriber connection) when
 * REDIS_URL is set, in-process otherwise. Both carry JSON-safe payloads.
 */
export interface PubSub {
  readonly kind: 'redis' | 'in-process';
  /** Rejects at once when the broker cannot be reached: nothing is queued to go out later (the outbox keeps it). */
  publish(topic: string, payload: unknown): Promise<void>;
  /**
   * Calls `onMessage` with every payload published to `topic` from the moment the returned promise resolves (the
   * subscription is live then, in Redis too); it resolves with how to stop (once or more).
   */
  listen<T>(topic: string, onMessage: (payload: T) => void): Promise<() => void>;
  /** How many listens are live now (every stream and feed of this instance has one): for leak checks. */
  listening(): number;
  /**
   * Calls `listener` each time the subscriptions are live again after the broker was out of reach: what was
   * published meanwhile did not arrive. Returns how to stop calling it.
   */
  onReconnect(listener: () => void): () => void;
  /** Resolves when the pub/sub is reachable; rejects otherwise. */
  ping(): Promise<void>;
  close(): Promise<void>;
}

/** Counts live listens; `stop` wraps an unsubscribe so that it may be called any number of times and runs once. */
function listenCounter() {
  let live = 0;
  return {
    count: () => live,
    started(unsubscribe: () => void): () => void {
      live++;
      let stopped = false;
      return () => {
        if (stopped) return;
        stopped = true;
        live--;
        unsubscribe();
      };
    },
  };
}

/** In-process pub/sub: one gateway instance, no Redis. */
export function createInProcessPubSub(): PubSub {
  const engine = new InProcessPubSub();
  const listens = listenCounter();
  return {
    kind: 'in-process',
    publish: (topic, payload) => engine.publish(topic, payload),
    async listen<T>(topic: string, onMessage: (payload: T) => void) {
      const id = await engine.subscribe(topic, onMessage);
      return listens.started(() => engine.unsubscribe(id));
    },
    listening: listens.count,
    onReconnect: () => () => {},
    ping: async () => {},
    close: async () => {},
  };
}

/**
 * Redis pub/sub. `prefix` namespaces every channel, so that several deployments (or test runs) can share one
 * Redis. ioredis 6 speaks RESP3 by default, which graphql-redis-subscriptions does not expect: use RESP2.
 */
export function createRedisPubSub(url: string, prefix = 'onsale:'): PubSub {
  const options = {
    protocol: 2 as const,
    lazyConnect: false,
    maxRetriesPerRequest: null,
    retryStrategy: (attempt: number) => Math.min(attempt * 100, 2_000),
  };
  // A publish fails at once while Redis is down, rather than wait in a queue: the outbox relay retries it, in
  // order, once Redis is back. Subscriptions wait in the queue, and ioredis renews them on reconnecting.
  const publisher = new Redis(url, { ...options, enableOfflineQueue: false });
  const subscriber = new Redis(url, options);
  const reconnectListeners = new Set<() => void>();
  let wasReady = false;
  subscriber.on('ready', () => {
    if (wasReady) for (const listener of reconnectListeners) listener();
    wasReady = true;
  });
  // Connection errors are retried by ioredis; without a listener they would be printed as unhandled.
  publisher.on('error', () => {});
  subscriber.on('error', () => {});
  // graphql-redis-subscriptions types its clients with the ioredis 5 it bundles; ours are ioredis 6, same API.
  const client = (redis: Redis) => redis as unknown as PubSubRedisOptions['publisher'];
  // graphql-redis-subscriptions applies `triggerTransform` when subscribing but not when publishing, so the
  // prefix is added here, on both sides, in one place.
  const engine = new RedisPubSub({ publisher: client(publisher), subscriber: client(subscriber) });
  const channel = (topic: string) => prefix + topic;
  const listens = listenCounter();
  return {
    kind: 'redis',
    publish: (topic, payload) => engine.publish(channel(topic), payload),
    async listen<T>(topic: string, onMessage: (payload: T) => void) {
      const id = await engine.subscribe(channel(topic), onMessage as (message: unknown) => void);
      return listens.started(() => engine.unsubscribe(id));
    },
    listening: listens.count,
    onReconnect(listener) {
      reconnectListeners.add(listener);
      return () => void reconnectListeners.delete(listener);
    },
    async ping() {
      if (publisher.status !== 'ready') throw new Error(`redis is ${publisher.status}`);
      await publisher.ping();
    },
    async close() {
      publisher.disconnect();
      subscriber.disconnect();
    },
  };
}
