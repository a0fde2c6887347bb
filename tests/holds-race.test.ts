// Concurrency claims of the write path, proven against real Postgres: many callers race for the same seats
// over HTTP, and the database is then checked seat by seat. Postgres mode only: PGlite has one session, so
// nothing in it can race. Every assertion here fails if a seat is sold twice, a limit is overrun, or the
// seat-map version, available count or outbox drift from what the seats say.
import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ok, startTestServer, type GraphQLResponse, type TestServer } from './helpers/harness.js';
import { CONFIRM, createOnSaleEvent, HOLD_BEST, HOLD_SEATS, seatCounts, type SectionSpec, type TestEvent } from './helpers/write-path.js';

/** A small seeded PRNG (mulberry32), so that a failing race can be replayed with RACE_SEED. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
const SEED = Number(process.env.RACE_SEED ?? Date.now() % 1_000_000_007);

function shuffle<T>(items: T[], random: () => number): T[] {
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

const ordinalOf = (seatId: string) => Number(seatId.slice(seatId.lastIndexOf('_') + 1));
const holdUuid = (holdId: string) => holdId.replace(/^hold_/, '');
const sorted = (values: Iterable<number>) => [...values].sort((a, b) => a - b);

/** What one racer got: a hold (its uuid and seats, from the response) or one error. */
type Outcome =
  | { index: number; kind: 'hold'; holdId: string; ordinals: number[] }
  | { index: number; kind: 'error'; code: unknown; extensions: Record<string, any> }
  | { index: number; kind: 'unexpected'; response: unknown };

function outcome(index: number, response: GraphQLResponse, field: 'holdSeats' | 'holdBestAvailable'): Outcome {
  const hold = response.data?.[field];
  if (!response.errors?.length && hold) {
    return { index, kind: 'hold', holdId: holdUuid(hold.id), ordinals: sorted(hold.seats.map((seat: { id: string }) => ordinalOf(seat.id))) };
  }
  if (response.status === 200 && response.errors?.length === 1 && !hold) {
    return { index, kind: 'error', code: response.errors[0]!.extensions?.code, extensions: response.errors[0]!.extensions ?? {} };
  }
  return { index, kind: 'unexpected', response: { status: response.status, data: response.data, errors: response.errors } };
}

const holds = (outcomes: Outcome[]) => outcomes.filter((o): o is Extract<Outcome, { kind: 'hold' }> => o.kind === 'hold');
const failures = (outcomes: Outcome[]) => outcomes.filter((o): o is Extract<Outcome, { kind: 'error' }> => o.kind === 'error');

/** No seat appears in two holds; returns seat → hold uuid. */
function expectDisjoint(winners: { holdId: string; ordinals: number[] }[]): Map<number, string> {
  const owner = new Map<number, string>();
  const twice: { ordinal: number; holds: string[] }[] = [];
  for (const winner of winners) {
    for (const ordinal of winner.ordinals) {
      const other = owner.get(ordinal);
      if (other) twice.push({ ordinal, holds: [other, winner.holdId] });
      else owner.set(ordinal, winner.holdId);
    }
  }
  expect(twice, 'seats in two successful holds').toEqual([]);
  return owner;
}

/** RACE_REPEAT=n runs each race n times (a fresh event each time), to shake out rare interleavings. */
const REPEAT = Math.max(1, Number(process.env.RACE_REPEAT ?? 1));
/** Connections of the raw pool that races claims in SQL (the server has 10 of its own; Postgres allows 100). */
const RAW_POOL = 30;
const it_ = (name: string, fn: () => Promise<void>, timeout = 120_000) =>
  it(name, async () => {
    for (let round = 0; round < REPEAT; round++) await fn();
  }, timeout * REPEAT);

describe('hold races (postgres)', () => {
  let server: TestServer;
  let raw: pg.Pool;
  const random = prng(SEED);

  beforeAll(async () => {
    console.log(`holds-race: RACE_SEED=${SEED}`);
    server = await startTestServer('postgres');
    raw = new pg.Pool({ connectionString: server.app.services.config.databaseUrl, max: RAW_POOL, application_name: 'holds-race-test' });
    raw.on('error', () => {});
  });
  afterAll(async () => {
    await raw?.end();
    await server?.stop();
  });

  const tokens = (prefix: string, n: number) => Promise.all(Array.from({ length: n }, (_, i) => server.token(`${prefix}-${i}`)));

  /**
   * The database agrees with the winners, and with itself: the event's non-available seats are exactly the
   * winners' seats, each held (live) by its winner's hold; the ACTIVE holds are exactly the winners; the
   * available count is the number of available seats; the seat-map version grows by one per claim statement
   * (holds of one batch share one), at most one per hold, and the outbox has one `seatMap.<id>` row per version,
   * versions 1..n in commit order, each naming whole holds' seats as H, every winner's seats exactly once.
   */
  async function expectDatabaseAgrees(event: TestEvent, capacity: number, winners: { holdId: string; ordinals: number[]; owner: string }[]) {
    const { db } = server.app.services;
    const seatOwner = expectDisjoint(winners);
    const { rows: taken } = await db.query<{ ordinal: number; status: string; holdId: string | null; live: boolean }>(
      `SELECT ordinal, status, hold_id AS "holdId", held_until > now() AS live FROM seats
        WHERE event_id = $1 AND status <> 'available' ORDER BY ordinal`,
      [event.eventId],
    );
    expect(taken.map((seat) => [seat.ordinal, seat.status, seat.holdId, seat.live])).toEqual(
      sorted(seatOwner.keys()).map((ordinal) => [ordinal, 'held', seatOwner.get(ordinal), true]),
    );

    const { rows: active } = await db.query<{ id: string; owner: string; ordinals: number[]; status: string }>(
      `SELECT id, owner, ordinals, status FROM holds WHERE event_id = $1 ORDER BY id`,
      [event.eventId],
    );
    const expected = winners
      .map((w) => ({ id: w.holdId, owner: w.owner, ordinals: w.ordinals, status: 'ACTIVE' }))
      .sort((a, b) => (a.id < b.id ? -1 : 1));
    expect(active.map((h) => ({ id: h.id, owner: h.owner, ordinals: sorted(h.ordinals), status: h.status }))).toEqual(expected);

    const counts = await seatCounts(server, event.eventId);
    const held = seatOwner.size;
    expect(counts).toEqual({ available: capacity - held, held, booked: 0 });
    const { rows: [inventory] } = await db.query<{ version: number; available: number }>(
      `SELECT seat_map_version AS version, available_count AS available FROM event_inventory WHERE event_id = $1`,
      [event.eventId],
    );
    expect(inventory!.available).toBe(capacity - held);
    expect(inventory!.version).toBeGreaterThanOrEqual(winners.length ? 1 : 0);
    expect(inventory!.version).toBeLessThanOrEqual(winners.length);

    const { rows: outbox } = await db.query<{ payload: { eventId: number; version: number; ordinals: number[]; statuses: string } }>(
      `SELECT payload FROM outbox WHERE topic = $1 ORDER BY id`,
      [`seatMap.${event.eventId}`],
    );
    expect(outbox.map((row) => row.payload.version)).toEqual(Array.from({ length: inventory!.version }, (_, i) => i + 1));
    expect(outbox.every((row) => row.payload.eventId === event.eventId && row.payload.statuses === 'H'.repeat(row.payload.ordinals.length))).toBe(true);
    const announced = outbox.flatMap((row) => row.payload.ordinals);
    expect(sorted(announced)).toEqual(sorted(seatOwner.keys()));
    // Each delta carries whole holds: every winner's seats are announced together, in one version.
    for (const winner of winners) {
      const versions = new Set(outbox.filter((row) => row.payload.ordinals.some((o) => winner.ordinals.includes(o))).map((row) => row.payload.version));
      expect(versions.size).toBe(1);
    }
  }

  describe('holdSeats: 500 callers race for the same 10 seats of a 20,000-seat event', () => {
    it_('sells no seat twice, fails only with SEAT_UNAVAILABLE naming requested seats, and the database agrees', async () => {
      const sections: SectionSpec[] = [
        { name: 'Lower', price: 5000, rows: 100, seatsPerRow: 100 },
        { name: 'Upper', price: 3000, rows: 100, seatsPerRow: 100 },
      ];
      const event = await createOnSaleEvent(server, sections, { maxTicketsPerUser: 10 });
      // Row 50 of the lower bowl, seats 46 to 55.
      const contested = Array.from({ length: 10 }, (_, i) => 5045 + i);
      const callers = await tokens('racer', 500);
      // Every caller asks for 1 to 10 of the same 10 seats (a fifth ask for all ten), in a random order.
      const requests = callers.map(() => {
        const size = random() < 0.2 ? 10 : 1 + Math.floor(random() * 10);
        return shuffle(contested, random).slice(0, size);
      });

      const responses = await Promise.all(
        requests.map((ordinals, i) =>
          server.gql(HOLD_SEATS, { input: { eventId: event.id, seatIds: ordinals.map(event.seatId) } }, callers[i]),
        ),
      );
      const outcomes = responses.map((response, i) => outcome(i, response, 'holdSeats'));
      expect(outcomes.filter((o) => o.kind === 'unexpected')).toEqual([]);
      const winners = holds(outcomes).map((w) => ({ ...w, owner: `user:racer-${w.index}` }));
      const losers = failures(outcomes);

      // Each winner holds exactly what it asked for.
      expect(winners.filter((w) => w.ordinals.join() !== sorted(requests[w.index]!).join())).toEqual([]);
      // Each loser was told SEAT_UNAVAILABLE, naming at least one seat, and only seats it asked for.
      const badFailures = losers.filter((l) => {
        const asked = new Set(requests[l.index]!);
        const named: unknown = l.extensions.seatIds;
        return l.code !== 'SEAT_UNAVAILABLE' || !Array.isArray(named) || named.length === 0
          || !named.every((id) => typeof id === 'string' && id.startsWith(`seat_${event.eventId}_`) && asked.has(ordinalOf(id)));
      });
      expect(badFailures).toEqual([]);
      expect(winners.length).toBeGreaterThan(0);
      expect(winners.length + losers.length).toBe(500);

      await expectDatabaseAgrees(event, 20_000, winners);

      const heldSeats = new Set(winners.flatMap((w) => w.ordinals));
      // Losers turned away although every seat they asked for is still free (they met a claim that then failed).
      const spurious = losers.filter((l) => requests[l.index]!.every((ordinal) => !heldSeats.has(ordinal))).length;
      console.log(`holdSeats race: ${winners.length} holds, ${heldSeats.size}/10 seats held, ${losers.length} SEAT_UNAVAILABLE (${spurious} whose seats all stayed free)`);
    });
  });

  describe('300 fans race for the 10 seats of a 10-seat event', () => {
    it_('holds every seat once, and tells every loser SEAT_UNAVAILABLE: an event whose seats are all held is still on sale', async () => {
      const event = await createOnSaleEvent(server, [{ name: 'Box', price: 1000, rows: 1, seatsPerRow: 10 }], { maxTicketsPerUser: 10 });
      type Ask = { seats: number[]; quantity?: undefined } | { seats?: undefined; quantity: number };
      /** Two in three ask for one to three seats by ID, the others for the best one or two. */
      const ask = (): Ask =>
        random() < 2 / 3 ? { seats: shuffle([...Array(10).keys()], random).slice(0, 1 + Math.floor(random() * 3)) } : { quantity: 1 + Math.floor(random() * 2) };
      const race = async (prefix: string, n: number) => {
        const callers = await tokens(prefix, n);
        const asks = callers.map(ask);
        const responses = await Promise.all(
          asks.map(({ seats, quantity }, i) =>
            seats
              ? server.gql(HOLD_SEATS, { input: { eventId: event.id, seatIds: seats.map(event.seatId) } }, callers[i])
              : server.gql(HOLD_BEST, { input: { eventId: event.id, quantity, adjacent: false } }, callers[i]),
          ),
        );
        const outcomes = responses.map((response, i) => outcome(i, response, asks[i]!.seats ? 'holdSeats' : 'holdBestAvailable'));
        expect(outcomes.filter((o) => o.kind === 'unexpected')).toEqual([]);
        const losers = failures(outcomes);
        expect(losers.filter((l) => l.code !== 'SEAT_UNAVAILABLE').map((l) => l.code)).toEqual([]);
        return { winners: holds(outcomes).map((w) => ({ ...w, owner: `user:${prefix}-${w.index}` })), losers };
      };
      const status = async () => ok(await server.gql(`query($id: ID!) { event(id: $id) { status availableCount heldCount } }`, { id: event.id })).event;

      const first = await race('fully-held', 300);
      expect(first.losers.length).toBeGreaterThan(250);
      const held = expectDisjoint(first.winners);
      await expectDatabaseAgrees(event, 10, first.winners);
      expect(await status()).toEqual({ status: 'ON_SALE', availableCount: 10 - held.size, heldCount: held.size });
      // Whatever the race left free goes to one more fan; then a second wave meets an event with every seat held.
      const rest = 10 - held.size;
      const last = rest ? ok(await server.gql(HOLD_BEST, { input: { eventId: event.id, quantity: rest, adjacent: false } }, await server.token('fully-held-last'))).holdBestAvailable : undefined;
      const second = await race('fully-held-late', 100);
      expect(second.winners).toEqual([]);
      expect(second.losers.length).toBe(100);
      const winners = [...first.winners, ...(last ? [{ holdId: holdUuid(last.id), ordinals: sorted(last.seats.map((seat: { id: string }) => ordinalOf(seat.id))), owner: 'user:fully-held-last' }] : [])];
      await expectDatabaseAgrees(event, 10, winners);
      expect(await status()).toEqual({ status: 'ON_SALE', availableCount: 0, heldCount: 10 });
    });
  });

  describe('holdBestAvailable: 200 callers × 2 seats race for a 300-seat section', () => {
    const sections: SectionSpec[] = [
      { name: 'Floor', price: 2000, rows: 10, seatsPerRow: 30 },
      // Never sold out, so the last losers are told SEAT_UNAVAILABLE, not EVENT_NOT_ON_SALE.
      { name: 'Balcony', price: 4000, rows: 2, seatsPerRow: 10 },
    ];
    const capacity = 320;

    async function race(prefix: string, adjacent: boolean) {
      const event = await createOnSaleEvent(server, sections, { maxTicketsPerUser: 10 });
      const callers = await tokens(prefix, 200);
      const responses = await Promise.all(
        callers.map((token) =>
          server.gql(HOLD_BEST, { input: { eventId: event.id, quantity: 2, sectionId: event.sectionIds[0], adjacent } }, token),
        ),
      );
      const outcomes = responses.map((response, i) => outcome(i, response, 'holdBestAvailable'));
      expect(outcomes.filter((o) => o.kind === 'unexpected')).toEqual([]);
      const winners = holds(outcomes).map((w) => ({ ...w, owner: `user:${prefix}-${w.index}` }));
      const losers = failures(outcomes);
      expect(losers.filter((l) => l.code !== 'SEAT_UNAVAILABLE')).toEqual([]);
      expect(winners.filter((w) => w.ordinals.length !== 2 || w.ordinals.some((o) => o >= 300))).toEqual([]);
      await expectDatabaseAgrees(event, capacity, winners);
      return { event, winners, losers };
    }

    it_('anywhere in the section: exactly 150 succeed, 50 get SEAT_UNAVAILABLE, all 300 seats held once, none outside', async () => {
      const { event, winners, losers } = await race('best-any', false);
      const { rows } = await server.app.services.db.query<{ inSection: number; outside: number }>(
        `SELECT count(*) FILTER (WHERE section_id = s.first)::int AS "inSection", count(*) FILTER (WHERE section_id <> s.first)::int AS outside
           FROM seats, (SELECT min(id) AS first FROM sections WHERE event_id = $1) s
          WHERE event_id = $1 AND status = 'held'`,
        [event.eventId],
      );
      console.log(`best-available (any) race: ${winners.length} holds, ${losers.length} SEAT_UNAVAILABLE`);
      expect(rows[0]).toEqual({ inSection: 300, outside: 0 });
      expect({ succeeded: winners.length, failed: losers.length }).toEqual({ succeeded: 150, failed: 50 });
    });

    it_('side by side: no seat twice, every hold is two consecutive seats of one row, held seats = 2 × holds', async () => {
      const { event, winners } = await race('best-adj', true);
      const { rows } = await server.app.services.db.query<{ holdId: string; sections: number; rows: number; numbers: number[] }>(
        `SELECT s.hold_id AS "holdId", count(DISTINCT s.section_id)::int AS sections, count(DISTINCT s.row_index)::int AS rows,
                array_agg(s.seat_number ORDER BY s.seat_number) AS numbers
           FROM seats s WHERE s.event_id = $1 AND s.status = 'held' GROUP BY s.hold_id`,
        [event.eventId],
      );
      const notSideBySide = rows.filter((r) => r.sections !== 1 || r.rows !== 1 || r.numbers.length !== 2 || r.numbers[1] !== r.numbers[0]! + 1);
      expect(notSideBySide).toEqual([]);
      expect(rows.length).toBe(winners.length);
      const { held } = await seatCounts(server, event.eventId);
      expect(held).toBe(2 * winners.length);
      // Best-available requests for one event choose in turn, so even rows of 30 pack perfectly: every pair is
      // sold, and nobody was turned away while two free seats side by side were left.
      expect(winners.length).toBe(150);
      const { rows: [left] } = await server.app.services.db.query<{ pairs: number }>(
        `SELECT count(*)::int AS pairs FROM seats a JOIN seats b
            ON b.event_id = a.event_id AND b.section_id = a.section_id AND b.row_index = a.row_index AND b.seat_number = a.seat_number + 1
          WHERE a.event_id = $1 AND a.section_id = (SELECT min(id) FROM sections WHERE event_id = $1)
            AND a.status = 'available' AND b.status = 'available'`,
        [event.eventId],
      );
      expect(left!.pairs).toBe(0);
      const after = await server.gql(HOLD_BEST, { input: { eventId: event.id, quantity: 2, sectionId: event.sectionIds[0], adjacent: true } }, await server.token('best-adj-late'));
      console.log(
        `best-available (adjacent) race: ${winners.length} holds of 150 possible, ${300 - held} seats of the section left free, ` +
          `${left!.pairs} free side-by-side pairs left; a later lone request ${after.data?.holdBestAvailable ? 'got a pair' : `failed: ${JSON.stringify(after.errors?.[0]?.extensions)}`}`,
      );
    });
  });

  describe('one caller, 40 concurrent holds (holdSeats and holdBestAvailable) with maxTicketsPerUser 4', () => {
    const sections: SectionSpec[] = [
      { name: 'Cheap', price: 1000, rows: 5, seatsPerRow: 20 },
      { name: 'Dear', price: 9000, rows: 5, seatsPerRow: 20 },
    ];

    /**
     * Fires 20 holdSeats (distinct seats of the Dear section, so they never collide with best-available) and
     * 20 holdBestAvailable (Cheap section only) at once, all as one caller, in a random order.
     */
    async function race(sub: string, sizes: (i: number) => number) {
      const event = await createOnSaleEvent(server, sections, { maxTicketsPerUser: 4 });
      const token = await server.token(sub);
      const specific = Array.from({ length: 20 }, (_, i) => {
        const n = sizes(i);
        return { kind: 'seats' as const, n, ordinals: Array.from({ length: n }, (_, k) => 100 + 2 * i + k) };
      });
      const best = Array.from({ length: 20 }, (_, i) => ({ kind: 'best' as const, n: sizes(i + 1), ordinals: [] as number[] }));
      const requests = shuffle([...specific, ...best], random);
      const responses = await Promise.all(
        requests.map((r) =>
          r.kind === 'seats'
            ? server.gql(HOLD_SEATS, { input: { eventId: event.id, seatIds: r.ordinals.map(event.seatId) } }, token)
            : server.gql(HOLD_BEST, { input: { eventId: event.id, quantity: r.n, sectionId: event.sectionIds[0] } }, token),
        ),
      );
      const outcomes = responses.map((response, i) => outcome(i, response, requests[i]!.kind === 'seats' ? 'holdSeats' : 'holdBestAvailable'));
      expect(outcomes.filter((o) => o.kind === 'unexpected')).toEqual([]);
      const winners = holds(outcomes).map((w) => ({ ...w, owner: `user:${sub}` }));
      const losers = failures(outcomes);
      const total = winners.reduce((sum, w) => sum + w.ordinals.length, 0);

      // Held seats of this caller, straight from the database.
      const { rows: [mine] } = await server.app.services.db.query<{ seats: number; holds: number }>(
        `SELECT (SELECT count(*) FROM seats s JOIN holds h ON h.id = s.hold_id
                  WHERE s.event_id = $1 AND s.status = 'held' AND h.owner = $2)::int AS seats,
                (SELECT count(*) FROM holds WHERE event_id = $1 AND owner = $2 AND status = 'ACTIVE')::int AS holds`,
        [event.eventId, `user:${sub}`],
      );
      expect(mine).toEqual({ seats: total, holds: winners.length });
      expect(total).toBeLessThanOrEqual(4);
      for (const w of winners) expect(w.ordinals.length).toBe(requests[w.index]!.n);
      // Every refusal is LIMIT_EXCEEDED, justified by what was in use then; and since in-use only grows, a
      // refused request must not have fitted even in what is left at the end (no request was refused for nothing).
      const bad = losers.filter((l) => {
        const n = requests[l.index]!.n;
        return l.code !== 'LIMIT_EXCEEDED' || l.extensions.limit !== 4 || !(l.extensions.inUse + n > 4) || !(total + n > 4);
      });
      expect(bad).toEqual([]);
      expect(winners.length + losers.length).toBe(40);
      await expectDatabaseAgrees(event, 200, winners);
      return { winners, losers, total };
    }

    it_('1 or 2 seats a request: never more than 4 seats held, every refusal LIMIT_EXCEEDED', async () => {
      const { winners, total } = await race('greedy-mixed', (i) => 1 + ((i * 7 + SEED) % 2));
      console.log(`limit race (1–2 seats): ${winners.length} holds, ${total} seats`);
    });

    it_('1 seat a request: exactly 4 of 40 succeed, 36 LIMIT_EXCEEDED', async () => {
      const { winners, losers, total } = await race('greedy-single', () => 1);
      expect({ holds: winners.length, refused: losers.length, total }).toEqual({ holds: 4, refused: 36, total: 4 });
    });
  });

  describe('the seats trigger refuses a second live claim, whatever SQL the application sends', () => {
    const sections: SectionSpec[] = [{ name: 'Box', price: 1500, rows: 2, seatsPerRow: 10 }];
    const buggyClaim = `UPDATE seats SET status = 'held', hold_id = gen_random_uuid(), held_until = now() + interval '10 minutes'
                         WHERE event_id = $1 AND ordinal = $2 RETURNING hold_id AS "holdId"`;

    /** The SQLSTATE an update fails with, or the rows it changed. */
    async function attempt(sql: string, params: unknown[]): Promise<{ code: string } | { rowCount: number }> {
      try {
        return { rowCount: (await raw.query(sql, params)).rowCount ?? 0 };
      } catch (error) {
        return { code: String((error as { code?: unknown }).code) };
      }
    }
    const seatRow = async (eventId: number, ordinal: number) =>
      (await raw.query(`SELECT status, hold_id, held_until, booking_id FROM seats WHERE event_id = $1 AND ordinal = $2`, [eventId, ordinal])).rows[0];
    const journal = async (eventId: number) =>
      (await raw.query(
        `SELECT (SELECT seat_map_version FROM event_inventory WHERE event_id = $1) AS version,
                (SELECT available_count FROM event_inventory WHERE event_id = $1) AS available,
                (SELECT count(*) FROM outbox WHERE topic = 'seatMap.' || $1)::int AS outbox`,
        [eventId],
      )).rows[0] as { version: number; available: number; outbox: number };

    it_('refuses with OS001 to claim a live-held or booked seat and changes nothing; a lapsed hold may be re-claimed', async () => {
      const event = await createOnSaleEvent(server, sections);
      const holder = await server.token('trigger-holder');
      const buyer = await server.token('trigger-buyer');
      ok(await server.gql(HOLD_SEATS, { input: { eventId: event.id, seatIds: [event.seatId(0)] } }, holder));
      const bought = ok(await server.gql(HOLD_SEATS, { input: { eventId: event.id, seatIds: [event.seatId(1)] } }, buyer)).holdSeats;
      const booking = ok(await server.gql(CONFIRM, { input: { holdId: bought.id, paymentToken: 'tok_visa', idempotencyKey: randomUUID() } }, buyer)).confirmBooking;
      expect(booking.status).toBe('CONFIRMED');
      ok(await server.gql(HOLD_SEATS, { input: { eventId: event.id, seatIds: [event.seatId(2)] } }, holder));

      const live = await seatRow(event.eventId, 0);
      const booked = await seatRow(event.eventId, 1);
      expect(live).toMatchObject({ status: 'held', booking_id: null });
      expect(booked).toMatchObject({ status: 'booked', hold_id: holdUuid(bought.id), held_until: null });
      const before = await journal(event.eventId);

      // A live hold of another hold id: the unguarded claim, and a "convert" of the seat to a foreign booking.
      expect(await attempt(buggyClaim, [event.eventId, 0])).toEqual({ code: 'OS001' });
      expect(await attempt(`UPDATE seats SET status = 'booked', hold_id = gen_random_uuid(), booking_id = gen_random_uuid(), held_until = NULL
                             WHERE event_id = $1 AND ordinal = 0`, [event.eventId])).toEqual({ code: 'OS001' });
      // A booked seat: claimed for a new hold (clearing the booking), or moved to another booking.
      expect(await attempt(`UPDATE seats SET status = 'held', hold_id = gen_random_uuid(), held_until = now() + interval '10 minutes', booking_id = NULL
                             WHERE event_id = $1 AND ordinal = 1`, [event.eventId])).toEqual({ code: 'OS001' });
      expect(await attempt(`UPDATE seats SET booking_id = gen_random_uuid() WHERE event_id = $1 AND ordinal = 1`, [event.eventId])).toEqual({ code: 'OS001' });
      // The unguarded claim on a booked seat (booking_id left as it is), and rewriting the hold it came from.
      expect(await attempt(buggyClaim, [event.eventId, 1])).toEqual({ code: 'OS001' });
      expect(await attempt(`UPDATE seats SET hold_id = gen_random_uuid() WHERE event_id = $1 AND ordinal = 1`, [event.eventId])).toEqual({ code: 'OS001' });

      expect(await seatRow(event.eventId, 0)).toEqual(live);
      expect(await seatRow(event.eventId, 1)).toEqual(booked);
      expect(await journal(event.eventId)).toEqual(before);

      // Seat 2's hold lapses (same hold, so allowed); then anyone may claim it.
      expect(await attempt(`UPDATE seats SET held_until = now() - interval '1 minute' WHERE event_id = $1 AND ordinal = 2`, [event.eventId])).toEqual({ rowCount: 1 });
      const { rows: [reclaimed] } = await raw.query(buggyClaim, [event.eventId, 2]);
      expect(await seatRow(event.eventId, 2)).toMatchObject({ status: 'held', hold_id: reclaimed.holdId, booking_id: null });
      expect(await journal(event.eventId)).toEqual(before); // held → held changes no status: no new version
    });

    it_('200 concurrent unguarded claims on one seat: exactly one succeeds, 199 fail with OS001', async () => {
      const event = await createOnSaleEvent(server, sections);
      const ordinal = 10;
      const before = await journal(event.eventId);
      // Keep the seat's row locked while the claims pile up behind it, so that the first wave is decided by
      // re-checking the row after another claim committed (READ COMMITTED's re-check), not by a plain read.
      const blocker = new pg.Client({ connectionString: server.app.services.config.databaseUrl });
      await blocker.connect();
      try {
        await blocker.query('BEGIN');
        await blocker.query('SELECT 1 FROM seats WHERE event_id = $1 AND ordinal = $2 FOR UPDATE', [event.eventId, ordinal]);
        const claims = Promise.allSettled(Array.from({ length: 200 }, () => raw.query(buggyClaim, [event.eventId, ordinal])));
        let waiting = 0;
        for (let tries = 0; tries < 1000 && waiting < RAW_POOL; tries++) {
          await new Promise((resolve) => setTimeout(resolve, 20));
          const { rows } = await server.app.services.db.query<{ n: number }>(
            `SELECT count(*)::int AS n FROM pg_stat_activity
              WHERE datname = current_database() AND application_name = 'holds-race-test' AND wait_event_type = 'Lock'`,
          );
          waiting = rows[0]!.n;
        }
        expect(waiting, 'claims waiting on the seat row').toBe(RAW_POOL);
        await blocker.query('COMMIT');
        const results = await claims;

        const won = results.filter((r): r is PromiseFulfilledResult<pg.QueryResult> => r.status === 'fulfilled');
        const lost = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
        const lostCodes = new Map<string, number>();
        for (const r of lost) {
          const code = String((r.reason as { code?: unknown }).code);
          lostCodes.set(code, (lostCodes.get(code) ?? 0) + 1);
        }
        expect(Object.fromEntries(lostCodes)).toEqual({ OS001: 199 });
        expect(won.map((r) => r.value.rowCount)).toEqual([1]);
        const winner = won[0]!.value.rows[0].holdId as string;
        expect(await seatRow(event.eventId, ordinal)).toMatchObject({ status: 'held', hold_id: winner, booking_id: null });
        expect(await journal(event.eventId)).toEqual({ version: before.version + 1, available: before.available - 1, outbox: before.outbox + 1 });
      } finally {
        await blocker.end();
      }
    });
  });
});
