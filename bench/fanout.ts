// npm run bench:fanout — the real-time benchmark: BENCH_SUBSCRIBERS WebSocket subscribers of seatMapChanged on one
// 20,000-seat event (in a process of their own, bench/fanout-clients.ts) while holds stream in at a steady rate,
// then again during a surge, against a fresh seeded Postgres database with the server in its own process. Measures
// commit-to-delivery latency (from the outbox row's created_at), messages and deltas per second, missed deltas, the
// server's RSS, and seat-map reads during each stream against reads at rest.
import { spawn, type ChildProcess } from 'node:child_process';
import pg from 'pg';
import {
  benchSecrets,
  benchServerEnv,
  BenchEvents,
  benchLayout,
  fire,
  graphqlClient,
  machineInfo,
  printMachine,
  printTargets,
  readPostgresSettings,
  round,
  seatsOf,
  stats,
  stealMeter,
  tokenSigner,
  writeResults,
  type AutocannonResult,
  type Target,
} from './common.js';
import type { ClientsAnswer, ClientsReport, ClientsRequest } from './fanout-clients.js';
import { benchTarget, intFromEnv, memoryOf, recreateDatabase, root, runBenchmark, sleep, startServer, type RunningServer } from './server.js';

// ---------------------------------------------------------------------------------------------------------------
// Settings

/** The server's own default coalescing interval (server/config.ts), used when SEAT_MAP_COALESCE_MS is not set. */
const SERVER_DEFAULT_COALESCE_MS = 100;
const DEFAULT_SUBSCRIBERS = 5_000;
const DEFAULT_HOLD_RATE = 2;
const DEFAULT_SURGE_RATE = 20;

/** SEAT_MAP_COALESCE_MS, which may be 0 (one message per version). */
function coalesceFromEnv(): number {
  const raw = process.env.SEAT_MAP_COALESCE_MS;
  if (!raw) return SERVER_DEFAULT_COALESCE_MS;
  if (!/^\d+$/.test(raw)) throw new Error(`SEAT_MAP_COALESCE_MS must be a whole number of milliseconds, got ${JSON.stringify(raw)}`);
  return Number(raw);
}

const settings = {
  ...benchTarget('onsale_bench_fanout', 4102),
  subscribers: intFromEnv('BENCH_SUBSCRIBERS', DEFAULT_SUBSCRIBERS),
  /**
   * Holds per second of the steady stream, open loop (sent on schedule whatever the answers do), spread evenly.
   * At 2 per second each change gets a message of its own (one per 500 ms, the interval is 100 ms).
   */
  holdRate: intFromEnv('BENCH_HOLD_RATE', DEFAULT_HOLD_RATE),
  /**
   * Holds per second of the surge that follows (0: none): enough that every subscriber gets a message per
   * coalescing interval, the most the server sends whatever the rate.
   */
  surgeRate: intFromEnv('BENCH_SURGE_RATE', DEFAULT_SURGE_RATE, 0),
  /**
   * Seconds of the steady stream: 120 messages at 2 holds/s, so that its p99 is a percentile of the messages and
   * not, as with 30, the slowest one.
   */
  steadySeconds: intFromEnv('BENCH_STEADY_DURATION', 60),
  /** Seconds of the surge. */
  durationSeconds: intFromEnv('BENCH_DURATION', 15),
  /** Each read measurement (at rest, and in the middle of the stream). */
  readSeconds: intFromEnv('BENCH_READ_SECONDS', 10),
  readConnections: intFromEnv('BENCH_READ_CONNECTIONS', 32),
  /** Connections opened at once, each wave after the one before is subscribed. */
  connectWave: intFromEnv('BENCH_CONNECT_WAVE', 250),
  /** The server's SEAT_MAP_COALESCE_MS (passed through when set; the server's default otherwise). */
  coalesceMs: coalesceFromEnv(),
  coalesceMsSet: Boolean(process.env.SEAT_MAP_COALESCE_MS),
  /** Warm-up holds before anything is measured (more if some subscriber has not had a message yet). */
  warmupHolds: 3,
  readWarmupSeconds: 2,
  /** How long the subscribers get, after the last hold, to receive the last version. */
  finalWaitMs: 15_000,
  /** The bench event: 10 sections × 40 rows × 50 seats, like the demo stadium's 20,000. */
  ...benchLayout,
  ...benchSecrets,
};
if (settings.readSeconds > Math.min(settings.durationSeconds, settings.steadySeconds)) {
  throw new Error(`BENCH_READ_SECONDS (${settings.readSeconds}) must not exceed BENCH_DURATION or BENCH_STEADY_DURATION: reads run inside each stream`);
}
const seatsPerEvent = seatsOf(settings);
/** At most one connection per subscriber from this one address, with room to spare. */
const maxConnectionsPerIp = Math.max(20_000, settings.subscribers + 1_000);

const machine = machineInfo();
const postgresSettings: Record<string, string> = {};

const baseUrl = `http://127.0.0.1:${settings.port}`;
const wsUrl = `ws://127.0.0.1:${settings.port}/graphql`;

const SUBSCRIPTION = 'subscription($eventId: ID!) { seatMapChanged(eventId: $eventId) { eventId fromVersion version changes { seatId ordinal status } } }';
const READ = 'query($id: ID!) { event(id: $id) { seatMap { version availableCount availability } } }';
const HOLD_BEST = 'mutation($input: HoldBestAvailableInput!) { holdBestAvailable(input: $input) { id } }';

const signBenchToken = tokenSigner(settings.jwtSecret);
let nextUser = 0;
/** A token for a user that has never held anything: `bench-u<n>`. */
const freshUserToken = () => signBenchToken(`bench-u${nextUser++}`);

// Holds come a few at a time, and none between the warm-up and the stream: idle sockets are closed after 1 s.
const api = graphqlClient(settings.port, 64, 1_000);

/** The server in its own process, once started (stopped at the end, whatever happens). */
let server: RunningServer | undefined;
/** The bench's own connection: versions and the outbox. */
let sql: pg.Client;

// ---------------------------------------------------------------------------------------------------------------
// The subscribers' process

class Subscribers {
  private readonly child: ChildProcess;
  private readonly waiting = new Map<string, { resolve: (answer: ClientsAnswer) => void; reject: (error: Error) => void }>();
  private exited: string | undefined;

  constructor(onProgress: (connected: number) => void) {
    this.child = spawn(process.execPath, ['--import', 'tsx', 'bench/fanout-clients.ts'], { cwd: root, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    this.child.on('message', (answer: ClientsAnswer) => {
      if (answer.type === 'progress') return onProgress(answer.connected);
      const waiter = this.waiting.get(answer.type);
      this.waiting.delete(answer.type);
      waiter?.resolve(answer);
    });
    this.child.once('exit', (code, signal) => {
      this.exited = signal ?? `exit code ${code}`;
      for (const waiter of this.waiting.values()) waiter.reject(new Error(`the subscribers' process exited (${this.exited})`));
      this.waiting.clear();
    });
    // Whatever happens to this process, the subscribers go too.
    process.once('exit', () => this.kill());
  }

  /** Sends `request` and resolves with its answer. */
  request<T extends ClientsRequest['type']>(request: Extract<ClientsRequest, { type: T }>): Promise<Extract<ClientsAnswer, { type: T }>> {
    if (this.exited) return Promise.reject(new Error(`the subscribers' process exited (${this.exited})`));
    return new Promise((resolve, reject) => {
      this.waiting.set(request.type, { resolve: resolve as (answer: ClientsAnswer) => void, reject });
      this.child.send(request);
    });
  }

  /** Closes every connection, then waits (up to 5 s) for the process to exit. */
  async close(): Promise<void> {
    if (this.exited) return;
    const exited = new Promise<void>((resolve) => this.child.once('exit', () => resolve()));
    await this.request({ type: 'close' }).catch(() => {});
    await Promise.race([exited, sleep(5_000)]);
    this.kill();
  }

  kill(): void {
    if (!this.exited) this.child.kill('SIGKILL');
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Steps

/** The event's seat-map version now. */
async function versionOf(eventId: number): Promise<number> {
  const { rows } = await sql.query<{ version: number }>('SELECT seat_map_version AS version FROM event_inventory WHERE event_id = $1', [eventId]);
  if (!rows[0]) throw new Error(`event ${eventId} has no inventory row`);
  return Number(rows[0].version);
}

const holdInput = (eventId: number) => ({ input: { eventId: `evt_${eventId}`, quantity: 2 } });

/**
 * Warm-up holds, one at a time, each followed by a wait (up to 5 s) until every subscriber has its delta: the
 * server sends no acknowledgement of a subscription, so a subscriber is known to be live once a delta reaches it.
 * Goes on until `warmupHolds` are made and the last one reached every subscriber (at most 20 holds).
 */
async function warmUp(eventId: number, subscribers: Subscribers) {
  const started = performance.now();
  let holds = 0;
  let last: Extract<ClientsAnswer, { type: 'waitFor' }> | undefined;
  while (holds < settings.warmupHolds || (last && last.reached < last.subscribed && holds < 20)) {
    await api.gqlOk('holdBestAvailable (warm-up)', HOLD_BEST, holdInput(eventId), freshUserToken());
    holds++;
    last = await subscribers.request({ type: 'waitFor', version: await versionOf(eventId), timeoutMs: 5_000 });
  }
  return { holds, version: last!.version, reached: last!.reached, subscribed: last!.subscribed, ms: Math.round(performance.now() - started) };
}

interface ReadResult {
  requestsPerSecond: number;
  latencyP50Ms: number;
  latencyP99Ms: number;
  latencyMaxMs: number;
  totalRequests: number;
  non2xx: number;
  errors: number;
  timeouts: number;
}

/** Seat-map reads of the event (`version availableCount availability`) with autocannon for `seconds`. */
async function measureReads(eventId: number, seconds: number): Promise<ReadResult> {
  const { result }: { result: AutocannonResult } = await fire(
    `${baseUrl}/graphql`,
    JSON.stringify({ query: READ, variables: { id: `evt_${eventId}` } }),
    settings.readConnections,
    seconds,
  );
  const totalRequests = Object.values(result.statusCodeStats).reduce((sum, { count }) => sum + Number(count), 0);
  const read: ReadResult = {
    requestsPerSecond: result.requests.average,
    latencyP50Ms: result.latency.p50,
    latencyP99Ms: result.latency.p99,
    latencyMaxMs: result.latency.max,
    totalRequests,
    non2xx: result.non2xx,
    errors: result.errors,
    timeouts: result.timeouts,
  };
  if (read.non2xx || read.errors || read.timeouts) {
    console.warn(`  WARNING: seat-map reads had ${read.non2xx} non-2xx responses, ${read.errors} errors, ${read.timeouts} timeouts`);
  }
  return read;
}

/**
 * holdBestAvailable of 2 seats by a fresh user each, sent open loop at `rate` per second for `durationSeconds`
 * (each on schedule, whether or not the ones before have been answered); resolves once every hold is answered.
 */
async function streamHolds(eventId: number, rate: number, durationSeconds: number) {
  const intervalMs = 1000 / rate;
  const count = Math.round(rate * durationSeconds);
  const latencies: number[] = [];
  const codes: Record<string, number> = {};
  const examples: Record<string, string> = {};
  let maxSendLagMs = 0;
  const started = performance.now();
  const answers: Promise<void>[] = [];
  for (let i = 0; i < count; i++) {
    const due = started + i * intervalMs;
    const wait = due - performance.now();
    if (wait > 0) await sleep(wait);
    const sent = performance.now();
    maxSendLagMs = Math.max(maxSendLagMs, sent - due);
    answers.push(
      api.gql(HOLD_BEST, holdInput(eventId), freshUserToken()).then(
        (answer) => {
          latencies.push(performance.now() - sent);
          codes[answer.code] = (codes[answer.code] ?? 0) + 1;
          if (answer.code !== 'OK') examples[answer.code] ??= answer.message ?? '';
        },
        (error: Error) => {
          codes.CLIENT_ERROR = (codes.CLIENT_ERROR ?? 0) + 1;
          examples.CLIENT_ERROR ??= error.message;
        },
      ),
    );
  }
  const sendingSeconds = (performance.now() - started) / 1000;
  await Promise.all(answers);
  const seconds = (performance.now() - started) / 1000;
  return { sent: count, sendingSeconds: round(sendingSeconds, 2), seconds: round(seconds, 2), maxSendLagMs: round(maxSendLagMs), codes, examples, latency: stats(latencies, seconds) };
}

/** Version → the created_at of its outbox row (ms since the epoch), for every seat-map row of the event. */
async function commitTimes(eventId: number): Promise<[number, number][]> {
  const { rows } = await sql.query<{ version: number; at: string }>(
    `SELECT (payload->>'version')::int AS version, extract(epoch FROM created_at) * 1000 AS at
       FROM outbox WHERE topic = $1 ORDER BY id`,
    [`seatMap.${eventId}`],
  );
  return rows.map((row) => [Number(row.version), Number(row.at)]);
}

const mb = (memory: { rssMB: number } | null) => (memory ? `${memory.rssMB} MB` : 'unknown');

type StreamName = 'steady' | 'surge';

/**
 * One stream: holds at `rate` for `seconds`, seat-map reads in its middle, then a wait until every subscriber has
 * the last version (so that the next stream's messages start after it).
 */
async function runStream(name: StreamName, rate: number, seconds: number, eventId: number, subscribers: Subscribers) {
  const steal = stealMeter();
  const fromVersion = await versionOf(eventId);
  console.log(`\n${name}: ${rate} holds/s for ${seconds} s from version ${fromVersion}; reads from ${(seconds - settings.readSeconds) / 2} s in…`);
  const holdsDone = streamHolds(eventId, rate, seconds);
  await sleep(((seconds - settings.readSeconds) / 2) * 1000);
  const reads = await measureReads(eventId, settings.readSeconds);
  console.log(`  reads during the stream: ${reads.requestsPerSecond.toFixed(0)} req/s, p50 ${reads.latencyP50Ms} ms, p99 ${reads.latencyP99Ms} ms`);
  const holds = await holdsDone;
  const finalVersion = await versionOf(eventId);
  console.log(
    `  holds: ${holds.sent} sent in ${holds.sendingSeconds} s (latest ${holds.maxSendLagMs} ms behind schedule), all answered after ${holds.seconds} s; ` +
      `${Object.entries(holds.codes).map(([code, count]) => `${code} ${count}`).join(', ')}; p50 ${holds.latency.p50Ms} ms, p99 ${holds.latency.p99Ms} ms`,
  );
  if ((holds.codes.OK ?? 0) < holds.sent) console.warn(`  WARNING: holds that failed: ${JSON.stringify(holds.examples)}`);
  const last = await subscribers.request({ type: 'waitFor', version: finalVersion, timeoutMs: settings.finalWaitMs });
  console.log(`  final version ${finalVersion}: ${last.reached} of ${settings.subscribers} subscribers had it ${last.ms} ms after the last hold's answer (${last.open} still open)`);
  return { name, rate, fromVersion, finalVersion, holds, reads, finalDelivery: last, cpuStolen: steal() };
}
type Stream = Awaited<ReturnType<typeof runStream>>;

/** A stream's figures from the subscribers' report of its versions, and the three targets judged on them. */
function streamResults(stream: Stream, report: ClientsReport, readsAtRest: ReadResult, connectFailed: number) {
  const seconds = stream.holds.seconds;
  const deltas = stream.finalVersion - stream.fromVersion;
  const latency = report.latencyOldest;
  const readRatio = readsAtRest.requestsPerSecond > 0 ? stream.reads.requestsPerSecond / readsAtRest.requestsPerSecond : 0;
  // Who lacked the stream's last version when it ended, and who saw a gap at any time of the run.
  const short = stream.finalDelivery.subscribed - stream.finalDelivery.reached;
  const missing = connectFailed + Math.max(short, report.clientsWithGaps);
  const summary = {
    holdsPerSecond: round((stream.holds.codes.OK ?? 0) / seconds),
    deltasPerSecond: round(deltas / seconds),
    messagesPerSecond: round(report.messages / seconds),
    messagesPerSubscriberPerSecond: round(report.messages / Math.max(1, report.clients) / seconds, 2),
    changesPerMessage: round(report.changes / Math.max(1, report.messages), 2),
    readRatio: round(readRatio, 3),
  };
  const targets: Target[] = [
    { target: `commit-to-delivery p99 < 250 ms at ${settings.subscribers} subscribers`, value: `${latency.p99Ms} ms`, met: latency.count > 0 && latency.p99Ms < 250 },
    {
      target: 'no delta missing at any subscriber',
      value: `${missing} subscribers missing deltas, ${report.gaps} gaps`,
      met: missing === 0 && report.gaps === 0 && latency.count > 0,
    },
    { target: 'seat-map reads during the stream >= 70% of reads at rest', value: `${(readRatio * 100).toFixed(1)}%`, met: readRatio >= 0.7 },
  ];
  return { ...stream, versions: { from: stream.fromVersion, final: stream.finalVersion, deltas }, summary, subscribers: report, missing, targets };
}

// ---------------------------------------------------------------------------------------------------------------
// Main

async function main(): Promise<number> {
  console.log('Onsale real-time (seat-map fan-out) benchmark');
  console.log(`  BENCH_DATABASE_URL      ${settings.databaseUrl}`);
  console.log(`  REDIS_URL               ${settings.redisUrl}`);
  console.log(`  BENCH_PORT              ${settings.port}`);
  console.log(`  BENCH_SUBSCRIBERS       ${settings.subscribers} WebSockets (graphql-transport-ws), one seatMapChanged each, all on one event, in a process of their own`);
  console.log(`  BENCH_CONNECT_WAVE      ${settings.connectWave} connections opened at once`);
  console.log(`  BENCH_HOLD_RATE         ${settings.holdRate} holds/s in the steady stream (holdBestAvailable, quantity 2, a fresh user each), open loop`);
  console.log(`  BENCH_SURGE_RATE        ${settings.surgeRate ? `${settings.surgeRate} holds/s in the surge that follows` : '0: no surge'}`);
  console.log(`  BENCH_STEADY_DURATION   ${settings.steadySeconds} s of the steady stream (after ${settings.warmupHolds}+ warm-up holds)`);
  console.log(`  BENCH_DURATION          ${settings.durationSeconds} s of the surge`);
  console.log(
    `  BENCH_READ_SECONDS      ${settings.readSeconds} s of seat-map reads at rest (after ${settings.readWarmupSeconds} s of warm-up) and again in the middle of each stream`,
  );
  console.log(`  BENCH_READ_CONNECTIONS  ${settings.readConnections} (autocannon: ${READ})`);
  console.log(`  SEAT_MAP_COALESCE_MS    ${settings.coalesceMs}${settings.coalesceMsSet ? '' : " (the server's default)"}`);
  console.log(`  event                   ${seatsPerEvent} seats (${settings.sections} sections × ${settings.rowsPerSection} rows × ${settings.seatsPerRow}), on sale, made through the admin API`);
  console.log(`  server                  NODE_ENV=production, LOG_LEVEL=warn, SEED_DEMO=always, WS_MAX_CONNECTIONS_PER_IP=${maxConnectionsPerIp}`);
  console.log('  latency                 commit-to-delivery: received (Date.now() in the subscriber) − created_at of the outbox row of the');
  console.log("                          message's fromVersion (its oldest change; written just before the commit)");

  const name = await recreateDatabase(settings.databaseUrl, (admin) => readPostgresSettings(admin, machine, postgresSettings));
  console.log(`created database ${name}`);
  printMachine(machine, postgresSettings);

  console.log(`starting the server on ${baseUrl} (it migrates and seeds the demo)…`);
  server = await startServer({
    baseUrl,
    readyTimeoutMs: 120_000,
    env: benchServerEnv(settings, {
      WS_MAX_CONNECTIONS_PER_IP: String(maxConnectionsPerIp),
      ...(settings.coalesceMsSet ? { SEAT_MAP_COALESCE_MS: String(settings.coalesceMs) } : {}),
    }),
  });
  console.log(`server ready (pid ${server.pid})`);

  sql = new pg.Client({ connectionString: settings.databaseUrl, application_name: 'bench-fanout' });
  await sql.connect();
  let subscribers: Subscribers | undefined;
  try {
    const events = new BenchEvents(api, { adminToken: signBenchToken('bench-admin', true), title: 'Fanout Bench', layout: settings });
    await events.createVenue();
    const eventId = await events.create('#1');
    console.log(`event evt_${eventId}: ${seatsPerEvent} seats, made in ${events.creationMs.toFixed(0)} ms`);
    await api.gqlOk('seatMap read', READ, { id: `evt_${eventId}` });
    const rssAtRest = await memoryOf(server.pid);
    console.log(`server RSS at rest: ${mb(rssAtRest)}`);

    // Subscribers
    console.log(`\nopening ${settings.subscribers} subscriptions, ${settings.connectWave} at a time…`);
    let reported = 0;
    subscribers = new Subscribers((connected) => {
      if (connected - reported >= 1_000 || connected === settings.subscribers) console.log(`  ${(reported = connected)} connected`);
    });
    const connect = await subscribers.request({
      type: 'connect',
      url: wsUrl,
      subscribers: settings.subscribers,
      wave: settings.connectWave,
      query: SUBSCRIPTION,
      variables: { eventId: `evt_${eventId}` },
    });
    console.log(`  ${connect.connected} subscribed in ${(connect.ms / 1000).toFixed(1)} s${connect.failed ? `; ${connect.failed} FAILED: ${JSON.stringify(connect.failures)}` : ''}`);
    const warmup = await warmUp(eventId, subscribers);
    console.log(`  warm-up: ${warmup.holds} holds; ${warmup.reached} of ${warmup.subscribed} subscribers had version ${warmup.version} (${warmup.ms} ms)`);
    if (warmup.reached < warmup.subscribed) console.warn(`  WARNING: ${warmup.subscribed - warmup.reached} subscribers did not have the last warm-up delta`);
    const rssConnected = await memoryOf(server.pid);
    const perSubscriberKB = rssAtRest && rssConnected ? round(((rssConnected.rssMB - rssAtRest.rssMB) * 1024) / settings.subscribers) : NaN;
    console.log(`server RSS with ${connect.connected} subscribers: ${mb(rssConnected)} (${perSubscriberKB} KB more per subscriber)`);

    // Reads at rest: subscribers connected, no holds.
    process.stdout.write(`\nseat-map reads at rest: warming up ${settings.readWarmupSeconds} s… `);
    await measureReads(eventId, settings.readWarmupSeconds);
    process.stdout.write(`measuring ${settings.readSeconds} s… `);
    const restSteal = stealMeter();
    const readsAtRest = { ...(await measureReads(eventId, settings.readSeconds)), cpuStolen: restSteal() };
    console.log(`${readsAtRest.requestsPerSecond.toFixed(0)} req/s, p50 ${readsAtRest.latencyP50Ms} ms, p99 ${readsAtRest.latencyP99Ms} ms`);

    // The steady stream, then the surge, each with the same reads in its middle.
    const rssBeforeStream = await memoryOf(server.pid);
    console.log(`server RSS after the reads at rest: ${mb(rssBeforeStream)}`);
    const runs: Stream[] = [await runStream('steady', settings.holdRate, settings.steadySeconds, eventId, subscribers)];
    if (settings.surgeRate) runs.push(await runStream('surge', settings.surgeRate, settings.durationSeconds, eventId, subscribers));
    const rssEnd = await memoryOf(server.pid);

    const commits = await commitTimes(eventId);
    const streams: ReturnType<typeof streamResults>[] = [];
    for (const run of runs) {
      const { report } = await subscribers.request({ type: 'report', after: run.fromVersion, final: run.finalVersion, commits });
      streams.push(streamResults(run, report, readsAtRest, connect.failed));
    }
    await subscribers.close();

    // Results: a column per stream.
    const row = (measure: string, value: (stream: ReturnType<typeof streamResults>) => string) =>
      console.log(`| ${measure} | ${streams.map(value).join(' | ')} |`);
    console.log(`\n| measure | ${streams.map((stream) => `${stream.name} (${stream.rate} holds/s)`).join(' | ')} |`);
    console.log(`|---|${streams.map(() => '---|').join('')}`);
    row('holds/s', (x) => `${x.summary.holdsPerSecond} (${x.holds.codes.OK ?? 0} OK of ${x.holds.sent}; p50 ${x.holds.latency.p50Ms} ms, p99 ${x.holds.latency.p99Ms} ms)`);
    row('seat-map versions (deltas)/s', (x) => `${x.summary.deltasPerSecond} (${x.versions.deltas}: versions ${x.fromVersion + 1}–${x.finalVersion})`);
    row('messages delivered/s, all subscribers', (x) => `${x.summary.messagesPerSecond} (${x.subscribers.messages}; ${x.summary.messagesPerSubscriberPerSecond}/s each, ${x.summary.changesPerMessage} seat changes per message)`);
    row('commit-to-delivery p50 / p99 / max', (x) => `${x.subscribers.latencyOldest.p50Ms} / ${x.subscribers.latencyOldest.p99Ms} / ${x.subscribers.latencyOldest.maxMs} ms (oldest change of each message)`);
    row('newest change to delivery p50 / p99', (x) => `${x.subscribers.latencyNewest.p50Ms} / ${x.subscribers.latencyNewest.p99Ms} ms (without the coalescing wait)`);
    row('subscribers missing deltas', (x) => `${x.missing} (${x.finalDelivery.subscribed - x.finalDelivery.reached} short of version ${x.finalVersion} when the stream ended)`);
    row('seat-map reads during the stream', (x) => `${x.reads.requestsPerSecond.toFixed(0)} req/s (p50 ${x.reads.latencyP50Ms} ms, p99 ${x.reads.latencyP99Ms} ms)`);
    row('reads during / at rest', (x) => `${(x.summary.readRatio * 100).toFixed(1)}%`);
    row('CPU time the host took (steal)', (x) => (x.cpuStolen === undefined ? 'unknown' : `${(x.cpuStolen * 100).toFixed(1)}%`));
    const report = streams.at(-1)!.subscribers;
    console.log(`\nsubscribers: ${connect.connected} of ${settings.subscribers} (one event); gaps over the whole run: ${report.gaps} (${report.versionsMissed} versions missed, ${report.overlaps} overlaps) at ${report.clientsWithGaps} subscribers`);
    const restStolen = readsAtRest.cpuStolen === undefined ? '' : `; the host took ${(readsAtRest.cpuStolen * 100).toFixed(1)}% of the CPU meanwhile`;
    console.log(`seat-map reads at rest: ${readsAtRest.requestsPerSecond.toFixed(0)} req/s (p50 ${readsAtRest.latencyP50Ms} ms, p99 ${readsAtRest.latencyP99Ms} ms)${restStolen}`);
    console.log(
      `server RSS: ${mb(rssAtRest)} at rest, ${mb(rssConnected)} subscribed, ${mb(rssBeforeStream)} after the reads at rest, ` +
        `${mb(rssEnd)} at the end (peak ${rssEnd?.peakMB ?? '?'} MB)`,
    );
    console.log(`subscribers' process: ${report.rssMB} MB RSS${report.errorMessages ? `; ${report.errorMessages} error messages, first: ${report.firstError}` : ''}`);
    if (report.unknownVersions) console.warn(`WARNING: ${report.unknownVersions} messages named a version with no outbox row`);
    if (Object.keys(report.closed).length) console.warn(`WARNING: subscribers closed early, by close code: ${JSON.stringify(report.closed)}`);

    // The issue's targets are for a steady stream; the surge shows what the coalescing cap costs (BENCHMARKS.md).
    for (const stream of streams) {
      printTargets(stream.targets, `${stream.name === 'steady' ? 'Targets, steady stream' : 'The same measures during the surge'} (${stream.rate} holds/s)`);
    }

    // Runs with other settings get files of their own: -<subscribers>, -holds-<rate>, -surge-<rate>, -coalesce-<ms>.
    const suffix =
      (settings.subscribers === DEFAULT_SUBSCRIBERS ? '' : `-${settings.subscribers}`) +
      (settings.holdRate === DEFAULT_HOLD_RATE ? '' : `-holds-${settings.holdRate}`) +
      (settings.surgeRate === DEFAULT_SURGE_RATE ? '' : `-surge-${settings.surgeRate}`) +
      (settings.coalesceMsSet ? `-coalesce-${settings.coalesceMs}` : '');
    await writeResults(`fanout-${machine.date.slice(0, 10)}${suffix}.json`, {
      settings: { ...settings, jwtSecret: undefined, webhookSecret: undefined, seatsPerEvent, maxConnectionsPerIp },
      machine,
      postgresSettings,
      serverMemory: { atRest: rssAtRest, subscribed: rssConnected, beforeStream: rssBeforeStream, atEnd: rssEnd, perSubscriberKB },
      connect,
      warmup,
      readsAtRest,
      streams: streams.map(({ missing, ...stream }) => stream),
    });
    return 0;
  } finally {
    subscribers?.kill();
    await sql.end();
  }
}

await runBenchmark(main, () => api.agent.destroy());
