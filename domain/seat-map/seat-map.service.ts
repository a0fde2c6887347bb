import DataLoader from 'dataloader';
import { LRUCache } from 'lru-cache';
import { assertNotInTransaction, type Database } from '../../datasources/db.js';
import { findSectionsOfEvents } from '../../datasources/postgres/sections.sql.js';
import { findSeatPlaces, findSeatStatuses, findStatusesOfSeats } from '../../datasources/postgres/seats.sql.js';
import { encodeId, encodeSeatId } from '../ids.js';
import { sharedBatchOptions } from '../shared-batch.js';
import type { SeatMapFeeds } from '../../subscriptions/seat-map-feed.js';
import type { SeatDelta } from '../../subscriptions/topics.js';
import { applyStatuses, availabilityBitmap, type SeatStatus } from './seat-map.rules.js';

export interface Money {
  amount: number;
  currency: string;
}
export interface LayoutSeat {
  id: string;
  row: string;
  number: number;
  ordinal: number;
  price: Money;
}
export interface LayoutRow {
  label: string;
  seats: LayoutSeat[];
}
export interface LayoutSection {
  id: string;
  name: string;
  price: Money;
  seatCount: number;
  rows: LayoutRow[];
}
/** The static part of a seat map: it never changes once the event exists, so it is cached without expiry. */
export interface SeatMapLayout {
  eventId: number;
  seatCount: number;
  sections: LayoutSection[];
  /** Every seat, by ordinal. */
  seats: LayoutSeat[];
}

/** Seat statuses of one event as of one seat-map version, with the bitmap of API.md. */
export interface Availability {
  eventId: number;
  version: number;
  /** One letter per ordinal: A(vailable), H(eld), B(ooked). */
  statuses: string;
  bitmap: string;
  availableCount: number;
}

/** Seat maps served from memory: layouts per event, availability per (event, version). */
export interface SeatMapCache {
  /** The layout of an event; built once per instance, concurrent callers share the build. */
  layout(eventId: number, currency: string): Promise<SeatMapLayout>;
  /**
   * Availability at `minVersion` or later. Rebuilt from Postgres only when the cached copy is older; concurrent
   * callers share one rebuild, so an event is read at most once per version per instance.
   */
  availability(eventId: number, minVersion: number): Promise<Availability>;
  /**
   * Which of these seats this instance knows to be taken, from the deltas it has received: booked, or held
   * until at least `until` (ms since the epoch). Empty when it knows nothing of them: ask the database.
   */
  knownTaken(eventId: number, ordinals: readonly number[], until: number): number[];
  /**
   * Notes what a committed transaction of this instance did to these seats, before its delta comes: taken until
   * `until` (ms since the epoch; Infinity when booked), or free (0).
   */
  learnTaken(eventId: number, ordinals: readonly number[], until: number): void;
  /**
   * Drops what this instance knows of the event's availability; the next read rebuilds it. For a change made
   * behind the deltas' back: a hold's expiry moved earlier by hand (deltas only report status changes).
   */
  forget(eventId: number): void;
  /** How many times availability was rebuilt from Postgres (for tests and metrics). */
  readonly rebuilds: number;
}

/** Groups rows by event id, keeping their order (in linear time: this runs over every seat). */
function byEvent<T extends { eventId: number }>(rows: T[]): Map<number, T[]> {
  const groups = new Map<number, T[]>();
  for (const row of rows) {
    let group = groups.get(row.eventId);
    if (!group) groups.set(row.eventId, (group = []));
    group.push(row);
  }
  return groups;
}

/** Builds the layouts of several events with two statements, whatever their number. */
async function buildLayouts(db: Database, keys: readonly { eventId: number; currency: string }[]): Promise<SeatMapLayout[]> {
  const ids = keys.map((key) => key.eventId);
  const [sections, places] = await Promise.all([findSectionsOfEvents(db, ids), findSeatPlaces(db, ids)]);
  const sectionsByEvent = byEvent(sections);
  const placesByEvent = byEvent(places);
  return keys.map(({ eventId, currency }) => {
    const layoutSections = new Map<number, LayoutSection>();
    for (const section of sectionsByEvent.get(eventId) ?? []) {
      layoutSections.set(section.id, {
        id: encodeId('sec', section.id),
        name: section.name,
        price: { amount: section.price, currency },
        seatCount: section.rowCount * section.seatsPerRow,
        rows: [],
      });
    }
    // Seats arrive in ordinal order, which is section, row, seat order: a new row starts when the label changes.
    const eventPlaces = placesByEvent.get(eventId) ?? [];
    const seats: LayoutSeat[] = [];
    for (const place of eventPlaces) {
      const section = layoutSections.get(place.sectionId)!;
      let row = section.rows.at(-1);
      if (row?.label !== place.rowLabel) section.rows.push((row = { label: place.rowLabel, seats: [] }));
      const seat = {
        id: encodeSeatId(eventId, place.ordinal),
        row: place.rowLabel,
        number: place.seatNumber,
        ordinal: place.ordinal,
        price: section.price,
      };
      row.seats.push(seat);
      seats.push(seat);
    }
    return { eventId, seatCount: eventPlaces.length, sections: [...layoutSections.values()], seats };
  });
}

/** Builds the availability of several events with one statement; an error for an event without seats. */
async function buildAvailabilities(db: Database, eventIds: readonly number[]): Promise<(Availability | Error)[]> {
  const rows = new Map((await findSeatStatuses(db, eventIds)).map((row) => [row.eventId, row]));
  return eventIds.map((eventId) => {
    const row = rows.get(eventId);
    if (!row) return new Error(`event ${eventId} has no seats`);
    return { eventId, version: row.version, statuses: row.statuses, ...availabilityBitmap(row.statuses) };
  });
}

/**
 * A cached snapshot, kept current by deltas. `takenUntil` is what the deltas (and this instance's own frees) said
 * of each seat (0: nothing); one array per event, shared by its snapshots and updated in place.
 */
interface LiveAvailability extends Availability {
  takenUntil: Float64Array;
}

/** How long a read waits for the deltas that bring a watched snapshot up to the version it needs, before rebuilding. */
const DELTA_WAIT_MS = 100;

/**
 * A seat-map cache over `db` that keeps layouts and snapshots of at most `maxSeats` seats each. With `feeds`,
 * every cached snapshot follows its event's deltas, so that a sell-out does not rebuild it at each version; a
 * gap in the deltas drops it, and the next read rebuilds it.
 */
export function createSeatMapCache(db: Database, maxSeats: number, feeds?: SeatMapFeeds): SeatMapCache {
  // Builds requested in one event-loop turn, by one request's list of events or by many requests, share one
  // statement; the caches below decide what needs building.
  const layoutBuilder = new DataLoader((keys: readonly { eventId: number; currency: string }[]) => buildLayouts(db, keys), sharedBatchOptions);
  const availabilityBuilder = new DataLoader((ids: readonly number[]) => buildAvailabilities(db, ids), sharedBatchOptions);
  // Bounded by seats, not events: a 200,000-seat layout weighs a hundred times a 2,000-seat one.
  const layouts = new LRUCache<number, SeatMapLayout, string>({
    maxSize: maxSeats,
    sizeCalculation: (layout) => Math.max(1, layout.seatCount),
    fetchMethod: (eventId, _stale, { context: currency }) => layoutBuilder.load({ eventId, currency }),
  });
  const watching = new Map<number, () => void>();
  const unwatch = (eventId: number) => {
    watching.get(eventId)?.();
    watching.delete(eventId);
  };
  const snapshots = new LRUCache<number, LiveAvailability>({
    maxSize: maxSeats,
    sizeCalculation: (snapshot) => Math.max(1, snapshot.statuses.length),
    // A build under way for the event follows its deltas already and decides when it ends (see rebuild).
    dispose: (_snapshot, eventId, reason) => reason !== 'set' && !building.has(eventId) && unwatch(eventId),
  });
  const building = new Map<number, Promise<Availability>>();
  /** Deltas that came while their event's snapshot was being built: the snapshot takes those after its version. */
  const early = new Map<number, SeatDelta[]>();
  /** Reads waiting for a delta: resolved when their event's snapshot reaches their version. */
  const waiters = new Map<number, { version: number; resolve: () => void }[]>();
  /** Events whose deltas did not come in time (pub/sub down, a relay behind): reads rebuild without waiting. */
  const lagging = new Set<number>();
  let rebuilds = 0;

  function apply(delta: SeatDelta) {
    lagging.delete(delta.eventId);
    const snapshot = snapshots.get(delta.eventId);
    if (!snapshot) return void early.get(delta.eventId)?.push(delta);
    if (delta.version <= snapshot.version) return;
    if (delta.version !== snapshot.version + 1) return void snapshots.delete(delta.eventId);
    const statuses = applyStatuses(snapshot.statuses, delta.ordinals, delta.statuses);
    const { takenUntil } = snapshot;
    delta.ordinals.forEach((ordinal, i) => {
      const letter = delta.statuses[i];
      takenUntil[ordinal] = letter === 'B' ? Infinity : letter === 'H' ? (delta.heldUntil ?? 0) : 0;
    });
    snapshots.set(delta.eventId, { eventId: delta.eventId, version: delta.version, statuses, ...availabilityBitmap(statuses), takenUntil });
    const waiting = waiters.get(delta.eventId) ?? [];
    for (const waiter of waiting.filter((w) => w.version <= delta.version)) waiter.resolve();
  }

  function keep(snapshot: Availability) {
    const { eventId } = snapshot;
    // A rebuilt snapshot knows statuses, not until when: only deltas from now on tell that.
    if ((snapshots.get(eventId)?.version ?? -1) < snapshot.version) snapshots.set(eventId, { ...snapshot, takenUntil: new Float64Array(snapshot.statuses.length) });
    // A cached snapshot always follows its feed, whatever happened to the following meanwhile.
    if (feeds && !watching.has(eventId)) watching.set(eventId, feeds.watch(eventId, apply));
    // Taken out first: a gap among them drops the snapshot, and the deltas after it have nowhere to go.
    const came = early.get(eventId) ?? [];
    early.delete(eventId);
    for (const delta of came) apply(delta);
  }

  /** Waits until the feeds of events asked for in one turn know where they start (at most DELTA_WAIT_MS), together. */
  const started = new DataLoader(async (eventIds: readonly number[]) => {
    const ready = Promise.all(eventIds.map((eventId) => feeds?.ready(eventId)));
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, DELTA_WAIT_MS);
      void ready.then(() => (clearTimeout(timer), resolve()));
    });
    return eventIds.map(() => undefined);
  }, sharedBatchOptions);

  /**
   * Follows the event's deltas from before its snapshot is read, so that none committed after the read is
   * missed: those that come during the build are kept for it. Following anew waits (a little) until the feed
   * knows where it starts, which must not be after the version the build reads; the events of one turn wait
   * together, so that their builds still share a statement. An event already followed does not wait: its feed
   * has started, or cannot now (pub/sub down), and reads must not wait on that each time.
   */
  function follow(eventId: number): Promise<void> {
    if (!feeds || watching.has(eventId)) return Promise.resolve();
    watching.set(eventId, feeds.watch(eventId, apply));
    return started.load(eventId);
  }

  function rebuild(eventId: number): Promise<Availability> {
    let pending = building.get(eventId);
    if (!pending) {
      rebuilds++;
      early.set(eventId, []);
      pending = follow(eventId)
        .then(() => availabilityBuilder.load(eventId))
        .then((snapshot) => (keep(snapshot), snapshot))
        .finally(() => {
          building.delete(eventId);
          early.delete(eventId);
          // A build that failed, or a snapshot that a gap in the early deltas dropped, follows nothing.
          if (!snapshots.has(eventId)) unwatch(eventId);
        });
      building.set(eventId, pending);
    }
    return pending;
  }

  /**
   * Waits (a little) for the deltas that bring a watched event's snapshot up to `version`. They are committed
   * already (the caller read `version` from the database), so the feed reads them from the outbox at once
   * instead of leaving the read to wait for pub/sub.
   */
  function deltaReaching(eventId: number, version: number): Promise<void> {
    if (!watching.has(eventId) || !snapshots.has(eventId) || lagging.has(eventId)) return Promise.resolve();
    feeds?.catchUp(eventId);
    return new Promise<void>((resolve) => {
      const list = waiters.get(eventId) ?? [];
      waiters.set(eventId, list);
      const waiter = { version, resolve: () => done() };
      const timer = setTimeout(() => (lagging.add(eventId), done()), DELTA_WAIT_MS);
      const done = () => {
        clearTimeout(timer);
        const index = list.indexOf(waiter);
        if (index >= 0) list.splice(index, 1);
        if (!list.length) waiters.delete(eventId);
        resolve();
      };
      list.push(waiter);
    });
  }

  return {
    async layout(eventId, currency) {
      assertNotInTransaction();
      return (await layouts.fetch(eventId, { context: currency }))!;
    },
    async availability(eventId, minVersion) {
      // Builds are shared with other requests: a caller inside a transaction must fail alone, before joining one.
      assertNotInTransaction();
      // A rebuild that started before the version we need was committed returns an older snapshot: go again,
      // a few times at most (a lagging replica must not spin us); an older snapshot is still self-consistent.
      let cached = snapshots.get(eventId);
      if (cached && cached.version >= minVersion) return cached;
      // A watched snapshot is usually a delta or two behind at most: catch up rather than read 20,000 seats.
      await deltaReaching(eventId, minVersion);
      cached = snapshots.get(eventId);
      if (cached && cached.version >= minVersion) return cached;
      let built: Availability | undefined;
      for (let attempt = 0; attempt < 3; attempt++) {
        built = await rebuild(eventId);
        if (built.version >= minVersion) return built;
      }
      return built!;
    },
    knownTaken(eventId, ordinals, until) {
      const snapshot = snapshots.get(eventId);
      if (snapshot) return ordinals.filter((ordinal) => (snapshot.takenUntil[ordinal] ?? 0) > until);
      // Nothing is known of an event this instance does not follow yet: follow it from now on.
      if (feeds && !building.has(eventId)) rebuild(eventId).catch(() => {});
      return [];
    },
    forget(eventId) {
      snapshots.delete(eventId);
    },
    learnTaken(eventId, ordinals, until) {
      const takenUntil = snapshots.get(eventId)?.takenUntil;
      if (takenUntil) for (const ordinal of ordinals) if (ordinal < takenUntil.length) takenUntil[ordinal] = until;
    },
    get rebuilds() {
      return rebuilds;
    },
  };
}

/** Seat statuses by (event, ordinal), for one request: a few seats of many holds or bookings in one statement. */
export type SeatStatusLoader = DataLoader<{ eventId: number; ordinal: number }, SeatStatus>;

const statusOfRow: Record<string, SeatStatus> = { available: 'AVAILABLE', held: 'HELD', booked: 'BOOKED' };

/**
 * Seat statuses read from the seats themselves, for every request at once: the loads of concurrent responses
 * (a burst of holds) share one statement, and nothing is cached. A hold's handful of seats costs an index
 * lookup, where the event's availability snapshot would be rebuilt (20,000 seats) after every write.
 */
export function createSeatStatusBatcher(db: Database): SeatStatusLoader {
  return new DataLoader(
    async (seats) => {
      const rows = await findStatusesOfSeats(db, seats);
      const byKey = new Map(rows.map((row) => [`${row.eventId}:${row.ordinal}`, statusOfRow[row.status]!]));
      return seats.map((seat) => byKey.get(`${seat.eventId}:${seat.ordinal}`) ?? new Error(`no seat ${seat.ordinal} of event ${seat.eventId}`));
    },
    sharedBatchOptions,
  );
}

/** Some seats of an event (a hold's, a booking's) from its cached layout, with their current status. */
export async function seatsOf(
  cache: SeatMapCache,
  statuses: SeatStatusLoader,
  claim: { eventId: number; currency: string; ordinals: readonly number[] },
): Promise<(LayoutSeat & { status: SeatStatus })[]> {
  // The batcher is shared with other requests: a caller inside a transaction must fail alone, before joining it.
  assertNotInTransaction();
  const { eventId, ordinals } = claim;
  const [layout, current] = await Promise.all([
    cache.layout(eventId, claim.currency),
    statuses.loadMany(ordinals.map((ordinal) => ({ eventId, ordinal }))),
  ]);
  return ordinals.map((ordinal, i) => {
    const status = current[i];
    if (status instanceof Error) throw status;
    return { ...layout.seats[ordinal]!, status: status! };
  });
}
