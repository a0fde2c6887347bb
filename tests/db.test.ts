import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Database } from '../datasources/db.js';
import { createEmbeddedDatabase } from '../datasources/embedded/pglite.js';
import { migrate } from '../datasources/postgres/migrate.js';
import { createPostgresDatabase } from '../datasources/postgres/pool.js';
import { seedDemo } from '../datasources/seed/seed.js';
import { demoEvents } from '../datasources/seed/demo-data.js';
import { adminQuery, databaseUrl } from './helpers/services.js';

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

  it('round-trips the earliest and latest storable instants to the millisecond, and int8 as a number', async () => {
    const instants = ['1000-01-01T00:00:00.000Z', '9999-12-31T23:59:59.999Z', '2027-06-01T19:30:00.123Z'];
    for (const [i, iso] of instants.entries()) {
      await db.query(`INSERT INTO t VALUES ($1, $2)`, [10 + i, new Date(iso)]);
    }
    const { rows } = await db.query<{ id: number; at: Date }>(`SELECT id, at FROM t WHERE id >= 10 ORDER BY id`);
    expect(rows.map((row) => [row.id, row.at.toISOString()])).toEqual(instants.map((iso, i) => [10 + i, iso]));
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
