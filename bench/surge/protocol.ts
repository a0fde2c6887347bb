// What bench/surge/surge.ts and its load generator (bench/surge/fans.ts) say to each other over IPC.

/**
 * What a fan with seats does next: pay with tok_visa, be declined once then pay, leave the hold to expire, pay
 * with tok_async, or pay and then cancel the booking (a refund; its seats go to the waitlist).
 */
export type Persona = 'visa' | 'declined' | 'abandon' | 'async' | 'refund';

export interface FanPlan {
  /** The gateways' /graphql URLs; fan i starts on gateway i mod n. */
  gateways: string[];
  eventId: string;
  fans: number;
  watchers: number;
  /** Fans join at random moments over this long from the start (the on-sale comes at its end). */
  joinWindowMs: number;
  /** Shares (summing to 1) of the fans who got seats. */
  personas: Record<Persona, number>;
  /** Share of the fans who found no seats and join the waitlist. */
  waitlistShare: number;
  jwtSecret: string;
  /** This process plays fans and watchers `index`, `index + count`, …: one of `count` load-generator processes. */
  shard: { index: number; count: number };
}

export type FansRequest =
  | { type: 'start'; plan: FanPlan }
  /** Fans still waiting (in line, for a payment, on the waitlist) stop; the watchers carry on. */
  | { type: 'stop' }
  /** Compares every watcher's seat map with the database's. */
  | { type: 'check'; version: number; availability: string }
  | { type: 'exit' };

export type FansAnswer = { type: 'started' } | { type: 'fansDone'; report: FansReport } | { type: 'checked'; check: WatcherCheck };

export interface FansReport {
  /** Per operation, every latency (ms) measured at the fans. */
  latencies: Record<string, number[]>;
  /** Per operation, [when it was answered (ms since the epoch), ms]. */
  timeline: Record<string, [number, number][]>;
  /** Answers by "operation code" (code OK, an extensions.code, HTTP_<status> or NETWORK). */
  codes: Record<string, number>;
  /** How each fan ended, and milestones (admitted, waitlisted, offered). */
  outcomes: Record<string, number>;
  /** WebSocket reconnections (a socket of a fan or watcher that came back). */
  reconnects: number;
  /** seatMapChanged messages the watchers received. */
  deltas: number;
  /** Seat-map reads of the watchers (one at each (re)connect, and one per gap). */
  refetches: number;
  /** Requests moved to another gateway because theirs could not be reached. */
  failovers: number;
  /** The load generator's own event-loop delay, p99 (ms): how much of a latency measured there is its own. */
  loopDelayP99Ms: number;
}

export interface WatcherCheck {
  watchers: number;
  /** Watchers whose version and availability equal the database's. */
  matching: number;
  /** At another version. */
  behind: number;
  /** At the version, with other availability. */
  wrong: number;
}
