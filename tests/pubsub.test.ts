// One contract, two implementations: the in-process pub/sub and the Redis one (against real Redis) must
// behave the same for the subscriptions resolvers.
import { randomUUID } from 'node:crypto';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Redis } from 'ioredis';
import { createInProcessPubSub, createRedisPubSub, type PubSub } from '../subscriptions/pubsub.js';
import { TEST_REDIS_URL, testRedis } from './helpers/services.js';

/** Namespaces this run's channels, so that concurrent runs sharing one Redis cannot see each other. */
const prefix = `test:pubsub:${randomUUID()}:`;

const implementations = [
  { kind: 'in-process' as const, create: () => createInProcessPubSub() },
  { kind: 'redis' as const, create: () => createRedisPubSub(TEST_REDIS_URL, prefix) },
];

/** Fails, naming `what`, unless `promise` settles within `ms`; a deadline for a failure, not a sleep. */
async function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: nothing within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([promise, deadline]);
  } finally {
    clearTimeout(timer);
  }
}

interface Subscription<T> {
  /** The next payload, waiting (bounded) for it. */
  take(): Promise<T>;
  /** What arrived and was not taken yet. */
  readonly queued: T[];
  stop(): void;
}

describe.each(implementations)('$kind pub/sub', ({ kind, create }) => {
  let pubsub: PubSub;
  let redis: Redis | undefined;
  const open: (() => void)[] = [];

  beforeAll(async () => {
    pubsub = create();
    expect(pubsub.kind).toBe(kind);
    if (kind === 'redis') redis = testRedis();
    // Publishing fails while Redis is still connecting (nothing is queued): wait until it answers.
    for (let attempt = 0; attempt < 100 && (await pubsub.ping().then(() => false, () => true)); attempt++) {
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  });

  afterEach(async () => {
    for (const stop of open.splice(0)) stop();
  });

  afterAll(async () => {
    await pubsub?.close();
    await redis?.quit();
  });

  const newTopic = () => `topic-${randomUUID()}`;

  /** How many connections Redis has subscribed to `topic`'s channel. */
  async function numsub(topic: string): Promise<number> {
    const reply = (await redis!.call('PUBSUB', 'NUMSUB', prefix + topic)) as [string, number | string];
    expect(reply[0]).toBe(prefix + topic);
    return Number(reply[1]);
  }

  /** Polls NUMSUB (bounded: 50 × 20 ms) until `done` holds; fails with the last count otherwise. */
  async function waitForNumsub(topic: string, done: (count: number) => boolean): Promise<number> {
    let count = await numsub(topic);
    for (let attempt = 0; attempt < 50 && !done(count); attempt++) {
      await new Promise((resolve) => setTimeout(resolve, 20));
      count = await numsub(topic);
    }
    expect(done(count), `PUBSUB NUMSUB ${prefix + topic} stayed at ${count}`).toBe(true);
    return count;
  }

  /**
   * Subscribes to `topic`: once listen() resolves the subscription is live (for Redis, Redis counts the
   * subscriber), so what is published next is delivered.
   */
  async function subscribeLive<T>(topic: string): Promise<Subscription<T>> {
    const queued: T[] = [];
    let waiting: ((payload: T) => void) | undefined;
    const stop = await pubsub.listen<T>(topic, (payload) => {
      const resolve = waiting;
      waiting = undefined;
      if (resolve) resolve(payload);
      else queued.push(payload);
    });
    open.push(stop);
    if (kind === 'redis') expect(await numsub(topic)).toBeGreaterThanOrEqual(1);
    return {
      queued,
      stop,
      take: () =>
        within(
          queued.length ? Promise.resolve(queued.shift()!) : new Promise<T>((resolve) => (waiting = resolve)),
          5_000,
          `a payload on ${kind === 'redis' ? prefix + topic : topic}`,
        ),
    };
  }

  it('delivers the payloads published after subscribing, in order', async () => {
    const topic = newTopic();
    const sub = await subscribeLive<{ n: number }>(topic);
    await pubsub.publish(topic, { n: 1 });
    await pubsub.publish(topic, { n: 2 });
    await pubsub.publish(topic, { n: 3 });
    expect(await sub.take()).toEqual({ n: 1 });
    expect(await sub.take()).toEqual({ n: 2 });
    expect(await sub.take()).toEqual({ n: 3 });
  });

  it('carries JSON payloads unchanged', async () => {
    const topic = newTopic();
    const sub = await subscribeLive(topic);
    const payload = { seatIds: ['seat_1_0', 'seat_1_7'], status: 'HELD', count: 2, nested: { ok: true, none: null } };
    await pubsub.publish(topic, payload);
    expect(await sub.take()).toEqual(payload);
  });

  it('keeps topics independent', async () => {
    const topicA = newTopic();
    const topicB = newTopic();
    const a = await subscribeLive<string>(topicA);
    const b = await subscribeLive<string>(topicB);
    await pubsub.publish(topicA, 'a1');
    await pubsub.publish(topicB, 'b1');
    await pubsub.publish(topicA, 'a2');
    expect(await a.take()).toEqual('a1');
    expect(await a.take()).toEqual('a2');
    expect(await b.take()).toEqual('b1');
    // Had b received a1 or a2, they would come before b2.
    await pubsub.publish(topicB, 'b2');
    expect(await b.take()).toEqual('b2');
    await pubsub.publish(topicA, 'a3');
    expect(await a.take()).toEqual('a3');
  });

  it('gives every subscriber of a topic every payload', async () => {
    const topic = newTopic();
    const first = await subscribeLive<number>(topic);
    const second = await subscribeLive<number>(topic);
    await pubsub.publish(topic, 1);
    await pubsub.publish(topic, 2);
    for (const sub of [first, second]) {
      expect(await sub.take()).toEqual(1);
      expect(await sub.take()).toEqual(2);
    }
  });

  it('answers ping()', async () => {
    await expect(pubsub.ping()).resolves.toBeUndefined();
  });

  it('delivers nothing after stopping (stopping twice is stopping once)', async () => {
    const topic = newTopic();
    const sub = await subscribeLive<string>(topic);
    await pubsub.publish(topic, 'before');
    expect(await sub.take()).toEqual('before');

    const listening = pubsub.listening();
    sub.stop();
    sub.stop();
    expect(pubsub.listening()).toBe(listening - 1);
    if (kind === 'redis') expect(await waitForNumsub(topic, (count) => count === 0)).toBe(0);

    // The topic still works for a new subscriber, while the stopped one got nothing more.
    const witness = await subscribeLive<string>(topic);
    await pubsub.publish(topic, 'after');
    expect(await witness.take()).toEqual('after');
    expect(sub.queued).toEqual([]);
  });

  if (kind === 'redis') {
    it('holds one Redis subscription per topic while subscribed (redis)', async () => {
      const topic = newTopic();
      expect(await numsub(topic)).toBe(0);
      const first = await subscribeLive<number>(topic);
      expect(await numsub(topic)).toBe(1);
      // A second subscriber of the same topic shares the subscriber connection.
      const second = await subscribeLive<number>(topic);
      expect(await numsub(topic)).toBe(1);
      await pubsub.publish(topic, 7);
      expect(await first.take()).toEqual(7);
      expect(await second.take()).toEqual(7);

      // Unsubscribing one keeps the channel for the other; the last one releases it.
      first.stop();
      await pubsub.publish(topic, 8);
      expect(await second.take()).toEqual(8);
      expect(await numsub(topic)).toBe(1);
      second.stop();
      expect(await waitForNumsub(topic, (count) => count === 0)).toBe(0);
    });

    it('publishes to the prefixed channel that subscribers listen on (redis)', async () => {
      const topic = newTopic();
      const listener = testRedis();
      try {
        const received = new Promise<[string, string]>((resolve) => {
          listener.on('message', (channel: string, message: string) => resolve([channel, message]));
        });
        await listener.subscribe(prefix + topic, topic);
        await pubsub.publish(topic, { n: 1 });
        expect(await within(received, 5_000, `a message on ${prefix + topic} or ${topic}`)).toEqual([
          prefix + topic,
          '{"n":1}',
        ]);
      } finally {
        listener.disconnect();
      }
    });

    it('fails ping() when Redis is unreachable (redis)', async () => {
      const unreachable = createRedisPubSub('redis://127.0.0.1:1', prefix);
      try {
        await expect(unreachable.ping()).rejects.toThrow(/^redis is /);
      } finally {
        await unreachable.close();
      }
    });
  }
});
