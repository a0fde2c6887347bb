// The hold-expiry sweep on many instances at once: every expired hold is expired exactly once, every seat freed,
// and the seat-map versions stay consecutive. Real Postgres (in embedded mode there is only one session).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sweepExpiredHolds } from '../domain/hold/hold-release.js';
import { createPostgresDatabase } from '../datasources/postgres/pool.js';
import type { Database } from '../datasources/db.js';
import { ok, startTestServer, type TestServer } from './helpers/harness.js';
import { createOnSaleEvent, HOLD_SEATS, lapseHolds, seatCounts } from './helpers/write-path.js';

describe('the hold-expiry sweep (postgres)', () => {
  let server: TestServer;
  const instances: Database[] = [];

  beforeAll(async () => {
    server = await startTestServer('postgres', { SWEEP_INTERVAL_MS: '0' });
    // Four "instances": separate pools on the same database, as four gateway processes would have.
    for (let i = 0; i < 4; i++) instances.push(createPostgresDatabase(server.app.services.config.databaseUrl!, { max: 3 }));
  });
  afterAll(async () => {
    await Promise.all(instances.map((db) => db.close()));
    await server?.stop();
  });

  it('expires each of 300 holds exactly once when four sweepers race, in small batches', async () => {
    const event = await createOnSaleEvent(server, [{ name: 'Floor', price: 1000, rows: 20, seatsPerRow: 30 }], { maxTicketsPerUser: 2 });
    const tokens = await Promise.all(Array.from({ length: 300 }, (_, i) => server.token(`sweep-${i}`)));
    await Promise.all(tokens.map((token, i) =>
      server.gql(HOLD_SEATS, { input: { eventId: event.id, seatIds: [event.seatId(2 * i), event.seatId(2 * i + 1)] } }, token).then(ok)));
    await lapseHolds(server, event.eventId);

    const counts = await Promise.all(instances.map(async (db) => {
      let total = 0;
      for (let batch = -1; batch !== 0; total += batch) batch = await sweepExpiredHolds(db, 7);
      return total;
    }));
    expect(counts.reduce((a, b) => a + b, 0)).toBe(300);
    // The sweep is shared out: no instance did all the work while the others idled (each takes what is unlocked).
    expect(counts.filter((count) => count > 0).length).toBeGreaterThan(1);

    const db = server.app.services.db;
    expect(await seatCounts(server, event.eventId)).toEqual({ available: 600, held: 0, booked: 0 });
    const { rows: holds } = await db.query<{ status: string; n: number }>(
      `SELECT status, count(*)::int AS n FROM holds WHERE event_id = $1 GROUP BY status`, [event.eventId]);
    expect(holds).toEqual([{ status: 'EXPIRED', n: 300 }]);
    const { rows: messages } = await db.query<{ n: number; distinct: number }>(
      `SELECT count(*)::int AS n, count(DISTINCT topic)::int AS distinct FROM outbox
        WHERE topic LIKE 'hold.%' AND payload->>'status' = 'EXPIRED'
          AND (payload->>'holdId')::uuid IN (SELECT id FROM holds WHERE event_id = $1)`, [event.eventId]);
    expect(messages[0]).toEqual({ n: 300, distinct: 300 });
    const { rows: versions } = await db.query<{ version: number }>(
      `SELECT (payload->>'version')::int AS version FROM outbox WHERE topic = $1 ORDER BY 1`, [`seatMap.${event.eventId}`]);
    const { rows: inventory } = await db.query<{ version: number; available: number }>(
      `SELECT seat_map_version AS version, available_count AS available FROM event_inventory WHERE event_id = $1`, [event.eventId]);
    expect(versions.map((row) => row.version)).toEqual(Array.from({ length: inventory[0]!.version }, (_, i) => i + 1));
    expect(inventory[0]!.available).toBe(600);
  });
});
