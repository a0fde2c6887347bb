import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Database } from '../datasources/db.js';
import { createEmbeddedDatabase } from '../datasources/embedded/pglite.js';
import { listMigrations, migrate } from '../datasources/postgres/migrate.js';
import { createTransactionBatcher } from '../datasources/batch.js';
import { createPostgresDatabase } from '../datasources/postgres/pool.js';
import { seedDemo } from '../datasources/seed/seed.js';
import { demoEvents } from '../datasources/seed/demo-data.js';
import { createEvent, createEventBatcher, createEventLoader, createVenue } from '../domain/event/event.service.js';
import { openDatabase } from '../server/app.js';
import { loadConfig } from '../server/config.js';
import { adminQuery, databaseUrl, TEST_DATABASE_URL } from './helpers/services.js';

/** One contract, every implementation of the database port. */
const implementations: [string, () => Promise<{ db: Database; drop: () => Promise<void> }>][] = [
  ['postgres', async () => {
    const name = `onsale_test_db_${randomUUID().replaceAll('-', '')}`;
    await adminQuery(`CREATE DATABASE ${name}`);
    const db = createPostgresDatabase(databaseUrl(name), { max: 4 });
    return { db, drop: async () => { await db.close(); await adminQuery(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`); } };
  }],
  ['embedded', async () => {
    const db = await createEmbeddedDatabase('memory');
    return { db, drop: () => db.close() };
  }],
];

describe.each(implementations)('the database port (%s)', (_, open) => {
  let db: Database;
  let drop: () => Promise<void>;
  beforeAll(async () => {
    ({ db, drop } = await open());
    await db.exec(`CREATE TABLE t (id int8 PRIMARY KEY, at timestamptz(3))`);
  });
  afterAll(() => drop?.());

  it('commits a transaction that resolves and rolls back one that throws', async () => {
    await db.transaction((tx) => tx.query(`INSERT INTO t VALUES (1, now())`));
    await expect(db.transaction(async (tx) => {
      await tx.query(`INSERT INTO t VALUES (2, now())`);
      throw new Error('boom');
    })).rejects.toThrow('boom');
    expect((await db.query<{ id: number }>(`SELECT id FROM t ORDER BY id`)).rows).toEqual([{ id: 1 }]);
  });

  it('refuses a statement sent to the database from inside a transaction, instead of hanging', async () => {
    await expect(db.transaction(async (tx) => {
      await tx.query(`INSERT INTO t VALUES (3, now())`);
      await db.query(`SELECT 1`);
    })).rejects.toThrow('use the transaction (tx) instead');
    expect((await db.query(`SELECT 1 FROM t WHERE id = 3`)).rowCount).toBe(0);
  });

  it('counts rows as pg does: changed rows for a write, returned rows for a SELECT (locking ones too)', async () => {
    await db.query(`INSERT INTO t VALUES (40, now()), (41, now()), (42, now())`);
    expect((await db.query(`UPDATE t SET at = now() WHERE id >= 40`)).rowCount).toBe(3);
    expect((await db.query(`SELECT id FROM t WHERE id >= 41`)).rowCount).toBe(2);
    expect(await db.transaction(async (tx) => (await tx.query(`SELECT id FROM t WHERE id >= 40 FOR UPDATE SKIP LOCKED`)).rowCount)).toBe(3);
    expect((await db.query(`DELETE FROM t WHERE id >= 40 RETURNING id`)).rowCount).toBe(3);
  });

  it('batches work on one key into shared transactions after one prologue; a piece that throws before writing fails alone', async () => {
    let transactions = 0;
    const prologues: string[][] = [];
    const counted: Database = { ...db, transaction: (fn) => (transactions++, db.transaction(fn)) };
    const batcher = createTransactionBatcher(counted, async (_tx, key, tags) => (prologues.push(tags), key * 1000), 8);
    const results = await Promise.allSettled(Array.from({ length: 20 }, (_, i) =>
      batcher.run(1, `piece-${i}`, async (tx, base) => {
        if (i % 5 === 3) throw new Error('refused before writing');
        await tx.query(`INSERT INTO t VALUES ($1, now())`, [base - 900 + i]);
        return i;
      })));
    expect(results.map((r) => r.status)).toEqual(Array.from({ length: 20 }, (_, i) => (i % 5 === 3 ? 'rejected' : 'fulfilled')));
    const { rows } = await db.query<{ id: number }>(`SELECT id FROM t WHERE id >= 100 ORDER BY id`);
    expect(rows.map((row) => row.id - 100)).toEqual(Array.from({ length: 20 }, (_, i) => i).filter((i) => i % 5 !== 3));
    // The first piece runs alone; the rest arrive while it commits and share batches of at most 8.
    expect(transactions).toBeLessThanOrEqual(4);
    expect(prologues.flat().sort()).toEqual(Array.from({ length: 20 }, (_, i) => `piece-${i}`).sort());
    await db.query(`DELETE FROM t WHERE id >= 100`);
  });

  it('fails every piece of a batch whose transaction a statement aborted, and writes nothing of it', async () => {
    const batcher = createTransactionBatcher(db, async () => null, 8);
    const first = batcher.run(2, 'a', (tx) => tx.query(`INSERT INTO t VALUES (200, now())`));
    const rest = Array.from({ length: 5 }, (_, i) =>
      batcher.run(2, 'b', (tx) => tx.query(`INSERT INTO t VALUES ($1, now())`, [i === 2 ? 200 : 201 + i])));
    await first;
    const results = await Promise.allSettled(rest);
    expect(results.every((r) => r.status === 'rejected')).toBe(true);
    expect((await db.query<{ id: number }>(`SELECT id FROM t WHERE id >= 200 ORDER BY id`)).rows).toEqual([{ id: 200 }]);
    await db.query(`DELETE FROM t WHERE id >= 200`);
  });

  it('refuses a transaction opened inside another, instead of hanging', async () => {
    await expect(db.transaction(() => db.transaction((tx) => tx.query(`SELECT 1`)))).rejects.toThrow('use the transaction (tx) instead');
  });

  it('round-trips the earliest and latest storable instants to the millisecond, and int8 as a number', async () => {
    const instants = ['1000-01-01T00:00:00.000Z', '9999-12-31T23:59:59.999Z', '2027-06-01T19:30:00.123Z'];
    for (const [i, iso] of instants.entries()) {
      await db.query(`INSERT INTO t VALUES ($1, $2)`, [10 + i, new Date(iso)]);
    }
    const { rows } = await db.query<{ id: number; at: Date }>(`SELECT id, at FROM t WHERE id >= 10 ORDER BY id`);
    expect(rows.map((row) => [row.id, row.at.toISOString()])).toEqual(instants.map((iso, i) => [10 + i, iso]));
  });
});

describe.each(implementations)('shared loaders and transactions (%s)', (_, open) => {
  it('fails a load made inside a transaction alone; a concurrent request still gets its event', async () => {
    const { db, drop } = await open();
    try {
      await migrate(db);
      const admin = { kind: 'user', userId: 'ops', admin: true } as const;
      const venue = await createVenue(db, admin, { name: 'Hall', city: 'Oslo', country: 'Norway' });
      const eventId = await createEvent(db, admin, venue.id, {
        title: 'T', performer: 'P', category: 'concert', startsAt: new Date('2027-01-02T00:00:00Z'),
        onSaleAt: new Date('2027-01-01T00:00:00Z'), maxTicketsPerUser: 4, holdDurationSeconds: 600, currency: 'EUR',
        sections: [{ name: 'A', price: 1, rows: 1, seatsPerRow: 2 }], waitingRoom: null,
      });
      const batcher = createEventBatcher(db);
      const [inside, outside] = await Promise.allSettled([
        db.transaction(() => createEventLoader(batcher).load(eventId)),
        createEventLoader(batcher).load(eventId),
      ]);
      expect(inside.status).toBe('rejected');
      expect(String((inside as PromiseRejectedResult).reason)).toContain('use the transaction (tx) instead');
      expect(outside.status === 'fulfilled' && outside.value?.id).toBe(eventId);
    } finally {
      await drop();
    }
  });
});

describe('the listening session (postgres)', () => {
  it('has the server end it within half a minute of its client going silent, freeing the locks it holds', async () => {
    const db = createPostgresDatabase(TEST_DATABASE_URL, { max: 1 });
    const session = await db.listen('onsale_test_channel', () => {}, () => {});
    try {
      const { rows } = await session.query<Record<string, string>>(
        `SELECT current_setting('tcp_keepalives_idle') AS idle, current_setting('tcp_keepalives_interval') AS interval,
                current_setting('tcp_keepalives_count') AS count, current_setting('tcp_user_timeout') AS user_timeout`,
      );
      // Over TCP (as here) the server reports what it applies to the socket; the system default would be 0.
      expect(rows[0]).toEqual({ idle: '10', interval: '5', count: '3', user_timeout: '25000' });
    } finally {
      await session.close();
      await db.close();
    }
  });
});

describe('migrations', () => {
  it('refuse to start when an applied migration was edited', async () => {
    const db = await createEmbeddedDatabase('memory');
    try {
      expect(await migrate(db)).toEqual(listMigrations().map((migration) => migration.name));
      expect(await migrate(db)).toEqual([]);
      await db.query(`UPDATE schema_migrations SET checksum = 'edited' WHERE version = 1`);
      await expect(migrate(db)).rejects.toThrow('001_catalogue_and_seats.sql was edited after it was applied');
    } finally {
      await db.close();
    }
  });
});

describe('seeding', () => {
  it('seeds once, all or nothing, when several instances start at the same time', async () => {
    const name = `onsale_test_seed_${randomUUID().replaceAll('-', '')}`;
    await adminQuery(`CREATE DATABASE ${name}`);
    const db = createPostgresDatabase(databaseUrl(name), { max: 6 });
    try {
      await migrate(db);
      const seeded = await Promise.all([seedDemo(db), seedDemo(db), seedDemo(db)]);
      expect(seeded.sort()).toEqual([0, 0, demoEvents.length]);
      const { rows } = await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM events`);
      expect(rows[0]!.n).toBe(demoEvents.length);
    } finally {
      await db.close();
      await adminQuery(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    }
  });
});

describe('the transaction-body check', () => {
  it('is on outside production and off in production, where its AsyncLocalStorage would cost every promise', async () => {
    const name = `onsale_test_db_${randomUUID().replaceAll('-', '')}`;
    await adminQuery(`CREATE DATABASE ${name}`);
    const open = (env: Record<string, string>) => openDatabase(loadConfig({ DATABASE_URL: databaseUrl(name), ...env }));
    const outsideTransaction = (db: Database) => db.transaction(() => db.query(`SELECT 1`));
    try {
      const production = await open({ NODE_ENV: 'production', JWT_SECRET: 'p'.repeat(40), PAYMENT_WEBHOOK_SECRET: 'w'.repeat(20), PAYMENT_PROVIDER: 'test' });
      await expect(outsideTransaction(production).finally(() => production.close())).resolves.toMatchObject({ rowCount: 1 });
      const test = await open({ NODE_ENV: 'test' });
      await expect(outsideTransaction(test).finally(() => test.close())).rejects.toThrow('use the transaction (tx) instead');
    } finally {
      await adminQuery(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    }
  });
});
