// npm run bench:holds — the write-path benchmark: holdSeats (uncontested and contested), holdBestAvailable, and
// hold + confirmBooking, against a fresh seeded Postgres database, with the server in its own process; plus the
// same hold as raw SQL through `pg` at the same concurrency, as the ceiling.
import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { callerFromToken } from '../server/auth.js';
import {
  benchSecrets,
  benchServerEnv,
  BenchEvents,
  benchLayout,
  graphqlClient,
  machineInfo,
  printMachine,
  printTargets,
  readPostgresSettings,
  round,
  sectionPrice,
  seatsOf,
  stats,
  tokenSigner,
  writeResults,
  type GqlAnswer,
  type Stats,
  type Target,
} from './common.js';
import { drive, PairSource, type Recorder } from './holds-load.js';
import { caseWaitlist } from './holds-waitlist.js';
import { benchTarget, intFromEnv, recreateDatabase, runBenchmark, sleep, startServer, type RunningServer } from './server.js';

// ---------------------------------------------------------------------------------------------------------------
// Settings

const CASES = ['ceiling', 'a', 'b', 'c', 'd', 'w'] as const;
type CaseKey = (typeof CASES)[number];

function casesFromEnv(): CaseKey[] {
  const raw = process.env.BENCH_CASES;
  if (!raw) return [...CASES];
  const keys = raw.split(',').map((key) => key.trim()).filter(Boolean);
  const bad = keys.filter((key) => !(CASES as readonly string[]).includes(key));
  if (bad.length || !keys.length) throw new Error(`BENCH_CASES must list some of ${CASES.join(',')}, got ${JSON.stringify(raw)}`);
  return CASES.filter((key) => keys.includes(key));
}

/** The server's own default pool size (server/config.ts), used when BENCH_SERVER_POOL is not set. */
const SERVER_DEFAULT_POOL = 20;

const settings = {
  ...benchTarget('onsale_bench_holds', 4101),
  durationSeconds: intFromEnv('BENCH_DURATION', 15),
  connections: intFromEnv('BENCH_CONNECTIONS', 64),
  /** DATABASE_POOL_SIZE of the server. */
  serverPoolSize: intFromEnv('BENCH_SERVER_POOL', SERVER_DEFAULT_POOL),
  /** pg.Pool max of the raw-SQL ceiling. */
  sqlPoolSize: intFromEnv('BENCH_SQL_POOL', intFromEnv('BENCH_SERVER_POOL', SERVER_DEFAULT_POOL)),
  /** What a hold or booking response selects (the fields the two types share). */
  fields: process.env.BENCH_FIELDS || 'id status createdAt total { amount currency } seats { id row number }',
  /** Which cases run, in this order. */
  cases: casesFromEnv(),
  /**
   * BENCH_ANALYZE=1: ANALYZE before each measurement, as autovacuum might have done by then. Off by default: a
   * user meets a fresh server, a new event and whatever statistics the product itself keeps (it analyzes at each
   * new event).
   */
  analyze: process.env.BENCH_ANALYZE === '1',
  /** Seconds of load before the measurement (not recorded); 0 by default: the first rush is what is measured. */
  warmupSeconds: intFromEnv('BENCH_WARMUP', 0),
  /** The first seconds of each measurement are also reported on their own. */
  firstSeconds: 5,
  /** Without a warm-up to size them, cases prepare seats for this many operations per second. */
  assumedOpsPerSecond: 3_000,
  /** Every bench event: 10 sections × 40 rows × 50 seats, like the demo stadium's 20,000. */
  ...benchLayout,
  /** (b): the contested seats (row A of the cheapest section) and how often they are all freed again. */
  contestedSeats: 50,
  contestedResetMs: 200,
  /** (c): an event is left for the next one once this share of its seats is held. */
  bestAvailableFill: 0.95,
  ...benchSecrets,
};
const seatsPerEvent = seatsOf(settings);

const machine = machineInfo();

/** Postgres settings that matter to a write benchmark, printed with the results. */
const postgresSettings: Record<string, string> = {};

const baseUrl = `http://127.0.0.1:${settings.port}`;

// ---------------------------------------------------------------------------------------------------------------
// Processes and the database

/** Drops and recreates the bench database (empty: the server migrates it and seeds the demo on start). */
async function prepareDatabase(): Promise<void> {
  // Before it drops the database: the server's version and settings, from the maintenance connection.
  const name = await recreateDatabase(settings.databaseUrl, (admin) => readPostgresSettings(admin, machine, postgresSettings));
  console.log(`created database ${name}`);
}

/** The server in its own process, once started (stopped at the end, whatever happens). */
let server: RunningServer | undefined;
/** The bench's own connection: checks, (b)'s resets, ANALYZE. */
let sql: pg.Client;

// ---------------------------------------------------------------------------------------------------------------
// Tokens and HTTP (bench/common.ts): every request of a case comes from a user of its own, over keep-alive sockets.

const signBenchToken = tokenSigner(settings.jwtSecret);

let nextUser = 0;
/** A token for a user that has never held anything: `bench-u<n>`. */
const freshUserToken = () => signBenchToken(`bench-u${nextUser++}`);

const api = graphqlClient(settings.port, settings.connections + 4);
const { gql } = api;

const HOLD_SEATS = `mutation($input: HoldSeatsInput!) { holdSeats(input: $input) { ${settings.fields} } }`;
const HOLD_BEST = `mutation($input: HoldBestAvailableInput!) { holdBestAvailable(input: $input) { ${settings.fields} } }`;
const CONFIRM = `mutation($input: ConfirmBookingInput!) { confirmBooking(input: $input) { ${settings.fields} } }`;

const seatId = (eventId: number, ordinal: number) => `seat_${eventId}_${ordinal}`;

// ---------------------------------------------------------------------------------------------------------------
// Bench events, created through the admin API (bench/common.ts)

let events: BenchEvents;
const createBenchEvent = (label: string) => events.create(label);

interface CaseResult {
  name: string;
  connections: number;
  /** Operations (holds, bookings, transactions) completed per second, successful or not. */
  opsPerSecond: number;
  /** Per series: `op` (every operation), `ok`, and case-specific ones. */
  latency: Record<string, Stats>;
  codes: Record<string, number>;
  /** Codes that count as failures of the benchmark (anything not expected by the case). */
  unexpected: Record<string, number>;
  examples: Record<string, string>;
  notes: Record<string, number | string>;
}

/**
 * Warms up (2 s, not recorded), lets `between` prepare for the measurement with the warm-up's rate, then
 * measures for BENCH_DURATION seconds. `expected` are the codes that are not failures (OK is always expected).
 */
async function runCase(
  name: string,
  op: (rec: Recorder) => Promise<void>,
  options: {
    expected?: string[];
    between?: (warmupOpsPerSecond: number) => Promise<void>;
    start?: () => void;
    after?: () => Promise<Record<string, number | string>>;
    /** At most this long, whatever BENCH_DURATION says (a case whose supply would run out). */
    maxSeconds?: number;
  } = {},
): Promise<CaseResult> {
  const durationSeconds = Math.min(settings.durationSeconds, options.maxSeconds ?? Infinity);
  const connections = settings.connections;
  console.log(`\n${name}: ${connections} concurrent callers`);
  let warmOps = settings.assumedOpsPerSecond;
  if (settings.warmupSeconds > 0) {
    process.stdout.write(`  warming up ${settings.warmupSeconds} s… `);
    const warm = await drive(settings.warmupSeconds, connections, settings.firstSeconds, op);
    warmOps = (warm.rec.series.get('op')?.length ?? 0) / warm.seconds;
  }
  if (options.between) await options.between(warmOps);
  if (settings.analyze) await sql.query('ANALYZE');
  options.start?.();
  process.stdout.write(`measuring ${durationSeconds} s… `);
  const { rec, seconds } = await drive(durationSeconds, connections, settings.firstSeconds, op);
  const latency = Object.fromEntries(
    [...rec.series].map(([series, values]) => [series, stats(values, series.startsWith('first:') ? Math.min(seconds, settings.firstSeconds) : seconds)]),
  );
  const codes = Object.fromEntries(rec.codes);
  const expected = new Set(['OK', ...(options.expected ?? [])]);
  const unexpected = Object.fromEntries(Object.entries(codes).filter(([code]) => !expected.has(code)));
  const result: CaseResult = {
    name,
    connections,
    opsPerSecond: latency.op?.perSecond ?? 0,
    latency,
    codes,
    unexpected,
    examples: Object.fromEntries([...rec.examples].filter(([code]) => !expected.has(code))),
    notes: { measuredSeconds: round(seconds, 2), ...(options.after ? await options.after() : {}) },
  };
  const op50 = latency.op;
  console.log(`${result.opsPerSecond.toFixed(0)} ops/s, p50 ${op50?.p50Ms ?? '-'} ms, p99 ${op50?.p99Ms ?? '-'} ms`);
  const first = latency['first:op'];
  if (first) console.log(`  first ${settings.firstSeconds} s: ${first.perSecond} ops/s, p50 ${first.p50Ms} ms, p99 ${first.p99Ms} ms`);
  console.log(`  outcomes: ${Object.entries(codes).map(([code, count]) => `${code} ${count}`).join(', ') || 'none'}`);
  if (Object.keys(unexpected).length) {
    console.warn(`  WARNING: ${name} had unexpected outcomes ${JSON.stringify(unexpected)}; first of each: ${JSON.stringify(result.examples)}`);
  }
  return result;
}

/** Times one GraphQL operation into series `op` (and `series` when given); returns the answer. */
async function timed(rec: Recorder, query: string, variables: Record<string, unknown>, token: string, series?: string): Promise<GqlAnswer & { ms: number }> {
  const started = performance.now();
  const answer = await gql(query, variables, token);
  const ms = performance.now() - started;
  if (series) rec.sample(series, ms);
  return { ...answer, ms };
}

// ---------------------------------------------------------------------------------------------------------------
// The cases

/** Keeps enough pairs for the measurement: the warm-up's rate, with half again to spare. */
const enoughPairs = (source: PairSource) => async (warmupOpsPerSecond: number) => {
  const before = events.created;
  await source.ensure(Math.ceil(warmupOpsPerSecond * 1.5 * settings.durationSeconds) + settings.connections);
  source.measuring = true;
  if (events.created > before) process.stdout.write(`(made ${events.created - before} more events) `);
};

const pairNotes = (source: PairSource) => async () => ({
  eventsUsed: source.usedWhileMeasuring.size,
  eventsCreatedDuringMeasurement: source.createdDuringRun,
});

/** (a) holdSeats of 2 free seats, never wanted by anyone else, by a fresh user each time. */
async function caseUncontested(): Promise<CaseResult> {
  const source = new PairSource('a', createBenchEvent, seatsPerEvent);
  await source.ensure(1);
  const op = async (rec: Recorder) => {
    const { eventId, ordinals } = await source.take();
    const input = { eventId: `evt_${eventId}`, seatIds: ordinals.map((ordinal) => seatId(eventId, ordinal)) };
    const answer = await timed(rec, HOLD_SEATS, { input }, freshUserToken(), 'op');
    rec.count(answer.code, answer.message);
    if (answer.code === 'OK') rec.sample('ok', answer.ms);
  };
  const result = await runCase('(a) holdSeats, 2 seats, uncontested', op, { between: enoughPairs(source), after: pairNotes(source) });
  if (source.createdDuringRun) console.warn(`  WARNING: ${source.createdDuringRun} event(s) had to be created during the measurement`);
  return result;
}

/** (b) holdSeats of 2 seats picked at random among the same 50, which are all freed again every 200 ms. */
async function caseContested(): Promise<CaseResult> {
  const eventId = await createBenchEvent('b');
  const contested = Array.from({ length: settings.contestedSeats }, (_, i) => i); // row A of the cheapest section
  let resets = 0;
  let resetMs = 0;
  let freed = 0;
  let stop = false;
  // Releases every active hold of the event (there are only holds on the contested seats) and frees their seats,
  // as a sweep would: one statement.
  const resetter = (async () => {
    while (!stop) {
      await sleep(settings.contestedResetMs);
      const started = performance.now();
      const { rowCount } = await sql.query({
        name: 'bench_reset_contested',
        text: `WITH released AS (
                 UPDATE holds SET status = 'RELEASED', ended_at = now() WHERE event_id = $1 AND status = 'ACTIVE' RETURNING id)
               UPDATE seats SET status = 'available', hold_id = NULL, held_until = NULL
                WHERE event_id = $1 AND status = 'held' AND hold_id IN (SELECT id FROM released)`,
        values: [eventId],
      });
      resetMs += performance.now() - started;
      freed += rowCount ?? 0;
      resets++;
    }
  })();
  const op = async (rec: Recorder) => {
    const i = Math.floor(Math.random() * contested.length);
    let j = Math.floor(Math.random() * (contested.length - 1));
    if (j >= i) j++;
    const input = { eventId: `evt_${eventId}`, seatIds: [contested[i]!, contested[j]!].map((ordinal) => seatId(eventId, ordinal)) };
    const answer = await timed(rec, HOLD_SEATS, { input }, freshUserToken(), 'op');
    rec.count(answer.code, answer.message);
    if (answer.code === 'OK') rec.sample('win', answer.ms);
    else if (answer.code === 'SEAT_UNAVAILABLE') rec.sample('rejection', answer.ms);
  };
  try {
    return await runCase(`(b) holdSeats, 2 of the same ${settings.contestedSeats} seats, contested`, op, {
      expected: ['SEAT_UNAVAILABLE'],
      start: () => {
        resets = 0;
        resetMs = 0;
        freed = 0;
      },
      after: async () => ({ resets, seatsFreedByResets: freed, resetMeanMs: resets ? round(resetMs / resets, 2) : 0 }),
    });
  } finally {
    stop = true;
    await resetter;
  }
}

/** (c) holdBestAvailable of 2 adjacent seats; each event until 95% of it is held, then the next fresh one. */
async function caseBestAvailable(): Promise<CaseResult> {
  const eventIds: number[] = [await createBenchEvent('c #1')];
  let current = 0;
  let heldOnCurrent = 0;
  let adding: Promise<void> | undefined;
  let createdDuringRun = 0;
  let measuring = false;
  let firstMeasured = 0;
  const limit = Math.floor(seatsPerEvent * settings.bestAvailableFill);
  const addEvent = async () => void eventIds.push(await createBenchEvent(`c #${eventIds.length + 1}`));
  const op = async (rec: Recorder) => {
    if (heldOnCurrent + 2 > limit) {
      heldOnCurrent = 0;
      current++;
    }
    while (current >= eventIds.length) {
      if (measuring && !adding) createdDuringRun++;
      adding ??= addEvent().finally(() => (adding = undefined));
      await adding;
    }
    const eventId = eventIds[current]!;
    heldOnCurrent += 2; // counted when sent, so that no more than `limit` seats are ever asked of one event
    const answer = await timed(rec, HOLD_BEST, { input: { eventId: `evt_${eventId}`, quantity: 2 } }, freshUserToken(), 'op');
    rec.count(answer.code, answer.message);
    if (answer.code === 'OK') rec.sample('ok', answer.ms);
  };
  const result = await runCase('(c) holdBestAvailable, quantity 2', op, {
    between: async (warmupOpsPerSecond) => {
      // Measure from a fresh event, with enough fresh ones behind it.
      const needed = Math.ceil((warmupOpsPerSecond * 1.5 * settings.durationSeconds * 2) / limit) + 1;
      const first = eventIds.length;
      while (eventIds.length < first + needed) await addEvent();
      current = firstMeasured = first;
      heldOnCurrent = 0;
      measuring = true;
    },
    after: async () => ({ eventsUsed: current - firstMeasured + 1, eventsCreatedDuringMeasurement: createdDuringRun }),
  });
  if (createdDuringRun) console.warn(`  WARNING: ${createdDuringRun} event(s) had to be created during the measurement`);
  return result;
}

/** (d) holdSeats of 2 free seats, then confirmBooking with tok_visa and a fresh idempotency key. */
async function caseHoldAndBook(): Promise<CaseResult> {
  const source = new PairSource('d', createBenchEvent, seatsPerEvent);
  await source.ensure(1);
  const op = async (rec: Recorder) => {
    const { eventId, ordinals } = await source.take();
    const token = freshUserToken();
    const started = performance.now();
    const input = { eventId: `evt_${eventId}`, seatIds: ordinals.map((ordinal) => seatId(eventId, ordinal)) };
    const hold = await timed(rec, HOLD_SEATS, { input }, token, 'hold');
    if (hold.code !== 'OK') {
      rec.sample('op', performance.now() - started);
      rec.count(`hold: ${hold.code}`, hold.message);
      return;
    }
    const holdId = (hold.data?.holdSeats as { id: string }).id;
    const confirm = await timed(
      rec,
      CONFIRM,
      { input: { holdId, paymentToken: 'tok_visa', idempotencyKey: randomUUID() } },
      token,
      'confirm',
    );
    const ms = performance.now() - started;
    rec.sample('op', ms);
    const status = (confirm.data?.confirmBooking as { status?: string } | null | undefined)?.status;
    if (confirm.code !== 'OK') rec.count(`confirm: ${confirm.code}`, confirm.message);
    else if (status !== 'CONFIRMED') rec.count(`confirm: ${status ?? 'no status'}`);
    else {
      rec.count('OK');
      rec.sample('ok', ms);
    }
  };
  const result = await runCase('(d) holdSeats 2 seats + confirmBooking tok_visa', op, { between: enoughPairs(source), after: pairNotes(source) });
  if (source.createdDuringRun) console.warn(`  WARNING: ${source.createdDuringRun} event(s) had to be created during the measurement`);
  return result;
}

/**
 * The ceiling: the same hold as raw SQL, five round trips on one pooled connection, every statement prepared
 * (named): BEGIN; lock the two seats FOR UPDATE NOWAIT; claim them; insert the hold; COMMIT. The seats trigger
 * (seat-map version, available count, outbox row) fires as it does for the server's claim.
 */
async function caseRawSql(): Promise<CaseResult> {
  const source = new PairSource('ceiling', createBenchEvent, seatsPerEvent);
  await source.ensure(1);
  const pool = new pg.Pool({ connectionString: settings.databaseUrl, max: settings.sqlPoolSize, application_name: 'bench-holds-ceiling' });
  pool.on('error', () => {});
  const lock = {
    name: 'bench_lock_seats',
    text: `SELECT ordinal, status = 'available' OR (status = 'held' AND held_until <= now()) AS free
             FROM seats WHERE event_id = $1 AND ordinal = ANY($2::int[]) FOR UPDATE NOWAIT`,
  };
  const claim = {
    name: 'bench_claim_seats',
    text: `UPDATE seats SET status = 'held', hold_id = $3, held_until = now() + make_interval(secs => $4), booking_id = NULL
            WHERE event_id = $1 AND ordinal = ANY($2::int[])`,
  };
  const insert = {
    name: 'bench_insert_hold',
    text: `INSERT INTO holds (id, event_id, owner, ordinals, total, currency, expires_at, base_expires_at)
           VALUES ($1, $2, $3, $4::int[], $5, 'USD', now() + make_interval(secs => $6), now() + make_interval(secs => $6))`,
  };
  const op = async (rec: Recorder) => {
    const { eventId, ordinals } = await source.take();
    const holdId = randomUUID();
    const owner = `user:bench-u${nextUser++}`;
    const total = ordinals.reduce((sum, ordinal) => sum + sectionPrice(Math.floor(ordinal / (settings.rowsPerSection * settings.seatsPerRow))), 0);
    const started = performance.now();
    const client = await pool.connect();
    let outcome = 'OK';
    let message: string | undefined;
    try {
      await client.query('BEGIN');
      const { rows } = await client.query<{ ordinal: number; free: boolean }>({ ...lock, values: [eventId, ordinals] });
      if (rows.length !== ordinals.length || !rows.every((row) => row.free)) {
        outcome = 'SEAT_UNAVAILABLE';
        await client.query('ROLLBACK');
      } else {
        await client.query({ ...claim, values: [eventId, ordinals, holdId, 600] });
        await client.query({ ...insert, values: [holdId, eventId, owner, ordinals, total, 600] });
        await client.query('COMMIT');
      }
    } catch (error) {
      const code = (error as { code?: unknown }).code;
      outcome = typeof code === 'string' ? `PG_${code}` : 'PG_ERROR';
      message = (error as Error).message;
      await client.query('ROLLBACK').catch(() => {});
    } finally {
      client.release();
    }
    const ms = performance.now() - started;
    rec.sample('op', ms);
    rec.count(outcome, message);
    if (outcome === 'OK') rec.sample('ok', ms);
  };
  try {
    return await runCase('raw SQL hold (ceiling)', op, { between: enoughPairs(source), after: pairNotes(source) });
  } finally {
    await pool.end();
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Main

async function main(): Promise<number> {
  console.log('Onsale write-path (holds) benchmark');
  console.log(`  BENCH_DATABASE_URL   ${settings.databaseUrl}`);
  console.log(`  REDIS_URL            ${settings.redisUrl}`);
  console.log(`  BENCH_DURATION       ${settings.durationSeconds} s per case; the first ${settings.firstSeconds} s also on their own`);
  console.log(`  BENCH_WARMUP         ${settings.warmupSeconds} s of load before each measurement, not recorded${settings.warmupSeconds ? '' : ' (none: the first rush is measured)'}`);
  console.log(`  BENCH_CONNECTIONS    ${settings.connections} concurrent callers (async workers, one keep-alive socket each)`);
  console.log(`  BENCH_SERVER_POOL    ${settings.serverPoolSize} (the server's DATABASE_POOL_SIZE; its default is ${SERVER_DEFAULT_POOL})`);
  console.log(`  BENCH_SQL_POOL       ${settings.sqlPoolSize} (pg.Pool max of the raw-SQL ceiling; the same as the server's unless set)`);
  console.log(`  BENCH_CASES          ${settings.cases.join(',')}`);
  console.log(`  BENCH_ANALYZE        ${settings.analyze ? '1: ANALYZE before each measurement (outside it)' : '0: no ANALYZE'}`);
  console.log(`  BENCH_PORT           ${settings.port}`);
  console.log(`  BENCH_FIELDS         ${settings.fields}`);
  console.log(
    `  events               ${seatsPerEvent} seats each (${settings.sections} sections × ${settings.rowsPerSection} rows × ` +
      `${settings.seatsPerRow}), maxTicketsPerUser ${settings.maxTicketsPerUser}, holds of 600 s, fresh ones per case`,
  );
  console.log('  callers              a fresh user (own HS256 token) for every hold');
  console.log(`  (b)                  2 random seats of the same ${settings.contestedSeats}; all freed by SQL every ${settings.contestedResetMs} ms`);
  console.log(`  (c)                  each event until ${settings.bestAvailableFill * 100}% of its seats are held, then a fresh one`);
  console.log('  (w)                  releaseHold of one-seat holds covering a fresh event (made by SQL), without and with a waitlist');
  console.log(
    `  ceiling              BEGIN; SELECT … FOR UPDATE NOWAIT; UPDATE seats; INSERT INTO holds; COMMIT (named statements), ` +
      `a pg.Pool of ${settings.sqlPoolSize} in this process`,
  );
  console.log('  server               NODE_ENV=production, LOG_LEVEL=warn, SWEEP_INTERVAL_MS default (1000), test payment provider');

  await prepareDatabase();
  printMachine(machine, postgresSettings);

  // The hand-signed tokens must be what the server accepts.
  const probe = await callerFromToken(settings.jwtSecret, signBenchToken('probe'));
  if (probe.kind !== 'user' || probe.userId !== 'probe') throw new Error('the bench signs tokens the server would not accept');

  console.log(`starting the server on ${baseUrl} (it migrates and seeds the demo)…`);
  server = await startServer({
    baseUrl,
    readyTimeoutMs: 120_000,
    // The defaults: a sweep every second (benchServerEnv: the built-in test payment provider).
    env: benchServerEnv(settings, { DATABASE_POOL_SIZE: String(settings.serverPoolSize), SWEEP_INTERVAL_MS: '', SWEEP_BATCH_SIZE: '' }),
  });
  console.log('server ready');

  sql = new pg.Client({ connectionString: settings.databaseUrl, application_name: 'bench-holds' });
  await sql.connect();
  try {
    const { rows } = await sql.query<{ capacity: number }>('SELECT capacity FROM events WHERE id = 1');
    if (rows[0]?.capacity !== 20_000) console.warn('  WARNING: the seed did not create the 20,000-seat demo stadium evt_1');

    events = new BenchEvents(api, { adminToken: signBenchToken('bench-admin', true), title: 'Hold Bench', layout: settings });
    await events.createVenue();
    const started = performance.now();
    await createBenchEvent('probe');
    console.log(`one ${seatsPerEvent}-seat event takes ${(performance.now() - started).toFixed(0)} ms to create`);

    const runners: Record<Exclude<CaseKey, 'w'>, () => Promise<CaseResult>> = {
      ceiling: caseRawSql,
      a: caseUncontested,
      b: caseContested,
      c: caseBestAvailable,
      d: caseHoldAndBook,
    };
    const byKey: Partial<Record<CaseKey, CaseResult>> = {};
    let waitlist: [CaseResult, CaseResult] | undefined;
    for (const key of settings.cases) {
      if (key !== 'w') byKey[key] = await runners[key]();
      else {
        waitlist = await caseWaitlist({
          sql,
          createEvent: createBenchEvent,
          seatsPerEvent,
          sections: settings.sections,
          sign: signBenchToken,
          runCase: (name, op, options) => runCase(name, op, options),
          timed,
        });
      }
    }
    const results = [...settings.cases.filter((key) => key !== 'w').map((key) => byKey[key]!), ...(waitlist ?? [])];
    const { ceiling, a: uncontested, b: contested, c: best, d: book } = byKey;

    const share = (r: CaseResult) => (ceiling && ceiling.opsPerSecond > 0 ? (100 * r.opsPerSecond) / ceiling.opsPerSecond : NaN);
    const s = (r: CaseResult, series: string) => r.latency[series] ?? stats(undefined, 1);
    console.log(`\n| case | callers | ops/s | p50 ms | p99 ms | max ms | outcomes | % of raw-SQL ops/s |`);
    console.log('|---|---:|---:|---:|---:|---:|---|---:|');
    for (const r of results) {
      const op = s(r, 'op');
      const outcomes = Object.entries(r.codes).map(([code, count]) => `${code} ${count}`).join(', ');
      const ratio = Number.isNaN(share(r)) ? '-' : `${share(r).toFixed(1)}%`;
      console.log(`| ${r.name} | ${r.connections} | ${r.opsPerSecond.toFixed(0)} | ${op.p50Ms} | ${op.p99Ms} | ${op.maxMs} | ${outcomes} | ${ratio} |`);
    }
    console.log('');
    if (contested) {
      const win = s(contested, 'win');
      const rejection = s(contested, 'rejection');
      console.log(
        `(b) wins ${win.perSecond}/s (p50 ${win.p50Ms} ms, p99 ${win.p99Ms} ms); rejections ${rejection.perSecond}/s ` +
          `(p50 ${rejection.p50Ms} ms, p99 ${rejection.p99Ms} ms); ${contested.notes.resets} resets freed ${contested.notes.seatsFreedByResets} seats ` +
          `(mean ${contested.notes.resetMeanMs} ms each)`,
      );
    }
    if (book) {
      const hold = s(book, 'hold');
      const confirm = s(book, 'confirm');
      console.log(
        `(d) per booking: hold p50 ${hold.p50Ms} ms, p99 ${hold.p99Ms} ms; confirmBooking p50 ${confirm.p50Ms} ms, p99 ${confirm.p99Ms} ms; ` +
          `both p50 ${s(book, 'op').p50Ms} ms, p99 ${s(book, 'op').p99Ms} ms`,
      );
    }
    for (const r of results) {
      const notes = Object.entries(r.notes).map(([name, value]) => `${name} ${value}`).join(', ');
      console.log(`${r.name}: ${notes}`);
    }
    console.log(`events: ${events.created} created (${seatsPerEvent} seats each), ${(events.creationMs / Math.max(1, events.created)).toFixed(0)} ms each on average`);

    const targets: Target[] = [];
    if (uncontested) targets.push({ target: '(a) holdSeats p99 < 100 ms', value: `${s(uncontested, 'op').p99Ms} ms`, met: s(uncontested, 'op').p99Ms < 100 });
    if (best) targets.push({ target: '(c) holdBestAvailable p99 < 100 ms', value: `${s(best, 'op').p99Ms} ms`, met: s(best, 'op').p99Ms < 100 });
    for (const [label, r] of [['(a) holdSeats', uncontested], ['(c) holdBestAvailable', best]] as const) {
      const first = r?.latency['first:op'];
      if (first) targets.push({ target: `${label} p99 < 100 ms in the first ${settings.firstSeconds} s`, value: `${first.p99Ms} ms`, met: first.p99Ms < 100 });
    }
    if (contested) {
      const rejection = s(contested, 'rejection');
      targets.push({ target: '(b) a rejection p99 < 50 ms', value: `${rejection.p99Ms} ms`, met: rejection.count > 0 && rejection.p99Ms < 50 });
    }
    if (uncontested && ceiling) {
      targets.push({ target: '(a) ops/s >= 50% of the raw-SQL ceiling', value: `${share(uncontested).toFixed(1)}%`, met: share(uncontested) >= 50 });
    }
    if (waitlist) {
      const [plain, waitlisted] = waitlist;
      const ratio = plain.opsPerSecond > 0 ? (100 * waitlisted.opsPerSecond) / plain.opsPerSecond : 0;
      targets.push({ target: '(w2) release-and-offer p99 < 100 ms', value: `${s(waitlisted, 'op').p99Ms} ms`, met: s(waitlisted, 'op').p99Ms < 100 });
      targets.push({ target: '(w2) releases/s >= 70% of (w1), no waitlist', value: `${ratio.toFixed(1)}%`, met: ratio >= 70 });
    }
    printTargets(targets);

    // A run of some of the cases must not overwrite the day's full run.
    const all = settings.cases.length === CASES.length;
    const file = `holds-${machine.date.slice(0, 10)}${all ? '' : `-${settings.cases.join('-')}`}.json`;
    const eventsCreated = events.created;
    await writeResults(file, { settings: { ...settings, jwtSecret: undefined, webhookSecret: undefined, seatsPerEvent, eventsCreated }, machine, postgresSettings, results, targets });

    const failed = results.filter((r) => Object.keys(r.unexpected).length > 0);
    if (failed.length) {
      console.error(`FAILED: ${failed.map((r) => r.name).join(', ')} had unexpected outcomes (see the warnings above)`);
      return 1;
    }
    return 0;
  } finally {
    await sql.end();
  }
}

await runBenchmark(main, () => api.agent.destroy());
