import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createTestPaymentProvider } from '../datasources/payments/test-provider.js';
import { migrate } from '../datasources/postgres/migrate.js';
import { startWorkers, type Workers } from '../workers/index.js';
import { openDatabase, openPubSub, openQueueLine } from './app.js';
import type { Config } from './config.js';
import { createLogger, type Logger } from './logger.js';
import { createMetrics } from './metrics.js';

/** A running worker process: the background work without the GraphQL server. */
export interface WorkerApp {
  /** Its operational routes: /healthz, /readyz, /metrics. */
  url: string;
  workers: Workers;
  stop(): Promise<void>;
}

/**
 * Migrates, then runs the hold sweep (and the waitlist offers of expired holds), the outbox relay and the waiting
 * rooms' admissions, as a gateway does unless WORKERS=off, and serves /healthz, /readyz and /metrics on
 * `config.port`. Any number may run beside any number of gateways.
 */
export async function startWorkerApp(config: Config, options: { log?: Logger; redisPrefix?: string } = {}): Promise<WorkerApp> {
  const log = options.log ?? createLogger(config.logLevel);
  // An embedded database and in-process pub/sub belong to one process: a worker beside it would see neither.
  if (!config.databaseUrl || !config.redisUrl) throw new Error('a worker process needs DATABASE_URL and REDIS_URL (shared with the gateways)');
  const db = await openDatabase(config);
  const applied = await migrate(db);
  if (applied.length) log.info({ migrations: applied }, 'migrated');
  const pubsub = openPubSub(config, options.redisPrefix);
  const queueLine = openQueueLine(config, options.redisPrefix);
  // The sweep's refunds and questions about quiet charges go to the provider (the test provider's ledger is shared).
  const payments = createTestPaymentProvider({ db, asyncDelayMs: 0 });
  const workers = startWorkers({
    db,
    pubsub,
    queueLine,
    log,
    payments,
    // No seat-map cache in a worker: other processes hear of what it frees from the deltas.
    seatMaps: { learnTaken: () => {} },
    config: { ...config, workers: true },
  });
  // The process's metrics, and the Postgres gauges (seats, waitlists, waiting rooms, outbox lag, pool).
  const metrics = createMetrics();
  metrics.sources.db = db;
  const { registry } = metrics;
  const http = createServer((req, res) => {
    const answer = (status: number, body: string, type = 'application/json') => res.writeHead(status, { 'content-type': type }).end(body);
    if (req.url === '/healthz') return answer(200, '{"status":"ok"}');
    if (req.url === '/readyz') {
      return void Promise.all([db.query('SELECT 1'), pubsub.ping()]).then(
        () => answer(200, '{"status":"ready"}'),
        (error: unknown) => answer(503, JSON.stringify({ status: 'not ready', error: String(error) })),
      );
    }
    if (req.url === '/metrics') {
      return void registry.metrics().then((text) => answer(200, text, registry.contentType), (error: unknown) => answer(500, JSON.stringify({ error: String(error) })));
    }
    answer(404, '{"error":"not found"}');
  });
  await new Promise<void>((resolve, reject) => {
    http.once('error', reject);
    http.listen(config.port, config.host, resolve);
  });
  const port = (http.address() as AddressInfo).port;
  log.info({ port, database: db.kind, pubsub: pubsub.kind }, 'worker running');
  let stopping: Promise<void> | undefined;
  return {
    url: `http://127.0.0.1:${port}`,
    workers,
    stop: () =>
      (stopping ??= (async () => {
        await new Promise((resolve) => http.close(resolve));
        payments.close();
        await workers.stop();
        await queueLine.close();
        await pubsub.close();
        await db.close();
        log.info('worker stopped');
      })()),
  };
}
