import type { Database, ListenSession } from '../datasources/db.js';
import { advisoryLocks } from '../datasources/postgres/locks.js';
import { findUnpublished, markPublished, purgePublished } from '../datasources/postgres/outbox.sql.js';
import type { Logger } from '../server/logger.js';
import type { PubSub } from '../subscriptions/pubsub.js';
import type { Envelope } from '../subscriptions/topics.js';

/** Published rows are deleted after OUTBOX_RETENTION_SECONDS, this many at a time, once a minute at most. */
const PURGE_BATCH = 10_000;
const PURGE_EVERY_MS = 60_000;

export interface RelayConfig {
  relayPollIntervalMs: number;
  relayBatchSize: number;
  outboxRetentionSeconds: number;
}

export interface Relay {
  /** Publishes what is waiting now, if this instance is the publisher; resolves with how many rows it published. */
  runOnce(): Promise<number>;
  /** Whether this instance holds the publisher's lock. */
  readonly leading: boolean;
  /** Stops the timer, waits for a round in progress, and gives up the lock. */
  stop(): Promise<void>;
}

/**
 * The outbox relay: publishes committed outbox rows to pub/sub, in id order, and marks them published. It wakes
 * on the outbox's NOTIFY and polls every `relayPollIntervalMs` as a safety net (0: no timer, tests call runOnce).
 *
 * Every instance runs one; the one holding a session-level advisory lock publishes and the others stand by, so
 * messages of one topic are never published out of order by two relays racing. The lock lives with the
 * listening session: if the publisher dies, its session ends and another instance takes over at its next poll.
 * A row is marked only after it was published, so a crash in between publishes it again: subscribers drop
 * an envelope id they have seen. While pub/sub is down, publishing fails and the rows wait, in order.
 */
export function startRelay(deps: { db: Database; pubsub: PubSub; log: Logger; config: RelayConfig }): Relay {
  const { db, pubsub, log, config } = deps;
  let session: ListenSession | undefined;
  let opening: Promise<ListenSession> | undefined;
  let leading = false;
  let running: Promise<number> | undefined;
  let again = false;
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  let lastPurge = 0;
  let failing = false;

  // A NOTIFY wakes the publisher at once; an instance standing by, or one that cannot publish right now, leaves it
  // to its poll, so that a rush does not cost a query per commit per instance.
  const wake = () => {
    if (leading && !failing) void round().catch(() => {});
  };

  function lost(error: Error) {
    if (leading) log.warn({ err: error }, 'outbox relay: lost its database session; another instance takes over');
    session = undefined;
    leading = false;
  }

  async function lead(): Promise<boolean> {
    if (!session) {
      opening ??= db.listen('onsale_outbox', wake, lost).finally(() => (opening = undefined));
      session = await opening;
    }
    if (!leading) {
      const { rows } = await session.query<{ locked: boolean }>(`SELECT pg_try_advisory_lock(${advisoryLocks.relay}) AS locked`);
      leading = rows[0]!.locked;
      if (leading) log.info('outbox relay: this instance publishes');
    }
    return leading;
  }

  async function publishWaiting(): Promise<number> {
    let published = 0;
    for (;;) {
      const rows = await findUnpublished(db, config.relayBatchSize);
      if (!rows.length) break;
      // One connection carries them in this order (Redis pipelines them); any failure leaves every row unmarked.
      await Promise.all(rows.map(({ id, at, topic, payload }) => pubsub.publish(topic, { id, at, payload } satisfies Envelope<unknown>)));
      await markPublished(db, rows.map((row) => row.id));
      published += rows.length;
      if (rows.length < config.relayBatchSize) break;
    }
    if (Date.now() - lastPurge >= PURGE_EVERY_MS) {
      lastPurge = Date.now();
      const purged = await purgePublished(db, config.outboxRetentionSeconds, PURGE_BATCH);
      if (purged) log.debug({ purged }, 'outbox relay: purged published rows');
    }
    return published;
  }

  /** One round at a time; a wake-up during a round runs another right after it. */
  function round(): Promise<number> {
    if (running) {
      again = true;
      return running;
    }
    running = (async () => {
      let published = 0;
      do {
        again = false;
        if (stopped || !(await lead())) break;
        published += await publishWaiting();
      } while (again);
      if (failing) log.info('outbox relay: publishing again');
      failing = false;
      return published;
    })()
      .catch(async (error: unknown) => {
        if (!failing) log.error({ err: error }, 'outbox relay: publishing failed; the rows wait and are retried');
        failing = true;
        // Give the lock up with the session (another instance may be able to publish), and start afresh at the
        // next poll: a session that broke is never reused.
        const broken = session;
        session = undefined;
        leading = false;
        await broken?.close().catch(() => {});
        throw error;
      })
      .finally(() => (running = undefined));
    return running;
  }

  function schedule() {
    if (stopped || config.relayPollIntervalMs === 0) return;
    timer = setTimeout(() => void round().catch(() => {}).finally(schedule), config.relayPollIntervalMs);
    timer.unref();
  }
  schedule();
  // Start listening (and, if free, take the lock) now rather than at the first poll.
  void round().catch(() => {});

  return {
    runOnce: round,
    get leading() {
      return leading;
    },
    async stop() {
      stopped = true;
      clearTimeout(timer);
      await running?.catch(() => {});
      await opening?.catch(() => {});
      await session?.close();
      session = undefined;
      leading = false;
    },
  };
}
