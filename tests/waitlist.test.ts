// Waitlists, in both modes: joining (per seat, per section, for the event), offers made in the transaction that
// frees the seats (release, sweep, refund), the chain of offers as they expire, adjacency, strict join order,
// limit skips, leaving, gated events, notices over graphql-ws, and every bad input. The race is in
// waitlist-race.test.ts.
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { codes, modes, ok, startTestServer, type TestServer } from './helpers/harness.js';
import { watch } from './helpers/realtime.js';
import { CANCEL, CONFIRM, createOnSaleEvent, HOLD_SEATS, lapseHolds, RELEASE, type TestEvent } from './helpers/write-path.js';
import { ENTRIES, JOIN_WAITLIST, LEAVE_WAITLIST, WAITLIST_UPDATED, type Entry } from './helpers/waitlist.js';

/** Two sections of two rows of four: ordinals 0-7 are "A" (rows 0 and 1), 8-15 are "B". */
const TWO_SECTIONS = [
  { name: 'A', price: 5000, rows: 2, seatsPerRow: 4 },
  { name: 'B', price: 3000, rows: 2, seatsPerRow: 4 },
];

describe.each(modes)('waitlist (%s)', (mode) => {
  let server: TestServer;
  const tokens = new Map<string, string>();
  const as = async (user: string) => tokens.get(user) ?? tokens.set(user, await server.token(user)).get(user)!;

  beforeAll(async () => {
    server = await startTestServer(mode, { SWEEP_INTERVAL_MS: '0', PAYMENT_ASYNC_DELAY_MS: '0' });
  });
  afterAll(() => server?.stop());

  const db = () => server.app.services.db;
  const unique = (name: string) => `${name}-${randomUUID().slice(0, 8)}`;
  const hold = async (event: TestEvent, ordinals: number[], user: string) =>
    ok(await server.gql(HOLD_SEATS, { input: { eventId: event.id, seatIds: ordinals.map(event.seatId) } }, await as(user))).holdSeats as { id: string };
  const join = async (user: string, input: Record<string, unknown>) => server.gql(JOIN_WAITLIST, { input }, await as(user));
  const joined = async (user: string, input: Record<string, unknown>) => ok(await join(user, input)).joinWaitlist as Entry;
  const entriesOf = async (user: string, event: TestEvent) => ok(await server.gql(ENTRIES, { eventId: event.id }, await as(user))).viewer.waitlistEntries as Entry[];
  const entryOf = async (user: string, event: TestEvent) => (await entriesOf(user, event))[0]!;
  const release = async (holdId: string, user: string) => ok(await server.gql(RELEASE, { id: holdId }, await as(user)));
  const sweep = async (event: TestEvent) => {
    await lapseHolds(server, event.eventId);
    await server.app.sweeper.runOnce();
  };
  const pay = async (holdId: string, user: string, paymentToken = 'tok_visa') =>
    server.gql(CONFIRM, { input: { holdId, paymentToken, idempotencyKey: randomUUID() } }, await as(user));
  /** Every hold in the database with its seats: no seat may be in two live holds, or in a hold and a booking. */
  const liveClaims = async (event: TestEvent) =>
    (await db().query<{ ordinal: number; claims: number }>(
      `SELECT o AS ordinal, count(*)::int AS claims FROM (
         SELECT unnest(ordinals) AS o FROM holds WHERE event_id = $1 AND status = 'ACTIVE' AND expires_at > now()
         UNION ALL SELECT unnest(ordinals) FROM bookings WHERE event_id = $1 AND status IN ('PENDING_PAYMENT', 'CONFIRMED')) c
        GROUP BY o HAVING count(*) > 1`,
      [event.eventId],
    )).rows;
  const holdRow = async (holdId: string) =>
    (await db().query<{ owner: string; ordinals: number[]; status: string; seconds: number }>(
      `SELECT owner, ordinals, status, extract(epoch FROM expires_at - created_at)::int AS seconds FROM holds WHERE id = $1`,
      [holdId.slice(5)],
    )).rows[0]!;

  it('a chain: A holds a seat, B and C wait for it; A lapses → B is offered; B lapses → C; C books → ACCEPTED, B EXPIRED', async () => {
    const event = await createOnSaleEvent(server, TWO_SECTIONS, { holdDurationSeconds: 300 });
    const [a, b, c] = [unique('a'), unique('b'), unique('c')];
    await hold(event, [0], a);
    const bEntry = await joined(b, { eventId: event.id, quantity: 1, seatId: event.seatId(0) });
    const cEntry = await joined(c, { eventId: event.id, quantity: 1, seatId: event.seatId(0) });
    expect(bEntry).toMatchObject({ state: 'WAITING', position: 1, quantity: 1, seatId: event.seatId(0), sectionId: event.sectionIds[0], offer: null });
    expect(cEntry).toMatchObject({ state: 'WAITING', position: 2 });
    expect(bEntry.id).toMatch(/^wl_[0-9a-f-]{36}$/);

    await sweep(event);
    const offered = await entryOf(b, event);
    expect(offered).toMatchObject({ state: 'OFFERED', position: 0, offer: { status: 'ACTIVE', seats: [{ ordinal: 0, status: 'HELD' }] } });
    expect(await holdRow(offered.offer!.id)).toMatchObject({ owner: `user:${b}`, ordinals: [0], status: 'ACTIVE', seconds: 300 });
    expect(await entryOf(c, event)).toMatchObject({ state: 'WAITING', position: 1 });

    await sweep(event);
    expect(await entryOf(b, event)).toMatchObject({ state: 'EXPIRED', offer: { status: 'EXPIRED' } });
    const cOffered = await entryOf(c, event);
    expect(cOffered).toMatchObject({ state: 'OFFERED', offer: { seats: [{ ordinal: 0 }] } });

    expect(ok(await pay(cOffered.offer!.id, c)).confirmBooking.status).toBe('CONFIRMED');
    expect(await entryOf(c, event)).toMatchObject({ state: 'ACCEPTED', offer: { status: 'CONVERTED' } });
    expect(await entryOf(b, event)).toMatchObject({ state: 'EXPIRED' });
    const { rows } = await db().query<{ state: string; n: number }>(
      `SELECT state, count(*)::int AS n FROM waitlist_entries WHERE event_id = $1 GROUP BY state ORDER BY state`,
      [event.eventId],
    );
    expect(rows).toEqual([{ state: 'ACCEPTED', n: 1 }, { state: 'EXPIRED', n: 1 }]);
    expect(await liveClaims(event)).toEqual([]);
  });

  it('quantity-2 section entries get seats side by side when a row has them, else whichever fit', async () => {
    const event = await createOnSaleEvent(server, TWO_SECTIONS);
    const [x, first, second] = [unique('x'), unique('first'), unique('second')];
    const single0 = await hold(event, [0], x);
    const pair = await hold(event, [5, 6], x);
    const single2 = await hold(event, [2], x);
    await hold(event, [1, 3, 4, 7], x);
    const section = event.sectionIds[0];
    await joined(first, { eventId: event.id, quantity: 2, sectionId: section });
    await release(single0.id, x); // one seat: not enough for anyone, it stays free
    expect(await entryOf(first, event)).toMatchObject({ state: 'WAITING' });
    await release(pair.id, x); // 0, 5 and 6 free: the pair side by side, not the best two
    expect((await entryOf(first, event)).offer!.seats.map((s) => s.ordinal)).toEqual([5, 6]);
    await joined(second, { eventId: event.id, quantity: 2, sectionId: section });
    await release(single2.id, x); // 0 and 2 free, apart: whichever fit
    expect((await entryOf(second, event)).offer!.seats.map((s) => s.ordinal)).toEqual([0, 2]);
    expect(await liveClaims(event)).toEqual([]);
  });

  it('serves seat, section and event entries in strict join order among those that match', async () => {
    const event = await createOnSaleEvent(server, TWO_SECTIONS, { maxTicketsPerUser: 16 });
    const x = unique('x');
    const holds = [];
    for (let ordinal = 0; ordinal < 16; ordinal++) holds.push(await hold(event, [ordinal], x));
    const [u1, u2, u3, u4] = [unique('u1'), unique('u2'), unique('u3'), unique('u4')];
    const e1 = await joined(u1, { eventId: event.id, quantity: 1, seatId: event.seatId(8) });
    const e2 = await joined(u2, { eventId: event.id, quantity: 1, sectionId: event.sectionIds[0] });
    const e3 = await joined(u3, { eventId: event.id, quantity: 1 });
    const e4 = await joined(u4, { eventId: event.id, quantity: 1, seatId: event.seatId(8) });
    // Ahead and overlapping: u1 none; u2 none (u1 waits in B); u3 u1 and u2; u4 u1 (the same seat) and u3 (anything).
    expect([e1, e2, e3, e4].map((e) => e.position)).toEqual([1, 1, 3, 3]);

    await release(holds[0]!.id, x); // a seat of A: u2 (A) joined before u3 (anything)
    expect((await entryOf(u2, event)).offer!.seats).toEqual([{ ordinal: 0, status: 'HELD' }]);
    expect((await entryOf(u4, event)).position).toBe(3);
    await release(holds[8]!.id, x); // seat 8: u1 before u3 and u4
    expect((await entryOf(u1, event)).offer!.seats).toEqual([{ ordinal: 8, status: 'HELD' }]);
    expect((await entryOf(u4, event)).position).toBe(2);
    await release(holds[9]!.id, x); // seat 9 of B: only u3 matches
    expect((await entryOf(u3, event)).offer!.seats).toEqual([{ ordinal: 9, status: 'HELD' }]);
    expect((await entryOf(u4, event)).position).toBe(1);
    await release(holds[10]!.id, x); // u4 waits for seat 8 only: seat 10 stays free
    expect(await entryOf(u4, event)).toMatchObject({ state: 'WAITING', position: 1 });
    const { rows } = await db().query<{ status: string }>(`SELECT status FROM seats WHERE event_id = $1 AND ordinal = 10`, [event.eventId]);
    expect(rows[0]!.status).toBe('available');
  });

  it('offers the seats of a refund, and of a hold whose payment failed once it expires', async () => {
    const event = await createOnSaleEvent(server, TWO_SECTIONS);
    const [buyer, decliner, waiter1, waiter2] = [unique('buyer'), unique('decliner'), unique('w1'), unique('w2')];
    const bought = await hold(event, [3], buyer);
    const booking = ok(await pay(bought.id, buyer)).confirmBooking;
    const declined = await hold(event, [4], decliner);
    await joined(waiter1, { eventId: event.id, quantity: 1, seatId: event.seatId(3) });
    await joined(waiter2, { eventId: event.id, quantity: 1, seatId: event.seatId(4) });
    ok(await server.gql(CANCEL, { id: booking.id }, await as(buyer)));
    expect((await entryOf(waiter1, event)).offer!.seats).toEqual([{ ordinal: 3, status: 'HELD' }]);
    expect(codes(await pay(declined.id, decliner, 'tok_declined'))).toEqual(['PAYMENT_DECLINED']);
    expect(await entryOf(waiter2, event)).toMatchObject({ state: 'WAITING' }); // the hold is still the decliner's to retry
    await sweep(event);
    expect((await entryOf(waiter2, event)).offer!.seats).toEqual([{ ordinal: 4, status: 'HELD' }]);
  });

  it('skips an entry whose offer would break maxTicketsPerUser, tells it why, and keeps its place', async () => {
    const event = await createOnSaleEvent(server, TWO_SECTIONS, { maxTicketsPerUser: 2 });
    const [x, greedy, next] = [unique('x'), unique('greedy'), unique('next')];
    const taken = await hold(event, [0], x);
    await joined(greedy, { eventId: event.id, quantity: 1, seatId: event.seatId(0) });
    await joined(next, { eventId: event.id, quantity: 1, seatId: event.seatId(0) });
    await hold(event, [6, 7], greedy); // at the limit now
    await release(taken.id, x);
    const skipped = await entryOf(greedy, event);
    expect(skipped).toMatchObject({ state: 'WAITING', skipReason: 'LIMIT_EXCEEDED', position: 1 });
    expect(skipped.skippedAt).toBeTruthy();
    expect((await entryOf(next, event)).offer!.seats).toEqual([{ ordinal: 0, status: 'HELD' }]);
  });

  it('counts a fan\'s tickets after the release that frees the seats; refuses waiting for a seat you hold', async () => {
    const event = await createOnSaleEvent(server, TWO_SECTIONS, { maxTicketsPerUser: 2 });
    const fan = unique('fan');
    for (const pair of [[1, 2], [3, 4], [5, 6], [7]]) await hold(event, pair, unique('x'));
    const mine = await hold(event, [0], fan); // section A is full now
    expect(codes(await join(fan, { eventId: event.id, quantity: 1, seatId: event.seatId(0) }))).toEqual(['BAD_USER_INPUT']);
    await joined(fan, { eventId: event.id, quantity: 1, sectionId: event.sectionIds[0] });
    await hold(event, [8], fan); // at the limit, counting seat 0
    await release(mine.id, fan); // seat 0 is free, and no longer the fan's: 1 + 1 is within the limit
    const entry = await entryOf(fan, event);
    expect(entry).toMatchObject({ state: 'OFFERED', skipReason: null, offer: { seats: [{ ordinal: 0, status: 'HELD' }] } });
  });

  it('leaving while OFFERED passes the seats to the next entry at once; leaving twice or another\'s entry changes nothing', async () => {
    const event = await createOnSaleEvent(server, TWO_SECTIONS);
    const [x, b, c] = [unique('x'), unique('b'), unique('c')];
    const taken = await hold(event, [1], x);
    await joined(b, { eventId: event.id, quantity: 1, seatId: event.seatId(1) });
    const cEntry = await joined(c, { eventId: event.id, quantity: 1, seatId: event.seatId(1) });
    await release(taken.id, x);
    const offered = await entryOf(b, event);
    expect(offered.state).toBe('OFFERED');

    expect(codes(await server.gql(LEAVE_WAITLIST, { id: offered.id }, await as(c)))).toEqual(['NOT_FOUND']);
    const left = ok(await server.gql(LEAVE_WAITLIST, { id: offered.id }, await as(b))).leaveWaitlist;
    expect(left).toMatchObject({ state: 'LEFT', offer: { status: 'RELEASED' } });
    expect((await entryOf(c, event)).offer!.seats).toEqual([{ ordinal: 1, status: 'HELD' }]);
    expect(codes(await server.gql(LEAVE_WAITLIST, { id: offered.id }, await as(b)))).toEqual(['BAD_USER_INPUT']);
    expect((await entryOf(b, event)).state).toBe('LEFT');
    expect((await entryOf(c, event)).state).toBe('OFFERED');

    // Releasing an offer declines it too.
    const d = unique('d');
    const cOffer = (await entryOf(c, event)).offer!;
    await joined(d, { eventId: event.id, quantity: 1, seatId: event.seatId(1) });
    await release(cOffer.id, c);
    expect((await entryOf(c, event)).state).toBe('LEFT');
    expect((await entryOf(d, event)).state).toBe('OFFERED');
    // A waiting entry leaves too; joining twice for the same target returns the live entry.
    const e = unique('e');
    const first = await joined(e, { eventId: event.id, quantity: 1, seatId: event.seatId(1) });
    expect((await joined(e, { eventId: event.id, quantity: 1, seatId: event.seatId(1) })).id).toBe(first.id);
    expect(ok(await server.gql(LEAVE_WAITLIST, { id: first.id }, await as(e))).leaveWaitlist.state).toBe('LEFT');
    expect(cEntry.id).not.toBe(first.id);
  });

  it('on a gated event, joining needs the caller\'s admission; the offer is its own admission', async () => {
    const now = Date.now();
    const event = await createOnSaleEvent(server, TWO_SECTIONS, {
      waitingRoom: { opensAt: new Date(now - 7_200_000).toISOString(), admissionsPerMinute: 60 },
    });
    const [x, fan] = [unique('x'), unique('fan')];
    const admission = (user: string) =>
      server.app.services.admissions.sign({ id: randomUUID(), eventId: event.eventId, owner: `user:${user}`, admissionExpiresAt: new Date(now + 600_000) });
    const taken = ok(
      await server.gql(HOLD_SEATS, { input: { eventId: event.id, seatIds: [event.seatId(2)], admissionToken: admission(x) } }, await as(x)),
    ).holdSeats;
    expect(codes(await join(fan, { eventId: event.id, quantity: 1, seatId: event.seatId(2) }))).toEqual(['NOT_ADMITTED']);
    await joined(fan, { eventId: event.id, quantity: 1, seatId: event.seatId(2), admissionToken: admission(fan) });
    await release(taken.id, x);
    const offer = (await entryOf(fan, event)).offer!;
    expect(ok(await pay(offer.id, fan)).confirmBooking.status).toBe('CONFIRMED');
    expect((await entryOf(fan, event)).state).toBe('ACCEPTED');
  });

  it('tells the owner over graphql-ws: OFFERED with the hold, then ACCEPTED', async () => {
    const event = await createOnSaleEvent(server, TWO_SECTIONS);
    const [x, fan] = [unique('x'), unique('fan')];
    const taken = await hold(event, [5], x);
    const entry = await joined(fan, { eventId: event.id, quantity: 1, seatId: event.seatId(5) });
    const client = server.ws({ authorization: `Bearer ${await as(fan)}` });
    const updates = watch<{ waitlistEntryUpdated: Entry }>(client, WAITLIST_UPDATED, { eventId: event.id });
    await updates.until((r) => r.length >= 1);
    expect(updates.results[0]!.waitlistEntryUpdated).toMatchObject({ id: entry.id, state: 'WAITING', position: 1 });
    await release(taken.id, x);
    await updates.until((r) => r.length >= 2);
    const offered = updates.results[1]!.waitlistEntryUpdated;
    expect(offered).toMatchObject({ id: entry.id, state: 'OFFERED', offer: { seats: [{ ordinal: 5, status: 'HELD' }] } });
    ok(await pay(offered.offer!.id, fan));
    await updates.until((r) => r.length >= 3);
    expect(updates.results[2]!.waitlistEntryUpdated).toMatchObject({ id: entry.id, state: 'ACCEPTED' });
    updates.stop();
  });

  it('refuses bad input with its code and changes nothing', async () => {
    const event = await createOnSaleEvent(server, TWO_SECTIONS, { maxTicketsPerUser: 4 });
    const other = await createOnSaleEvent(server, TWO_SECTIONS);
    const past = await createOnSaleEvent(server, TWO_SECTIONS);
    const cancelled = await createOnSaleEvent(server, TWO_SECTIONS);
    const [x, fan] = [unique('x'), unique('fan')];
    await hold(event, [0, 1, 2, 3], x);
    await db().query(`UPDATE events SET starts_at = now() - interval '1 hour', on_sale_at = now() - interval '2 hours' WHERE id = $1`, [past.eventId]);
    await db().query(`UPDATE events SET cancelled_at = now() WHERE id = $1`, [cancelled.eventId]);
    const cases: [string, Record<string, unknown>, string, string?][] = [
      ['quantity 0', { eventId: event.id, quantity: 0 }, 'BAD_USER_INPUT'],
      ['quantity -1', { eventId: event.id, quantity: -1 }, 'BAD_USER_INPUT'],
      ['quantity above the event\'s limit', { eventId: event.id, quantity: 5 }, 'BAD_USER_INPUT'],
      ['a seat with quantity 2', { eventId: event.id, quantity: 2, seatId: event.seatId(0) }, 'BAD_USER_INPUT'],
      ['a seat of another event', { eventId: event.id, quantity: 1, seatId: other.seatId(0) }, 'BAD_USER_INPUT'],
      ['a seat that does not exist', { eventId: event.id, quantity: 1, seatId: event.seatId(99) }, 'BAD_USER_INPUT'],
      ['a malformed seat id', { eventId: event.id, quantity: 1, seatId: 'seat_x' }, 'BAD_USER_INPUT'],
      ['a section of another event', { eventId: event.id, quantity: 1, sectionId: other.sectionIds[0] }, 'BAD_USER_INPUT'],
      ['a seat and a section', { eventId: event.id, quantity: 1, seatId: event.seatId(0), sectionId: event.sectionIds[0] }, 'BAD_USER_INPUT'],
      ['an AVAILABLE seat', { eventId: event.id, quantity: 1, seatId: event.seatId(9) }, 'BAD_USER_INPUT'],
      ['free seats of a section', { eventId: event.id, quantity: 2, sectionId: event.sectionIds[1] }, 'BAD_USER_INPUT'],
      ['an unknown event', { eventId: 'evt_999999', quantity: 1 }, 'NOT_FOUND'],
      ['a past event', { eventId: past.id, quantity: 1 }, 'EVENT_NOT_ON_SALE'],
      ['a cancelled event', { eventId: cancelled.id, quantity: 1 }, 'EVENT_NOT_ON_SALE'],
      ['an anonymous caller', { eventId: event.id, quantity: 1, seatId: event.seatId(0) }, 'UNAUTHENTICATED', 'anonymous'],
    ];
    for (const [why, input, code, who] of cases) {
      const response = who === 'anonymous' ? await server.gql(JOIN_WAITLIST, { input }) : await join(fan, input);
      expect(codes(response), why).toEqual([code]);
    }
    expect(codes(await server.gql(LEAVE_WAITLIST, { id: `wl_${randomUUID()}` }, await as(fan)))).toEqual(['NOT_FOUND']);
    expect(codes(await server.gql(LEAVE_WAITLIST, { id: 'wl_nope' }, await as(fan)))).toEqual(['BAD_USER_INPUT']);
    const { rows } = await db().query<{ n: number }>(`SELECT count(*)::int AS n FROM waitlist_entries WHERE owner = $1`, [`user:${fan}`]);
    expect(rows[0]!.n).toBe(0);
    // LIMIT_EXCEEDED: holding 4 of 4 already.
    expect(codes(await join(x, { eventId: event.id, quantity: 1, seatId: event.seatId(0) }))).toEqual(['LIMIT_EXCEEDED']);
  });
});
