// What the benchmarks share besides running the server (bench/server.ts): the machine and Postgres they ran on,
// hand-signed tokens, a keep-alive GraphQL client, bench events made through the admin API, latency statistics,
// autocannon, and the results file. No side effects on import: bench/fanout-clients.ts loads it too.
import { createHmac } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import http from 'node:http';
import { createRequire } from 'node:module';
import os from 'node:os';
import type pg from 'pg';

const requireCjs = createRequire(import.meta.url);

/** The secrets every benchmark gives its server (and signs its tokens with). */
export const benchSecrets = {
  jwtSecret: 'bench-jwt-secret-0123456789abcdefghijklm', // 40 characters
  webhookSecret: 'bench-webhook-secret', // 20 characters
};

/**
 * The server's environment in a benchmark: production mode, warnings only, the demo seeded into the empty bench
 * database, the bench secrets and the built-in test payment provider; `extra` adds or overrides.
 */
export function benchServerEnv(options: { databaseUrl: string; redisUrl: string; port: number }, extra: Record<string, string> = {}): Record<string, string> {
  return {
    DATABASE_URL: options.databaseUrl,
    REDIS_URL: options.redisUrl,
    PORT: String(options.port),
    HOST: '127.0.0.1',
    LOG_LEVEL: 'warn',
    NODE_ENV: 'production',
    SEED_DEMO: 'always',
    PAYMENT_PROVIDER: 'test',
    JWT_SECRET: benchSecrets.jwtSecret,
    PAYMENT_WEBHOOK_SECRET: benchSecrets.webhookSecret,
    ...extra,
  };
}

// ---------------------------------------------------------------------------------------------------------------
// The machine, and the Postgres settings that matter to a write benchmark

export interface Machine {
  node: string;
  pg: string;
  postgres: string;
  platform: string;
  cpus: number;
  cpuModel: string;
  totalMemoryGiB: number;
  loadAverage: number[];
  date: string;
}

export function machineInfo(): Machine {
  const cpus = os.cpus();
  return {
    node: process.version,
    pg: (requireCjs('pg/package.json') as { version: string }).version,
    postgres: 'unknown',
    platform: `${os.platform()} ${os.release()} ${os.arch()}`,
    cpus: cpus.length,
    cpuModel: cpus[0]?.model ?? 'unknown',
    totalMemoryGiB: Math.round((os.totalmem() / 2 ** 30) * 10) / 10,
    loadAverage: os.loadavg().map((load) => Math.round(load * 100) / 100),
    date: new Date().toISOString(),
  };
}

/**
 * The machine's CPU time so far (Linux /proc/stat, in clock ticks): all of it, and what the hypervisor took for
 * other guests (steal). On a shared VM, steal is what makes two identical runs differ; undefined elsewhere.
 */
function cpuTicks(): { total: number; steal: number } | undefined {
  try {
    const fields = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0]!.trim().split(/\s+/).slice(1).map(Number);
    return { total: fields.reduce((sum, value) => sum + value, 0), steal: fields[7] ?? 0 };
  } catch {
    return undefined;
  }
}

/** Starts measuring CPU steal; the function it returns gives the share of CPU time stolen since (0–1), if known. */
export function stealMeter(): () => number | undefined {
  const start = cpuTicks();
  return () => {
    const end = cpuTicks();
    if (!start || !end || end.total === start.total) return undefined;
    return Math.round(((end.steal - start.steal) / (end.total - start.total)) * 1000) / 1000;
  };
}

/**
 * Reads the server's version into `machine.postgres` and the settings that matter to a write benchmark into
 * `settings`, through `admin` (recreateDatabase's maintenance connection, before it drops the bench database).
 */
export async function readPostgresSettings(admin: pg.Client, machine: Machine, settings: Record<string, string>): Promise<void> {
  const { rows } = await admin.query<{ name: string; setting: string; unit: string | null }>(
    `SELECT name, setting, unit FROM pg_settings
      WHERE name IN ('server_version', 'max_connections', 'shared_buffers', 'synchronous_commit', 'fsync', 'autovacuum')`,
  );
  for (const row of rows) {
    if (row.name === 'server_version') machine.postgres = row.setting;
    else settings[row.name] = row.unit === '8kB' ? `${(Number(row.setting) * 8) / 1024} MB` : row.setting;
  }
}

/** Prints the machine and the Postgres settings, with a blank line after. */
export function printMachine(machine: Machine, postgresSettings: Record<string, string>): void {
  console.log(`  node ${machine.node}, pg ${machine.pg}, Postgres ${machine.postgres}, ${machine.platform}`);
  console.log(`  Postgres settings: ${Object.entries(postgresSettings).map(([name, value]) => `${name}=${value}`).join(', ')}`);
  if (postgresSettings.autovacuum === 'off') console.warn('  WARNING: autovacuum is off: nothing analyzes the new events or vacuums the seats between runs');
  console.log(`  ${machine.cpus} CPUs: ${machine.cpuModel}, ${machine.totalMemoryGiB} GiB, load average ${machine.loadAverage.join(' ')}`);
  console.log(`  date ${machine.date}\n`);
}

// ---------------------------------------------------------------------------------------------------------------
// Tokens: HS256 with the claims of server/auth.ts signToken (sub, iat, exp), signed here with node:crypto in a few
// lines, since every request of a benchmark may come from a user of its own (the server still verifies every one).

const base64url = (value: string | Buffer) => Buffer.from(value).toString('base64url');
const tokenHeader = base64url(JSON.stringify({ alg: 'HS256' }));

/** A signer of 4-hour tokens for user `sub` (an admin with `admin`), with `secret`. */
export function tokenSigner(secret: string): (sub: string, admin?: boolean) => string {
  return (sub, admin = false) => {
    const iat = Math.floor(Date.now() / 1000);
    const payload = base64url(JSON.stringify({ ...(admin ? { role: 'admin' } : {}), sub, iat, exp: iat + 4 * 3600 }));
    const signature = createHmac('sha256', secret).update(`${tokenHeader}.${payload}`).digest('base64url');
    return `${tokenHeader}.${payload}.${signature}`;
  };
}

// ---------------------------------------------------------------------------------------------------------------
// HTTP: node:http with a keep-alive agent (one socket per worker), which costs the load generator less CPU than
// fetch; every request has its own body and token.

export interface GqlAnswer {
  /** `OK`, the first error's `extensions.code`, or `HTTP_<status>`. */
  code: string;
  data: Record<string, unknown> | null;
  message?: string;
}

export interface GraphqlClient {
  readonly agent: http.Agent;
  post(body: string, token: string | undefined): Promise<{ status: number; text: string }>;
  gql(query: string, variables: Record<string, unknown>, token?: string): Promise<GqlAnswer>;
  /** `gql`, failing unless the answer is OK. */
  gqlOk(name: string, query: string, variables: Record<string, unknown>, token?: string): Promise<Record<string, unknown>>;
}

/**
 * A client of `http://127.0.0.1:<port>/graphql` over at most `maxSockets` keep-alive sockets. With
 * `idleSocketMs`, a socket left unused that long is closed by this side: a server closes idle keep-alive sockets
 * after 5 s (Node's default), and a busy one may do so just as a request arrives on it (ECONNRESET here).
 * `localAddress` is the loopback address its sockets come from (see bench/surge/fans.ts).
 */
export function graphqlClient(port: number, maxSockets: number, idleSocketMs?: number, localAddress?: string): GraphqlClient {
  const agent = new http.Agent({ keepAlive: true, maxSockets, ...(idleSocketMs ? { timeout: idleSocketMs } : {}), ...(localAddress ? { localAddress } : {}) });

  const post: GraphqlClient['post'] = (body, token) =>
    new Promise((resolve, reject) => {
      const headers: http.OutgoingHttpHeaders = { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) };
      if (token) headers.authorization = `Bearer ${token}`;
      const request = http.request({ host: '127.0.0.1', port, path: '/graphql', method: 'POST', agent, headers }, (response) => {
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.on('end', () => resolve({ status: response.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }));
        response.on('error', reject);
      });
      request.on('error', reject);
      request.setTimeout(30_000, () => request.destroy(new Error('no answer within 30 s')));
      request.end(body);
    });

  const gql: GraphqlClient['gql'] = async (query, variables, token) => {
    const { status, text } = await post(JSON.stringify({ query, variables }), token);
    let body: { data?: Record<string, unknown> | null; errors?: { message?: string; extensions?: { code?: unknown } }[] };
    try {
      body = JSON.parse(text) as typeof body;
    } catch {
      return { code: `HTTP_${status}`, data: null, message: text.slice(0, 200) };
    }
    const error = body.errors?.[0];
    if (error) return { code: typeof error.extensions?.code === 'string' ? error.extensions.code : 'UNKNOWN_ERROR', data: body.data ?? null, message: error.message };
    if (status !== 200 || !body.data) return { code: `HTTP_${status}`, data: body.data ?? null, message: text.slice(0, 200) };
    return { code: 'OK', data: body.data };
  };

  const gqlOk: GraphqlClient['gqlOk'] = async (name, query, variables, token) => {
    const answer = await gql(query, variables, token);
    if (answer.code !== 'OK' || !answer.data) throw new Error(`${name}: ${answer.code}: ${answer.message ?? ''}`);
    return answer.data;
  };

  return { agent, post, gql, gqlOk };
}

// ---------------------------------------------------------------------------------------------------------------
// Bench events, created through the admin API

/** The shape of every bench event: `sections` × `rowsPerSection` rows × `seatsPerRow` seats. */
export interface BenchLayout {
  sections: number;
  rowsPerSection: number;
  seatsPerRow: number;
  maxTicketsPerUser: number;
}

/** Every bench event: 10 sections × 40 rows × 50 seats, like the demo stadium's 20,000. */
export const benchLayout: BenchLayout = { sections: 10, rowsPerSection: 40, seatsPerRow: 50, maxTicketsPerUser: 8 };

/** The price of a bench event's section `section` (0-based), in cents. */
export const sectionPrice = (section: number) => 4_000 + 1_000 * section;

export const seatsOf = (layout: BenchLayout) => layout.sections * layout.rowsPerSection * layout.seatsPerRow;

/** Bench events in one bench venue, created by an admin; counts them and the time they took. */
export class BenchEvents {
  venueId = '';
  created = 0;
  creationMs = 0;
  readonly seatsPerEvent: number;

  constructor(
    private readonly api: GraphqlClient,
    private readonly options: { adminToken: string; title: string; layout: BenchLayout },
  ) {
    this.seatsPerEvent = seatsOf(options.layout);
  }

  /** Creates the venue every event is in. */
  async createVenue(): Promise<void> {
    const venue = await this.api.gqlOk(
      'createVenue',
      `mutation { createVenue(input: { name: "Bench Arena", city: "Benchville", country: "Benchland" }) { id } }`,
      {},
      this.options.adminToken,
    );
    this.venueId = (venue.createVenue as { id: string }).id;
  }

  /** A fresh event with `seatsPerEvent` seats, on sale since an hour ago, starting in 30 days; its layout warmed. */
  async create(label: string): Promise<number> {
    const { layout } = this.options;
    const started = performance.now();
    const now = Date.now();
    const data = await this.api.gqlOk(
      'createEvent',
      `mutation($input: CreateEventInput!) { createEvent(input: $input) { id capacity } }`,
      {
        input: {
          venueId: this.venueId,
          title: `${this.options.title} ${label}`,
          performer: 'The Benchmarks',
          category: 'concert',
          startsAt: new Date(now + 30 * 86_400_000).toISOString(),
          onSaleAt: new Date(now - 3_600_000).toISOString(),
          maxTicketsPerUser: layout.maxTicketsPerUser,
          currency: 'USD',
          sections: Array.from({ length: layout.sections }, (_, i) => ({
            name: `Section ${i + 1}`,
            price: sectionPrice(i),
            rows: layout.rowsPerSection,
            seatsPerRow: layout.seatsPerRow,
          })),
        },
      },
      this.options.adminToken,
    );
    const created = data.createEvent as { id: string; capacity: number };
    if (created.capacity !== this.seatsPerEvent) throw new Error(`createEvent: ${created.capacity} seats, expected ${this.seatsPerEvent}`);
    // The first hold of an event would otherwise pay for building its layout (every seat) in the server.
    await this.api.gqlOk('seatMap', `query($id: ID!) { event(id: $id) { seatMap { version sections { id } } } }`, { id: created.id });
    this.created++;
    this.creationMs += performance.now() - started;
    return Number(created.id.slice('evt_'.length));
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Statistics

export interface Stats {
  count: number;
  perSecond: number;
  p50Ms: number;
  p99Ms: number;
  meanMs: number;
  maxMs: number;
}

export const round = (value: number, digits = 1) => Math.round(value * 10 ** digits) / 10 ** digits;

/** Exact nearest-rank percentiles of every latency recorded. */
export function stats(values: ArrayLike<number> | undefined, seconds: number): Stats {
  if (!values?.length) return { count: 0, perSecond: 0, p50Ms: 0, p99Ms: 0, meanMs: 0, maxMs: 0 };
  const sorted = Float64Array.from(values).sort();
  const rank = (p: number) => sorted[Math.max(0, Math.ceil(p * sorted.length) - 1)]!;
  const sum = sorted.reduce((total, value) => total + value, 0);
  return {
    count: sorted.length,
    perSecond: round(sorted.length / seconds),
    p50Ms: round(rank(0.5)),
    p99Ms: round(rank(0.99)),
    meanMs: round(sum / sorted.length),
    maxMs: round(sorted[sorted.length - 1]!),
  };
}

// ---------------------------------------------------------------------------------------------------------------
// autocannon ships no type declarations: the little of its API used here, typed by hand.

interface Histogram {
  average: number;
  /** Of the whole run: requests, or bytes read (throughput). */
  total: number;
  stddev: number;
  min: number;
  max: number;
  p50: number;
  p99: number;
}

export interface AutocannonResult {
  requests: Histogram;
  latency: Histogram;
  throughput: Histogram;
  duration: number;
  errors: number;
  timeouts: number;
  non2xx: number;
  statusCodeStats: Record<string, { count: number }>;
}

interface AutocannonOptions {
  url: string;
  method: 'GET' | 'POST';
  headers: Record<string, string>;
  body?: string;
  connections: number;
  duration: number;
  timeout?: number;
}

interface AutocannonInstance {
  on(event: 'response', listener: (client: unknown, statusCode: number, resBytes: number, responseTime: number) => void): void;
}

type Autocannon = (
  options: AutocannonOptions,
  callback: (error: Error | null, result: AutocannonResult) => void,
) => AutocannonInstance;

const autocannon = requireCjs('autocannon') as Autocannon;

/**
 * Runs autocannon once: POSTs of the JSON `body` to `url` over `connections` connections for `duration` seconds.
 * `sizes` counts the raw bytes of every 2xx response (headers included): all equal when every answer is the
 * same. A GraphQL error comes back as 200 too, so a second size is how one would show up without parsing bodies.
 * `request` may make them GETs of `url` alone (no body) and replace the headers (`content-type: application/json`).
 */
export function fire(
  url: string,
  body: string,
  connections: number,
  duration: number,
  request: { method?: 'GET' | 'POST'; headers?: Record<string, string> } = {},
) {
  const method = request.method ?? 'POST';
  const headers = request.headers ?? { 'content-type': 'application/json' };
  return new Promise<{ result: AutocannonResult; sizes: Map<number, number> }>((resolve, reject) => {
    const sizes = new Map<number, number>();
    const instance = autocannon(
      { url, method, headers, ...(method === 'POST' ? { body } : {}), connections, duration, timeout: 10 },
      (error, result) => (error ? reject(error) : resolve({ result, sizes })),
    );
    instance.on('response', (_client, statusCode, resBytes) => {
      if (statusCode >= 200 && statusCode < 300) sizes.set(resBytes, (sizes.get(resBytes) ?? 0) + 1);
    });
  });
}

/** Bytes by which a response may differ from the most common size and still be the same one (`Age: 9` then `Age: 10`). */
const HEADER_JITTER_BYTES = 16;

/** 2xx responses whose raw size differs from the most common one by more than header jitter (see `fire`). */
export function oddSized(sizes: Map<number, number>): number {
  const [common] = [...sizes].reduce((a, b) => (b[1] > a[1] ? b : a), [0, 0]);
  return [...sizes].filter(([size]) => Math.abs(size - common) > HEADER_JITTER_BYTES).reduce((sum, [, count]) => sum + count, 0);
}

// ---------------------------------------------------------------------------------------------------------------
// Reporting

export interface Target {
  target: string;
  value: string;
  met: boolean;
}

export function printTargets(targets: readonly Target[], title = 'Targets'): void {
  console.log(`\n${title}:`);
  for (const t of targets) console.log(`  ${t.met ? 'MET    ' : 'NOT MET'}  ${t.target} (${t.value})`);
}

/** Writes `results` as JSON to bench/results/`file` and says so. */
export async function writeResults(file: string, results: unknown): Promise<void> {
  await mkdir(new URL('results/', import.meta.url), { recursive: true });
  await writeFile(new URL(`results/${file}`, import.meta.url), `${JSON.stringify(results, null, 2)}\n`);
  console.log(`\nwrote bench/results/${file}`);
}
