// The outbox's notifications carry the rows they announce (migration 004), and the publishing relay sends those
// on without reading them back; rows too many for a notification are read back, in order. Both modes.
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findTopicSince, insertOutbox, type DbOutboxRow } from '../datasources/postgres/outbox.sql.js';
import type { Envelope } from '../subscriptions/topics.js';
import { modes, startTestServer, type TestServer } from './helpers/harness.js';
import { eventually } from './helpers/realtime.js';

/** A payload whose JSON is longer than a notification may be (8,000 bytes). */
const BIG = { note: 'x'.repeat(9_000) };

describe.each(modes)('outbox notifications and the relay (%s)', (mode) => {
  let server: TestServer;
  beforeAll(async () => {
    // No polls: whatever reaches pub/sub here went through a notification.
    server = await startTestServer(mode, { SWEEP_INTERVAL_MS: '0', RELAY_POLL_INTERVAL_MS: '0', SEED_DEMO: 'never' });
  });
  afterAll(async () => {
    await server?.stop();
  });

  /** The notifications of the outbox channel, as a second listening session sees them, while `fn` runs. */
  async function notificationsDuring(fn: () => Promise<void>): Promise<string[]> {
    const seen: string[] = [];
    const session = await server.app.services.db.listen('onsale_outbox', (payload) => seen.push(payload), () => {});
    try {
      await fn();
      await eventually('the notification', () => seen.length, (n) => n > 0);
      return seen;
    } finally {
      await session.close();
    }
  }

  /** Runs `fn` with a fresh topic and every envelope published on it meanwhile. */
  async function onBus(fn: (topic: string, envelopes: Envelope<unknown>[]) => Promise<void>): Promise<void> {
    const topic = `test.${randomUUID()}`;
    const envelopes: Envelope<unknown>[] = [];
    const stop = await server.app.services.pubsub.listen<Envelope<unknown>>(topic, (envelope) => envelopes.push(envelope));
    try {
      await fn(topic, envelopes);
    } finally {
      stop();
    }
  }

  it('announces the rows of a statement in its notification, as the relay reads them back', async () => {
    const topic = `test.${randomUUID()}`;
    const db = server.app.services.db;
    const payloads = await notificationsDuring(() =>
      db.transaction((tx) => insertOutbox(tx, [{ topic, payload: { n: 1 } }, { topic, payload: { n: 2, nested: { ok: true } } }])),
    );
    const stored = await findTopicSince(db, topic, 0, 10);
    expect(stored).toHaveLength(2);
    const announced = payloads.map((payload) => JSON.parse(payload) as DbOutboxRow[]).find((rows) => rows[0]?.topic === topic);
    expect(announced).toEqual(stored.map(({ id, topic, at, payload }) => ({ id, topic, at, payload })));
  });

  it('announces rows too big for a notification with an empty one', async () => {
    const topic = `test.${randomUUID()}`;
    const db = server.app.services.db;
    const payloads = await notificationsDuring(() => db.transaction((tx) => insertOutbox(tx, [{ topic, payload: BIG }])));
    expect(payloads).toContain('');
    expect(payloads.some((payload) => payload.includes(topic))).toBe(false);
  });

  it('publishes announced rows from the notification, without reading them back', () =>
    onBus(async (topic, envelopes) => {
      // A row written as already published: reading back would never find it, so only its notification can carry it.
      await server.app.services.db.query(`INSERT INTO outbox (topic, payload, published_at) VALUES ($1, '{"n": 1}', now())`, [topic]);
      await eventually('the announced row on pub/sub', () => envelopes.length, (n) => n > 0);
      expect(envelopes).toMatchObject([{ payload: { n: 1 } }]);
    }));

  it('reads back instead when a notification carries anything but outbox rows, and goes on publishing', () =>
    onBus(async (topic, envelopes) => {
      const db = server.app.services.db;
      // Anyone who can connect may notify: a payload that is not outbox rows must not stop the relay.
      await db.query(`SELECT pg_notify('onsale_outbox', '[null]')`);
      await db.query(`SELECT pg_notify('onsale_outbox', '[{"id": "1", "topic": 7}]')`);
      await db.transaction((tx) => insertOutbox(tx, [{ topic, payload: { n: 1 } }]));
      await eventually('the next row on pub/sub', () => envelopes.length, (n) => n > 0);
      expect(envelopes).toMatchObject([{ payload: { n: 1 } }]);
      expect(server.app.relay.leading).toBe(true);
    }));

  it('keeps id order when rows too big to announce come before rows announced with them', () =>
    onBus(async (topic, envelopes) => {
      // One transaction, two statements: both notifications arrive together at the commit, the first without its row.
      await server.app.services.db.transaction(async (tx) => {
        await insertOutbox(tx, [{ topic, payload: BIG }]);
        await insertOutbox(tx, [{ topic, payload: { n: 2 } }]);
      });
      await eventually('both rows on pub/sub', () => envelopes.length, (n) => n >= 2);
      const rows = await findTopicSince(server.app.services.db, topic, 0, 10);
      // In id order, each once (a copy would come after the first and is dropped by subscribers anyway).
      expect([...new Set(envelopes.map((envelope) => envelope.id))]).toEqual(rows.map((row) => row.id));
      expect(envelopes[0]!.id).toBe(rows[0]!.id);
    }));
});
