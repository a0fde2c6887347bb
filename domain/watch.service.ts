import type DataLoader from 'dataloader';
import type { Database } from '../datasources/db.js';
import { findBooking, type DbBooking } from '../datasources/postgres/bookings.sql.js';
import type { DbEvent } from '../datasources/postgres/events.sql.js';
import { findHold, type DbHold } from '../datasources/postgres/holds.sql.js';
import type { PubSub } from '../subscriptions/pubsub.js';
import type { SeatMapChange, SeatMapFeeds } from '../subscriptions/seat-map-feed.js';
import { createStream } from '../subscriptions/stream.js';
import { topics } from '../subscriptions/topics.js';
import { mayAct, ownerKey, type Caller } from './caller.js';
import { ForbiddenError, NotFoundError } from './errors.js';
import { holdStatus } from './hold/hold.rules.js';
import { decodeId, decodeUuidId } from './ids.js';

/** What watching needs: the pub/sub, the seat-map feeds, the database and the configuration. */
export interface WatchDeps {
  db: Database;
  pubsub: PubSub;
  seatMapFeeds: SeatMapFeeds;
  eventBatcher: DataLoader<number, DbEvent | null>;
  config: { holdExpiryWarningSeconds: number };
}

/** The changes to an event's seats from now on, coalesced (anyone may watch); NOT_FOUND for no such event. */
export async function watchSeatMap(deps: WatchDeps, id: string): Promise<AsyncIterableIterator<SeatMapChange>> {
  const eventId = decodeId('evt', id, 'eventId');
  if (!(await deps.eventBatcher.load(eventId))) throw new NotFoundError('Event', 'eventId');
  const stream = createStream<SeatMapChange>(() => unwatch());
  const unwatch = deps.seatMapFeeds.watchCoalesced(eventId, stream.push);
  return stream.iterator;
}

/** After pub/sub comes back, a stream reads its record again at once and once more after this long. */
const RECONNECT_REREAD_MS = 2_000;

/**
 * A record's states from the moment it resolves, each distinct state once. It listens to the record's topic
 * first, then reads the record (`first` was read before, to authorise): a change made between the two is in that
 * read, one made after it comes as a message; either way it is read afresh. Also read afresh when pub/sub is
 * back after an outage (a message may have been lost), and when `also` says so (timers).
 */
async function watchRecord<T>(
  deps: WatchDeps,
  topic: string,
  first: T,
  read: () => Promise<T | null>,
  stateOf: (record: T) => string,
  also?: (record: T, refresh: () => void) => () => void,
): Promise<AsyncIterableIterator<T>> {
  let last = stateOf(first);
  let cancelTimers = () => {};
  let reading = Promise.resolve();
  let closed = false;
  // Timers are set only once listening succeeded: if it fails, nothing is left to fire for a stream never made.
  const unlisten = await deps.pubsub.listen(topic, () => refresh());
  const stopReconnect = deps.pubsub.onReconnect(() => {
    refresh();
    setTimeout(refresh, RECONNECT_REREAD_MS).unref();
  });
  const stream = createStream<T>(() => {
    closed = true;
    cancelTimers();
    stopReconnect();
    unlisten();
  });
  function refresh() {
    reading = reading.then(async () => {
      const record = await read().catch(() => null);
      // A read under way when the client left must not set new timers for nobody.
      if (closed || !record || stateOf(record) === last) return;
      last = stateOf(record);
      cancelTimers();
      cancelTimers = also?.(record, () => refresh()) ?? (() => {});
      stream.push(record);
    });
  }
  cancelTimers = also?.(first, () => refresh()) ?? (() => {});
  refresh();
  return stream.iterator;
}

/** UNAUTHENTICATED for no caller, NOT_FOUND for no such record, FORBIDDEN for someone else's. */
function checkWatcher(caller: Caller, record: { owner: string } | null, what: string): void {
  ownerKey(caller);
  if (!record) throw new NotFoundError(what, 'id');
  if (!mayAct(caller, record.owner)) throw new ForbiddenError(`Only its owner may watch this ${what.toLowerCase()}`);
}

/**
 * A hold's states from now on (owner or admin): RELEASED, EXPIRED, CONVERTED as they happen, and the ACTIVE hold
 * `holdExpiryWarningSeconds` before it expires (again if its expiry moves, as while it is paid for). EXPIRED
 * comes at the expiry itself, whether or not the sweep has run.
 */
export async function watchHold(deps: WatchDeps, caller: Caller, id: string): Promise<AsyncIterableIterator<DbHold>> {
  const holdId = decodeUuidId('hold', id, 'id');
  const hold = await findHold(deps.db, holdId);
  checkWatcher(caller, hold, 'Hold');
  const warnMs = deps.config.holdExpiryWarningSeconds * 1000;
  const stateOf = (h: DbHold) => `${holdStatus(h)}|${h.expiresAt.getTime()}|${warned(h) ? 'warned' : ''}`;
  const warned = (h: DbHold) => warnMs > 0 && h.expiresAt.getTime() - Date.now() <= warnMs;
  const timers = (h: DbHold, refresh: () => void) => {
    if (h.status !== 'ACTIVE') return () => {};
    const left = h.expiresAt.getTime() - Date.now();
    // setTimeout's limit is about 24.8 days; a later expiry is looked at again then.
    const at = [left - warnMs, left].filter((ms) => ms > 0).map((ms) => setTimeout(refresh, Math.min(ms + 5, 2 ** 31 - 1)));
    return () => at.forEach(clearTimeout);
  };
  return watchRecord(deps, topics.hold(holdId), hold!, () => findHold(deps.db, holdId), stateOf, timers);
}

/** A booking's states from now on (owner or admin): every change of its status. */
export async function watchBooking(deps: WatchDeps, caller: Caller, id: string): Promise<AsyncIterableIterator<DbBooking>> {
  const bookingId = decodeUuidId('bkg', id, 'id');
  const booking = await findBooking(deps.db, bookingId);
  checkWatcher(caller, booking, 'Booking');
  return watchRecord(deps, topics.booking(bookingId), booking!, () => findBooking(deps.db, bookingId), (b) => b.status);
}
