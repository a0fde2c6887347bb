// What the benchmarks share: settings from the environment, a fresh bench database, and the Onsale server run in
// a process of its own (so that it does not share an event loop with the load generator).
import { spawn, type ChildProcess } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import pg from 'pg';

/** The repository root: where the server and every command a benchmark runs are started. */
export const root = fileURLToPath(new URL('..', import.meta.url));

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** An integer of at least `min` (1 unless said) from the environment variable `name`, or `fallback` when it is unset or empty. */
export function intFromEnv(name: string, fallback: number, min = 1): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < min) throw new Error(`${name} must be an integer of at least ${min}, got ${JSON.stringify(raw)}`);
  return value;
}

/**
 * Where a benchmark's database, Redis and server are: BENCH_DATABASE_URL, REDIS_URL and BENCH_PORT, or a database
 * of its own (`database`) on the local Postgres, the local Redis, and `port`. Each benchmark has its own database
 * and port, so that two can run side by side.
 */
export function benchTarget(database: string, port: number) {
  return {
    databaseUrl: process.env.BENCH_DATABASE_URL || `postgres://postgres@127.0.0.1:5432/${database}`,
    redisUrl: process.env.REDIS_URL || 'redis://127.0.0.1:6379',
    port: intFromEnv('BENCH_PORT', port),
  };
}

/**
 * Drops and recreates the database of `databaseUrl` (refusing anything that does not look like a dedicated bench
 * database), through the server's `postgres` maintenance database; `beforeDrop` may use that connection first.
 * Returns the database's name.
 */
export async function recreateDatabase(databaseUrl: string, beforeDrop?: (admin: pg.Client) => Promise<void>): Promise<string> {
  const url = new URL(databaseUrl);
  const name = decodeURIComponent(url.pathname.slice(1));
  if (!/^[a-z_][a-z0-9_]*$/.test(name) || name === 'postgres' || name.startsWith('template')) {
    throw new Error(`refusing to drop database ${JSON.stringify(name)}: use a dedicated benchmark database`);
  }
  const maintenanceUrl = new URL(url);
  maintenanceUrl.pathname = '/postgres';
  const admin = new pg.Client({ connectionString: maintenanceUrl.toString() });
  await admin.connect();
  try {
    await beforeDrop?.(admin);
    await admin.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
    await admin.query(`CREATE DATABASE "${name}"`);
  } finally {
    await admin.end();
  }
  return name;
}

// ---------------------------------------------------------------------------------------------------------------
// The server process

export interface RunningServer {
  /** The server's process id: `node` itself (tsx is loaded with --import), so /proc/<pid> is the server's. */
  readonly pid: number;
  /** Stops the server: SIGTERM, then SIGKILL if it has not exited within 15 s. */
  stop(): Promise<void>;
  /** Kills it at once (SIGKILL), as a crash would; resolves when it is gone. */
  kill(): Promise<void>;
}

/**
 * Node flags for one kind of child process alone, from the environment variable `name` (BENCH_SERVER_NODE_ARGS for
 * the server, BENCH_FANS_NODE_ARGS for the surge's load generator), e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof".
 */
export const nodeArgsFrom = (name: string) => (process.env[name] ?? '').split(/\s+/).filter(Boolean);

/**
 * A benchmark's thousands of simulated fans all come from loopback (127.0.0.1; the surge's from a few addresses): rate budgets this high are still charged
 * (their cost is measured) but never trip. A benchmark of the limits themselves sets its own.
 */
const LOAD_FROM_ONE_ADDRESS = {
  RATE_LIMIT_READS_PER_MINUTE: '100000000',
  RATE_LIMIT_WRITES_PER_MINUTE: '100000000',
  RATE_LIMIT_JOINS_PER_MINUTE: '100000000',
};

/** The processes started and not yet stopped, for the last-resort handlers below. */
const children = new Set<ChildProcess>();

const isRunning = (child: ChildProcess) => child.exitCode === null && child.signalCode === null;

async function stopChild(child: ChildProcess | undefined): Promise<void> {
  if (!child || !isRunning(child)) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
  await exited;
  clearTimeout(timer);
}

/**
 * Starts `node --import tsx server/index.ts` (with `compiled`, `node dist/server/index.js`: `npm run build` first)
 * with `args` (`worker`) and `env` over this process's environment, and waits (up to `readyTimeoutMs`) for
 * `GET <baseUrl>/readyz` to answer 200. Fails at once if something already answers there, or if the server exits
 * first; a server that is not ready in time is stopped before this fails. `quiet` drops its output.
 */
export async function startServer(options: {
  env: Record<string, string>;
  baseUrl: string;
  readyTimeoutMs: number;
  args?: string[];
  compiled?: boolean;
  quiet?: boolean;
}): Promise<RunningServer> {
  const { env, baseUrl, readyTimeoutMs } = options;
  // A leftover server on the port would answer /readyz in place of ours and be measured instead.
  const occupied = await fetch(`${baseUrl}/readyz`, { signal: AbortSignal.timeout(2_000) }).then(
    () => true,
    () => false,
  );
  if (occupied) throw new Error(`something already answers on ${baseUrl}; stop it or set BENCH_PORT`);

  const nodeArgs = nodeArgsFrom('BENCH_SERVER_NODE_ARGS');
  const entry = options.compiled ? ['dist/server/index.js'] : ['--import', 'tsx', 'server/index.ts'];
  const child = spawn(process.execPath, [...nodeArgs, ...entry, ...(options.args ?? [])], {
    cwd: root,
    stdio: ['ignore', options.quiet ? 'ignore' : 'inherit', options.quiet ? 'ignore' : 'inherit'],
    env: { ...process.env, ...LOAD_FROM_ONE_ADDRESS, ...env },
  });
  children.add(child);
  child.once('exit', () => children.delete(child));
  const gone = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const server: RunningServer = { pid: child.pid ?? -1, stop: () => stopChild(child), kill: () => (child.kill('SIGKILL'), gone) };
  let exited: string | undefined;
  child.once('exit', (code, signal) => (exited = signal ?? `exit code ${code}`));

  try {
    const deadline = Date.now() + readyTimeoutMs;
    let last = 'no answer yet';
    while (Date.now() < deadline) {
      if (exited) throw new Error(`the server exited before it was ready (${exited})`);
      try {
        const response = await fetch(`${baseUrl}/readyz`, { signal: AbortSignal.timeout(2_000) });
        const text = await response.text();
        if (response.status === 200) return server;
        last = `${response.status} ${text}`;
      } catch (error) {
        last = (error as Error).message;
      }
      await sleep(250);
    }
    throw new Error(`the server was not ready within ${readyTimeoutMs / 1000} s on ${baseUrl}/readyz (last: ${last})`);
  } catch (error) {
    await server.stop();
    throw error;
  }
}

/**
 * The resident memory of process `pid` now (VmRSS) and at its peak so far (VmHWM), in MB, from /proc/<pid>/status;
 * null where that cannot be read (not Linux, or the process is gone).
 */
export async function memoryOf(pid: number): Promise<{ rssMB: number; peakMB: number } | null> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8').catch(() => undefined);
  const kB = (field: string) => Number(status?.match(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm'))?.[1] ?? NaN);
  const rss = kB('VmRSS');
  const peak = kB('VmHWM');
  if (Number.isNaN(rss)) return null;
  return { rssMB: Math.round(rss / 102.4) / 10, peakMB: Math.round(peak / 102.4) / 10 };
}

/**
 * Runs a benchmark's `main`, then `cleanup`, and stops the server it started, whatever happens; exits with the
 * code `main` returns (1 if it throws, after printing why).
 */
export async function runBenchmark(main: () => Promise<number>, cleanup?: () => void): Promise<never> {
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      console.error(`\n${signal}: stopping the server`);
      void Promise.all([...children].map(stopChild)).finally(() => process.exit(130));
    });
  }
  let exitCode = 1;
  try {
    exitCode = await main();
  } catch (error) {
    console.error(`\nbenchmark failed: ${error instanceof Error ? error.message : String(error)}`);
  } finally {
    cleanup?.();
    await Promise.all([...children].map(stopChild));
  }
  process.exit(exitCode);
}

// Last resort if the benchmark goes away some other way (an uncaught error; Ctrl-C: runBenchmark).
process.once('exit', () => {
  for (const child of children) if (isRunning(child)) child.kill('SIGKILL');
});

