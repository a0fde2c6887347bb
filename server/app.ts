import type { AddressInfo } from 'node:net';
import { checkTransactionBodies, type Database } from '../datasources/db.js';
import { createEmbeddedDatabase } from '../datasources/embedded/pglite.js';
import { createTestPaymentProvider, sendWebhook } from '../datasources/payments/test-provider.js';
import { holdPathWarmUp } from '../datasources/postgres/holds.sql.js';
import { migrate } from '../datasources/postgres/migrate.js';
import { createPostgresDatabase } from '../datasources/postgres/pool.js';
import { seedDemo } from '../datasources/seed/seed.js';
import { createApiKeys } from '../domain/api-key/api-keys.js';
import { createEventBatcher } from '../domain/event/event.service.js';
import { createReleaseWriter } from '../domain/hold/hold-release.js';
import { createHoldWriter } from '../domain/hold/hold-writer.js';
import { createSeatMapCache, createSeatStatusBatcher } from '../domain/seat-map/seat-map.service.js';
import { createSchema } from '../resolvers/index.js';
import { createInProcessPubSub, createRedisPubSub, type PubSub } from '../subscriptions/pubsub.js';
import { createSeatMapFeeds } from '../subscriptions/seat-map-feed.js';
import type { Admitter } from '../workers/admission.js';
import { startWorkers } from '../workers/index.js';
import type { Relay } from '../workers/relay.js';
import type { Sweeper } from '../workers/sweeper.js';
import { createSiteverifyVerifier } from '../datasources/challenge/siteverify.js';
import { createInProcessQueueLine } from '../datasources/embedded/queue-line.js';
import { createRedisQueueLine } from '../datasources/redis/queue-line.js';
import { createAdmissionTokens } from '../domain/waiting-room/admission-token.js';
import { testChallengeVerifier, type ChallengeVerifier } from '../domain/waiting-room/challenge.js';
import type { QueueLine } from '../domain/waiting-room/line.js';
import { createJoinWriter } from '../domain/waiting-room/waiting-room.service.js';
import type { Config } from './config.js';
import type { Services } from './context.js';
import { createHttpServer } from './http.js';
import { createLogger, type Logger } from './logger.js';
import { createMetrics } from './metrics.js';

/** A running server. */
export interface App {
  url: string;
  port: number;
  services: Services;
  /** The hold-expiry sweep of this instance (its timer is off when SWEEP_INTERVAL_MS=0 or WORKERS=off). */
  sweeper: Sweeper;
  /** The outbox relay of this instance (one instance of all publishes at a time). */
  relay: Relay;
  /** The waiting rooms' raffles and admission ticks of this instance (its timer is off when ADMISSION_INTERVAL_MS=0). */
  admitter: Admitter;
  /** Stops accepting, finishes in-flight operations, closes sockets (1001) and pools. Safe to call twice. */
  stop(): Promise<void>;
}

/** The database the configuration names: Postgres at DATABASE_URL, or embedded Postgres in DATA_DIR. */
export async function openDatabase(config: Config): Promise<Database> {
  checkTransactionBodies(!config.production);
  return config.databaseUrl
    ? createPostgresDatabase(config.databaseUrl, { max: config.databasePoolSize, statementTimeoutMs: config.statementTimeoutMs })
    : createEmbeddedDatabase(config.dataDir);
}

/** The pub/sub the configuration names: Redis at REDIS_URL, or in-process. */
export function openPubSub(config: Config, prefix?: string): PubSub {
  return config.redisUrl ? createRedisPubSub(config.redisUrl, prefix) : createInProcessPubSub();
}

/** The waiting rooms' lines the configuration names: Redis at REDIS_URL, or in-process. */
export function openQueueLine(config: Config, prefix?: string): QueueLine {
  return config.redisUrl ? createRedisQueueLine(config.redisUrl, prefix) : createInProcessQueueLine();
}

/** The join challenge the configuration names, if any. */
function challengeOf(config: Config): ChallengeVerifier | undefined {
  const challenge = config.waitingRoomChallenge;
  if (!challenge) return undefined;
  return challenge.kind === 'test' ? testChallengeVerifier : createSiteverifyVerifier(challenge.url, challenge.secret);
}

/** Migrates, seeds an empty demo database, and serves GraphQL over HTTP and WebSocket on `config.port`. */
export async function startApp(config: Config, options: { log?: Logger; redisPrefix?: string } = {}): Promise<App> {
  const log = options.log ?? createLogger(config.logLevel);
  const db = await openDatabase(config);
  const applied = await migrate(db);
  if (applied.length) log.info({ migrations: applied }, 'migrated');
  const seed = config.seedDemo === 'always' || (config.seedDemo === 'auto' && db.kind === 'embedded');
  const seeded = seed ? await seedDemo(db) : 0;
  if (seeded) log.info({ events: seeded }, 'seeded the demo catalogue');
  // Every connection open and the hold path's statements prepared before /readyz says ready.
  await db.warm(holdPathWarmUp);

  // The test provider settles `tok_async` charges by posting a signed webhook to this server, as a real one would.
  let webhookUrl = '';
  const payments = createTestPaymentProvider({
    db,
    asyncDelayMs: config.paymentAsyncDelayMs,
    deliver: async (event) => {
      const response = await sendWebhook(webhookUrl, config.paymentWebhookSecret, event);
      if (!response.ok) log.error({ status: response.status, event }, 'test provider: webhook refused');
    },
  });
  const pubsub = openPubSub(config, options.redisPrefix);
  const seatMapFeeds = createSeatMapFeeds({ pubsub, db, log, coalesceMs: config.seatMapCoalesceMs });
  const seatMaps = createSeatMapCache(db, config.seatMapCacheSeats, seatMapFeeds);
  const services: Services = {
    config,
    log,
    db,
    pubsub,
    seatMapFeeds,
    seatMaps,
    eventBatcher: createEventBatcher(db),
    payments,
    holdWrites: createHoldWriter(db),
    releases: createReleaseWriter(db),
    seatStatuses: createSeatStatusBatcher(db),
    queueLine: openQueueLine(config, options.redisPrefix),
    admissions: createAdmissionTokens(config.jwtSecret),
    joinWrites: createJoinWriter(db),
    challenge: challengeOf(config),
    apiKeys: createApiKeys(db),
  };
  const http = createHttpServer(services, createSchema(), createMetrics(), options.redisPrefix);
  await Promise.all([http.apollo.start(), http.edgeReady()]);
  await new Promise<void>((resolve, reject) => {
    http.httpServer.once('error', reject);
    http.httpServer.listen(config.port, config.host, resolve);
  });
  const port = (http.httpServer.address() as AddressInfo).port;
  webhookUrl = `http://127.0.0.1:${port}/webhooks/payments`;
  const workers = startWorkers(services);
  log.info({ port, database: db.kind, pubsub: services.pubsub.kind, workers: config.workers }, `listening on http://localhost:${port}/graphql`);

  let stopping: Promise<void> | undefined;
  return {
    url: `http://127.0.0.1:${port}/graphql`,
    port,
    services,
    sweeper: workers.sweeper,
    relay: workers.relay,
    admitter: workers.admitter,
    stop: () =>
      (stopping ??= (async () => {
        http.setDraining();
        // Apollo's drain closes the listener, waits for in-flight requests, then closes idle connections.
        await Promise.all([http.apollo.stop(), http.closeWebSockets()]);
        await http.idle();
        await http.closeEdge();
        payments.close();
        await workers.stop();
        await services.queueLine.close();
        await services.pubsub.close();
        await db.close();
        log.info('stopped');
      })()),
  };
}
