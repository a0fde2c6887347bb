import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { Database } from '../datasources/db.js';
import { readGauges } from '../datasources/postgres/metrics.sql.js';

/** What the gauges read at each scrape: set once the server's parts exist. */
export interface MetricSources {
  db?: Database;
  webSockets: () => number;
  sseStreams: () => number;
  /** Live pub/sub listens: one per subscription and per seat-map feed. */
  listens: () => number;
}

/**
 * The Prometheus metrics of one server; a registry of its own, so several servers can share a process.
 * Counters and histograms are counted as things happen; gauges are read at each scrape (one Postgres statement).
 */
export function createMetrics() {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const registers = [registry];
  const sources: MetricSources = { webSockets: () => 0, sseStreams: () => 0, listens: () => 0 };
  // The Postgres gauges of one scrape come from one read, which every one of them waits for (the registry
  // collects its metrics concurrently).
  let reading: Promise<void> | undefined;
  const scrape = () => (reading ??= readDatabase().finally(() => setImmediate(() => (reading = undefined))));
  const gauge = (name: string, help: string, labelNames: string[] = []) =>
    new Gauge({ name, help, labelNames, registers, collect: () => scrape() });

  const seats = gauge('onsale_event_seats', 'Seats of each event whose sale is running, by status', ['event', 'status']);
  const waitlist = gauge('onsale_waitlist_entries', 'Waitlist entries by event and state (WAITING, OFFERED)', ['event', 'state']);
  const offers = gauge('onsale_waitlist_offers', 'Waitlist offers ever made, by event (rate() it)', ['event']);
  const line = gauge('onsale_waiting_room_tickets', 'Waiting-room tickets by event and state (QUEUED, ADMITTED)', ['event', 'state']);
  const admissions = gauge('onsale_waiting_room_admissions', 'Admissions ever made, by event (rate() it)', ['event']);
  const outboxLag = gauge('onsale_outbox_lag_seconds', 'Age of the oldest outbox row not yet published (0: none)');
  const outboxUnpublished = gauge('onsale_outbox_unpublished', 'Outbox rows not yet published');
  const readOk = gauge('onsale_database_gauges', 'Whether the Postgres gauges of this scrape could be read (1) or not (0)');

  async function readDatabase(): Promise<void> {
    if (!sources.db) return;
    try {
      const read = await readGauges(sources.db);
      for (const metric of [seats, waitlist, offers, line, admissions]) metric.reset();
      for (const s of read.seats) for (const status of ['available', 'held', 'booked'] as const) seats.set({ event: s.eventId, status }, s[status]);
      for (const w of read.waitlists) {
        waitlist.set({ event: w.eventId, state: 'WAITING' }, w.waiting);
        waitlist.set({ event: w.eventId, state: 'OFFERED' }, w.offered);
        offers.set({ event: w.eventId }, w.offers);
      }
      for (const q of read.waitingRooms) {
        line.set({ event: q.eventId, state: 'QUEUED' }, q.queued);
        line.set({ event: q.eventId, state: 'ADMITTED' }, q.admitted);
        admissions.set({ event: q.eventId }, q.admissions);
      }
      outboxLag.set(read.outboxLagSeconds);
      outboxUnpublished.set(read.outboxUnpublished);
      readOk.set(1);
    } catch {
      // Nothing stale is exported beside the failure.
      for (const metric of [seats, waitlist, offers, line, admissions]) metric.reset();
      readOk.set(0);
    }
  }
  new Gauge({ name: 'onsale_websocket_connections', help: 'Open WebSocket connections', registers, collect() { this.set(sources.webSockets()); } });
  new Gauge({ name: 'onsale_sse_streams', help: 'Open SSE event streams', registers, collect() { this.set(sources.sseStreams()); } });
  new Gauge({ name: 'onsale_pubsub_listens', help: 'Live pub/sub listens (subscriptions and seat-map feeds)', registers, collect() { this.set(sources.listens()); } });
  const pool = gauge('onsale_db_pool_clients', 'Postgres pool clients: total, idle, and requests waiting for one', ['state']);
  const poolWait = gauge('onsale_db_pool_wait_seconds_total', 'Time transactions waited for a pool client, in total (rate() it)');
  new Gauge({
    name: 'onsale_db_pool_size',
    help: 'The pool size (DATABASE_POOL_SIZE)',
    registers,
    collect() {
      const stats = sources.db?.poolStats();
      if (!stats) return;
      this.set(stats.max);
      pool.set({ state: 'total' }, stats.total);
      pool.set({ state: 'idle' }, stats.idle);
      pool.set({ state: 'waiting' }, stats.waiting);
      poolWait.set(stats.waitSeconds);
    },
  });

  return {
    registry,
    sources,
    httpRequests: new Histogram({
      name: 'onsale_http_request_duration_seconds',
      help: 'HTTP requests by route and status',
      labelNames: ['route', 'status'] as const,
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers,
    }),
    graphqlErrors: new Counter({
      name: 'onsale_graphql_errors_total',
      help: 'GraphQL errors sent to clients, by code',
      labelNames: ['code'] as const,
      registers,
    }),
    operations: new Histogram({
      name: 'onsale_graphql_operation_duration_seconds',
      help: 'GraphQL operations over HTTP by root field (holdSeats, event, …) and outcome (OK or the first error code)',
      labelNames: ['operation', 'outcome'] as const,
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.2, 0.3, 0.5, 1, 2.5],
      registers,
    }),
  };
}

export type Metrics = ReturnType<typeof createMetrics>;
