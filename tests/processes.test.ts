// Gateways without background work (WORKERS=off) beside a worker process (`npm run worker`) on one Postgres and
// one Redis: the worker relays the gateways' notifications, sweeps their expired holds (offering the seats to the
// waitlist) and answers its health routes; the compiled production entry starts and serves.
import { execFileSync, spawn } from 'node:child_process';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../server/config.js';
import { startWorkerApp, type WorkerApp } from '../server/worker-app.js';
import { ok, startTestServer, type TestServer } from './helpers/harness.js';
import { watch } from './helpers/realtime.js';
import { TEST_REDIS_URL } from './helpers/services.js';
import { ENTRIES, JOIN_WAITLIST } from './helpers/waitlist.js';
import { createOnSaleEvent, HOLD_SEATS, lapseHolds, RELEASE } from './helpers/write-path.js';

const HOLD_UPDATED = `subscription($id: ID!) { holdUpdated(id: $id) { id status } }`;

describe('a gateway with WORKERS=off and a worker process', () => {
  let gateway: TestServer;
  let worker: WorkerApp;

  beforeAll(async () => {
    gateway = await startTestServer('postgres', { WORKERS: 'off' });
    const config = loadConfig({ NODE_ENV: 'test', PORT: '0', HOST: '127.0.0.1', DATABASE_URL: gateway.databaseUrl, REDIS_URL: TEST_REDIS_URL, SWEEP_INTERVAL_MS: '100' });
    worker = await startWorkerApp(config, { redisPrefix: gateway.redisPrefix, log: pino({ level: 'silent' }) });
  });
  afterAll(async () => {
    await worker?.stop();
    await gateway?.stop();
  });

  it('the gateway runs no background work; the worker relays its notifications', async () => {
    expect(await gateway.app.relay.runOnce()).toBe(0);
    expect(gateway.app.relay.leading).toBe(false);
    const event = await createOnSaleEvent(gateway, [{ name: 'Floor', price: 1000, rows: 1, seatsPerRow: 4 }]);
    const alice = await gateway.token('proc-alice');
    const hold = ok(await gateway.gql(HOLD_SEATS, { input: { eventId: event.id, seatIds: [event.seatId(0)] } }, alice)).holdSeats;
    const client = gateway.ws({ authorization: `Bearer ${alice}` });
    const updates = watch<{ holdUpdated: { status: string } }>(client, HOLD_UPDATED, { id: hold.id });
    await new Promise((resolve) => setTimeout(resolve, 200)); // subscribed
    ok(await gateway.gql(RELEASE, { id: hold.id }, alice));
    await updates.until((results) => results.some((r) => r.holdUpdated.status === 'RELEASED'));
    expect(worker.workers.relay.leading).toBe(true);
    updates.stop();
  });

  it('the worker sweeps expired holds and offers their seats to the waitlist', async () => {
    const event = await createOnSaleEvent(gateway, [{ name: 'Floor', price: 1000, rows: 1, seatsPerRow: 4 }]);
    const [bob, carol] = await Promise.all([gateway.token('proc-bob'), gateway.token('proc-carol')]);
    ok(await gateway.gql(HOLD_SEATS, { input: { eventId: event.id, seatIds: [event.seatId(1)] } }, bob));
    ok(await gateway.gql(JOIN_WAITLIST, { input: { eventId: event.id, quantity: 1, seatId: event.seatId(1) } }, carol));
    await lapseHolds(gateway, event.eventId);
    let state = '';
    for (let i = 0; i < 100 && state !== 'OFFERED'; i++) {
      await new Promise((resolve) => setTimeout(resolve, 50));
      state = ok(await gateway.gql(ENTRIES, { eventId: event.id }, carol)).viewer.waitlistEntries[0].state;
    }
    expect(state).toBe('OFFERED');
  });

  it('answers /healthz, /readyz and /metrics', async () => {
    for (const path of ['/healthz', '/readyz', '/metrics']) expect((await fetch(worker.url + path)).status, path).toBe(200);
    expect(await (await fetch(`${worker.url}/metrics`)).text()).toContain('process_cpu_user_seconds_total');
  });

  it('refuses to start without a shared database and Redis', async () => {
    await expect(startWorkerApp(loadConfig({ NODE_ENV: 'test', PORT: '0', DATA_DIR: 'memory' }), { log: pino({ level: 'silent' }) })).rejects.toThrow(
      /DATABASE_URL and REDIS_URL/,
    );
  });
});

describe('the first rush on a fresh server', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer('postgres', { DATABASE_POOL_SIZE: '6' });
  });
  afterAll(() => server?.stop());

  it('opens every pool connection before it is ready', async () => {
    const { rows } = await server.app.services.db.query<{ open: number }>(
      `SELECT count(*)::int AS open FROM pg_stat_activity WHERE datname = current_database() AND application_name = 'onsale'`,
    );
    expect(rows[0]!.open).toBeGreaterThanOrEqual(6);
  });

  it('a new event\'s seats are in the planner statistics at once, and best available walks the index', async () => {
    const event = await createOnSaleEvent(server, [{ name: 'Bowl', price: 1000, rows: 40, seatsPerRow: 50 }]);
    const db = server.app.services.db;
    const { rows } = await db.query<{ analyzed: boolean }>(`SELECT last_analyze IS NOT NULL AS analyzed FROM pg_stat_user_tables WHERE relname = 'seats'`);
    expect(rows[0]!.analyzed).toBe(true);
    // The generic plan of the best-available read (what a prepared statement ends up with) must not sort the event.
    const plan = await db.transaction(async (tx) => {
      await tx.query(`SET LOCAL plan_cache_mode = force_generic_plan`);
      await tx.query(`PREPARE best_probe(int, int[], int) AS SELECT s.ordinal FROM seats s WHERE s.event_id = $1 AND s.status = 'available'
        AND ($2::int[] IS NULL OR s.section_id = ANY($2::int[])) ORDER BY s.rank LIMIT $3`);
      const explained = await tx.query<{ 'QUERY PLAN': string }>(`EXPLAIN EXECUTE best_probe(${event.eventId}, NULL, 6)`);
      await tx.query('DEALLOCATE best_probe');
      return explained.rows.map((row) => row['QUERY PLAN']).join('\n');
    });
    expect(plan).not.toMatch(/Sort/);
    expect(plan).toMatch(/Index Scan using seats_best_available_idx/);
  });
});

describe('the compiled production entry', () => {
  it('builds with `npm run build` and serves the embedded demo with `node dist/server/index.js`', async () => {
    execFileSync('npm', ['run', 'build'], { stdio: 'pipe' });
    const child = spawn(process.execPath, ['dist/server/index.js'], {
      env: { ...process.env, NODE_ENV: 'development', PORT: '4391', HOST: '127.0.0.1', DATA_DIR: 'memory', LOG_LEVEL: 'warn', DATABASE_URL: '', REDIS_URL: '' },
      stdio: 'ignore',
    });
    try {
      let ready = false;
      for (let i = 0; i < 120 && !ready; i++) {
        await new Promise((resolve) => setTimeout(resolve, 250));
        ready = await fetch('http://127.0.0.1:4391/readyz').then((r) => r.ok, () => false);
      }
      expect(ready).toBe(true);
      const response = await fetch('http://127.0.0.1:4391/graphql', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ query: '{ event(id: "evt_1") { capacity } }' }),
      });
      expect(await response.json()).toEqual({ data: { event: { capacity: 20_000 } } });
    } finally {
      child.kill('SIGTERM');
    }
  }, 120_000);
});
