import type { Database } from '../datasources/db.js';
import { findTopicLatest, findTopicSince } from '../datasources/postgres/outbox.sql.js';
import type { Logger } from '../server/logger.js';
import type { PubSub } from './pubsub.js';
import { publicPayloads } from './stream.js';
import { topics, type Envelope, type SeatDelta } from './topics.js';

/** The changes of one or more consecutive versions, as subscribers get them: `fromVersion` … `version`. */
export interface SeatMapChange {
  eventId: number;
  /** The first version this message covers; the one before it is the version the receiver must have. */
  fromVersion: number;
  version: number;
  /** Seats whose status changed over these versions (ascending) and their statuses now, one letter each. */
  ordinals: number[];
  statuses: string;
}

export interface SeatMapFeeds {
  /**
   * Calls `onDelta` with every delta of the event from now on, each once, in version order (gaps filled from
   * the outbox when it still has them). Returns how to stop.
   */
  watch(eventId: number, onDelta: (delta: SeatDelta) => void): () => void;
  /**
   * Calls `onChange` at most once per coalescing interval with the deltas since the last call merged into one
   * message (the same object for every watcher of the event). Returns how to stop.
   */
  watchCoalesced(eventId: number, onChange: (change: SeatMapChange) => void): () => void;
  /**
   * Reads a followed event's deltas after the last one delivered from the outbox now, rather than when pub/sub
   * brings them; its watchers get them as usual, and the copies pub/sub brings later are dropped. Callers that
   * ask while a read is still waiting to start share it.
   */
  catchUp(eventId: number): void;
  /**
   * Resolves once a watched event's feed knows where it starts: every delta committed after that reaches its
   * watchers. At once for an event nobody watches.
   */
  ready(eventId: number): Promise<void>;
}

/**
 * A message goes to this many watchers at a time, the event loop turning between slices. A frame costs a socket
 * write (tens of microseconds, more on a busy host), so 1,000 watchers in one go would stall the instance for
 * tens of milliseconds: every Postgres answer that arrives meanwhile, each statement of a booking, waits for it.
 */
const FAN_OUT_SLICE = 100;

/** Calls `each` on every item, FAN_OUT_SLICE at a time; the first slice at once. */
async function inSlices<T>(items: readonly T[], each: (item: T) => unknown): Promise<void> {
  for (let start = 0; start < items.length; start += FAN_OUT_SLICE) {
    if (start) await new Promise((resolve) => setImmediate(resolve));
    for (const item of items.slice(start, start + FAN_OUT_SLICE)) each(item);
  }
}

/** How many outbox rows a feed reads back at most to fill a gap. */
const CATCH_UP_LIMIT = 10_000;
/** After a reconnect, when a feed reads back missed deltas a second time. */
const RECONNECT_CATCH_UP_MS = 2_000;
/** How long a feed whose subscription failed waits before it tries again. */
const RESUBSCRIBE_MS = 1_000;

/**
 * One pub/sub subscription per event and instance, however many watchers it has (the seat-map cache, and every
 * subscriber of `seatMapChanged`); it ends with its last watcher. Deltas delivered twice (a relay that published
 * again) are dropped by envelope id; a version gap (messages lost while Redis restarted) is filled from the
 * outbox, and after a reconnect the feed reads back what it may have missed.
 */
export function createSeatMapFeeds(deps: { pubsub: PubSub; db: Database; log: Logger; coalesceMs: number }): SeatMapFeeds {
  const { pubsub, db, log, coalesceMs } = deps;
  const feeds = new Map<number, Feed>();

  class Feed {
    readonly raw = new Set<(delta: SeatDelta) => void>();
    readonly coalesced = new Set<(change: SeatMapChange) => void>();
    private readonly topic: string;
    private lastId = 0;
    /** Whether the feed knows where it starts (the outbox's newest delta when it subscribed, if any). */
    private started = false;
    private markStarted!: () => void;
    readonly whenStarted = new Promise<void>((resolve) => (this.markStarted = resolve));
    private lastVersion: number | undefined;
    /** Envelopes are handled one at a time, in arrival order (filling a gap is asynchronous). */
    private chain: Promise<void> = Promise.resolve();
    private pending: { fromVersion: number; version: number; seats: Map<number, string> } | undefined;
    private lastFlush = 0;
    private timer: NodeJS.Timeout | undefined;
    /** The fan-out of the last message, while its slices are still being sent (the next one waits for it). */
    private sending: Promise<void> | undefined;
    private readonly stopReconnect: () => void;
    private unlisten: (() => void) | undefined;
    private left = false;
    /** A catch-up asked for and not started yet: later askers share it. */
    private catchUpQueued = false;

    constructor(readonly eventId: number) {
      this.topic = topics.seatMap(eventId);
      // Back from an outage: read back what was missed, now and once more when the subscription is surely renewed
      // (ioredis renews it just after the connection is ready) and the relay has published its backlog.
      this.stopReconnect = pubsub.onReconnect(() => {
        this.enqueue(() => this.catchUp());
        setTimeout(() => this.enqueue(() => this.catchUp()), RECONNECT_CATCH_UP_MS).unref();
      });
      this.listen();
    }

    /** Subscribes, then starts from the newest delta the outbox has, so that one missed later shows as a gap. */
    private listen() {
      pubsub.listen<Envelope<SeatDelta>>(this.topic, (envelope) => this.enqueue(() => this.receive(envelope))).then(
        (unlisten) => {
          if (this.left) return unlisten();
          this.unlisten = unlisten;
          this.enqueue(async () => {
            const latest = await findTopicLatest(db, this.topic);
            if (latest && !this.lastId) this.deliver({ id: latest.id, at: latest.at, payload: latest.payload as unknown as SeatDelta }, false);
            this.started = true;
            this.markStarted();
          });
        },
        (error: unknown) => {
          log.error({ err: error, eventId: this.eventId }, 'seat-map feed: could not subscribe; trying again');
          if (!this.left) setTimeout(() => this.listen(), RESUBSCRIBE_MS).unref();
        },
      );
    }

    private enqueue(work: () => Promise<void> | void) {
      this.chain = this.chain.then(work).catch((error: unknown) => log.error({ err: error, eventId: this.eventId }, 'seat-map feed: a delta failed'));
    }

    private async receive(envelope: Envelope<SeatDelta>) {
      if (envelope.id <= this.lastId) return;
      if (this.lastVersion !== undefined && envelope.payload.version > this.lastVersion + 1) await this.catchUp();
      this.deliver(envelope);
    }

    /** Reads the deltas after the last one delivered from the outbox, after the envelopes already queued. */
    requestCatchUp() {
      if (this.catchUpQueued) return;
      this.catchUpQueued = true;
      this.enqueue(() => ((this.catchUpQueued = false), this.catchUp()));
    }

    /** Reads back, from the outbox, the deltas after the last one delivered. */
    private async catchUp() {
      // Until the feed knows where it starts (the outbox was unreadable then), a delta received tells it.
      if (!this.started && !this.lastId) return;
      const rows = await findTopicSince(db, this.topic, this.lastId, CATCH_UP_LIMIT).catch((error: unknown) => {
        log.warn({ err: error, eventId: this.eventId }, 'seat-map feed: could not read missed deltas back; watchers see a gap');
        return [];
      });
      for (const row of rows) this.deliver({ id: row.id, at: row.at, payload: row.payload as unknown as SeatDelta });
    }

    /** Takes a delta as the latest; `announce` false only notes where the feed starts. */
    private deliver({ id, payload: delta }: Envelope<SeatDelta>, announce = true) {
      if (id <= this.lastId || (this.lastVersion !== undefined && delta.version <= this.lastVersion)) return;
      this.lastId = id;
      this.lastVersion = delta.version;
      if (!announce) return;
      for (const onDelta of this.raw) onDelta(delta);
      if (this.coalesced.size) this.coalesce(delta);
    }

    private coalesce(delta: SeatDelta) {
      // A gap ends the message being gathered, so that the next one shows the gap to its receivers.
      if (this.pending && delta.version !== this.pending.version + 1) this.flush();
      this.pending ??= { fromVersion: delta.version, version: delta.version, seats: new Map() };
      this.pending.version = delta.version;
      delta.ordinals.forEach((ordinal, i) => this.pending!.seats.set(ordinal, delta.statuses[i]!));
      const wait = this.lastFlush + coalesceMs - Date.now();
      if (wait <= 0) this.flush();
      else this.timer ??= setTimeout(() => this.flush(), wait);
    }

    private flush() {
      clearTimeout(this.timer);
      this.timer = undefined;
      const pending = this.pending;
      if (!pending) return;
      this.pending = undefined;
      this.lastFlush = Date.now();
      const ordinals = [...pending.seats.keys()].sort((a, b) => a - b);
      const change: SeatMapChange = {
        eventId: this.eventId,
        fromVersion: pending.fromVersion,
        version: pending.version,
        ordinals,
        statuses: ordinals.map((ordinal) => pending.seats.get(ordinal)).join(''),
      };
      publicPayloads.add(change);
      // The watchers of this moment, each once, in order after the message before; one that left meanwhile is skipped.
      const watchers = [...this.coalesced];
      const send = () =>
        inSlices(watchers, (onChange) => this.coalesced.has(onChange) && onChange(change)).catch((error: unknown) =>
          log.error({ err: error, eventId: this.eventId }, 'seat-map feed: a message failed'));
      const sending = (this.sending = this.sending ? this.sending.then(send) : send());
      void sending.finally(() => this.sending === sending && (this.sending = undefined));
    }

    /** Drops a watcher; the last one ends the feed and its pub/sub subscription. */
    leave() {
      if (this.raw.size || this.coalesced.size) return;
      if (feeds.get(this.eventId) === this) feeds.delete(this.eventId);
      this.left = true;
      clearTimeout(this.timer);
      this.stopReconnect();
      this.unlisten?.();
    }
  }

  /** Adds a listener to one of the event's sets (the feed starts with its first); returns how to take it out. */
  function join<V>(eventId: number, set: (feed: Feed) => Set<(value: V) => void>, listener: (value: V) => void): () => void {
    let feed = feeds.get(eventId);
    if (!feed) feeds.set(eventId, (feed = new Feed(eventId)));
    const joined = feed;
    // A wrapper of its own, so that the same function may watch twice and leave once each.
    const entry = (value: V) => listener(value);
    set(joined).add(entry);
    return () => {
      set(joined).delete(entry);
      joined.leave();
    };
  }

  return {
    watch: (eventId, onDelta) => join(eventId, (feed) => feed.raw, onDelta),
    watchCoalesced: (eventId, onChange) => join(eventId, (feed) => feed.coalesced, onChange),
    catchUp: (eventId) => feeds.get(eventId)?.requestCatchUp(),
    ready: async (eventId) => feeds.get(eventId)?.whenStarted,
  };
}
