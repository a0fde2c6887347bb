import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Database } from '../datasources/db.js';
import { decodeAvailability } from '../domain/seat-map/seat-map.rules.js';
import { createSeatMapCache } from '../domain/seat-map/seat-map.service.js';
import { createSeatMapFeeds, type SeatMapFeeds } from '../subscriptions/seat-map-feed.js';
import { modes, ok, startTestServer, type TestServer } from './helpers/harness.js';
import { eventually } from './helpers/realtime.js';

const FULL_MAP = `query($id: ID!) { event(id: $id) { capacity availableCount seatMap {
  eventId version seatCount availableCount availability
  sections { id name price { amount currency } seatCount rows { label seats { id row number ordinal status price { amount } } } }
} } }`;
const BITMAP = `query($id: ID!) { event(id: $id) { seatMap { version availability availableCount } } }`;

const statusLetter = { available: 'AVAILABLE', held: 'HELD', booked: 'BOOKED' } as const;

describe.each(modes)('seat maps (%s)', (mode) => {
  let server: TestServer;
  let stadiumId: number;
  let smallId: number;

  const db = () => server.app.services.db;
  const seatMap = async (id: number, query = BITMAP) => ok(await server.gql(query, { id: `evt_${id}` })).event;

  /** Seat statuses in the database, by ordinal. */
  async function dbStatuses(eventId: number): Promise<string[]> {
    const { rows } = await db().query<{ status: keyof typeof statusLetter }>(
      `SELECT status FROM seats WHERE event_id = $1 ORDER BY ordinal`, [eventId]);
    return rows.map((row) => statusLetter[row.status]);
  }

  /** Holds seats the way the write path will: one statement, a hold id and an expiry. */
  const holdSeats = (eventId: number, ordinals: number[], heldUntil = 'now() + interval \'10 minutes\'') =>
    db().query(`UPDATE seats SET status = 'held', hold_id = gen_random_uuid(), held_until = ${heldUntil}
                 WHERE event_id = $1 AND ordinal = ANY($2::int[])`, [eventId, ordinals]);
  const bookSeats = (eventId: number, ordinals: number[]) =>
    db().query(`UPDATE seats SET status = 'booked', hold_id = NULL, held_until = NULL, booking_id = gen_random_uuid()
                 WHERE event_id = $1 AND ordinal = ANY($2::int[])`, [eventId, ordinals]);

  /**
   * Counts the statements the server sends to the database while `fn` runs, leaving out the outbox relay's
   * (woken by the test's own writes, it runs beside the reads being counted).
   */
  async function countQueries(fn: () => Promise<unknown>): Promise<number> {
    const database = db();
    const original = database.query;
    let count = 0;
    database.query = (...args) => {
      const [statement] = args;
      if (!(typeof statement === 'string' ? statement : statement.text).includes('outbox')) count++;
      return original(...args);
    };
    try {
      await fn();
    } finally {
      database.query = original;
    }
    return count;
  }

  beforeAll(async () => {
    // No background sweep: these tests count every statement the server sends.
    server = await startTestServer(mode, { SWEEP_INTERVAL_MS: '0', RELAY_POLL_INTERVAL_MS: '0', ADMISSION_INTERVAL_MS: '0' });
    const { rows } = await db().query<{ id: number; capacity: number }>(`SELECT id, capacity FROM events ORDER BY capacity DESC, id`);
    stadiumId = rows[0]!.id;
    expect(rows[0]!.capacity).toBe(20_000);
    smallId = rows.at(-1)!.id;
  });
  afterAll(() => server?.stop());

  it('lists sections, rows and seats in ordinal order with prices and statuses', async () => {
    const event = await seatMap(smallId, FULL_MAP);
    const map = event.seatMap;
    const seats = map.sections.flatMap((section: any) => section.rows.flatMap((row: any) => row.seats));
    expect(map.eventId).toBe(`evt_${smallId}`);
    expect(map.seatCount).toBe(event.capacity);
    expect(seats.map((seat: any) => seat.ordinal)).toEqual([...Array(event.capacity).keys()]);
    expect(new Set(seats.map((seat: any) => seat.id)).size).toBe(event.capacity);
    expect(map.sections.reduce((sum: number, section: any) => sum + section.seatCount, 0)).toBe(event.capacity);
    for (const section of map.sections) {
      expect(section.id).toMatch(/^sec_\d+$/);
      expect(section.rows[0].label).toBe('A');
      for (const row of section.rows) {
        expect(row.seats.map((seat: any) => seat.number)).toEqual([...Array(row.seats.length).keys()].map((i) => i + 1));
        expect(row.seats.every((seat: any) => seat.row === row.label && seat.price.amount === section.price.amount)).toBe(true);
      }
    }
    expect(seats.every((seat: any) => seat.status === 'AVAILABLE')).toBe(true);
  });

  it('bumps the version by one per statement that changes seats, and the map follows the database', async () => {
    const before = (await seatMap(stadiumId)).seatMap;
    await holdSeats(stadiumId, [0, 1, 2, 7, 8, 19_999]);
    await bookSeats(stadiumId, [3, 4, 10_000]);
    const after = await seatMap(stadiumId, FULL_MAP);
    expect(after.seatMap.version).toBe(before.version + 2);

    const expected = await dbStatuses(stadiumId);
    const decoded = decodeAvailability(after.seatMap.availability, after.seatMap.seatCount);
    expect(decoded).toEqual(expected.map((status) => status === 'AVAILABLE'));
    const listed = after.seatMap.sections.flatMap((s: any) => s.rows.flatMap((r: any) => r.seats.map((seat: any) => seat.status)));
    expect(listed).toEqual(expected);
    expect(after.seatMap.availableCount).toBe(20_000 - 9);
    expect(after.availableCount).toBe(20_000 - 9);
    expect(Buffer.from(after.seatMap.availability, 'base64').length).toBe(2_500);
  });

  it('does not bump the version when a statement changes no status (an extended hold)', async () => {
    const before = (await seatMap(stadiumId)).seatMap.version;
    await db().query(`UPDATE seats SET held_until = held_until + interval '1 minute' WHERE event_id = $1 AND status = 'held'`, [stadiumId]);
    expect((await seatMap(stadiumId)).seatMap.version).toBe(before);
  });

  it('shows a hold that has expired but is not yet swept as HELD, never AVAILABLE', async () => {
    await holdSeats(smallId, [5], `now() - interval '1 second'`);
    const map = (await seatMap(smallId)).seatMap;
    expect(decodeAvailability(map.availability, 6)[5]).toBe(false);
  });

  it('serves a hot read with one primary-key lookup and no seat query', async () => {
    await seatMap(stadiumId);
    const queries = await countQueries(() => seatMap(stadiumId));
    expect(queries).toBe(1);
  });

  it('costs a bounded number of queries for a full 20,000-seat listing, however many seats', async () => {
    await seatMap(stadiumId);
    const cold = await countQueries(async () => {
      const map = (await seatMap(stadiumId, FULL_MAP)).seatMap;
      expect(map.sections.flatMap((s: any) => s.rows.flatMap((r: any) => r.seats)).length).toBe(20_000);
    });
    const warm = await countQueries(() => seatMap(stadiumId, FULL_MAP));
    expect(cold).toBeLessThanOrEqual(3);
    expect(warm).toBe(1);
  });

  it('builds availability once for concurrent readers, then keeps it current from the deltas without rebuilding', async () => {
    const cache = server.app.services.seatMaps;
    cache.forget(stadiumId);
    const rebuildsBefore = cache.rebuilds;
    const maps = await Promise.all(Array.from({ length: 50 }, () => seatMap(stadiumId)));
    expect(cache.rebuilds - rebuildsBefore).toBe(1);
    const versions = new Set(maps.map((event) => event.seatMap.version));
    expect(versions.size).toBe(1);
    await Promise.all(Array.from({ length: 20 }, () => seatMap(stadiumId)));
    expect(cache.rebuilds - rebuildsBefore).toBe(1);

    await holdSeats(stadiumId, [100]);
    await bookSeats(stadiumId, [101]);
    const after = await seatMap(stadiumId);
    expect(after.seatMap.version).toBe([...versions][0]! + 2);
    expect(decodeAvailability(maps[0]!.seatMap.availability, 20_000).slice(100, 102)).toEqual([true, true]);
    expect(decodeAvailability(after.seatMap.availability, 20_000).slice(100, 102)).toEqual([false, false]);
    expect(cache.rebuilds - rebuildsBefore).toBe(1);
  });

  it('brings a snapshot that is behind from the outbox, without waiting for pub/sub or rebuilding', async () => {
    // A server of its own whose relay is stopped: nothing reaches pub/sub, so only the outbox has the deltas.
    const quiet = await startTestServer(mode, { SWEEP_INTERVAL_MS: '0', RELAY_POLL_INTERVAL_MS: '0', ADMISSION_INTERVAL_MS: '0' });
    try {
      const { services } = quiet.app;
      const { rows: [event] } = await services.db.query<{ id: number }>(`SELECT id FROM events ORDER BY capacity, id LIMIT 1`);
      const read = async () => ok(await quiet.gql(BITMAP, { id: `evt_${event!.id}` })).event.seatMap;
      const before = await read();
      await quiet.app.relay.stop();
      const rebuilds = services.seatMaps.rebuilds;
      await services.db.query(`UPDATE seats SET status = 'booked', booking_id = gen_random_uuid() WHERE event_id = $1 AND ordinal IN (0, 2)`, [event!.id]);
      await services.db.query(`UPDATE seats SET status = 'booked', booking_id = gen_random_uuid() WHERE event_id = $1 AND ordinal = 4`, [event!.id]);
      const [after] = await Promise.all(Array.from({ length: 5 }, read));
      expect(after.version).toBe(before.version + 2);
      expect(decodeAvailability(after.availability, 6)).toEqual(decodeAvailability(before.availability, 6).map((free, i) => free && ![0, 2, 4].includes(i)));
      expect(services.seatMaps.rebuilds).toBe(rebuilds);
    } finally {
      await quiet.stop();
    }
  });

  /**
   * A database whose statements start `delay` ms late, and whose first answer waits for `overtake` (if set) to run
   * first: a change committed after a snapshot's build read it, before the build is kept.
   */
  function slowed(delay: number, overtake?: () => Promise<void>): Database {
    const database = db();
    let hook = overtake;
    const query = async (statement: Parameters<Database['query']>[0], params?: readonly unknown[]) => {
      await new Promise((resolve) => setTimeout(resolve, delay));
      const result = await database.query(statement, params);
      const run = hook;
      hook = undefined;
      await run?.();
      return result;
    };
    return { ...database, query: query as Database['query'] };
  }

  /** Books the event's lowest free seat (a statement of its own, so a delta of its own) and waits for the delta. */
  async function changeAndSee(feeds: SeatMapFeeds, eventId: number) {
    const seen: number[] = [];
    const stop = feeds.watch(eventId, (delta) => seen.push(delta.version));
    try {
      await feeds.ready(eventId);
      await db().query(
        `UPDATE seats SET status = 'booked', booking_id = gen_random_uuid()
          WHERE event_id = $1 AND ordinal = (SELECT min(ordinal) FROM seats WHERE event_id = $1 AND status = 'available')`,
        [eventId],
      );
      await eventually('the delta of the change', () => seen.length, (n) => n > 0, 3_000);
    } finally {
      stop();
    }
  }

  it.each([
    ['an event its feed already follows', true],
    ['an event followed from this build on', false],
  ])('keeps a snapshot of %s that a change overtook while it was built: the delta brings it up, without another build', async (_what, followed) => {
    const { services } = server.app;
    // The feed of the second case learns where it starts 50 ms late: a build must not read before it knows.
    const feeds = followed ? services.seatMapFeeds : createSeatMapFeeds({ ...services, db: slowed(50), coalesceMs: 0 });
    const stopFollowing = followed ? feeds.watch(smallId, () => {}) : () => {};
    if (followed) await feeds.ready(smallId);
    const cache = createSeatMapCache(slowed(0, () => changeAndSee(feeds, smallId)), 1_000_000, feeds);
    try {
      const built = await cache.availability(smallId, 0);
      const now = await cache.availability(smallId, built.version + 1);
      expect(now.version).toBe(built.version + 1);
      expect(cache.rebuilds).toBe(1);
      expect([...now.statuses].map((letter) => ({ A: 'AVAILABLE', H: 'HELD', B: 'BOOKED' })[letter])).toEqual(await dbStatuses(smallId));
    } finally {
      // Dropping the snapshot stops its following: no feed is left listening.
      cache.forget(smallId);
      stopFollowing();
    }
  });

  it('keeps following an event whose snapshot was dropped while it was being built again', async () => {
    const { services } = server.app;
    const database = db();
    let beforeRead: (() => Promise<void>) | undefined;
    const watched: Database = {
      ...database,
      query: (async (statement: Parameters<Database['query']>[0], params?: readonly unknown[]) => {
        const run = beforeRead;
        beforeRead = undefined;
        await run?.();
        return database.query(statement, params);
      }) as Database['query'],
    };
    const cache = createSeatMapCache(watched, 1_000_000, services.seatMapFeeds);
    try {
      const first = await cache.availability(smallId, 0);
      // A read that needs the next version (its delta is late: the read builds again), and just before the build
      // reads, that version commits and the old snapshot is dropped.
      beforeRead = async () => {
        await changeAndSee(services.seatMapFeeds, smallId);
        cache.forget(smallId);
      };
      const again = await cache.availability(smallId, first.version + 1);
      expect(again.version).toBe(first.version + 1);
      const rebuilds = cache.rebuilds;
      // The snapshot kept from that build follows the event: the next change reaches it, with no build.
      await changeAndSee(services.seatMapFeeds, smallId);
      expect((await cache.availability(smallId, first.version + 2)).version).toBe(first.version + 2);
      expect(cache.rebuilds).toBe(rebuilds);
    } finally {
      cache.forget(smallId);
    }
  });

  it('bounds the seats one request may list: QUERY_TOO_COMPLEX past 200,000, the bitmap unbounded', async () => {
    const listing = (n: number, fields: string) =>
      `{ ${Array.from({ length: n }, (_, i) => `e${i}: event(id: "evt_${stadiumId}") { seatMap { ${fields} } }`).join(' ')} }`;
    const ten = ok(await server.gql(listing(10, 'sections { rows { seats { ordinal } } }')));
    expect(Object.keys(ten)).toHaveLength(10);
    const eleven = await server.gql(listing(11, '...Seats') + ' fragment Seats on SeatMap { sections { rows { seats { ordinal } } } }');
    expect(eleven.errors!.map((error) => error.extensions!.code)).toEqual(['QUERY_TOO_COMPLEX']);
    const bitmaps = ok(await server.gql(listing(30, 'availability sections { name }')));
    expect(Object.keys(bitmaps)).toHaveLength(30);
  });

  it('builds the seat maps of a whole page of events with a fixed number of statements', async () => {
    await db().query(`UPDATE seats SET status = 'booked', booking_id = gen_random_uuid() WHERE ordinal = 0 AND status = 'available'`);
    const bitmaps = await countQueries(async () => {
      const { events } = ok(await server.gql(`{ events(first: 100) { edges { node { seatMap { availability } } } } }`));
      expect(events.edges.length).toBeGreaterThan(50);
    });
    expect(bitmaps).toBe(2);
    const layouts = await countQueries(() => server.gql(`{ events(first: 30) { edges { node { seatMap { sections { name } } } } } }`));
    expect(layouts).toBeLessThanOrEqual(3);
  });

  it('serves seat maps of several events in one request', async () => {
    const { events } = ok(await server.gql(`{ events(first: 10) { edges { node { capacity seatMap { seatCount availability } } } } }`));
    for (const { node } of events.edges) {
      expect(node.seatMap.seatCount).toBe(node.capacity);
      expect(Buffer.from(node.seatMap.availability, 'base64').length).toBe(Math.ceil(node.capacity / 8));
    }
  });
});
