// The waiting room end to end over GraphQL, on real Postgres and Redis and on the embedded mode: joins, the
// raffle, first come first served after it, paced admission, the gate on holds, leaving, expiry and notices.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { codes, modes, ok, startTestServer, type TestServer } from './helpers/harness.js';
import { watch } from './helpers/realtime.js';
import { createOnSaleEvent, HOLD_BEST, HOLD_SEATS, seatCounts } from './helpers/write-path.js';
import {
  admit,
  createGatedEvent,
  JOIN,
  joinAll,
  LEAVE,
  QUEUE_TICKET_UPDATED,
  recomputeRaffle,
  ROOM,
  sha256,
  ticketOf,
  untilOnSale,
  type Ticket,
} from './helpers/waiting-room.js';

describe.each(modes)('the waiting room (%s)', (mode) => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer(mode, { ADMISSION_INTERVAL_MS: '0' });
  });
  afterAll(() => server?.stop());

  const ticketCount = async (eventId: number) =>
    (await server.app.services.db.query<{ n: number }>(`SELECT count(*)::int AS n FROM queue_tickets WHERE event_id = $1`, [eventId])).rows[0]!.n;

  it('refuses bad joins with their codes, and writes nothing', async () => {
    const alice = await server.token('alice');
    const gated = await createGatedEvent(server, { onSaleInMs: 3_600_000 });
    expect(codes(await server.gql(JOIN, { eventId: gated.id }))).toEqual(['UNAUTHENTICATED']);
    expect(codes(await server.gql(JOIN, { eventId: 'evt_999999' }, alice))).toEqual(['NOT_FOUND']);
    expect(codes(await server.gql(JOIN, { eventId: 'nope' }, alice))).toEqual(['BAD_USER_INPUT']);
    // Not gated: hold directly.
    const open = await createOnSaleEvent(server, [{ name: 'A', price: 1, rows: 1, seatsPerRow: 2 }]);
    const notGated = await server.gql(JOIN, { eventId: open.id }, alice);
    expect(codes(notGated)).toEqual(['BAD_USER_INPUT']);
    expect(notGated.errors![0]!.message).toMatch(/no waiting room/);
    // Before the waiting room opens.
    const later = await createGatedEvent(server, { onSaleInMs: 7_200_000 });
    await server.app.services.db.query(`UPDATE events SET wr_opens_at = now() + interval '1 hour' WHERE id = $1`, [later.eventId]);
    const early = await server.gql(JOIN, { eventId: later.id }, alice);
    expect(codes(early)).toEqual(['EVENT_NOT_ON_SALE']);
    expect(early.errors![0]!.message).toMatch(/opens at/);
    // Cancelled, and started.
    const cancelled = await createGatedEvent(server);
    await server.app.services.db.query(`UPDATE events SET cancelled_at = now() WHERE id = $1`, [cancelled.eventId]);
    expect(codes(await server.gql(JOIN, { eventId: cancelled.id }, alice))).toEqual(['EVENT_NOT_ON_SALE']);
    const started = await createGatedEvent(server);
    await server.app.services.db.query(`UPDATE events SET starts_at = now() - interval '1 minute' WHERE id = $1`, [started.eventId]);
    expect(codes(await server.gql(JOIN, { eventId: started.id }, alice))).toEqual(['EVENT_NOT_ON_SALE']);
    for (const event of [gated, open, later, cancelled, started]) expect(await ticketCount(event.eventId)).toBe(0);
  });

  it('gives one ticket per caller: joining twice, even at once, returns the same ticket in the pre-queue', async () => {
    const event = await createGatedEvent(server, { onSaleInMs: 3_600_000 });
    const [first, ...again] = await joinAll(server, event, Array(20).fill('twice'));
    expect(first).toMatchObject({ state: 'PRE_QUEUE', position: null, estimatedWaitSeconds: null, admissionToken: null, eventId: event.id });
    expect(first!.id).toMatch(/^qt_[0-9a-f-]{36}$/);
    for (const ticket of again) expect(ticket.id).toBe(first!.id);
    expect(await ticketCount(event.eventId)).toBe(1);
    const room = ok(await server.gql(ROOM, { id: event.id })).event.waitingRoom;
    expect(room).toMatchObject({ admissionsPerMinute: 1, admissionWindowSeconds: 900, raffleSeed: null, challengeRequired: false });
  });

  it('raffles the pre-queue at the on-sale into the order anyone can recompute, then serves later joiners first come first served', async () => {
    // One admission a minute: nobody is admitted by the clock while the test runs, only by `admit`.
    const event = await createGatedEvent(server, { onSaleInMs: 1_500, admissionsPerMinute: 1 });
    const users = Array.from({ length: 40 }, (_, i) => `fan-${mode}-${i}`);
    const pre = await joinAll(server, event, users);
    expect(pre.every((t) => t.state === 'PRE_QUEUE')).toBe(true);
    await untilOnSale(server, event);
    await server.app.admitter.runOnce();
    const room = ok(await server.gql(ROOM, { id: event.id })).event.waitingRoom;
    expect(room.raffleSeed).toMatch(/^[0-9a-f]{64}$/);
    expect(sha256(room.raffleSeed)).toBe(room.raffleCommitment);
    const tokens = await Promise.all(users.map((id) => server.token(id)));
    const after = await Promise.all(tokens.map((token) => ticketOf(server, event, token)));
    expect(after.every((t) => t!.state === 'WAITING')).toBe(true);
    const served = [...after].sort((a, b) => a!.position! - b!.position!).map((t) => t!.id);
    expect(after.map((t) => t!.position).sort((a, b) => a! - b!)).toEqual(users.map((_, i) => i + 1));
    expect(served).toEqual(recomputeRaffle(room.raffleSeed, pre.map((t) => t.id)));
    expect(after[0]!.estimatedWaitSeconds).toBe(after[0]!.position! * 60);

    // After the raffle: first come, first served, behind the pre-queue.
    const late: Ticket[] = [];
    for (let i = 0; i < 5; i++) late.push(...(await joinAll(server, event, [`late-${mode}-${i}`])));
    expect(late.map((t) => [t.state, t.position])).toEqual(late.map((_, i) => ['WAITING', 41 + i]));
    // The raffle runs once: another round changes nothing.
    await server.app.admitter.runOnce();
    expect(ok(await server.gql(ROOM, { id: event.id })).event.waitingRoom.raffleSeed).toBe(room.raffleSeed);

    // Admission follows the line: the first three, with tokens that hold seats.
    await admit(server, event, 3);
    const admitted = await Promise.all(tokens.map((token) => ticketOf(server, event, token)));
    const inOrder = served.map((id) => admitted.find((t) => t!.id === id)!);
    expect(inOrder.slice(0, 3).every((t) => t.state === 'ADMITTED' && t.admissionToken && t.admissionExpiresAt)).toBe(true);
    expect(inOrder.slice(3).every((t) => t.state === 'WAITING')).toBe(true);
    expect(inOrder.slice(3).map((t) => t.position)).toEqual(inOrder.slice(3).map((_, i) => i + 1));
    const first = tokens[admitted.indexOf(inOrder[0]!)]!;
    const hold = await server.gql(HOLD_BEST, { input: { eventId: event.id, quantity: 2, admissionToken: inOrder[0]!.admissionToken } }, first);
    expect(ok(hold).holdBestAvailable.status).toBe('ACTIVE');
  });

  it('refuses holds on a gated event without a valid admission of the caller\'s own for that event: NOT_ADMITTED, nothing held', async () => {
    const event = await createGatedEvent(server);
    const other = await createGatedEvent(server);
    const [alice, bob] = await Promise.all([server.token('gate-alice'), server.token('gate-bob')]);
    await joinAll(server, event, ['gate-alice']);
    await joinAll(server, other, ['gate-alice']);
    await server.app.admitter.runOnce();
    await admit(server, event, 1);
    await admit(server, other, 1);
    const token = (await ticketOf(server, event, alice))!.admissionToken!;
    const otherToken = (await ticketOf(server, other, alice))!.admissionToken!;
    const expired = server.app.services.admissions.sign({ id: '00000000-0000-4000-8000-000000000000', eventId: event.eventId, owner: 'user:gate-alice', admissionExpiresAt: new Date(Date.now() - 1_000) });
    const forged = token.slice(0, -4) + (token.endsWith('AAAA') ? 'BBBB' : 'AAAA');
    const hold = (admissionToken: string | undefined, as: string) =>
      server.gql(HOLD_SEATS, { input: { eventId: event.id, seatIds: [event.seatId(0)], admissionToken } }, as);
    for (const [why, attempt] of [
      ['no token', hold(undefined, alice)],
      ['a forged token', hold(forged, alice)],
      ['an expired token', hold(expired, alice)],
      ["someone else's token", hold(token, bob)],
      ["another event's token", hold(otherToken, alice)],
      ['garbage', hold('x'.repeat(5_000), alice)],
    ] as const) {
      expect(codes(await attempt), why).toEqual(['NOT_ADMITTED']);
    }
    expect(codes(await server.gql(HOLD_BEST, { input: { eventId: event.id, quantity: 1, admissionToken: otherToken } }, alice))).toEqual(['NOT_ADMITTED']);
    expect((await seatCounts(server, event.eventId)).held).toBe(0);
    expect(ok(await hold(token, alice)).holdSeats.status).toBe('ACTIVE');
  });

  it('lets a fan leave once; the line skips them without spending an admission on them', async () => {
    const event = await createGatedEvent(server);
    const users = ['leave-a', 'leave-b', 'leave-c'];
    await server.app.admitter.runOnce();
    for (const user of users) await joinAll(server, event, [user]);
    const [a, b, c] = await Promise.all(users.map((id) => server.token(id)));
    const stranger = await server.token('leave-stranger');
    expect(codes(await server.gql(LEAVE, { eventId: event.id }, stranger))).toEqual(['NOT_FOUND']);
    expect(ok(await server.gql(LEAVE, { eventId: event.id }, a)).leaveWaitingRoom.state).toBe('LEFT');
    expect(codes(await server.gql(LEAVE, { eventId: event.id }, a))).toEqual(['NOT_FOUND']);
    expect(codes(await server.gql(LEAVE, { eventId: event.id }))).toEqual(['UNAUTHENTICATED']);
    // b still counts a in front until the line reaches a.
    expect((await ticketOf(server, event, b!))!.position).toBe(2);
    const result = await admit(server, event, 1);
    expect(result).toMatchObject({ admitted: 1, removed: 2 });
    expect((await ticketOf(server, event, b!))!.state).toBe('ADMITTED');
    expect((await ticketOf(server, event, c!))).toMatchObject({ state: 'WAITING', position: 1 });
    // Joining again after leaving queues anew, at the back.
    const again = ok(await server.gql(JOIN, { eventId: event.id }, a)).joinWaitingRoom;
    expect(again).toMatchObject({ state: 'WAITING', position: 2 });
  });

  it('builds the line again when the one it finds is not its own (a database made afresh with the same event ids)', async () => {
    const event = await createGatedEvent(server);
    await server.app.admitter.runOnce();
    const [ticket] = await joinAll(server, event, ['stale-a']);
    // Another deployment's line under the same key: another epoch, other tickets.
    await server.app.services.queueLine.build(event.eventId, [{ ticketId: 'someone-else', score: 1 }], 'not-ours');
    expect((await admit(server, event, 0)).built).toBe(true);
    expect(await server.app.services.queueLine.head(event.eventId, 0, 10)).toEqual([ticket!.id.slice(3)]);
    expect((await admit(server, event, 0)).built).toBe(false);
  });

  it('expires an unused admission at its window and gives its slot to the next in line', async () => {
    const event = await createGatedEvent(server);
    await server.app.admitter.runOnce();
    for (const user of ['exp-a', 'exp-b']) await joinAll(server, event, [user]);
    const [a, b] = await Promise.all(['exp-a', 'exp-b'].map((id) => server.token(id)));
    await admit(server, event, 1);
    const admitted = (await ticketOf(server, event, a!))!;
    expect(admitted.state).toBe('ADMITTED');
    await server.app.services.db.query(`UPDATE queue_tickets SET admission_expires_at = now() - interval '1 second' WHERE event_id = $1 AND state = 'ADMITTED'`, [event.eventId]);
    // EXPIRED at once, before any tick records it.
    expect((await ticketOf(server, event, a!))!).toMatchObject({ state: 'EXPIRED', admissionToken: null });
    const result = await admit(server, event, 0);
    expect(result).toMatchObject({ expired: 1, admitted: 1 });
    expect((await ticketOf(server, event, b!))!.state).toBe('ADMITTED');
  });

  it('tells a watcher over graphql-ws: PRE_QUEUE, WAITING with its position after the raffle, new positions, ADMITTED with its token', async () => {
    const event = await createGatedEvent(server, { onSaleInMs: 1_500 });
    const users = Array.from({ length: 6 }, (_, i) => `watch-${mode}-${i}`);
    await joinAll(server, event, users);
    const tokens = await Promise.all(users.map((id) => server.token(id)));
    const watchers = tokens.map((token) => watch<{ queueTicketUpdated: Ticket }>(server.ws({ authorization: `Bearer ${token}` }), QUEUE_TICKET_UPDATED, { eventId: event.id }));
    for (const w of watchers) await w.until((r) => r.length >= 1);
    expect(watchers.every((w) => w.results[0]!.queueTicketUpdated.state === 'PRE_QUEUE')).toBe(true);
    await untilOnSale(server, event);
    await server.app.admitter.runOnce();
    for (const w of watchers) await w.until((r) => r.at(-1)!.queueTicketUpdated.state === 'WAITING');
    const byPosition = [...watchers].sort((x, y) => x.results.at(-1)!.queueTicketUpdated.position! - y.results.at(-1)!.queueTicketUpdated.position!);
    expect(byPosition.map((w) => w.results.at(-1)!.queueTicketUpdated.position)).toEqual([1, 2, 3, 4, 5, 6]);
    await admit(server, event, 2);
    await byPosition[0]!.until((r) => r.at(-1)!.queueTicketUpdated.state === 'ADMITTED');
    await byPosition[1]!.until((r) => r.at(-1)!.queueTicketUpdated.state === 'ADMITTED');
    expect(byPosition[0]!.results.at(-1)!.queueTicketUpdated.admissionToken).toBeTruthy();
    await byPosition[5]!.until((r) => r.at(-1)!.queueTicketUpdated.position === 4);
    // A watcher without a ticket is told to join first.
    const stranger = watch(server.ws({ authorization: `Bearer ${await server.token('no-ticket')}` }), QUEUE_TICKET_UPDATED, { eventId: event.id });
    await expect(stranger.until(() => false, 5_000)).rejects.toThrow(/join its waiting room first/);
    for (const w of watchers) w.stop();
  });
});
