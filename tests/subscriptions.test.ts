// Real-time: seat-map deltas, per-user streams and their authorization, over a real graphql-ws client, in both
// modes (Postgres + Redis, embedded + in-process).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeAvailability } from '../domain/seat-map/seat-map.rules.js';
import { watchHold } from '../domain/watch.service.js';
import { codes, modes, ok, startTestServer, type TestServer } from './helpers/harness.js';
import { eventually, watch, type Watch } from './helpers/realtime.js';
import { testRedis } from './helpers/services.js';
import { CONFIRM, createOnSaleEvent, HOLD_BEST, HOLD_SEATS, RELEASE } from './helpers/write-path.js';

const SEAT_MAP_CHANGED = `subscription($eventId: ID!) { seatMapChanged(eventId: $eventId) { eventId fromVersion version changes { seatId ordinal status } } }`;
const HOLD_UPDATED = `subscription($id: ID!) { holdUpdated(id: $id) { id status expiresAt } }`;
const BOOKING_UPDATED = `subscription($id: ID!) { bookingUpdated(id: $id) { id status } }`;
const SEAT_MAP = `query($id: ID!) { event(id: $id) { seatMap { version seatCount availability } } }`;

/** Resolves once the subscription is live on the server: a change made now will reach it. */
async function live(server: TestServer, w: Watch<unknown>, poke: () => Promise<void>) {
  // A subscription starts asynchronously (Redis SUBSCRIBE); poke until something arrives.
  for (let attempt = 0; attempt < 50 && !w.results.length && !w.errors.length; attempt++) {
    await poke();
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  void server;
}

/**
 * Resolves once the server listens on `topic`: with Redis, once Redis counts its subscriber (a per-user stream
 * subscribes asynchronously, and a change made before would be missed); in-process, after a moment.
 */
async function subscribed(server: TestServer, topic: string): Promise<void> {
  if (!server.redisPrefix) return void (await new Promise((resolve) => setTimeout(resolve, 300)));
  const redis = testRedis();
  try {
    const channel = server.redisPrefix + topic;
    await eventually(`a subscriber on ${channel}`, async () => Number(((await redis.call('PUBSUB', 'NUMSUB', channel)) as [string, number])[1]), (n) => n >= 1);
  } finally {
    redis.disconnect();
  }
}

type Delta = { seatMapChanged: { eventId: string; fromVersion: number; version: number; changes: { seatId: string; ordinal: number; status: string }[] } };

describe.each(modes)('subscriptions (%s)', (mode) => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer(mode, { SEAT_MAP_COALESCE_MS: '50', HOLD_EXPIRY_WARNING_SECONDS: '1', SWEEP_INTERVAL_MS: '0' });
  });
  afterAll(() => server?.stop());

  it('shows a watcher every change of a 1,000-seat sell-out, versions consecutive, ending at the seat map', async () => {
    const event = await createOnSaleEvent(server, [{ name: 'Floor', price: 5_000, rows: 20, seatsPerRow: 50 }], { maxTicketsPerUser: 4 });
    const w = watch<Delta>(server.ws(), SEAT_MAP_CHANGED, { eventId: event.id });
    // A first hold that arrives shows that the subscription is live; everything after it must arrive.
    let pokes = 0;
    await live(server, w, async () => {
      await server.gql(HOLD_BEST, { input: { eventId: event.id, quantity: 2 } }, await server.token(`poke-${pokes++}`));
    });
    expect(w.results.length).toBeGreaterThan(0);
    const before = ok(await server.gql(SEAT_MAP, { id: event.id })).event.seatMap;
    await w.until((results) => results.at(-1)!.seatMapChanged.version === before.version);
    const seen = w.results.length;

    // 250 callers × 2 holds of 2 seats, concurrently, until the event is sold out (the pokes took a few).
    const tokens = await Promise.all(Array.from({ length: 250 }, (_, i) => server.token(`sellout-${i + 1}`)));
    await Promise.all(
      tokens.map(async (token) => {
        for (let i = 0; i < 2; i++) await server.gql(HOLD_BEST, { input: { eventId: event.id, quantity: 2 } }, token);
      }),
    );
    const after = ok(await server.gql(SEAT_MAP, { id: event.id })).event.seatMap;
    expect(after.version).toBeGreaterThan(before.version);
    await w.until((results) => results.at(-1)!.seatMapChanged.version >= after.version);

    // Consecutive: each message starts where the last one ended, from the map fetched before the rush.
    const deltas = w.results.slice(seen).map((result) => result.seatMapChanged);
    expect(deltas[0]!.fromVersion).toBe(before.version + 1);
    deltas.slice(1).forEach((delta, i) => expect(delta.fromVersion).toBe(deltas[i]!.version + 1));
    expect(deltas.at(-1)!.version).toBe(after.version);
    // Applying every message to that map gives the map now: sold out.
    const statuses: string[] = decodeAvailability(before.availability, 1_000).map((available) => (available ? 'AVAILABLE' : 'HELD'));
    for (const delta of deltas) for (const change of delta.changes) statuses[change.ordinal] = change.status;
    expect(statuses.map((status) => status === 'AVAILABLE')).toEqual(decodeAvailability(after.availability, 1_000));
    expect(statuses.filter((status) => status === 'AVAILABLE')).toHaveLength(0);
    // Coalesced: far fewer messages than holds.
    expect(deltas.length).toBeLessThan(500);
    w.stop();
  });

  it('tells the owner of a hold when it is released, and only the owner may watch it', async () => {
    const event = await createOnSaleEvent(server, [{ name: 'Stalls', price: 3_000, rows: 2, seatsPerRow: 10 }]);
    const owner = await server.token('hold-owner');
    const hold = ok(await server.gql(HOLD_SEATS, { input: { eventId: event.id, seatIds: [event.seatId(0)] } }, owner)).holdSeats;

    const other = watch(server.ws({ authorization: `Bearer ${await server.token('someone-else')}` }), HOLD_UPDATED, { id: hold.id });
    await other.until(() => other.errors.length > 0).catch(() => {});
    expect(other.errors.map((e: any) => e.extensions?.code)).toEqual(['FORBIDDEN']);
    const anonymous = watch(server.ws(), HOLD_UPDATED, { id: hold.id });
    await anonymous.until(() => false, 2_000).catch(() => {});
    expect(anonymous.errors.map((e: any) => e.extensions?.code)).toEqual(['UNAUTHENTICATED']);
    const unknown = watch(server.ws({ authorization: `Bearer ${owner}` }), HOLD_UPDATED, { id: 'hold_00000000-0000-4000-8000-000000000000' });
    await unknown.until(() => false, 2_000).catch(() => {});
    expect(unknown.errors.map((e: any) => e.extensions?.code)).toEqual(['NOT_FOUND']);

    const mine = watch<{ holdUpdated: { id: string; status: string } }>(server.ws({ authorization: `Bearer ${owner}` }), HOLD_UPDATED, { id: hold.id });
    await subscribed(server, `hold.${hold.id.slice(5)}`);
    ok(await server.gql(RELEASE, { id: hold.id }, owner));
    await mine.until((results) => results.some((r) => r.holdUpdated.status === 'RELEASED'));
    expect(mine.results.map((r) => r.holdUpdated.status)).toEqual(['RELEASED']);
  });

  it('tells the owner of a hold when it turns into a booking: CONVERTED', async () => {
    const event = await createOnSaleEvent(server, [{ name: 'Stalls', price: 3_000, rows: 2, seatsPerRow: 10 }]);
    const owner = await server.token('converting-owner');
    const hold = ok(await server.gql(HOLD_SEATS, { input: { eventId: event.id, seatIds: [event.seatId(3)] } }, owner)).holdSeats;
    const mine = watch<{ holdUpdated: { status: string } }>(server.ws({ authorization: `Bearer ${owner}` }), HOLD_UPDATED, { id: hold.id });
    // The subscription starts asynchronously: give it a moment before the change it must see.
    await subscribed(server, `hold.${hold.id.slice(5)}`);
    ok(await server.gql(CONFIRM, { input: { holdId: hold.id, paymentToken: 'tok_visa', idempotencyKey: 'convert-1' } }, owner));
    await mine.until((results) => results.some((r) => r.holdUpdated.status === 'CONVERTED'));
    expect(mine.results.map((r) => r.holdUpdated.status)).toEqual(['CONVERTED']);
  });

  it('warns the owner before a hold expires and says EXPIRED at the expiry, with no sweep', async () => {
    const event = await createOnSaleEvent(server, [{ name: 'Stalls', price: 3_000, rows: 2, seatsPerRow: 10 }]);
    const owner = await server.token('expiring-owner');
    const hold = ok(await server.gql(HOLD_SEATS, { input: { eventId: event.id, seatIds: [event.seatId(1)] } }, owner)).holdSeats;
    // The hold now runs out in 2.5 s; this server warns 1 s ahead (HOLD_EXPIRY_WARNING_SECONDS) and sweeps never.
    await server.app.services.db.query(
      `WITH h AS (UPDATE holds SET expires_at = now() + interval '2.5 s' WHERE id = $1 RETURNING id)
       UPDATE seats SET held_until = now() + interval '2.5 s' WHERE hold_id IN (SELECT id FROM h)`,
      [hold.id.slice(5)],
    );
    const mine = watch<{ holdUpdated: { status: string; expiresAt: string } }>(server.ws({ authorization: `Bearer ${owner}` }), HOLD_UPDATED, { id: hold.id });
    await mine.until((results) => results.some((r) => r.holdUpdated.status === 'EXPIRED'), 10_000);
    expect(mine.results.map((r) => r.holdUpdated.status)).toEqual(['ACTIVE', 'EXPIRED']);
  });

  it('sets no timer for a hold stream that could not listen', async () => {
    const event = await createOnSaleEvent(server, [{ name: 'Stalls', price: 3_000, rows: 1, seatsPerRow: 4 }]);
    const owner = 'unlistened-owner';
    const hold = ok(await server.gql(HOLD_SEATS, { input: { eventId: event.id, seatIds: [event.seatId(0)] } }, await server.token(owner))).holdSeats;
    const { services } = server.app;
    const pubsub = { ...services.pubsub, listen: () => Promise.reject(new Error('pub/sub unreachable')) };
    // The warning is due 100 ms from now: a timer set before listening would fire into a stream that was never
    // made (and the process would end on the unhandled rejection).
    const holdExpiryWarningSeconds = (new Date(hold.expiresAt).getTime() - Date.now() - 100) / 1000;
    const caller = { kind: 'user', userId: owner, admin: false } as const;
    await expect(watchHold({ ...services, pubsub, config: { holdExpiryWarningSeconds } }, caller, hold.id)).rejects.toThrow('pub/sub unreachable');
    await new Promise((resolve) => setTimeout(resolve, 400));
  });

  it('tells the owner of a booking each change of its status', async () => {
    const event = await createOnSaleEvent(server, [{ name: 'Stalls', price: 3_000, rows: 2, seatsPerRow: 10 }]);
    const owner = await server.token('booking-owner');
    const hold = ok(await server.gql(HOLD_SEATS, { input: { eventId: event.id, seatIds: [event.seatId(2)] } }, owner)).holdSeats;
    const booking = ok(await server.gql(CONFIRM, { input: { holdId: hold.id, paymentToken: 'tok_async', idempotencyKey: 'sub-1' } }, owner)).confirmBooking;
    expect(booking.status).toBe('PENDING_PAYMENT');
    const mine = watch<{ bookingUpdated: { status: string } }>(server.ws({ authorization: `Bearer ${owner}` }), BOOKING_UPDATED, { id: booking.id });
    const stranger = watch(server.ws({ authorization: `Bearer ${await server.token('stranger')}` }), BOOKING_UPDATED, { id: booking.id });
    await mine.until((results) => results.some((r) => r.bookingUpdated.status === 'CONFIRMED'), 15_000);
    await stranger.until(() => false, 500).catch(() => {});
    expect(stranger.errors.map((e: any) => e.extensions?.code)).toEqual(['FORBIDDEN']);
  });

  it('answers an unknown or malformed event with NOT_FOUND or BAD_USER_INPUT', async () => {
    const client = server.ws();
    const unknown = watch(client, SEAT_MAP_CHANGED, { eventId: 'evt_999999' });
    const malformed = watch(client, SEAT_MAP_CHANGED, { eventId: 'nonsense' });
    await Promise.all([unknown, malformed].map((w) => w.until(() => false, 2_000).catch(() => {})));
    expect(unknown.errors.map((e: any) => e.extensions?.code)).toEqual(['NOT_FOUND']);
    expect(malformed.errors.map((e: any) => e.extensions?.code)).toEqual(['BAD_USER_INPUT']);
    void codes;
  });
});
