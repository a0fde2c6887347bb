// npm run bench:onsale [-- --fans 20000 --watchers 2000 ...]: the on-sale surge (bench/surge/surge.ts) on the
// compiled server: 2 gateways and a worker on a fresh database and a Redis of its own, a gated 5,000-seat event,
// 20,000 fans and 2,000 watchers from two load-generator processes; one gateway SIGKILLed and Redis restarted mid-sale.
// Prints the invariants and the figures, writes bench/results/onsale-<date>.json and .html, and exits 1 when an
// invariant failed.
import { execFileSync } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { machineInfo, printMachine, printTargets, readPostgresSettings, stealMeter, writeResults, type Target } from './common.js';
import { root, runBenchmark } from './server.js';
import { renderReport } from './surge/report.js';
import { runSurge, type SurgeOptions } from './surge/surge.js';

const { values: flags } = parseArgs({
  options: {
    fans: { type: 'string', default: '20000' },
    watchers: { type: 'string', default: '2000' },
    sections: { type: 'string', default: '5' },
    rows: { type: 'string', default: '20' },
    'seats-per-row': { type: 'string', default: '50' },
    gateways: { type: 'string', default: '2' },
    // Processes playing the fans and watchers: each may open only so many files (20,000 here; see bench/surge/load.ts).
    'load-generators': { type: 'string', default: '2' },
    'admissions-per-minute': { type: 'string', default: '3000' },
    'join-seconds': { type: 'string', default: '60' },
    'hold-seconds': { type: 'string', default: '60' },
    'max-sale-seconds': { type: 'string', default: '150' },
    'kill-gateway-at': { type: 'string', default: '0.3' },
    'restart-redis-at': { type: 'string', default: '0.6' },
    'waitlist-share': { type: 'string', default: '0.3' },
    'pool-size': { type: 'string', default: '10' },
    'coalesce-ms': { type: 'string', default: '500' },
    'redis-port': { type: 'string', default: '6390' },
    port: { type: 'string', default: '4700' },
    database: { type: 'string', default: 'onsale_bench_onsale' },
    tsx: { type: 'boolean', default: false },
    // Appended to the results' file names (onsale-<date>-<label>.json), to keep several runs of a day.
    label: { type: 'string', default: '' },
  },
});
const number = (name: keyof typeof flags, min: number, max: number) => {
  const value = Number(flags[name]);
  if (!Number.isFinite(value) || value < min || value > max) throw new Error(`--${name} must be a number from ${min} to ${max}, got ${flags[name]}`);
  return value;
};
/** A share of the seats sold (0–1), or `never`. */
const share = (name: keyof typeof flags) => (flags[name] === 'never' ? null : number(name, 0, 1));

const options: SurgeOptions = {
  fans: number('fans', 1, 1_000_000),
  watchers: number('watchers', 0, 100_000),
  layout: { sections: number('sections', 1, 200), rows: number('rows', 1, 1_000), seatsPerRow: number('seats-per-row', 1, 1_000) },
  gateways: number('gateways', 1, 8),
  loadGenerators: number('load-generators', 1, 16),
  admissionsPerMinute: number('admissions-per-minute', 1, 100_000),
  joinWindowMs: number('join-seconds', 1, 3_600) * 1000,
  holdDurationSeconds: number('hold-seconds', 60, 86_400),
  maxTicketsPerUser: 4,
  maxSaleSeconds: number('max-sale-seconds', 1, 86_400),
  killGatewayAt: share('kill-gateway-at'),
  restartRedisAt: share('restart-redis-at'),
  personas: { visa: 0.77, declined: 0.08, abandon: 0.07, async: 0.05, refund: 0.03 },
  waitlistShare: number('waitlist-share', 0, 1),
  compiled: !flags.tsx,
  databaseUrl: process.env.DATABASE_URL || 'postgres://postgres@127.0.0.1:5432/postgres',
  database: flags.database!,
  redisPort: number('redis-port', 1, 65_535),
  basePort: number('port', 1, 65_000),
  poolSize: number('pool-size', 1, 100),
  coalesceMs: number('coalesce-ms', 0, 60_000),
  quiet: false,
  log: (line) => console.log(`  ${line}`),
};

async function main(): Promise<number> {
  const machine = machineInfo();
  const postgresSettings: Record<string, string> = {};
  const admin = new pg.Client({ connectionString: options.databaseUrl });
  await admin.connect();
  await readPostgresSettings(admin, machine, postgresSettings).finally(() => admin.end());
  console.log(`bench:onsale: ${options.fans} fans, ${options.watchers} watchers, ${options.gateways} gateways + 1 worker (${options.compiled ? 'compiled' : 'tsx'})`);
  printMachine(machine, postgresSettings);
  if (options.compiled) {
    console.log('  npm run build');
    execFileSync('npm', ['run', 'build'], { cwd: root, stdio: 'ignore' });
  }
  const steal = stealMeter();
  const result = await runSurge(options);
  const cpuSteal = steal();

  console.log('\nInvariants:');
  for (const [name, held] of Object.entries(result.invariants)) console.log(`  ${held ? 'held  ' : 'FAILED'}  ${name}`);
  for (const [name, v] of Object.entries(result.violations)) if (v.count) console.log(`  ${name}: ${v.count} violations, e.g. ${JSON.stringify(v.examples)}`);
  if (!result.raffle.ok) console.log(`  verify-raffle: ${result.raffle.output}`);
  console.log(`  watchers: ${JSON.stringify(result.watchers)}`);
  console.log(`\n${result.sellOutSeconds === null ? `not sold out after ${result.saleSeconds} s` : `sold out in ${result.sellOutSeconds} s`}; ${result.holdsPerSecond} holds/s, ${result.bookingsPerSecond} bookings/s`);
  console.log('operation             count    p50 ms   p99 ms   max ms');
  for (const [op, s] of Object.entries(result.operations)) console.log(`  ${op.padEnd(20)}${String(s.count).padStart(6)}${String(s.p50Ms).padStart(10)}${String(s.p99Ms).padStart(9)}${String(s.maxMs).padStart(9)}`);
  console.log(`errors by code: ${JSON.stringify(result.errors)}`);
  console.log(`fans: ${JSON.stringify(result.outcomes)}`);
  console.log(`deltas delivered ${result.deltas}, reconnects ${result.reconnects}, failovers ${result.failovers}, watcher reads ${result.refetches}; load generator's event-loop delay p99 ${result.loadGeneratorLoopDelayP99Ms} ms; CPU steal ${cpuSteal ?? 'unknown'}`);
  console.log(`peak RSS (MB): ${JSON.stringify(result.peakRssMB)}; faults: ${JSON.stringify(result.faults)}`);
  console.log(`gateway-1 measured itself: ${JSON.stringify(result.server)}`);

  const hold = result.operations.holdBestAvailable;
  const confirm = result.operations.confirmBooking;
  const targets: Target[] = [
    { target: 'every invariant holds, faults included', value: `${Object.values(result.invariants).filter(Boolean).length} of ${Object.keys(result.invariants).length}`, met: Object.values(result.invariants).every(Boolean) },
    { target: 'the event sells out', value: result.sellOutSeconds === null ? 'no' : `${result.sellOutSeconds} s`, met: result.sellOutSeconds !== null },
    { target: `hold p99 < 200 ms at the fans with ${options.watchers} watchers`, value: `${hold?.p99Ms ?? '-'} ms`, met: (hold?.p99Ms ?? Infinity) < 200 },
    { target: `confirm p99 < 300 ms at the fans with ${options.watchers} watchers`, value: `${confirm?.p99Ms ?? '-'} ms`, met: (confirm?.p99Ms ?? Infinity) < 300 },
  ];
  printTargets(targets);

  const date = `${machine.date.slice(0, 10)}${flags.label ? `-${flags.label}` : ''}`;
  const settings = { ...options, log: undefined, cpuSteal };
  await writeResults(`onsale-${date}.json`, { settings, machine, postgresSettings, result, invariants: result.invariants, targets });
  await mkdir(new URL('results/', import.meta.url), { recursive: true });
  await writeFile(new URL(`results/onsale-${date}.html`, import.meta.url), renderReport(result, settings, { ...machine, postgresSettings }, targets));
  console.log(`wrote bench/results/onsale-${date}.html`);
  return Object.values(result.invariants).every(Boolean) ? 0 : 1;
}

await runBenchmark(main);
