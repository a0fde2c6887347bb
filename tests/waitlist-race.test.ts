// The waitlist under concurrency, in both modes: 100 holds released at once with 100 entries waiting (seats,
// sections, the event; one or two seats each). Checked in the database afterwards: every freed seat went to one
// entry at most, nobody got more or other than they asked for, no seat is in two holds, the order of joining was
// kept, and no entry waits while seats it could have are free.
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { modes, ok, startTestServer, type TestServer } from './helpers/harness.js';
import { createOnSaleEvent, HOLD_SEATS, RELEASE } from './helpers/write-path.js';
import { JOIN_WAITLIST } from './helpers/waitlist.js';

/** 100 seats: two sections of five rows of ten (ordinals 0-49 and 50-99). */
const SECTIONS = [
  { name: 'Left', price: 5000, rows: 5, seatsPerRow: 10 },
  { name: 'Right', price: 5000, rows: 5, seatsPerRow: 10 },
];

/** A fixed shuffle, so that every run joins in the same mixed order. */
function shuffled<T>(items: T[], seed = 7): T[] {
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    seed = (seed * 1_103_515_245 + 12_345) % 2_147_483_648;
    const j = seed % (i + 1);
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

interface EntryRow {
  seq: number;
  owner: string;
  quantity: number;
  sectionId: number | null;
  seatOrdinal: number | null;
  state: string;
  offer: number[] | null;
  offerOwner: string | null;
  offerStatus: string | null;
}

describe.each(modes)('waitlist races (%s)', (mode) => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer(mode, { SWEEP_INTERVAL_MS: '0' });
  });
  afterAll(() => server?.stop());

  it('100 concurrent releases with 100 entries waiting: each freed seat to one entry, in join order, as asked', async () => {
    const event = await createOnSaleEvent(server, SECTIONS);
    const db = server.app.services.db;
    const run = randomUUID().slice(0, 8);
    const holders = await Promise.all(Array.from({ length: 100 }, (_, i) => server.token(`holder-${run}-${i}`)));
    const holds = await Promise.all(
      holders.map(async (token, ordinal) => ok(await server.gql(HOLD_SEATS, { input: { eventId: event.id, seatIds: [event.seatId(ordinal)] } }, token)).holdSeats.id as string),
    );
    // 34 seat entries (distinct seats), 36 section entries (18 per section) and 30 event entries, of 1 or 2
    // seats: at most 49 entries match any one seat, within what one release looks at.
    const wishes = shuffled(
      Array.from({ length: 100 }, (_, i) => {
        if (i < 34) return { quantity: 1, seatId: event.seatId((i * 3) % 100) };
        if (i < 70) return { quantity: 1 + (i % 2), sectionId: event.sectionIds[i % 2] };
        return { quantity: 1 + (i % 2) };
      }),
    );
    for (const [i, wish] of wishes.entries()) {
      ok(await server.gql(JOIN_WAITLIST, { input: { eventId: event.id, ...wish } }, await server.token(`waiter-${run}-${i}`)));
    }

    const released = await Promise.all(holds.map((id, i) => server.gql(RELEASE, { id }, holders[i])));
    expect(released.filter((r) => r.errors).map((r) => r.errors)).toEqual([]);

    const { rows: entries } = await db.query<EntryRow>(
      `SELECT w.seq::int AS seq, w.owner, w.quantity, w.section_id AS "sectionId", w.seat_ordinal AS "seatOrdinal", w.state,
              h.ordinals AS offer, h.owner AS "offerOwner", h.status AS "offerStatus"
         FROM waitlist_entries w LEFT JOIN holds h ON h.id = w.offer_hold_id WHERE w.event_id = $1 ORDER BY w.seq`,
      [event.eventId],
    );
    const { rows: seats } = await db.query<{ ordinal: number; sectionId: number; status: string; holdId: string | null; holdOwner: string | null }>(
      `SELECT s.ordinal, s.section_id AS "sectionId", s.status, s.hold_id AS "holdId", h.owner AS "holdOwner"
         FROM seats s LEFT JOIN holds h ON h.id = s.hold_id AND h.status = 'ACTIVE' WHERE s.event_id = $1 ORDER BY s.ordinal`,
      [event.eventId],
    );
    const sectionOf = new Map(seats.map((seat) => [seat.ordinal, seat.sectionId]));
    const serves = (entry: EntryRow, ordinal: number) =>
      entry.seatOrdinal !== null ? ordinal === entry.seatOrdinal : entry.sectionId === null || sectionOf.get(ordinal) === entry.sectionId;

    // Every original hold is released; a seat is held only by a live offer hold, or free.
    const { rows: originals } = await db.query<{ status: string; n: number }>(
      `SELECT status, count(*)::int AS n FROM holds WHERE id = ANY($1::uuid[]) GROUP BY status`,
      [holds.map((id) => id.slice(5))],
    );
    expect(originals).toEqual([{ status: 'RELEASED', n: 100 }]);
    const offered = entries.filter((entry) => entry.state === 'OFFERED');
    expect(offered.length).toBeGreaterThan(30);
    expect(entries.every((entry) => entry.state === 'OFFERED' || entry.state === 'WAITING')).toBe(true);
    // Each offer: the entry's owner's, live, exactly the quantity asked for, and only seats the entry waits for.
    for (const entry of offered) {
      expect(entry.offerOwner).toBe(entry.owner);
      expect(entry.offerStatus).toBe('ACTIVE');
      expect(entry.offer!.length).toBe(entry.quantity);
      expect(entry.offer!.every((ordinal) => serves(entry, ordinal)), `entry ${entry.seq}`).toBe(true);
    }
    // No seat twice: the offers' seats are distinct, and each is held by exactly that offer in the seats table.
    const offeredSeats = offered.flatMap((entry) => entry.offer!.map((ordinal) => [ordinal, entry.owner] as const));
    expect(new Set(offeredSeats.map(([ordinal]) => ordinal)).size).toBe(offeredSeats.length);
    for (const [ordinal, owner] of offeredSeats) expect(seats[ordinal]).toMatchObject({ status: 'held', holdOwner: owner });
    expect(seats.filter((seat) => seat.status === 'held').length).toBe(offeredSeats.length);
    expect(seats.filter((seat) => seat.status === 'booked').length).toBe(0);
    // Join order: no single-seat entry still waits behind an offer of a seat it would have taken.
    for (const waiting of entries.filter((entry) => entry.state === 'WAITING' && entry.quantity === 1)) {
      const overtaken = offered.filter((entry) => entry.seq > waiting.seq && entry.offer!.some((ordinal) => serves(waiting, ordinal)));
      expect(overtaken.map((entry) => entry.seq), `entry ${waiting.seq} overtaken`).toEqual([]);
    }
    // Nobody waits while enough of the seats they want are free.
    const free = seats.filter((seat) => seat.status === 'available').map((seat) => seat.ordinal);
    for (const waiting of entries.filter((entry) => entry.state === 'WAITING')) {
      expect(free.filter((ordinal) => serves(waiting, ordinal)).length, `entry ${waiting.seq} waits with seats free`).toBeLessThan(waiting.quantity);
    }
  });

  it('the same hold released 20 times at once: one RELEASED, the others HOLD_NOT_ACTIVE, its seat offered once', async () => {
    const event = await createOnSaleEvent(server, SECTIONS);
    const run = randomUUID().slice(0, 8);
    const [owner, fan] = await Promise.all([server.token(`owner-${run}`), server.token(`fan-${run}`)]);
    const hold = ok(await server.gql(HOLD_SEATS, { input: { eventId: event.id, seatIds: [event.seatId(7)] } }, owner)).holdSeats.id as string;
    ok(await server.gql(JOIN_WAITLIST, { input: { eventId: event.id, quantity: 1, seatId: event.seatId(7) } }, fan));
    const answers = await Promise.all(Array.from({ length: 20 }, () => server.gql(RELEASE, { id: hold }, owner)));
    const outcomes = answers.map((a) => a.errors?.[0]?.extensions?.code ?? a.data?.releaseHold.status);
    expect(outcomes.filter((o) => o === 'RELEASED')).toHaveLength(1);
    expect(outcomes.filter((o) => o === 'HOLD_NOT_ACTIVE')).toHaveLength(19);
    const { rows } = await server.app.services.db.query<{ owner: string; n: number }>(
      `SELECT owner, count(*)::int AS n FROM holds WHERE event_id = $1 AND status = 'ACTIVE' GROUP BY owner`,
      [event.eventId],
    );
    expect(rows).toEqual([{ owner: `user:fan-${run}`, n: 1 }]);
  });
});
