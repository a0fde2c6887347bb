// A publisher whose listening session the server ended without it hearing (a network cut swallows the goodbye)
// must stop publishing: the lock went with that session, and another instance may hold it now. Postgres only: a
// TCP proxy between the relay and the server stands in for the cut. And a publisher recovering from a failed
// publish must not leave a row committed meanwhile for the next poll.
import { randomUUID } from 'node:crypto';
import net from 'node:net';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { advisoryLocks } from '../datasources/postgres/locks.js';
import { migrate } from '../datasources/postgres/migrate.js';
import { findTopicSince, insertOutbox } from '../datasources/postgres/outbox.sql.js';
import { createPostgresDatabase } from '../datasources/postgres/pool.js';
import { createLogger } from '../server/logger.js';
import { createInProcessPubSub } from '../subscriptions/pubsub.js';
import type { Envelope } from '../subscriptions/topics.js';
import { startRelay } from '../workers/relay.js';
import { eventually } from './helpers/realtime.js';
import { adminQuery, databaseUrl } from './helpers/services.js';

/** A TCP proxy to `target` that can go silent on one connection: nothing passes either way, nothing is closed. */
async function cuttableProxy(target: URL) {
  const pairs: { client: net.Socket; upstream: net.Socket }[] = [];
  const server = net.createServer((client) => {
    const upstream = net.connect(Number(target.port), target.hostname);
    client.pipe(upstream).pipe(client);
    pairs.push({ client, upstream });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as net.AddressInfo).port,
    /** Goes silent on the connection whose server side is `clientPort` (the server's view of our end). */
    cut(clientPort: number) {
      const pair = pairs.find(({ upstream }) => upstream.localPort === clientPort)!;
      pair.client.unpipe(pair.upstream);
      pair.upstream.unpipe(pair.client);
      pair.client.pause();
      pair.upstream.pause();
    },
    close() {
      for (const { client, upstream } of pairs) client.destroy(), upstream.destroy();
      server.close();
    },
  };
}

describe('the outbox relay (postgres)', () => {
  const name = `onsale_test_relay_${randomUUID().replaceAll('-', '')}`;
  const url = new URL(databaseUrl(name));
  const direct = () => createPostgresDatabase(url.toString(), { max: 2 });
  beforeAll(async () => {
    await adminQuery(`CREATE DATABASE ${name}`);
    const db = direct();
    await migrate(db);
    await db.close();
  });
  afterAll(() => adminQuery(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`));

  it('stops publishing when its session was ended without its hearing, and publishes again once it leads', async () => {
    const proxy = await cuttableProxy(url);
    const through = new URL(url);
    through.port = String(proxy.port);
    const db = createPostgresDatabase(through.toString(), { max: 2 });
    const admin = direct();
    const pubsub = createInProcessPubSub();
    const topic = `test.${randomUUID()}`;
    const published: unknown[] = [];
    await pubsub.listen(topic, (envelope) => published.push(envelope));
    const config = { relayPollIntervalMs: 0, relayBatchSize: 100, outboxRetentionSeconds: 86_400 };
    const relay = startRelay({ db, pubsub, log: createLogger('silent'), config });
    // Another instance, for the lock: it holds it once the cut session is gone.
    const other = new pg.Client({ connectionString: url.toString() });
    try {
      await relay.runOnce();
      expect(relay.leading).toBe(true);
      const { rows } = await admin.query<{ pid: number; port: number }>(
        `SELECT pid, client_port AS port FROM pg_stat_activity WHERE datname = $1 AND application_name = 'onsale-listen'`,
        [name],
      );
      expect(rows).toHaveLength(1);
      proxy.cut(rows[0]!.port);
      await admin.query(`SELECT pg_terminate_backend($1)`, [rows[0]!.pid]);
      await other.connect();
      await eventually('the lock, for the other instance', async () => {
        const { rows: [lock] } = await other.query(`SELECT pg_try_advisory_lock(${advisoryLocks.relay}) AS ok`);
        return lock.ok as boolean;
      }, (ok) => ok);
      await admin.transaction((tx) => insertOutbox(tx, [{ topic, payload: { n: 1 } }]));

      // A poll: the relay's pool still reaches the server, its session does not answer.
      expect(await relay.runOnce()).toBe(0);
      expect(relay.leading).toBe(false);
      expect(published).toEqual([]);

      // The other instance goes; the relay opens a new session, takes the lock, and the row goes out once.
      await other.end();
      await eventually('the relay leading again', () => relay.runOnce().then(() => relay.leading), (leading) => leading);
      expect(published).toHaveLength(1);
      expect((await findTopicSince(admin, topic, 0, 10)).map((row) => row.payload)).toEqual([{ n: 1 }]);
    } finally {
      proxy.close(); // first: a session still cut would never finish closing
      await relay.stop();
      await other.end().catch(() => {});
      await Promise.all([db.close(), admin.close()]);
    }
  }, 30_000);

  it('publishes what is committed while it recovers from a failed publish, and takes notifications as they come once it has', async () => {
    const db = direct();
    const inner = createInProcessPubSub();
    const topic = `test.${randomUUID()}`;
    const published: unknown[] = [];
    await inner.listen(topic, (envelope: Envelope<{ n: number }>) => published.push(envelope.payload.n));
    // Pub/sub fails at first; then its first two publishes wait at a gate each, so that commits land in the middle.
    let failing = true;
    const gates: (() => void)[] = [];
    const pubsub = {
      ...inner,
      async publish(topic: string, payload: unknown) {
        if (failing) throw new Error('pub/sub is down');
        if (gates.length < 2) await new Promise<void>((resolve) => gates.push(resolve));
        return inner.publish(topic, payload);
      },
    };
    // The relay's notifications, counted once it has handled them.
    let notified = 0;
    const counted = { ...db, listen: (channel: string, onNotify: (payload: string) => void, onLost: (error: Error) => void) => db.listen(channel, (payload) => (onNotify(payload), notified++), onLost) };
    const relay = startRelay({ db: counted, pubsub, log: createLogger('silent'), config: { relayPollIntervalMs: 0, relayBatchSize: 100, outboxRetentionSeconds: 86_400 } });
    /** Commits `statement` and waits until the relay has handled its notification. */
    const commit = async (statement: string) => {
      const before = notified;
      await db.query(statement, [topic]);
      await eventually('the notification, handled', () => notified, (n) => n > before);
    };
    try {
      await relay.runOnce();
      await db.transaction((tx) => insertOutbox(tx, [{ topic, payload: { n: 1 } }]));
      await expect(relay.runOnce()).rejects.toThrow('pub/sub is down');

      // Pub/sub is back. A round reads back the waiting row 1; while it publishes it, row 2 is committed.
      failing = false;
      const recovering = relay.runOnce();
      await eventually('row 1 being published', () => gates.length, (n) => n === 1);
      await commit(`INSERT INTO outbox (topic, payload) VALUES ($1, '{"n": 2}')`);
      gates[0]!();
      // No poll runs here: row 2's notification must have asked the round for another read-back.
      await eventually('row 2 being published', () => gates.length, (n) => n === 2);
      // Recovered: a notification's rows are taken as they come. This row is written as published already, so
      // that only its notification can carry it (a read-back would not find it).
      await commit(`INSERT INTO outbox (topic, payload, published_at) VALUES ($1, '{"n": 3}', now())`);
      gates[1]!();
      await recovering;
      await eventually('rows 1-3 on pub/sub', () => published.length, (n) => n >= 3, 3_000);
      expect(published).toEqual([1, 2, 3]);
    } finally {
      for (const open of gates) open();
      await relay.stop();
      await db.close();
    }
  });
});
