import type DataLoader from 'dataloader';
import type { Database } from '../datasources/db.js';
import type { DbEvent } from '../datasources/postgres/events.sql.js';
import type { ApiKeys } from '../domain/api-key/api-keys.js';
import type { Caller } from '../domain/caller.js';
import { createEventLoader } from '../domain/event/event.service.js';
import type { PaymentProvider } from '../domain/booking/payment.js';
import type { ReleaseWriter } from '../domain/hold/hold-release.js';
import type { HoldWriter } from '../domain/hold/hold-writer.js';
import type { SeatMapCache, SeatStatusLoader } from '../domain/seat-map/seat-map.service.js';
import type { AdmissionTokens } from '../domain/waiting-room/admission-token.js';
import type { ChallengeVerifier } from '../domain/waiting-room/challenge.js';
import type { QueueLine } from '../domain/waiting-room/line.js';
import type { JoinWriter } from '../domain/waiting-room/waiting-room.service.js';
import type { PubSub } from '../subscriptions/pubsub.js';
import type { SeatMapFeeds } from '../subscriptions/seat-map-feed.js';
import type { Config } from './config.js';
import type { Logger } from './logger.js';

/** What lives as long as the process: shared by every request. */
export interface Services {
  config: Config;
  log: Logger;
  db: Database;
  pubsub: PubSub;
  /** One pub/sub subscription per event with watchers on this instance (the cache, seatMapChanged). */
  seatMapFeeds: SeatMapFeeds;
  seatMaps: SeatMapCache;
  /** Batches event lookups across concurrent requests (no cache); see createEventBatcher. */
  eventBatcher: DataLoader<number, DbEvent | null>;
  payments: PaymentProvider;
  /** Commits the holds of one event that arrive together in one transaction (group commit). */
  holdWrites: HoldWriter;
  /** Commits the releases of one event that arrive together in one transaction, waitlist offers included. */
  releases: ReleaseWriter;
  /** Batches seat-status lookups across concurrent requests (no cache); see createSeatStatusBatcher. */
  seatStatuses: SeatStatusLoader;
  /** The waiting rooms' lines: Redis at REDIS_URL, in-process otherwise. */
  queueLine: QueueLine;
  /** Signs and checks admission tokens (no I/O). */
  admissions: AdmissionTokens;
  /** Commits the joins of one event that arrive together in one transaction. */
  joinWrites: JoinWriter;
  /** The join challenge, when WAITING_ROOM_CHALLENGE names one. */
  challenge?: ChallengeVerifier;
  /** Resellers' API keys and their registered documents. */
  apiKeys: ApiKeys;
}

/** Request-scoped loaders: a new set per request (or per WebSocket operation), never shared. */
export interface Loaders {
  event: DataLoader<number, DbEvent | null>;
}

/** The GraphQL context of one operation. */
export interface Context {
  services: Services;
  caller: Caller;
  /** The client's address, as per-address limits count it. */
  address: string;
  requestId: string;
  log: Logger;
  loaders: Loaders;
  /** Seat objects this operation has listed so far (bounded per request, see chargeListedSeats). */
  listedSeats: number;
  /** Event → seat-map version, of each seat map whose live fields this operation read (the response cache's key). */
  seatMapReads: Map<number, number>;
  /** A WebSocket subscription's own way out: sends a `next` message whose payload is already JSON. */
  sendNext?: (payloadJson: Buffer) => void;
}

/** A fresh context for one operation by `caller`. */
export function createContext(services: Services, caller: Caller, requestId: string, address = 'unknown'): Context {
  const log = services.log.child({ requestId });
  return { services, caller, address, requestId, log, loaders: { event: createEventLoader(services.eventBatcher) }, listedSeats: 0, seatMapReads: new Map() };
}

/** The same operation's context for one more execution (a subscription's next message): fresh loaders and counts. */
export function renewContext(context: Context): Context {
  return { ...context, loaders: { event: createEventLoader(context.services.eventBatcher) }, listedSeats: 0, seatMapReads: new Map() };
}
