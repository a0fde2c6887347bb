// Redis restarts while subscribers are connected and changes are being committed: nothing committed meanwhile is
// lost to them. The test stops the local Redis server (`redis-cli shutdown nosave`) and starts it again as CI
// does (.ci/run), so every other user of that Redis sees an outage: vitest.config.ts runs this file on its own,
// after all the others (project `redis-restart`, sequence.groupOrder 1). It restarts the Redis that
// TEST_REDIS_URL names (by default 127.0.0.1:6379, which CI starts), and refuses one that is not on this machine.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { App } from '../server/app.js';
import { ok, startPeer, startTestServer, type TestServer } from './helpers/harness.js';
import { eventually, expectConsecutive, HOLD_UPDATED, SEAT_MAP_CHANGED, watch, type HoldUpdated, type SeatMapChanged } from './helpers/realtime.js';
import { answers, assertLocalRedis, startRedis, stopRedis } from './helpers/redis-control.js';
import { TEST_REDIS_URL, testRedis } from './helpers/services.js';
import { createOnSaleEvent, HOLD_SEATS, RELEASE, type TestEvent } from './helpers/write-path.js';

const REALTIME_ENV = { SEAT_MAP_COALESCE_MS: '0', RELAY_POLL_INTERVAL_MS: '200', SWEEP_INTERVAL_MS: '0' };

describe('a Redis restart in the middle of a sale', () => {
  let server: TestServer;
  let publisher: App | undefined;
  const db = () => server.app.services.db;

  beforeAll(async () => {
    assertLocalRedis();
    server = await startTestServer('postgres', REALTIME_ENV);
  });

  afterAll(async () => {
    // Whatever happened, Redis is left running for whoever comes next.
    if (!answers()) await startRedis();
    await publisher?.stop();
    await server?.stop();
  });

  const version = async (event: TestEvent) =>
    (await db().query<{ v: number }>(`SELECT seat_map_version AS v FROM event_inventory WHERE event_id = $1`, [event.eventId])).rows[0]!.v;
  const unpublished = async () => (await db().query<{ n: number }>(`SELECT count(*)::int AS n FROM outbox WHERE published_at IS NULL`)).rows[0]!.n;
  /** How many connections Redis has subscribed to `topic`'s channel. */
  async function numsub(topic: string): Promise<number> {
    const redis = testRedis();
    try {
      const reply = (await redis.call('PUBSUB', 'NUMSUB', server.redisPrefix + topic)) as [string, number | string];
      return Number(reply[1]);
    } finally {
      redis.disconnect();
    }
  }

  let seat = 0;
  const holdNext = async (event: TestEvent) => {
    const token = await server.token(`restart-${seat}`);
    return ok(await server.gql(HOLD_SEATS, { input: { eventId: event.id, seatIds: [event.seatId(seat++)] } }, token)).holdSeats;
  };

  it('shows subscribers every change committed while Redis was down, in order, and publishes every row', async () => {
    const events = [
      await createOnSaleEvent(server, [{ name: 'Floor', price: 5_000, rows: 4, seatsPerRow: 25 }]),
      await createOnSaleEvent(server, [{ name: 'Floor', price: 5_000, rows: 4, seatsPerRow: 25 }]),
    ];
    const owner = await server.token('restart-owner');
    const watched = ok(await server.gql(HOLD_SEATS, { input: { eventId: events[0]!.id, seatIds: [events[0]!.seatId(99)] } }, owner)).holdSeats;

    // Subscribers connected before the outage, each live: a seat-map watcher of each event, and the hold's owner.
    const seatMaps = events.map((event) => watch<SeatMapChanged>(server.ws(), SEAT_MAP_CHANGED, { eventId: event.id }));
    const holdWatch = watch<HoldUpdated>(server.ws({ authorization: `Bearer ${owner}` }), HOLD_UPDATED, { id: watched.id });
    await eventually(
      'the seat-map watchers live',
      async () => {
        for (const [i, event] of events.entries()) if (!seatMaps[i]!.results.length) await holdNext(event);
        return seatMaps.map((w) => w.results.length);
      },
      (counts) => counts.every((n) => n > 0),
      15_000,
      100,
    );
    await eventually('the hold watcher subscribed in Redis', () => numsub(`hold.${watched.id.slice('hold_'.length)}`), (n) => n === 1);
    await eventually('every outbox row published', unpublished, (n) => n === 0);
    const before = await Promise.all(events.map(version));
    await Promise.all(seatMaps.map((w, i) => w.until((results) => results.at(-1)!.seatMapChanged.version >= before[i]!)));
    const seen = seatMaps.map((w) => w.results.length);

    await stopRedis();
    try {
      // While Redis is down, the write path goes on: holds on both events, and the watched hold released.
      for (let i = 0; i < 5; i++) for (const event of events) await holdNext(event);
      ok(await server.gql(RELEASE, { id: watched.id }, owner));
      // Nothing can be published: the rows wait in the outbox.
      await expect(server.app.services.pubsub.ping()).rejects.toThrow();
      expect(await unpublished()).toBeGreaterThanOrEqual(11);
      // (The release frees a seat of the first event: one more version there.)
      expect(await Promise.all(events.map(version))).toEqual([before[0]! + 6, before[1]! + 5]);
    } finally {
      await startRedis();
    }

    // Every change committed meanwhile reaches the subscribers connected before, versions consecutive …
    const afterRestart = await Promise.all(events.map(version));
    for (const [i, w] of seatMaps.entries()) {
      await w.until((results) => results.at(-1)!.seatMapChanged.version >= afterRestart[i]!);
      const shown = w.results.slice(seen[i]! - 1);
      expectConsecutive(shown);
      expect(shown.at(-1)!.seatMapChanged.version).toBe(afterRestart[i]);
      expect(w.errors).toEqual([]);
    }
    await holdWatch.until((results) => results.some((r) => r.holdUpdated.status === 'RELEASED'));
    expect(holdWatch.results.map((r) => r.holdUpdated.status)).toEqual(['RELEASED']);
    // … every row is published once Redis is back …
    await eventually('every outbox row published', unpublished, (n) => n === 0);
    // … and the feeds are subscribed again (one subscription per event), so what comes next arrives live.
    for (const event of events) expect(await numsub(`seatMap.${event.eventId}`)).toBe(1);
    await holdNext(events[1]!);
    const last = await version(events[1]!);
    await seatMaps[1]!.until((results) => results.at(-1)!.seatMapChanged.version >= last);
    expectConsecutive(seatMaps[1]!.results.slice(seen[1]! - 1));
  });

  it('reads back from the outbox, after the reconnect, what was committed meanwhile, before any relay publishes it', async () => {
    // Deterministic where the test above leaves it to timing: the subscriber's connection is back, but the relay
    // (here: another instance) has not published the backlog yet, so the feed must read it from the outbox.
    const event = await createOnSaleEvent(server, [{ name: 'Floor', price: 5_000, rows: 4, seatsPerRow: 25 }]);
    const w = watch<SeatMapChanged>(server.ws(), SEAT_MAP_CHANGED, { eventId: event.id });
    await eventually('the watcher live', async () => (w.results.length ? 1 : (await holdNext(event), 0)), (n) => n > 0, 15_000, 100);
    await eventually('every outbox row published', unpublished, (n) => n === 0);
    const before = await version(event);
    await w.until((results) => results.at(-1)!.seatMapChanged.version >= before);
    const seen = w.results.length;

    // This instance stops publishing: from now on, only the instance started below does.
    await server.app.relay.stop();
    await stopRedis();
    try {
      for (let i = 0; i < 4; i++) await holdNext(event);
    } finally {
      await startRedis();
    }
    const meanwhile = await version(event);
    expect(meanwhile).toBe(before + 4);
    await w.until((results) => results.at(-1)!.seatMapChanged.version >= meanwhile);
    // They came from the outbox: nobody has published them.
    expect(await unpublished()).toBe(4);
    expectConsecutive(w.results.slice(seen - 1));

    // Another instance (same database, same prefix) publishes the backlog: the feed has seen those ids, and drops them.
    publisher = await startPeer(server, REALTIME_ENV);
    await eventually('every outbox row published', unpublished, (n) => n === 0);
    await holdNext(event);
    const last = await version(event);
    await w.until((results) => results.at(-1)!.seatMapChanged.version >= last);
    const shown = w.results.slice(seen - 1);
    expectConsecutive(shown);
    expect(shown.at(-1)!.seatMapChanged.version).toBe(last);
    expect(w.errors).toEqual([]);
  });
});
