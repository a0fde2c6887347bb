// Waitlist offers while other transactions claim seats nearby, on real Postgres only: the claims are row locks
// held by a second session during the release, which the embedded database (one session) cannot have. The
// single-session behaviour of offers is in waitlist.test.ts, in both modes.
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ok, startTestServer, type TestServer } from './helpers/harness.js';
import { createOnSaleEvent, HOLD_SEATS, RELEASE, type TestEvent } from './helpers/write-path.js';
import { ENTRIES, JOIN_WAITLIST, type Entry } from './helpers/waitlist.js';

/** Two sections of two rows of four: ordinals 0-7 and 8-15. */
const TWO_SECTIONS = [
  { name: 'A', price: 5000, rows: 2, seatsPerRow: 4 },
  { name: 'B', price: 3000, rows: 2, seatsPerRow: 4 },
];

describe('waitlist offers against concurrent claims (postgres)', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer('postgres', { SWEEP_INTERVAL_MS: '0' });
  });
  afterAll(() => server?.stop());

  const db = () => server.app.services.db;
  const unique = (name: string) => `${name}-${randomUUID().slice(0, 8)}`;
  const as = (user: string) => server.token(user);
  const hold = async (event: TestEvent, ordinals: number[], user: string) =>
    ok(await server.gql(HOLD_SEATS, { input: { eventId: event.id, seatIds: ordinals.map(event.seatId) } }, await as(user))).holdSeats as { id: string };
  const join = async (user: string, event: TestEvent, quantity: number) =>
    ok(await server.gql(JOIN_WAITLIST, { input: { eventId: event.id, quantity } }, await as(user)));
  const entryOf = async (user: string, event: TestEvent) =>
    (ok(await server.gql(ENTRIES, { eventId: event.id }, await as(user))).viewer.waitlistEntries as Entry[])[0]!;
  const release = async (holdId: string, user: string) => ok(await server.gql(RELEASE, { id: holdId }, await as(user)));
  /**
   * Sets the seats below `below` held (by no hold of ours) or available, straight in SQL: nobody may join a
   * waitlist while seats are free, and seats freed this way are offered to nobody, as seats a hold batch is
   * about to claim would not be.
   */
  const setSeats = (event: TestEvent, status: 'held' | 'available', below: number) =>
    db().query(
      `UPDATE seats SET status = $2, hold_id = CASE WHEN $2 = 'held' THEN gen_random_uuid() END,
              held_until = CASE WHEN $2 = 'held' THEN now() + interval '1 hour' END
        WHERE event_id = $1 AND ordinal < $3`,
      [event.eventId, status, below],
    );
  /** Releases `holdId` while another session holds row locks on the seats below `below`, as a hold batch's window does. */
  const releaseWhileClaimed = (event: TestEvent, below: number, holdId: string, owner: string) =>
    db().transaction(async (tx) => {
      const { rowCount } = await tx.query(`SELECT 1 FROM seats WHERE event_id = $1 AND ordinal < $2 FOR UPDATE`, [event.eventId, below]);
      expect(rowCount).toBe(below);
      await release(holdId, owner);
    });

  it('offers the freed seat when every better free seat is being claimed by another transaction', async () => {
    const event = await createOnSaleEvent(server, TWO_SECTIONS);
    const [holder, waiter] = [unique('holder'), unique('waiter')];
    const held = await hold(event, [15], holder);
    await setSeats(event, 'held', 15);
    await join(waiter, event, 1);
    await setSeats(event, 'available', 15);
    await releaseWhileClaimed(event, 15, held.id, holder);
    expect(await entryOf(waiter, event)).toMatchObject({ state: 'OFFERED', offer: { seats: [{ ordinal: 15, status: 'HELD' }] } });
    // No seat in two live claims (holds and bookings), in the database.
    const { rows } = await db().query<{ ordinal: number }>(
      `SELECT o AS ordinal FROM (
         SELECT unnest(ordinals) AS o FROM holds WHERE event_id = $1 AND status = 'ACTIVE' AND expires_at > now()
         UNION ALL SELECT unnest(ordinals) FROM bookings WHERE event_id = $1 AND status IN ('PENDING_PAYMENT', 'CONFIRMED')) c
        GROUP BY o HAVING count(*) > 1`,
      [event.eventId],
    );
    expect(rows).toEqual([]);
  });

  it('offers a freed seat to a one-seat entry behind a full window of two-seat entries whose second seat is being claimed', async () => {
    const event = await createOnSaleEvent(server, TWO_SECTIONS);
    const holder = unique('holder');
    const held = await hold(event, [15], holder);
    await setSeats(event, 'held', 15);
    // 25 pairs first (more than a one-seat freeing looks at: 22), then one single.
    for (let i = 0; i < 25; i++) await join(unique(`pair${i}`), event, 2);
    const single = unique('single');
    await join(single, event, 1);
    // Seat 0 free again, but being claimed by another transaction while seat 15 is released: no pair can be served.
    await setSeats(event, 'available', 1);
    await releaseWhileClaimed(event, 1, held.id, holder);
    expect(await entryOf(single, event)).toMatchObject({ state: 'OFFERED', offer: { seats: [{ ordinal: 15, status: 'HELD' }] } });
    const { rows } = await db().query<{ n: number }>(
      `SELECT count(*)::int AS n FROM waitlist_entries WHERE event_id = $1 AND quantity = 2 AND state = 'WAITING'`,
      [event.eventId],
    );
    expect(rows[0]!.n).toBe(25);
  });
});
