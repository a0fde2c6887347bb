// npm run bench:read — the read-path benchmark: seat map (bitmap and full) and search, against a fresh seeded
// Postgres database, with the server in its own process so that it does not share an event loop with autocannon.
// Then two comparisons: a persisted query sent by hash (GET) against the same document in full (POST), and the
// gateway's protections (query limits, cost, rate budgets in Redis) on against GATEWAY_PROTECTIONS=off.
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import os from 'node:os';
import pg from 'pg';
import { fire as fireAutocannon, oddSized } from './common.js';
import { benchTarget, intFromEnv, recreateDatabase, root, runBenchmark, startServer, type RunningServer } from './server.js';

// ---------------------------------------------------------------------------------------------------------------
// Settings

const settings = {
  ...benchTarget('onsale_bench', 4100),
  durationSeconds: intFromEnv('BENCH_DURATION', 15),
  connections: intFromEnv('BENCH_CONNECTIONS', 50),
  fullConnections: intFromEnv('BENCH_FULL_CONNECTIONS', 10),
  /** Protections on, then off, this many times over (a fresh server each time); the better run of each side counts. */
  protectionRounds: intFromEnv('BENCH_PROTECTION_ROUNDS', 2),
  warmupSeconds: 2,
};

const cpus = os.cpus();
const machine = {
  node: process.version,
  platform: `${os.platform()} ${os.release()} ${os.arch()}`,
  cpus: cpus.length,
  cpuModel: cpus[0]?.model ?? 'unknown',
  totalMemoryGiB: Math.round((os.totalmem() / 2 ** 30) * 10) / 10,
  date: new Date().toISOString(),
};

const baseUrl = `http://127.0.0.1:${settings.port}`;
const graphqlUrl = `${baseUrl}/graphql`;

// ---------------------------------------------------------------------------------------------------------------
// Helpers

/** Runs a command to completion with inherited output; rejects unless it exits 0. */
function run(command: string, args: string[], env: NodeJS.ProcessEnv): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd: root, env, stdio: ['ignore', 'inherit', 'inherit'] });
    child.once('error', reject);
    child.once('exit', (code, signal) => {
      if (code === 0) resolve();
      else reject(new Error(`${command} ${args.join(' ')} failed (${signal ?? `exit code ${code}`})`));
    });
  });
}

/** Drops and recreates the bench database, then migrates and seeds the demo catalogue into it. */
async function prepareDatabase(): Promise<{ eventId: string; capacity: number }> {
  const name = await recreateDatabase(settings.databaseUrl);
  console.log(`created database ${name}; seeding the demo catalogue…`);
  await run('npx', ['tsx', 'datasources/cli.ts', 'seed'], { ...process.env, DATABASE_URL: settings.databaseUrl });

  const client = new pg.Client({ connectionString: settings.databaseUrl });
  await client.connect();
  try {
    const { rows } = await client.query<{ id: number; capacity: number }>(
      'SELECT id, capacity FROM events ORDER BY capacity DESC LIMIT 1',
    );
    const top = rows[0];
    if (!top) throw new Error('the seed created no event');
    return { eventId: `evt_${top.id}`, capacity: top.capacity };
  } finally {
    await client.end();
  }
}

/** The server in its own process, once started (stopped at the end, whatever happens). */
let server: RunningServer | undefined;

/** One HTTP request as autocannon sends it over and over. */
interface BenchRequest {
  method: 'GET' | 'POST';
  /** /graphql, with a query string for a GET. */
  url: string;
  headers: Record<string, string>;
  /** The JSON body of a POST ('' for a GET). */
  body: string;
}

/** A POST of the document in full, as today's cases send it. */
const post = (query: string, extensions?: Record<string, unknown>): BenchRequest => ({
  method: 'POST',
  url: graphqlUrl,
  headers: { 'content-type': 'application/json' },
  body: JSON.stringify(extensions ? { query, extensions } : { query }),
});

/** The bytes of one request on the wire, as autocannon's request builder lays it out (request line, headers, body). */
function requestBytes(request: BenchRequest): number {
  const url = new URL(request.url);
  const lines = [`${request.method} ${url.pathname}${url.search} HTTP/1.1`, `Host: ${url.host}`, 'Connection: keep-alive'];
  const body = Buffer.byteLength(request.body);
  const headers = { ...request.headers, ...(body > 0 ? { 'Content-Length': String(body) } : {}) };
  for (const [key, value] of Object.entries(headers)) lines.push(`${key}: ${value}`);
  return Buffer.byteLength(`${lines.join('\r\n')}\r\n\r\n`) + body;
}

/**
 * Sends `request` once; fails unless the answer is 200 with data (every root field non-null) and no errors, or
 * the 304 a revalidation expects. Returns the decoded body's bytes.
 */
async function verify(name: string, query: string | BenchRequest, expectStatus = 200): Promise<number> {
  const request = typeof query === 'string' ? post(query) : query;
  const response = await fetch(request.url, {
    method: request.method,
    headers: request.headers,
    ...(request.method === 'POST' ? { body: request.body } : {}),
  });
  if (expectStatus === 304) {
    if (response.status !== 304) throw new Error(`${name}: HTTP ${response.status}, not 304`);
    return 0;
  }
  const text = await response.text();
  const bytes = Buffer.byteLength(text);
  const preview = text.length > 500 ? `${text.slice(0, 500)}…` : text;
  if (response.status !== 200) throw new Error(`${name}: HTTP ${response.status}: ${preview}`);
  const body = JSON.parse(text) as { data?: Record<string, unknown> | null; errors?: unknown[] };
  if (body.errors?.length) throw new Error(`${name}: the response has errors: ${preview}`);
  const data = body.data;
  if (!data || Object.keys(data).length === 0 || Object.values(data).some((value) => value === null)) {
    throw new Error(`${name}: the response has no data: ${preview}`);
  }
  return bytes;
}

/** Runs autocannon once with `request`. */
const fire = (request: BenchRequest, connections: number, duration: number) =>
  fireAutocannon(request.url, request.body, connections, duration, { method: request.method, headers: request.headers });

interface CaseResult {
  name: string;
  connections: number;
  requestsPerSecond: number;
  latencyP50Ms: number;
  latencyP99Ms: number;
  latencyMeanMs: number;
  latencyMaxMs: number;
  bytesPerResponse: number;
  /** One response as it went over the wire (headers and, compressed or not, body): autocannon's bytes read per request. */
  wireBytesPerResponse: number;
  /** One request on the wire: request line, headers and body. */
  bytesPerRequest: number;
  totalRequests: number;
  non2xx: number;
  errors: number;
  timeouts: number;
  /** 2xx responses whose raw size differs from the most common one (possibly GraphQL errors). */
  oddSizedResponses: number;
  statusCodes: Record<string, number>;
}

/** Verifies the query, warms up for 2 s (not recorded), then measures for BENCH_DURATION seconds. */
async function runCase(name: string, query: string | BenchRequest, connections: number, expectStatus = 200): Promise<CaseResult> {
  const request = typeof query === 'string' ? post(query) : query;
  const bytesPerResponse = await verify(name, request, expectStatus);
  const bytesPerRequest = requestBytes(request);
  console.log(`\n${name}: ${connections} connections, ${bytesPerRequest} bytes/request, ${bytesPerResponse} bytes/response`);
  process.stdout.write(`  warming up ${settings.warmupSeconds} s… `);
  await fire(request, connections, settings.warmupSeconds);
  process.stdout.write(`measuring ${settings.durationSeconds} s… `);
  const { result, sizes } = await fire(request, connections, settings.durationSeconds);

  const oddSizedResponses = oddSized(sizes);
  const statusCodes = Object.fromEntries(Object.entries(result.statusCodeStats).map(([code, { count }]) => [code, Number(count)]));
  const outcome: CaseResult = {
    name,
    connections,
    requestsPerSecond: result.requests.average,
    latencyP50Ms: result.latency.p50,
    latencyP99Ms: result.latency.p99,
    latencyMeanMs: result.latency.average,
    latencyMaxMs: result.latency.max,
    bytesPerResponse,
    wireBytesPerResponse: result.requests.total > 0 ? Math.round(result.throughput.total / result.requests.total) : 0,
    bytesPerRequest,
    totalRequests: Object.values(statusCodes).reduce((sum, count) => sum + count, 0),
    // autocannon counts a 304 as non-2xx: for a revalidation, only what is not the expected status is.
    non2xx: expectStatus === 200 ? result.non2xx : Object.entries(statusCodes).reduce((sum, [code, count]) => sum + (code === String(expectStatus) ? 0 : count), 0),
    errors: result.errors,
    timeouts: result.timeouts,
    oddSizedResponses,
    statusCodes,
  };
  console.log(`${outcome.requestsPerSecond.toFixed(0)} req/s, p50 ${outcome.latencyP50Ms} ms, p99 ${outcome.latencyP99Ms} ms`);
  if (outcome.non2xx || outcome.errors || outcome.timeouts) {
    console.warn(
      `  WARNING: ${name} had ${outcome.non2xx} non-2xx responses, ${outcome.errors} errors, ${outcome.timeouts} timeouts ` +
        `(status codes: ${JSON.stringify(statusCodes)})`,
    );
  }
  if (oddSizedResponses) {
    console.warn(
      `  WARNING: ${name} had ${oddSizedResponses} 2xx responses of an unexpected size (raw sizes: ` +
        `${JSON.stringify(Object.fromEntries(sizes))}); some may carry GraphQL errors`,
    );
  }
  return outcome;
}

/** Starts a fresh server on BENCH_PORT with the bench settings, and `extra` over them. */
async function startBenchServer(label: string, extra: Record<string, string> = {}): Promise<RunningServer> {
  console.log(`starting the server (${label}) on ${baseUrl}…`);
  const started = await startServer({
    baseUrl,
    readyTimeoutMs: 60_000,
    env: {
      DATABASE_URL: settings.databaseUrl,
      REDIS_URL: settings.redisUrl,
      PORT: String(settings.port),
      HOST: '127.0.0.1',
      LOG_LEVEL: 'warn',
      NODE_ENV: 'production',
      JWT_SECRET: 'bench-jwt-secret-0123456789abcdefghijklm', // 40 characters
      PAYMENT_WEBHOOK_SECRET: 'bench-webhook-secret', // 20 characters
      PAYMENT_PROVIDER: 'test',
      ...extra,
    },
  });
  console.log('server ready');
  return started;
}

/** Stops the running server (if any) so that the next one can take the port. */
async function stopBenchServer(): Promise<void> {
  await server?.stop();
  server = undefined;
}

/** The better of several runs of one case (by req/s), with every run kept. */
const best = (runs: CaseResult[]) => runs.reduce((a, b) => (b.requestsPerSecond > a.requestsPerSecond ? b : a));

/** Req/s that `on` loses against `off`, in % of `off` (negative: `on` was faster). */
const overhead = (on: CaseResult, off: CaseResult) =>
  off.requestsPerSecond > 0 ? (100 * (off.requestsPerSecond - on.requestsPerSecond)) / off.requestsPerSecond : 0;

const hasErrors = (r: CaseResult) => r.non2xx > 0 || r.errors > 0 || r.timeouts > 0 || r.oddSizedResponses > 0;

// ---------------------------------------------------------------------------------------------------------------
// Main

async function main(): Promise<number> {
  console.log('Onsale read-path benchmark');
  console.log(`  BENCH_DATABASE_URL      ${settings.databaseUrl}`);
  console.log(`  REDIS_URL               ${settings.redisUrl}`);
  console.log(`  BENCH_DURATION          ${settings.durationSeconds} s (after ${settings.warmupSeconds} s of warm-up)`);
  console.log(`  BENCH_CONNECTIONS       ${settings.connections}`);
  console.log(`  BENCH_FULL_CONNECTIONS  ${settings.fullConnections} (seatmap-full)`);
  console.log(`  BENCH_PORT              ${settings.port}`);
  console.log(`  BENCH_PROTECTION_ROUNDS ${settings.protectionRounds} (protections on, then off, a fresh server each)`);
  console.log(`  BENCH_SERVER_NODE_ARGS  ${process.env.BENCH_SERVER_NODE_ARGS || '(none)'}`);
  console.log(`  node ${machine.node}, ${machine.platform}`);
  console.log(`  ${machine.cpus} CPUs: ${machine.cpuModel}, ${machine.totalMemoryGiB} GiB`);
  console.log(`  date ${machine.date}\n`);

  const { eventId, capacity } = await prepareDatabase();
  console.log(`largest event: ${eventId} (${capacity} seats)`);
  if (eventId !== 'evt_1' || capacity !== 20_000) {
    console.warn(`  WARNING: expected the demo stadium evt_1 with 20000 seats`);
  }

  server = await startBenchServer('NODE_ENV=production, default protections');

  const search =
    'query { events(filter: { text: "midnight" }, first: 20) { totalCount edges { node { id title performer startsAt ' +
    'venue { name city } priceRange { min { amount currency } } } } } }';
  const bitmapQuery = `query { event(id: "${eventId}") { seatMap { version availability } } }`;
  const results: CaseResult[] = [];
  results.push(await runCase('trivial', '{ __typename }', settings.connections));
  results.push(await runCase('seatmap-bitmap (a)', bitmapQuery, settings.connections));
  results.push(
    await runCase(
      'seatmap-full (b)',
      `query { event(id: "${eventId}") { seatMap { version sections { id name rows { label seats { id status } } } } } }`,
      settings.fullConnections,
    ),
  );
  results.push(await runCase('search (c)', search, settings.connections));
  // The trivial query runs first against a server whose JIT is still cold; it runs again at the end, and the
  // better of the two runs is the ceiling, so the ratios are never flattered by a cold first run.
  results.push(await runCase('trivial (again)', '{ __typename }', settings.connections));

  const [first, bitmap, , searchResult, last] = results as [CaseResult, CaseResult, CaseResult, CaseResult, CaseResult];
  const trivial = first.requestsPerSecond >= last.requestsPerSecond ? first : last;
  const share = (r: CaseResult) => (trivial.requestsPerSecond > 0 ? (100 * r.requestsPerSecond) / trivial.requestsPerSecond : 0);

  console.log(`\nceiling: the ${trivial === first ? 'first' : 'second'} trivial run, ${trivial.requestsPerSecond.toFixed(0)} req/s`);
  console.log('\n| case | connections | req/s | p50 ms | p99 ms | bytes/response | % of trivial req/s |');
  console.log('|---|---:|---:|---:|---:|---:|---:|');
  for (const r of results) {
    console.log(
      `| ${r.name} | ${r.connections} | ${r.requestsPerSecond.toFixed(0)} | ${r.latencyP50Ms} | ${r.latencyP99Ms} | ` +
        `${r.bytesPerResponse} | ${share(r).toFixed(1)}% |`,
    );
  }

  // -------------------------------------------------------------------------------------------------------------
  // A persisted query by hash (GET, APQ) against the same document in full (POST), on the same server.
  const hash = createHash('sha256').update(bitmapQuery).digest('hex');
  const persistedQuery = { persistedQuery: { version: 1, sha256Hash: hash } };
  console.log(`\npersisted query: registering sha256 ${hash} (one POST with the query and its hash)…`);
  await verify('apq registration', post(bitmapQuery, persistedQuery));
  const byHash: BenchRequest = {
    method: 'GET',
    url: `${graphqlUrl}?extensions=${encodeURIComponent(JSON.stringify(persistedQuery))}`,
    // CSRF prevention is on: a GET must carry a header a browser would preflight.
    headers: { 'apollo-require-preflight': 'true' },
    body: '',
  };
  const persisted = {
    sha256Hash: hash,
    full: await runCase('bitmap: POST full query', post(bitmapQuery), settings.connections),
    hash: await runCase('bitmap: GET persisted hash', byHash, settings.connections),
  };
  const layout = await layoutCases(eventId);
  await stopBenchServer();

  // -------------------------------------------------------------------------------------------------------------
  // Protections on against off. GATEWAY_PROTECTIONS=off is refused with NODE_ENV=production, so both sides run
  // with NODE_ENV=development (and otherwise the same settings): the only difference is the protections.
  const protectionRuns: { on: { trivial: CaseResult[]; bitmap: CaseResult[] }; off: { trivial: CaseResult[]; bitmap: CaseResult[] } } = {
    on: { trivial: [], bitmap: [] },
    off: { trivial: [], bitmap: [] },
  };
  for (let round = 1; round <= settings.protectionRounds; round++) {
    for (const side of ['on', 'off'] as const) {
      console.log(`\n--- protections ${side}, round ${round} of ${settings.protectionRounds}`);
      server = await startBenchServer(`NODE_ENV=development, GATEWAY_PROTECTIONS=${side}`, {
        NODE_ENV: 'development',
        GATEWAY_PROTECTIONS: side,
      });
      protectionRuns[side].trivial.push(await runCase(`trivial, protections ${side} (round ${round})`, '{ __typename }', settings.connections));
      protectionRuns[side].bitmap.push(await runCase(`seatmap-bitmap, protections ${side} (round ${round})`, bitmapQuery, settings.connections));
      await stopBenchServer();
    }
  }
  const protections = (['trivial', 'bitmap'] as const).map((kind) => {
    const on = best(protectionRuns.on[kind]);
    const off = best(protectionRuns.off[kind]);
    return { case: kind === 'trivial' ? 'trivial `{ __typename }`' : '(a) seat map: `version availability`', on, off, overheadPercent: overhead(on, off) };
  });

  console.log('\nPersisted query by hash against the full document (seatmap-bitmap query, NODE_ENV=production):');
  console.log('\n| request | connections | req/s | p50 ms | p99 ms | bytes/request | bytes/response |');
  console.log('|---|---:|---:|---:|---:|---:|---:|');
  for (const [label, r] of [['POST, full `query`', persisted.full], ['GET, `extensions.persistedQuery` only', persisted.hash]] as const) {
    console.log(
      `| ${label} | ${r.connections} | ${r.requestsPerSecond.toFixed(0)} | ${r.latencyP50Ms} | ${r.latencyP99Ms} | ` +
        `${r.bytesPerRequest} | ${r.bytesPerResponse} |`,
    );
  }
  const hashGain = persisted.full.requestsPerSecond > 0 ? (100 * (persisted.hash.requestsPerSecond - persisted.full.requestsPerSecond)) / persisted.full.requestsPerSecond : 0;
  console.log(
    `  by hash: ${hashGain >= 0 ? '+' : ''}${hashGain.toFixed(1)}% req/s, ` +
      `${persisted.hash.bytesPerRequest - persisted.full.bytesPerRequest >= 0 ? '+' : ''}${persisted.hash.bytesPerRequest - persisted.full.bytesPerRequest} bytes per request`,
  );

  console.log(`\nProtections on against GATEWAY_PROTECTIONS=off (NODE_ENV=development, best of ${settings.protectionRounds} fresh servers each):`);
  console.log('\n| case | connections | on req/s | on p99 ms | off req/s | off p99 ms | overhead (req/s) |');
  console.log('|---|---:|---:|---:|---:|---:|---:|');
  for (const p of protections) {
    console.log(
      `| ${p.case} | ${p.on.connections} | ${p.on.requestsPerSecond.toFixed(0)} | ${p.on.latencyP99Ms} | ` +
        `${p.off.requestsPerSecond.toFixed(0)} | ${p.off.latencyP99Ms} | ${p.overheadPercent.toFixed(1)}% |`,
    );
  }
  console.log('  every run (req/s):');
  for (const side of ['on', 'off'] as const) {
    for (const kind of ['trivial', 'bitmap'] as const) {
      console.log(`    ${side.padEnd(3)} ${kind.padEnd(7)} ${protectionRuns[side][kind].map((r) => r.requestsPerSecond.toFixed(0)).join(', ')}`);
    }
  }

  printLayout(layout);
  const fromCache = best([layout.cachedBr, layout.cachedGzip, layout.cachedIdentity]);
  const cold = best([layout.coldBr, layout.coldGzip, layout.coldIdentity]);
  const targets = [
    { target: '(a) seatmap-bitmap p99 < 50 ms', value: `${bitmap.latencyP99Ms} ms`, met: bitmap.latencyP99Ms < 50 },
    { target: '(a) seatmap-bitmap req/s >= 60% of trivial', value: `${share(bitmap).toFixed(1)}%`, met: share(bitmap) >= 60 },
    { target: '(c) search p99 < 50 ms', value: `${searchResult.latencyP99Ms} ms`, met: searchResult.latencyP99Ms < 50 },
    { target: 'layout from the cache >= 1,000 req/s', value: `${fromCache.requestsPerSecond.toFixed(0)} req/s (${fromCache.name})`, met: fromCache.requestsPerSecond >= 1_000 },
    { target: 'layout cold (no cache) >= 100 req/s', value: `${cold.requestsPerSecond.toFixed(0)} req/s (${cold.name})`, met: cold.requestsPerSecond >= 100 },
    { target: 'layout compressed < 150 KB', value: `${layout.cachedBr.wireBytesPerResponse} bytes (br)`, met: layout.cachedBr.wireBytesPerResponse < 150_000 },
    {
      target: '304 revalidation within 10% of trivial req/s',
      value: `${layout.revalidation.requestsPerSecond.toFixed(0)} against ${trivial.requestsPerSecond.toFixed(0)} req/s`,
      met: layout.revalidation.requestsPerSecond >= 0.9 * trivial.requestsPerSecond,
    },
    ...protections.map((p) => ({
      target: `protections cost <= 10% of req/s (${p.case})`,
      value: `${p.overheadPercent.toFixed(1)}%`,
      met: p.overheadPercent <= 10,
    })),
  ];
  console.log('\nTargets:');
  for (const t of targets) console.log(`  ${t.met ? 'MET    ' : 'NOT MET'}  ${t.target} (${t.value})`);

  const failed = [
    ...results,
    persisted.full,
    persisted.hash,
    ...Object.values(layout),
    ...protectionRuns.on.trivial,
    ...protectionRuns.on.bitmap,
    ...protectionRuns.off.trivial,
    ...protectionRuns.off.bitmap,
  ].filter(hasErrors);
  const date = machine.date.slice(0, 10);
  const file = `bench/results/read-${date}.json`;
  await mkdir(new URL('results/', import.meta.url), { recursive: true });
  await writeFile(
    new URL(`results/read-${date}.json`, import.meta.url),
    `${JSON.stringify(
      {
        settings: { ...settings, eventId, eventCapacity: capacity, serverNodeArgs: process.env.BENCH_SERVER_NODE_ARGS ?? '' },
        machine,
        results,
        persistedQuery: persisted,
        layout,
        protections: { cases: protections.map((p) => ({ case: p.case, overheadPercent: p.overheadPercent, on: p.on.name, off: p.off.name })), runs: protectionRuns },
        targets,
      },
      null,
      2,
    )}\n`,
  );
  console.log(`\nwrote ${file}`);

  if (failed.length) {
    console.error(`FAILED: ${failed.map((r) => r.name).join(', ')} had errors (see the warnings above)`);
    return 1;
  }
  return 0;
}

// ---------------------------------------------------------------------------------------------------------------
// The seat layout of the largest event by GET: built for each request (`Cache-Control: no-cache` from the client)
// and from the response cache, in each coding; then revalidated with its ETag (304).

const LAYOUT_QUERY = `query Layout($id: ID!) { event(id: $id) { seatMap { sections { id name rows { label seats { id number ordinal } } } } } }`;

async function layoutCases(eventId: string) {
  const url = `${graphqlUrl}?${new URLSearchParams({ query: LAYOUT_QUERY, variables: JSON.stringify({ id: eventId }) })}`;
  const layoutGet = (headers: Record<string, string>): BenchRequest => ({ method: 'GET', url, headers: { 'apollo-require-preflight': 'true', ...headers }, body: '' });
  const connections = settings.fullConnections;
  const run = (label: string, headers: Record<string, string>) => runCase(`layout: ${label}`, layoutGet(headers), connections);
  const cases = {
    coldIdentity: await run('no cache, identity', { 'cache-control': 'no-cache', 'accept-encoding': 'identity' }),
    coldGzip: await run('no cache, gzip', { 'cache-control': 'no-cache', 'accept-encoding': 'gzip' }),
    coldBr: await run('no cache, br', { 'cache-control': 'no-cache', 'accept-encoding': 'br' }),
    cachedIdentity: await run('cached, identity', { 'accept-encoding': 'identity' }),
    cachedGzip: await run('cached, gzip', { 'accept-encoding': 'gzip' }),
    cachedBr: await run('cached, br', { 'accept-encoding': 'br' }),
  };
  const etag = (await fetch(url, { headers: { 'apollo-require-preflight': 'true' } })).headers.get('etag');
  if (!etag) throw new Error('the layout has no ETag');
  const revalidation = await runCase('layout: If-None-Match (304)', layoutGet({ 'if-none-match': etag }), settings.connections, 304);
  return { ...cases, revalidation };
}

function printLayout(layout: Awaited<ReturnType<typeof layoutCases>>) {
  console.log(`\nThe 20,000-seat layout by GET (NODE_ENV=production; ${layout.cachedIdentity.bytesPerResponse} bytes of JSON):`);
  console.log('\n| request | connections | req/s | p50 ms | p99 ms | bytes on the wire |');
  console.log('|---|---:|---:|---:|---:|---:|');
  for (const r of Object.values(layout)) {
    console.log(`| ${r.name.replace('layout: ', '')} | ${r.connections} | ${r.requestsPerSecond.toFixed(0)} | ${r.latencyP50Ms} | ${r.latencyP99Ms} | ${r.wireBytesPerResponse} |`);
  }
}

await runBenchmark(main);
