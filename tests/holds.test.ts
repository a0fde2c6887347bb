// Holds, functionally, in both modes: explicit and best-available holds, limits, sale windows, expiry, release,
// visibility, and every bad input (each with its code, and nothing held). Races are in holds-race.test.ts.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { codes, modes, ok, startTestServer, type TestServer } from './helpers/harness.js';
import {
  createOnSaleEvent,
  CONFIRM,
  HOLD_BEST,
  HOLD_FIELDS,
  HOLD_SEATS,
  lapseHolds,
  RELEASE,
  seatCounts,
  type TestEvent,
} from './helpers/write-path.js';

const TWO_SECTIONS = [
  { name: 'Front', price: 9000, rows: 2, seatsPerRow: 6 },
  { name: 'Back', price: 4000, rows: 3, seatsPerRow: 10 },
];

describe.each(modes)('holds (%s)', (mode) => {
  let server: TestServer;
  let alice: string;
  let bob: string;
  let admin: string;

  beforeAll(async () => {
    // No sweep and no admitter on a timer: the only background statements are the relay's (one test counts statements).
    server = await startTestServer(mode, { SWEEP_INTERVAL_MS: '0', ADMISSION_INTERVAL_MS: '0' });
    [alice, bob, admin] = await Promise.all([server.token('alice'), server.token('bob'), server.token('root', true)]);
  });
  afterAll(() => server?.stop());

  const db = () => server.app.services.db;
  const hold = (event: TestEvent, ordinals: number[], as = alice) =>
    server.gql(HOLD_SEATS, { input: { eventId: event.id, seatIds: ordinals.map(event.seatId) } }, as);
  const best = (input: Record<string, unknown>, as = alice) => server.gql(HOLD_BEST, { input }, as);
  const seatRows = async (event: TestEvent) =>
    (await db().query<{ ordinal: number; status: string; holdId: string | null }>(
      `SELECT ordinal, status, hold_id AS "holdId" FROM seats WHERE event_id = $1 ORDER BY ordinal`,
      [event.eventId],
    )).rows;
  const places = async (event: TestEvent, ordinals: number[]) =>
    (await db().query<{ section: number; row: number; seat: number }>(
      `SELECT c.position AS section, s.row_index AS row, s.seat_number AS seat FROM seats s JOIN sections c ON c.id = s.section_id
        WHERE s.event_id = $1 AND s.ordinal = ANY($2::int[]) ORDER BY s.ordinal`,
      [event.eventId, ordinals],
    )).rows;

  describe('holdSeats', () => {
    it('holds the seats, prices them, bumps the seat-map version once and writes the delta to the outbox', async () => {
      const event = await createOnSaleEvent(server, TWO_SECTIONS);
      const before = Date.now();
      const held = ok(await hold(event, [13, 0])).holdSeats;
      expect(held.id).toMatch(/^hold_[0-9a-f-]{36}$/);
      expect(held.status).toBe('ACTIVE');
      expect(held.total).toEqual({ amount: 9000 + 4000, currency: 'USD' });
      expect(held.seats).toEqual([
        { id: event.seatId(0), ordinal: 0, status: 'HELD' },
        { id: event.seatId(13), ordinal: 13, status: 'HELD' },
      ]);
      const expiresIn = Date.parse(held.expiresAt) - before;
      expect(expiresIn).toBeGreaterThan(590_000);
      expect(expiresIn).toBeLessThan(610_000);
      expect(held.event.availableCount).toBe(42 - 2);
      const { rows } = await db().query<{ topic: string; payload: any }>(`SELECT topic, payload FROM outbox WHERE topic = $1`, [`seatMap.${event.eventId}`]);
      expect(rows).toEqual([{ topic: `seatMap.${event.eventId}`, payload: { eventId: event.eventId, version: 1, ordinals: [0, 13], statuses: 'HH', heldUntil: Date.parse(held.expiresAt) } }]);
      const map = ok(await server.gql(`{ event(id: "${event.id}") { seatMap { version availableCount } } }`)).event.seatMap;
      expect(map).toEqual({ version: 1, availableCount: 40 });
    });

    it('is all or nothing: one seat taken fails the whole hold, names that seat, and holds none', async () => {
      const event = await createOnSaleEvent(server, TWO_SECTIONS);
      ok(await hold(event, [3], bob));
      const response = await hold(event, [2, 3, 4]);
      expect(codes(response)).toEqual(['SEAT_UNAVAILABLE']);
      expect(response.errors![0]!.extensions!.seatIds).toEqual([event.seatId(3)]);
      expect(await seatCounts(server, event.eventId)).toEqual({ available: 41, held: 1, booked: 0 });
      const { rows } = await db().query(`SELECT 1 FROM holds WHERE owner = 'user:alice' AND event_id = $1`, [event.eventId]);
      expect(rows).toHaveLength(0);
    });

    it.each([
      ['an empty list', [] as string[], 'input.seatIds'],
      ['a malformed seat ID', ['seat_x'], 'input.seatIds[0]'],
      ['a seat named twice', ['SELF_1', 'SELF_1'], 'input.seatIds[1]'],
      ['a seat of another event', ['OTHER_1'], 'input.seatIds[0]'],
      ['a seat beyond the layout', ['SELF_4200'], 'input.seatIds[0]'],
      ['more than 100 seats', Array.from({ length: 101 }, (_, i) => `SELF_${i}`), 'input.seatIds'],
    ])('refuses %s with BAD_USER_INPUT naming the field, and holds nothing', async (_, ids, field) => {
      const event = await createOnSaleEvent(server, TWO_SECTIONS);
      const other = await createOnSaleEvent(server, TWO_SECTIONS);
      const seatIds = ids.map((id) => id.replace(/^SELF_/, `seat_${event.eventId}_`).replace(/^OTHER_/, `seat_${other.eventId}_`));
      const response = await server.gql(HOLD_SEATS, { input: { eventId: event.id, seatIds } }, alice);
      expect(codes(response)).toEqual(['BAD_USER_INPUT']);
      expect(response.errors![0]!.extensions!.field).toBe(field);
      expect(await seatCounts(server, event.eventId)).toEqual({ available: 42, held: 0, booked: 0 });
    });

    it('refuses seats it knows are taken without a transaction, and offers seats its own release freed at once', async () => {
      const event = await createOnSaleEvent(server, TWO_SECTIONS);
      // Reading the seat map makes this instance follow the event's deltas.
      await server.gql(`query($id: ID!) { event(id: $id) { seatMap { version } } }`, { id: event.id });
      const held = ok(await hold(event, [4, 5])).holdSeats;
      // Wait (bounded) until the hold's delta has reached the cache: then the instance knows the seats are held.
      const known = () => server.app.services.seatMaps.knownTaken(event.eventId, [4, 5], Date.now());
      for (let attempt = 0; attempt < 100 && known().length < 2; attempt++) await new Promise((resolve) => setTimeout(resolve, 20));
      expect(known()).toEqual([4, 5]);

      const database = db();
      const original = database.query;
      const transaction = database.transaction;
      const sent: string[] = [];
      database.query = (statement, params) => (sent.push(typeof statement === 'string' ? statement : statement.text), original(statement, params));
      database.transaction = (fn) => (sent.push('BEGIN'), transaction(fn));
      let refused;
      try {
        refused = await hold(event, [5, 6], bob);
      } finally {
        database.query = original;
        database.transaction = transaction;
      }
      expect(codes(refused)).toEqual(['SEAT_UNAVAILABLE']);
      expect(refused.errors![0]!.extensions!.seatIds).toEqual([event.seatId(5)]);
      expect(sent.filter((text) => !text.includes('outbox'))).toEqual([]);

      // Released through this instance: bob may hold the seats at once, before any delta could say so.
      ok(await server.gql(RELEASE, { id: held.id }, alice));
      expect(ok(await hold(event, [5, 6], bob)).holdSeats.seats.map((seat: { ordinal: number }) => seat.ordinal)).toEqual([5, 6]);
      expect(await seatCounts(server, event.eventId)).toMatchObject({ held: 2 });
    });

    it('refuses a seat another request is claiming at that moment, and lets go of seats whose hold failed', async () => {
      const event = await createOnSaleEvent(server, TWO_SECTIONS, { maxTicketsPerUser: 2 });
      const tokens = await Promise.all(Array.from({ length: 20 }, (_, i) => server.token(`claimer-${i}`)));
      ok(await hold(event, [0, 1]));
      // Twenty at once for the same seat: one holds it, the others are told it is taken, naming it.
      const answers = await Promise.all(tokens.map((token) => hold(event, [7], token)));
      expect(answers.filter((answer) => !answer.errors)).toHaveLength(1);
      for (const answer of answers.filter((a) => a.errors)) {
        expect(codes(answer)).toEqual(['SEAT_UNAVAILABLE']);
        expect(answer.errors![0]!.extensions!.seatIds).toEqual([event.seatId(7)]);
      }
      // Alice is at her limit: her hold fails, and the seats it asked for are free to the next request at once.
      expect(codes(await hold(event, [2, 3]))).toEqual(['LIMIT_EXCEEDED']);
      ok(await hold(event, [2, 3], bob));
      expect(await seatCounts(server, event.eventId)).toMatchObject({ held: 5 });
    });

    it('answers NOT_FOUND for an unknown event, BAD_USER_INPUT for a malformed one, UNAUTHENTICATED when anonymous', async () => {
      expect(codes(await server.gql(HOLD_SEATS, { input: { eventId: 'evt_99999', seatIds: ['seat_99999_0'] } }, alice))).toEqual(['NOT_FOUND']);
      expect(codes(await server.gql(HOLD_SEATS, { input: { eventId: 'ven_1', seatIds: ['seat_1_0'] } }, alice))).toEqual(['BAD_USER_INPUT']);
      const event = await createOnSaleEvent(server, TWO_SECTIONS);
      expect(codes(await server.gql(HOLD_SEATS, { input: { eventId: event.id, seatIds: [event.seatId(0)] } }))).toEqual(['UNAUTHENTICATED']);
      expect((await seatCounts(server, event.eventId)).held).toBe(0);
    });

    it('keeps a caller within maxTicketsPerUser across holds, and frees the room when a hold is released', async () => {
      const event = await createOnSaleEvent(server, TWO_SECTIONS, { maxTicketsPerUser: 3 });
      const tooMany = await hold(event, [0, 1, 2, 3]);
      expect(codes(tooMany)).toEqual(['LIMIT_EXCEEDED']);
      expect(tooMany.errors![0]!.extensions).toMatchObject({ limit: 3, inUse: 0 });
      const first = ok(await hold(event, [0, 1])).holdSeats;
      expect(codes(await hold(event, [2, 3]))).toEqual(['LIMIT_EXCEEDED']);
      ok(await hold(event, [2, 3], bob));
      ok(await server.gql(RELEASE, { id: first.id }, alice));
      ok(await hold(event, [4, 5, 6]));
    });

    it('counts a lapsed hold as free room at once', async () => {
      const event = await createOnSaleEvent(server, TWO_SECTIONS, { maxTicketsPerUser: 2 });
      ok(await hold(event, [0, 1]));
      await lapseHolds(server, event.eventId);
      ok(await hold(event, [2, 3]));
    });
  });

  describe('sale window', () => {
    it('refuses holds before onSaleAt, after the start and on a cancelled event: EVENT_NOT_ON_SALE', async () => {
      const now = Date.now();
      const early = await createOnSaleEvent(server, TWO_SECTIONS, { onSaleAt: new Date(now + 86_400_000).toISOString() });
      expect(codes(await hold(early, [0]))).toEqual(['EVENT_NOT_ON_SALE']);
      expect(codes(await best({ eventId: early.id, quantity: 1 }))).toEqual(['EVENT_NOT_ON_SALE']);

      const started = await createOnSaleEvent(server, TWO_SECTIONS);
      await db().query(`UPDATE events SET on_sale_at = now() - interval '2 hours', starts_at = now() - interval '1 hour' WHERE id = $1`, [started.eventId]);
      expect(codes(await hold(started, [0]))).toEqual(['EVENT_NOT_ON_SALE']);

      const cancelled = await createOnSaleEvent(server, TWO_SECTIONS);
      await db().query(`UPDATE events SET cancelled_at = now() WHERE id = $1`, [cancelled.eventId]);
      expect(codes(await hold(cancelled, [0]))).toEqual(['EVENT_NOT_ON_SALE']);

    });

    it('answers SEAT_UNAVAILABLE, not EVENT_NOT_ON_SALE, when every seat is held, and says SOLD_OUT only once every seat is booked', async () => {
      const STATUS = `query($id: ID!) { event(id: $id) { status availableCount heldCount } }`;
      const status = async (event: TestEvent) => ok(await server.gql(STATUS, { id: event.id })).event;
      const tiny = await createOnSaleEvent(server, [{ name: 'Box', price: 100, rows: 1, seatsPerRow: 2 }]);
      expect(await status(tiny)).toEqual({ status: 'ON_SALE', availableCount: 2, heldCount: 0 });
      const bobs = ok(await hold(tiny, [0, 1], bob)).holdSeats;
      const refused = await hold(tiny, [1]);
      expect(codes(refused)).toEqual(['SEAT_UNAVAILABLE']);
      expect(refused.errors![0]!.extensions!.seatIds).toEqual([tiny.seatId(1)]);
      expect(codes(await best({ eventId: tiny.id, quantity: 1 }))).toEqual(['SEAT_UNAVAILABLE']);
      // Every seat taken, none booked: still on sale, and a client can say "no seats right now".
      expect(await status(tiny)).toEqual({ status: 'ON_SALE', availableCount: 0, heldCount: 2 });
      // A lapsed hold's seats are free at once.
      await lapseHolds(server, tiny.eventId);
      const mine = ok(await hold(tiny, [0])).holdSeats;
      expect(await status(tiny)).toEqual({ status: 'ON_SALE', availableCount: 0, heldCount: 2 });
      expect(bobs.id).not.toBe(mine.id);
      const bobsAgain = ok(await hold(tiny, [1], bob)).holdSeats;
      for (const [holdId, as] of [[mine.id, alice], [bobsAgain.id, bob]] as const) {
        ok(await server.gql(CONFIRM, { input: { holdId, paymentToken: 'tok_visa', idempotencyKey: `sold-out-${holdId}` } }, as));
      }
      expect(await status(tiny)).toEqual({ status: 'SOLD_OUT', availableCount: 0, heldCount: 0 });
      expect(codes(await hold(tiny, [0]))).toEqual(['SEAT_UNAVAILABLE']);
      expect(codes(await best({ eventId: tiny.id, quantity: 1 }))).toEqual(['SEAT_UNAVAILABLE']);
    });

    it('admits nobody to a gated event without an admission from its waiting room: NOT_ADMITTED', async () => {
      const now = Date.now();
      const gated = await createOnSaleEvent(server, TWO_SECTIONS, {
        waitingRoom: { opensAt: new Date(now - 7_200_000).toISOString(), admissionsPerMinute: 100 },
      });
      expect(codes(await hold(gated, [0]))).toEqual(['NOT_ADMITTED']);
      const withToken = await server.gql(HOLD_SEATS, { input: { eventId: gated.id, seatIds: [gated.seatId(0)], admissionToken: 'forged' } }, alice);
      expect(codes(withToken)).toEqual(['NOT_ADMITTED']);
      expect(codes(await best({ eventId: gated.id, quantity: 2 }))).toEqual(['NOT_ADMITTED']);
      expect((await seatCounts(server, gated.eventId)).held).toBe(0);
    });
  });

  describe('expiry', () => {
    it('frees a lapsed hold\'s seats at once, without the sweep; the old hold reads EXPIRED and cannot be released', async () => {
      await server.app.sweeper.runOnce(); // what earlier tests left to sweep
      const event = await createOnSaleEvent(server, TWO_SECTIONS);
      const old = ok(await hold(event, [0, 1])).holdSeats;
      await lapseHolds(server, event.eventId);
      const taken = ok(await hold(event, [1, 2], bob)).holdSeats;
      expect(ok(await server.gql(`query($id: ID!) { hold(id: $id) { status } }`, { id: old.id }, alice)).hold.status).toBe('EXPIRED');
      expect(codes(await server.gql(RELEASE, { id: old.id }, alice))).toEqual(['HOLD_EXPIRED']);

      // The sweep makes it official, and frees only the seat the old hold still had.
      expect(await server.app.sweeper.runOnce()).toBe(1);
      const rows = await seatRows(event);
      expect(rows.slice(0, 3).map((row) => row.status)).toEqual(['available', 'held', 'held']);
      expect(rows[1]!.holdId).toBe(taken.id.slice(5));
      const { rows: holds } = await db().query<{ status: string }>(`SELECT status FROM holds WHERE id = $1`, [old.id.slice(5)]);
      expect(holds[0]!.status).toBe('EXPIRED');
      const { rows: messages } = await db().query(`SELECT payload FROM outbox WHERE topic = $1`, [`hold.${old.id.slice(5)}`]);
      expect(messages).toEqual([{ payload: { holdId: old.id.slice(5), status: 'EXPIRED' } }]);
      expect(await server.app.sweeper.runOnce()).toBe(0);
    });

    it('lets a short hold run out in real time: its seats go to the next buyer with no sweep', async () => {
      const event = await createOnSaleEvent(server, TWO_SECTIONS);
      await db().query(`UPDATE events SET hold_duration_seconds = 2 WHERE id = $1`, [event.eventId]);
      ok(await hold(event, [7]));
      expect(codes(await hold(event, [7], bob))).toEqual(['SEAT_UNAVAILABLE']);
      await new Promise((resolve) => setTimeout(resolve, 2_300));
      ok(await hold(event, [7], bob));
    });

    it('sweeps many expired holds in batches', async () => {
      const event = await createOnSaleEvent(server, [{ name: 'Floor', price: 100, rows: 5, seatsPerRow: 10 }], { maxTicketsPerUser: 100 });
      for (let i = 0; i < 25; i++) ok(await hold(event, [2 * i, 2 * i + 1], i % 2 ? alice : bob));
      await lapseHolds(server, event.eventId);
      const { rows: before } = await db().query<{ version: number }>(`SELECT seat_map_version AS version FROM event_inventory WHERE event_id = $1`, [event.eventId]);
      await server.app.sweeper.runOnce();
      expect(await seatCounts(server, event.eventId)).toEqual({ available: 50, held: 0, booked: 0 });
      const { rows: after } = await db().query<{ version: number; available: number }>(
        `SELECT seat_map_version AS version, available_count AS available FROM event_inventory WHERE event_id = $1`, [event.eventId]);
      expect(after[0]!.available).toBe(50);
      expect(after[0]!.version).toBeGreaterThan(before[0]!.version);
    });
  });

  describe('releaseHold and visibility', () => {
    it('releases the owner\'s hold; others get NOT_FOUND; a second release is HOLD_NOT_ACTIVE; an admin may release', async () => {
      const event = await createOnSaleEvent(server, TWO_SECTIONS);
      const held = ok(await hold(event, [0, 1])).holdSeats;
      expect(codes(await server.gql(RELEASE, { id: held.id }, bob))).toEqual(['NOT_FOUND']);
      expect(codes(await server.gql(RELEASE, { id: held.id }))).toEqual(['NOT_FOUND']);
      const released = ok(await server.gql(RELEASE, { id: held.id }, alice)).releaseHold;
      expect(released.status).toBe('RELEASED');
      expect(released.seats.map((seat: any) => seat.status)).toEqual(['AVAILABLE', 'AVAILABLE']);
      expect(codes(await server.gql(RELEASE, { id: held.id }, alice))).toEqual(['HOLD_NOT_ACTIVE']);
      expect(await seatCounts(server, event.eventId)).toEqual({ available: 42, held: 0, booked: 0 });

      const other = ok(await hold(event, [5], bob)).holdSeats;
      expect(ok(await server.gql(RELEASE, { id: other.id }, admin)).releaseHold.status).toBe('RELEASED');
      expect(codes(await server.gql(RELEASE, { id: 'hold_nope' }, alice))).toEqual(['BAD_USER_INPUT']);
      expect(codes(await server.gql(RELEASE, { id: 'hold_00000000-0000-0000-0000-000000000000' }, alice))).toEqual(['NOT_FOUND']);
    });

    it('shows a hold to its owner and to admins only, and lists the caller\'s holds newest first', async () => {
      const event = await createOnSaleEvent(server, TWO_SECTIONS);
      const first = ok(await hold(event, [0])).holdSeats;
      const second = ok(await hold(event, [1])).holdSeats;
      const query = `query($id: ID!) { hold(id: $id) { ${HOLD_FIELDS} } }`;
      expect(ok(await server.gql(query, { id: first.id }, alice)).hold.id).toBe(first.id);
      expect(ok(await server.gql(query, { id: first.id }, admin)).hold.id).toBe(first.id);
      expect(ok(await server.gql(query, { id: first.id }, bob)).hold).toBeNull();
      expect(ok(await server.gql(query, { id: first.id })).hold).toBeNull();
      const mine = ok(await server.gql(`query($e: ID) { viewer { holds(eventId: $e) { id } } }`, { e: event.id }, alice)).viewer.holds;
      expect(mine.map((h: any) => h.id)).toEqual([second.id, first.id]);
      const bobs = ok(await server.gql(`query($e: ID) { viewer { holds(eventId: $e) { id } } }`, { e: event.id }, bob)).viewer.holds;
      expect(bobs).toEqual([]);
    });
  });

  describe('holdBestAvailable', () => {
    it('takes the cheapest section, then the lowest row, then the centre, side by side by default', async () => {
      const event = await createOnSaleEvent(server, TWO_SECTIONS);
      const first = ok(await best({ eventId: event.id, quantity: 2 })).holdBestAvailable;
      expect(await places(event, first.seats.map((s: any) => s.ordinal))).toEqual([
        { section: 1, row: 0, seat: 5 },
        { section: 1, row: 0, seat: 6 },
      ]);
      expect(first.total).toEqual({ amount: 8000, currency: 'USD' });
      const second = ok(await best({ eventId: event.id, quantity: 3 }, bob)).holdBestAvailable;
      const seats = await places(event, second.seats.map((s: any) => s.ordinal));
      expect(seats.every((seat) => seat.section === 1 && seat.row === 0)).toBe(true);
      // Runs 2-4 and 7-9 are as near the centre (5.5); the lower seat numbers win the tie.
      expect(seats.map((seat) => seat.seat)).toEqual([2, 3, 4]);
    });

    it('narrows to a section and a price, and moves to another row when one has no run left', async () => {
      const event = await createOnSaleEvent(server, TWO_SECTIONS, { maxTicketsPerUser: 20 });
      const front = ok(await best({ eventId: event.id, quantity: 2, sectionId: event.sectionIds[0] })).holdBestAvailable;
      expect((await places(event, front.seats.map((s: any) => s.ordinal))).map((p) => p.section)).toEqual([0, 0]);
      expect(codes(await best({ eventId: event.id, quantity: 2, maxPrice: 3999 }))).toEqual(['SEAT_UNAVAILABLE']);
      // Fragment row A of Back (ordinals 12-21): every other seat taken.
      ok(await hold(event, [12, 14, 16, 18, 20], bob));
      const next = ok(await best({ eventId: event.id, quantity: 2, maxPrice: 4000 })).holdBestAvailable;
      const seats = await places(event, next.seats.map((s: any) => s.ordinal));
      expect(seats.map((p) => [p.section, p.row])).toEqual([[1, 1], [1, 1]]);
      expect(seats[1]!.seat - seats[0]!.seat).toBe(1);
      const scattered = ok(await best({ eventId: event.id, quantity: 3, adjacent: false, sectionId: event.sectionIds[1] })).holdBestAvailable;
      // Free in row A: seats 2, 4, 6, 8, 10; nearest the centre first: 6, 4, 8.
      expect(scattered.seats.map((s: any) => s.ordinal)).toEqual([15, 17, 19]);
    });

    it('fails with SEAT_UNAVAILABLE when no run is free, and holds nothing', async () => {
      const event = await createOnSaleEvent(server, [
        { name: 'Pairs', price: 100, rows: 1, seatsPerRow: 3 },
        { name: 'Rest', price: 100, rows: 1, seatsPerRow: 1 },
      ]);
      ok(await hold(event, [1], bob));
      expect(codes(await best({ eventId: event.id, quantity: 2 }))).toEqual(['SEAT_UNAVAILABLE']);
      expect(ok(await best({ eventId: event.id, quantity: 2, adjacent: false })).holdBestAvailable.seats).toHaveLength(2);
    });

    it('takes seats of lapsed holds too', async () => {
      const event = await createOnSaleEvent(server, [{ name: 'Box', price: 100, rows: 1, seatsPerRow: 4 }]);
      ok(await hold(event, [0, 1, 2, 3], bob));
      await lapseHolds(server, event.eventId);
      const held = ok(await best({ eventId: event.id, quantity: 2 })).holdBestAvailable;
      expect(held.seats.map((s: any) => s.ordinal)).toEqual([1, 2]);
    });

    it.each([
      [{ quantity: 0 }, 'input.quantity'],
      [{ quantity: 101 }, 'input.quantity'],
      [{ quantity: -3 }, 'input.quantity'],
      [{ quantity: 1, sectionId: 'evt_1' }, 'input.sectionId'],
      [{ quantity: 1, maxPrice: -1 }, 'input.maxPrice'],
    ])('refuses %j with BAD_USER_INPUT naming %s', async (input, field) => {
      const event = await createOnSaleEvent(server, TWO_SECTIONS);
      const response = await best({ eventId: event.id, ...input });
      expect(codes(response)).toEqual(['BAD_USER_INPUT']);
      expect(response.errors![0]!.extensions!.field).toBe(field);
      expect((await seatCounts(server, event.eventId)).held).toBe(0);
    });

    it('refuses more seats than the event allows one person with LIMIT_EXCEEDED', async () => {
      const event = await createOnSaleEvent(server, TWO_SECTIONS, { maxTicketsPerUser: 4 });
      expect(codes(await best({ eventId: event.id, quantity: 5 }))).toEqual(['LIMIT_EXCEEDED']);
    });
  });
});
