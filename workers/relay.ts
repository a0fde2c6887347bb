import type { Database, ListenSession } from '../datasources/db.js';
import { advisoryLocks } from '../datasources/postgres/locks.js';
import { findUnpublished, markPublished, purgePublished, type DbOutboxRow } from '../datasources/postgres/outbox.sql.js';
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

const isOutboxRow = (row: unknown): row is DbOutboxRow => {
  const { id, topic, at, payload } = (row ?? {}) as Partial<Record<keyof DbOutboxRow, unknown>>;
  return Number.isSafeInteger(id) && typeof topic === 'string' && Number.isFinite(at) && typeof payload === 'object' && payload !== null;
};

/**
 * The rows a notification announces, or undefined when it carries none, or anything but outbox rows (then the
 * relay reads back what is waiting instead). Any role that can connect to the database can send a notification:
 * like the outbox table itself, the channel is trusted to the application's database roles.
 */
function parseAnnounced(payload: string): DbOutboxRow[] | undefined {
  try {
    const rows: unknown = payload ? JSON.parse(payload) : undefined;
    return Array.isArray(rows) && rows.length && rows.every(isOutboxRow) ? rows : undefined;
  } catch {
    return undefined;
  }
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
 *
 * A notification carries the rows it announces when they fit (migration 004): the publisher sends those on at
 * once, in the order notifications come (commit order, which within a topic is id order), without reading them
 * back. Polls, a notification too big to carry its rows, and taking the lock read back everything waiting in
 * id order. A row both read back and announced is published once, unless its notification comes after the read
 * was published: then twice, and subscribers drop the copy by id.
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
  /** Rows announced by notifications and not yet published, in the order they came. */
  let announced: DbOutboxRow[] = [];
  /**
   * The next round reads everything waiting back, in id order: asked by a poll, by runOnce, by a notification
   * without its rows (too many for one), by taking the lock, and by notifications that come while failing. Rows
   * announced until then are committed, so they are among those read.
   */
  let readBack = false;

  // A NOTIFY wakes the publisher at once; an instance standing by, or one that cannot publish right now, leaves it
  // to its poll, so that a rush does not cost a query per commit per instance.
  const wake = (payload: string) => {
    if (!leading) return;
    // While failing (the round that took the lock again has not published yet), a notification's rows are not
    // taken: that round reads everything back once more when it is done, so nothing overtakes the rows waiting.
    if (failing) return void round(true).catch(() => {});
    const rows = parseAnnounced(payload);
    if (rows) announced.push(...rows);
    void round(!rows).catch(() => {});
  };

  function lost(error: Error) {
    if (leading) log.warn({ err: error }, 'outbox relay: lost its database session; another instance takes over');
    session = undefined;
    leading = false;
    announced = [];
  }

  /** Whether this instance publishes; `check`: ask the session whether it still lives first (polls do). */
  async function lead(check: boolean): Promise<boolean> {
    if (!session) {
      opening ??= db.listen('onsale_outbox', wake, lost).finally(() => (opening = undefined));
      session = await opening;
    } else if (leading && check) {
      // The server may have ended this session, and freed the lock, without a word reaching us (a network cut
      // swallows it): another instance may publish by now. A session that fails to answer is given up.
      const asked = session;
      try {
        await asked.query('SELECT 1');
      } catch (error) {
        if (session === asked) lost(error as Error);
        void asked.close();
        return false;
      }
    }
    if (!leading) {
      const { rows } = await session.query<{ locked: boolean }>(`SELECT pg_try_advisory_lock(${advisoryLocks.relay}) AS locked`);
      leading = rows[0]!.locked;
      if (leading) {
        log.info('outbox relay: this instance publishes');
        // Rows committed while this session did not lead (or did not exist) were announced to nobody.
        readBack = true;
      }
    }
    return leading;
  }

  /** Publishes `rows` in order, then marks them. */
  async function publish(rows: readonly DbOutboxRow[]): Promise<number> {
    if (!rows.length) return 0;
    // One connection carries them in this order (Redis pipelines them); any failure leaves every row unmarked.
    await Promise.all(rows.map(({ id, at, topic, payload }) => pubsub.publish(topic, { id, at, payload } satisfies Envelope<unknown>)));
    await markPublished(db, rows.map((row) => row.id));
    return rows.length;
  }

  async function publishWaiting(): Promise<number> {
    announced = [];
    let published = 0;
    for (;;) {
      const rows = await findUnpublished(db, config.relayBatchSize);
      published += await publish(rows);
      // Rows announced while these were read are among them, or come later: publish those only once.
      const ids = new Set(rows.map((row) => row.id));
      announced = announced.filter((row) => !ids.has(row.id));
      if (rows.length < config.relayBatchSize) break;
    }
    if (Date.now() - lastPurge >= PURGE_EVERY_MS) {
      lastPurge = Date.now();
      const purged = await purgePublished(db, config.outboxRetentionSeconds, PURGE_BATCH);
      if (purged) log.debug({ purged }, 'outbox relay: purged published rows');
    }
    return published;
  }

  /**
   * One round at a time; a wake-up during a round runs another right after it. A round publishes the rows
   * notifications announced, or, when `read` was asked, reads back everything waiting.
   */
  function round(read: boolean): Promise<number> {
    if (read) readBack = true;
    if (running) {
      again = true;
      return running;
    }
    running = (async () => {
      let published = 0;
      do {
        again = false;
        if (stopped || !(await lead(readBack))) break;
        if (readBack) {
          readBack = false;
          published += await publishWaiting();
          // Everything that waited went out: from now on notifications bring their rows again.
          if (failing) log.info('outbox relay: publishing again');
          failing = false;
        } else {
          const rows = announced;
          announced = [];
          published += await publish(rows);
        }
      } while (again);
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
        announced = [];
        await broken?.close().catch(() => {});
        throw error;
      })
      .finally(() => (running = undefined));
    return running;
  }

  function schedule() {
    if (stopped || config.relayPollIntervalMs === 0) return;
    timer = setTimeout(() => void round(true).catch(() => {}).finally(schedule), config.relayPollIntervalMs);
    timer.unref();
  }
  schedule();
  // Start listening (and, if free, take the lock) now rather than at the first poll.
  void round(true).catch(() => {});

  return {
    runOnce: () => round(true),
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
