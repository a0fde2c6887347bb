// The on-sale surge, end to end (npm run bench:onsale, and small in tests/surge.test.ts): a Redis of its own, N
// gateways (WORKERS=off) and a worker process on a fresh database, a gated event, and fans and watchers in
// load-generator processes (bench/surge/load.ts, fans.ts). Mid-sale one gateway is killed and Redis restarted; at the end
// the invariants are read from the database and the watchers' seat maps compared with it.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';
import { benchSecrets, benchServerEnv, graphqlClient, stats, tokenSigner, type Stats } from '../common.js';
import { memoryOf, recreateDatabase, root, sleep, startServer, type RunningServer } from '../server.js';
import { checkInvariants, seatMapNow, unsoldSeats, type Violations } from './invariants.js';
import { startLoadGenerator, type LoadGenerator } from './load.js';
import type { FansReport, Persona, WatcherCheck } from './protocol.js';

export interface SurgeOptions {
  fans: number;
  watchers: number;
  /** The event: sections × rows × seats per row. */
  layout: { sections: number; rows: number; seatsPerRow: number };
  gateways: number;
  /** Load-generator processes, each playing every Nth fan and watcher (bench/surge/load.ts). */
  loadGenerators: number;
  admissionsPerMinute: number;
  /** Fans join over this long; the on-sale is at its end. */
  joinWindowMs: number;
  holdDurationSeconds: number;
  maxTicketsPerUser: number;
  /** The sale stops this long after the on-sale if it has not sold out. */
  maxSaleSeconds: number;
  /** Kill the last gateway (SIGKILL) once this share of the seats is sold; null: never. */
  killGatewayAt: number | null;
  /** Kill and restart Redis once this share is sold; null: never. */
  restartRedisAt: number | null;
  personas: Record<Persona, number>;
  waitlistShare: number;
  /** Run the compiled server (dist/: `npm run build` first) rather than tsx. */
  compiled: boolean;
  /** A maintenance database URL: the surge creates `database` beside it. */
  databaseUrl: string;
  database: string;
  redisPort: number;
  /** Gateways listen on basePort, basePort + 1, …; the worker after them. */
  basePort: number;
  poolSize: number;
  /** The gateways' SEAT_MAP_COALESCE_MS: at most one seat-map message per watcher this often. */
  coalesceMs: number;
  quiet: boolean;
  log: (line: string) => void;
}

export interface Sample {
  /** Seconds since the on-sale. */
  t: number;
  sold: number;
  held: number;
  available: number;
  admitted: number;
}

/** What the load generator counted (FansReport) and the surge passes on as it is. */
type Counted = Pick<FansReport, 'outcomes' | 'deltas' | 'reconnects' | 'refetches' | 'failovers'>;

export interface SurgeResult extends Counted {
  eventId: string;
  capacity: number;
  /** Seconds from the on-sale to the last seat booked; null when it did not sell out. */
  sellOutSeconds: number | null;
  /** What gateway-1 measured itself when the sale stopped (serverView). */
  server: Record<string, number>;
  /** Where the unsold seats were when the sale stopped (empty when it sold out). */
  unsold: Record<string, number>;
  saleSeconds: number;
  holdsPerSecond: number;
  bookingsPerSecond: number;
  operations: Record<string, Stats>;
  errors: Record<string, number>;
  loadGeneratorLoopDelayP99Ms: number;
  peakRssMB: Record<string, number>;
  faults: { t: number; what: string }[];
  samples: Sample[];
  /** Per second since the on-sale: p50 and p99 (ms) of holds and confirms. */
  latencyOverTime: { t: number; op: string; p50: number; p99: number }[];
  watchers: WatcherCheck;
  raffle: { ok: boolean; output: string };
  invariants: Record<string, boolean>;
  violations: Record<string, Violations>;
}

const run = promisify(execFile);

/** A Redis of the surge's own (the surge restarts it), without persistence. */
function startRedis(port: number): { stop: () => Promise<void>; kill: () => Promise<void>; pid: () => number } {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'onsale-surge-redis-'));
  let child: ChildProcess;
  const spawnIt = () => (child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir], { stdio: 'ignore' }));
  const end = (signal: NodeJS.Signals) => new Promise<void>((resolve) => (child.exitCode !== null ? resolve() : (child.once('exit', () => resolve()), child.kill(signal))));
  spawnIt();
  return {
    pid: () => child.pid ?? -1,
    stop: () => end('SIGTERM'),
    kill: async () => {
      await end('SIGKILL');
      await sleep(1_000);
      spawnIt();
      await untilRedis(port);
    },
  };
}

async function untilRedis(port: number): Promise<void> {
  for (let attempt = 0; attempt < 100; attempt++) {
    const pong = await new Promise<boolean>((resolve) => {
      const socket = net.connect(port, '127.0.0.1', () => socket.write('PING\r\n'));
      socket.once('data', (data) => (socket.destroy(), resolve(data.toString().startsWith('+PONG'))));
      socket.once('error', () => resolve(false));
    });
    if (pong) return;
    await sleep(100);
  }
  throw new Error(`redis-server did not answer on port ${port}`);
}

export async function runSurge(o: SurgeOptions): Promise<SurgeResult> {
  const target = new URL(o.databaseUrl);
  target.pathname = `/${o.database}`;
  const databaseUrl = target.toString();
  await recreateDatabase(databaseUrl);
  const redis = startRedis(o.redisPort);
  const processes: { name: string; server: RunningServer }[] = [];
  let fans: LoadGenerator | undefined;
  const db = new pg.Client({ connectionString: databaseUrl });
  try {
    await untilRedis(o.redisPort);
    const redisUrl = `redis://127.0.0.1:${o.redisPort}`;
    const env = (port: number) =>
      benchServerEnv({ databaseUrl, redisUrl, port }, {
        SEED_DEMO: 'never',
        WORKERS: 'off',
        DATABASE_POOL_SIZE: String(o.poolSize),
        SEAT_MAP_COALESCE_MS: String(o.coalesceMs),
        // Every fan and watcher comes from one of a few loopback addresses.
        WS_MAX_CONNECTIONS_PER_IP: '1000000',
        PAYMENT_RETRY_AFTER_SECONDS: '5',
        PAYMENT_HOLD_EXTENSION_SECONDS: '60',
      });
    const start = (name: string, port: number, args: string[] = []) =>
      startServer({ env: env(port), baseUrl: `http://127.0.0.1:${port}`, readyTimeoutMs: 60_000, args, compiled: o.compiled, quiet: o.quiet }).then((server) => {
        processes.push({ name, server });
      });
    // The first gateway migrates the new database; the others start beside each other.
    await start('gateway-1', o.basePort);
    await Promise.all([
      ...Array.from({ length: o.gateways - 1 }, (_, i) => start(`gateway-${i + 2}`, o.basePort + i + 1)),
      start('worker', o.basePort + o.gateways, ['worker']),
    ]);
    const gateways = Array.from({ length: o.gateways }, (_, i) => `http://127.0.0.1:${o.basePort + i}/graphql`);
    await db.connect();
    o.log(`${o.gateways} gateways, 1 worker, Redis on ${o.redisPort}; database ${o.database}`);

    // The event: gated, its waiting room open already, on sale when the fans have joined.
    const api = graphqlClient(o.basePort, 4);
    const admin = tokenSigner(benchSecrets.jwtSecret)('surge-admin', true);
    const venue = await api.gqlOk('createVenue', `mutation { createVenue(input: { name: "Surge Arena", city: "Load", country: "Bench" }) { id } }`, {}, admin);
    const onSaleAt = Date.now() + o.joinWindowMs + 2_000;
    const created = await api.gqlOk(
      'createEvent',
      `mutation($input: CreateEventInput!) { createEvent(input: $input) { id capacity } }`,
      {
        input: {
          venueId: (venue.createVenue as { id: string }).id,
          title: 'The Surge',
          performer: 'The Benchmarks',
          category: 'concert',
          startsAt: new Date(Date.now() + 30 * 86_400_000).toISOString(),
          onSaleAt: new Date(onSaleAt).toISOString(),
          maxTicketsPerUser: o.maxTicketsPerUser,
          holdDurationSeconds: o.holdDurationSeconds,
          waitingRoom: { opensAt: new Date(Date.now() - 60_000).toISOString(), admissionsPerMinute: o.admissionsPerMinute, admissionWindowSeconds: 600 },
          sections: Array.from({ length: o.layout.sections }, (_, i) => ({ name: `Section ${i + 1}`, price: 5_000 + 1_000 * i, rows: o.layout.rows, seatsPerRow: o.layout.seatsPerRow })),
        },
      },
      admin,
    );
    api.agent.destroy();
    const event = created.createEvent as { id: string; capacity: number };
    const eventNumber = Number(event.id.slice('evt_'.length));
    o.log(`${event.id}: ${event.capacity} seats, on sale in ${Math.round((onSaleAt - Date.now()) / 1000)} s; ${o.fans} fans, ${o.watchers} watchers`);

    // The load generator.
    fans = startLoadGenerator(o.loadGenerators);
    await fans.start({ gateways, eventId: event.id, fans: o.fans, watchers: o.watchers, joinWindowMs: o.joinWindowMs, personas: o.personas, waitlistShare: o.waitlistShare, jwtSecret: benchSecrets.jwtSecret }, 30_000);

    // The sale: sample the database twice a second, inject the faults, stop at the sell-out or the deadline.
    const peak: Record<string, number> = {};
    const pids = () => [...processes.map((p) => [p.name, p.server.pid] as const), ...fans!.pids(), ['redis', redis.pid()] as const];
    const samples: Sample[] = [];
    const faults: SurgeResult['faults'] = [];
    let soldOutAt: number | null = null;
    let fansReport: FansReport | undefined;
    const since = () => Math.round((Date.now() - onSaleAt) / 100) / 10;
    for (;;) {
      const { rows } = await db.query<{ sold: number; available: number; admitted: number }>(
        `SELECT i.booked_count AS sold, i.available_count AS available,
                (SELECT count(*)::int FROM queue_tickets q WHERE q.event_id = $1 AND q.admission_number IS NOT NULL) AS admitted
           FROM event_inventory i WHERE i.event_id = $1`,
        [eventNumber],
      );
      const { sold, available, admitted } = rows[0]!;
      samples.push({ t: since(), sold, available, held: event.capacity - sold - available, admitted });
      for (const [name, pid] of pids()) {
        const memory = await memoryOf(pid);
        if (memory) peak[name] = Math.max(peak[name] ?? 0, memory.peakMB);
      }
      const share = sold / event.capacity;
      if (o.killGatewayAt !== null && share >= o.killGatewayAt && !faults.some((f) => f.what.startsWith('SIGKILL'))) {
        const victim = processes.find((p) => p.name === `gateway-${o.gateways}`)!;
        faults.push({ t: since(), what: `SIGKILL ${victim.name}` });
        o.log(`${since()} s: ${sold} sold; SIGKILL ${victim.name}`);
        await victim.server.kill();
      }
      // A few seconds apart, so that each fault is seen on its own.
      const apart = !faults.length || since() - faults.at(-1)!.t >= 5;
      if (o.restartRedisAt !== null && share >= o.restartRedisAt && apart && !faults.some((f) => f.what.startsWith('Redis'))) {
        faults.push({ t: since(), what: 'Redis killed and restarted' });
        o.log(`${since()} s: ${sold} sold; killing and restarting Redis`);
        await redis.kill();
      }
      if (sold === event.capacity) soldOutAt = Date.now();
      fansReport = await fans.done(0);
      if (soldOutAt || fansReport || Date.now() > onSaleAt + o.maxSaleSeconds * 1000) break;
      await sleep(500);
    }
    const saleEnded = Date.now();
    const unsold = soldOutAt ? {} : await unsoldSeats(db, eventNumber);
    const server = await serverView(`http://127.0.0.1:${o.basePort}`, { holdBestAvailable: 0.2, confirmBooking: 0.3 }).catch(() => ({}));
    o.log(soldOutAt ? `sold out ${since()} s after the on-sale` : `stopped ${since()} s after the on-sale, ${samples.at(-1)!.sold} of ${event.capacity} sold: ${JSON.stringify(unsold)}`);
    fans.stop();
    fansReport ??= await fans.done(60_000);
    if (!fansReport) throw new Error('the load generator did not finish within 60 s of being stopped');

    // What the system still owes once the fans are gone: settled charges, refunds, notifications.
    for (let deadline = Date.now() + 90_000; Date.now() < deadline; await sleep(1_000)) {
      const { rows } = await db.query<{ owed: number }>(
        `SELECT (SELECT count(*) FROM outbox WHERE published_at IS NULL) + (SELECT count(*) FROM bookings WHERE refund_status = 'due')
              + (SELECT count(*) FROM bookings b JOIN test_payment_charges c ON c.key = b.id::text
                  WHERE b.status = 'PENDING_PAYMENT' AND (c.status <> 'pending' OR c.settles_at <= now())) AS owed`,
      );
      if (Number(rows[0]!.owed) === 0) break;
    }
    let watchers: WatcherCheck = { watchers: o.watchers, matching: 0, behind: o.watchers, wrong: 0 };
    for (let deadline = Date.now() + 30_000; Date.now() < deadline && watchers.matching < watchers.watchers; await sleep(1_000)) {
      const map = await seatMapNow(db, eventNumber);
      if (!map.settled) continue;
      watchers = await fans.check(map.version, map.availability);
    }
    const raffle = await run(process.execPath, ['--import', 'tsx', 'datasources/cli.ts', 'verify-raffle', event.id], { cwd: root, env: { ...process.env, DATABASE_URL: databaseUrl } }).then(
      ({ stdout }) => ({ ok: true, output: stdout.trim() }),
      (error: { stdout?: string; stderr?: string }) => ({ ok: false, output: `${error.stdout ?? ''}${error.stderr ?? ''}`.trim() }),
    );
    const violations = await checkInvariants(db, eventNumber);
    const invariants: Record<string, boolean> = Object.fromEntries(Object.entries(violations).map(([name, v]) => [name, v.count === 0]));
    invariants.admissionsFollowTheRaffle = raffle.ok;
    invariants.everyWatcherSeatMapEqualsTheDatabase = watchers.matching === watchers.watchers;

    const { rows: booked } = await db.query<{ bookings: number }>(`SELECT count(*)::int AS bookings FROM bookings WHERE event_id = $1 AND status = 'CONFIRMED'`, [eventNumber]);
    const saleSeconds = Math.max(0.001, ((soldOutAt ?? saleEnded) - onSaleAt) / 1000);
    const holds = fansReport.codes['holdBestAvailable OK'] ?? 0;
    return {
      eventId: event.id,
      capacity: event.capacity,
      sellOutSeconds: soldOutAt ? Math.round((soldOutAt - onSaleAt) / 100) / 10 : null,
      unsold,
      server,
      saleSeconds: Math.round(saleSeconds * 10) / 10,
      holdsPerSecond: Math.round((holds / saleSeconds) * 10) / 10,
      bookingsPerSecond: Math.round((booked[0]!.bookings / saleSeconds) * 10) / 10,
      operations: Object.fromEntries(Object.entries(fansReport.latencies).map(([op, values]) => [op, stats(values, saleSeconds)])),
      errors: Object.fromEntries(Object.entries(fansReport.codes).filter(([key]) => !key.endsWith(' OK'))),
      outcomes: fansReport.outcomes,
      deltas: fansReport.deltas,
      reconnects: fansReport.reconnects,
      refetches: fansReport.refetches,
      failovers: fansReport.failovers,
      loadGeneratorLoopDelayP99Ms: fansReport.loopDelayP99Ms,
      peakRssMB: peak,
      faults,
      samples,
      latencyOverTime: latencyOverTime(fansReport, onSaleAt),
      watchers,
      raffle,
      invariants,
      violations,
    };
  } finally {
    fans?.exit();
    await Promise.all(processes.map((p) => p.server.stop()));
    await redis.stop();
    await db.end().catch(() => {});
  }
}

/**
 * What gateway `url` measured itself (its /metrics): per operation, how many it answered and the share answered
 * within each latency target; and the time its transactions waited for a pool client. Fans' latencies include
 * what the server never sees (the load generator's own delay, sockets queued in the kernel).
 */
async function serverView(url: string, targets: Record<string, number>): Promise<Record<string, number>> {
  const lines = (await (await fetch(`${url}/metrics`)).text()).split('\n');
  /** The sum over the samples of `name` whose labels include every one of `labels`. */
  const sum = (name: string, ...labels: string[]) =>
    lines.filter((line) => line.startsWith(`${name}{`) || line.startsWith(`${name} `)).filter((line) => labels.every((label) => line.includes(label)))
      .reduce((total, line) => total + Number(line.split(' ').at(-1)), 0);
  const view: Record<string, number> = {
    poolWaitSeconds: sum('onsale_db_pool_wait_seconds_total'),
    // Its event-loop delay since it started (prom-client's default metrics): every statement of a transaction waits a turn.
    loopDelayP99Ms: Math.round(sum('nodejs_eventloop_lag_p99_seconds') * 10_000) / 10,
    loopDelayMaxMs: Math.round(sum('nodejs_eventloop_lag_max_seconds') * 10_000) / 10,
  };
  for (const [operation, seconds] of Object.entries(targets)) {
    const label = `operation="${operation}"`;
    const all = sum('onsale_graphql_operation_duration_seconds_count', label);
    const within = sum('onsale_graphql_operation_duration_seconds_bucket', label, `le="${seconds}"`);
    view[`${operation} count`] = all;
    view[`${operation} within ${seconds * 1000} ms`] = all ? Math.round((within / all) * 1000) / 1000 : 0;
  }
  return view;
}

/** p50 and p99 of holds and confirms per second since the on-sale, as measured at the fans. */
function latencyOverTime(report: FansReport, onSaleAt: number): SurgeResult['latencyOverTime'] {
  const series: SurgeResult['latencyOverTime'] = [];
  for (const op of ['holdBestAvailable', 'confirmBooking']) {
    const buckets = new Map<number, number[]>();
    for (const [at, ms] of report.timeline[op] ?? []) {
      const t = Math.floor((at - onSaleAt) / 1000);
      (buckets.get(t) ?? buckets.set(t, []).get(t)!).push(ms);
    }
    for (const [t, values] of [...buckets].sort((a, b) => a[0] - b[0])) {
      const s = stats(values, 1);
      series.push({ t, op, p50: s.p50Ms, p99: s.p99Ms });
    }
  }
  return series;
}
