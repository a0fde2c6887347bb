// A small on-sale surge in the suite: 300 fans and 30 watchers against two gateway processes and a worker process
// on real Postgres and a Redis of its own, a gated 200-seat event; one gateway is SIGKILLed and Redis restarted
// mid-sale. Every invariant of npm run bench:onsale must hold (timings are the benchmark's business).
import { describe, expect, it } from 'vitest';
import { runSurge } from '../bench/surge/surge.js';
import { TEST_DATABASE_URL } from './helpers/services.js';

describe('the on-sale surge, small', () => {
  it('holds every invariant through a gateway SIGKILL and a Redis restart: no seat twice, no charge without a ticket, the raffle order, every watcher current', async () => {
    const result = await runSurge({
      fans: 300,
      watchers: 30,
      layout: { sections: 2, rows: 5, seatsPerRow: 20 },
      gateways: 2,
      // Two, as in bench:onsale: their reports are merged.
      loadGenerators: 2,
      admissionsPerMinute: 6_000,
      joinWindowMs: 4_000,
      holdDurationSeconds: 60,
      maxTicketsPerUser: 4,
      // Room for a lapsed hold or two (60 s each) to pass through the waitlist.
      maxSaleSeconds: 240,
      killGatewayAt: 0.2,
      restartRedisAt: 0.4,
      // No one abandons a hold here: its expiry would hold the sell-out back for the minimum hold (60 s). Refunds
      // free seats for the waitlist instead (expiry into the waitlist: tests/waitlist.test.ts, and bench:onsale).
      personas: { visa: 0.6, declined: 0.1, abandon: 0, async: 0.1, refund: 0.2 },
      waitlistShare: 0.5,
      compiled: false,
      databaseUrl: TEST_DATABASE_URL,
      database: `onsale_surge_${process.pid}`,
      redisPort: 16_000 + (process.pid % 1_000),
      basePort: 17_000 + (process.pid % 1_000) * 4,
      poolSize: 4,
      coalesceMs: 100,
      quiet: true,
      log: () => {},
    });
    expect(result.violations).toEqual(Object.fromEntries(Object.keys(result.violations).map((name) => [name, { count: 0, examples: [] }])));
    expect(result.raffle).toMatchObject({ ok: true });
    expect(result.watchers).toMatchObject({ watchers: 30, matching: 30 });
    expect(Object.values(result.invariants).every(Boolean)).toBe(true);
    // The surge did what it says: it sold out through both faults, and fans went through every path.
    expect(result.faults.map((fault) => fault.what)).toEqual(['SIGKILL gateway-2', 'Redis killed and restarted']);
    expect(result.sellOutSeconds, JSON.stringify({ unsold: result.unsold, outcomes: result.outcomes, errors: result.errors, faults: result.faults })).not.toBeNull();
    expect(result.failovers + result.reconnects).toBeGreaterThan(0);
    for (const outcome of ['visa: CONFIRMED', 'declined: CONFIRMED', 'async: CONFIRMED', 'refund: REFUNDED', 'offer: CONFIRMED']) {
      expect(result.outcomes[outcome], outcome).toBeGreaterThan(0);
    }
  }, 420_000);
});
