import { LRUCache } from 'lru-cache';
import type { Database } from '../../datasources/db.js';
import { findSectionsOfEvent } from '../../datasources/postgres/sections.sql.js';
import { findSeatPlaces, findSeatStatuses } from '../../datasources/postgres/seats.sql.js';
import { encodeId, encodeSeatId } from '../ids.js';
import { availabilityBitmap } from './seat-map.rules.js';

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
  /** How many times availability was rebuilt from Postgres (for tests and metrics). */
  readonly rebuilds: number;
}

async function buildLayout(db: Database, eventId: number, currency: string): Promise<SeatMapLayout> {
  const [sections, places] = await Promise.all([findSectionsOfEvent(db, eventId), findSeatPlaces(db, eventId)]);
  const layoutSections = new Map<number, LayoutSection>();
  for (const section of sections) {
    const price = { amount: section.price, currency };
    layoutSections.set(section.id, {
      id: encodeId('sec', section.id),
      name: section.name,
      price,
      seatCount: section.rowCount * section.seatsPerRow,
      rows: [],
    });
  }
  // Seats arrive in ordinal order, which is section, row, seat order: a new row starts when the label changes.
  for (const place of places) {
    const section = layoutSections.get(place.sectionId)!;
    let row = section.rows.at(-1);
    if (row?.label !== place.rowLabel) section.rows.push((row = { label: place.rowLabel, seats: [] }));
    row.seats.push({
      id: encodeSeatId(eventId, place.ordinal),
      row: place.rowLabel,
      number: place.seatNumber,
      ordinal: place.ordinal,
      price: section.price,
    });
  }
  return { eventId, seatCount: places.length, sections: [...layoutSections.values()] };
}

async function buildAvailability(db: Database, eventId: number): Promise<Availability> {
  const row = await findSeatStatuses(db, eventId);
  if (!row) throw new Error(`event ${eventId} has no seats`);
  return { eventId, version: row.version, statuses: row.statuses, ...availabilityBitmap(row.statuses) };
}

/** A seat-map cache over `db` that keeps at most `maxEvents` events of each kind. */
export function createSeatMapCache(db: Database, maxEvents: number): SeatMapCache {
  const layouts = new LRUCache<number, SeatMapLayout, string>({
    max: maxEvents,
    fetchMethod: (eventId, _stale, { context: currency }) => buildLayout(db, eventId, currency),
  });
  const snapshots = new LRUCache<number, Availability>({ max: maxEvents });
  const building = new Map<number, Promise<Availability>>();
  let rebuilds = 0;

  function rebuild(eventId: number): Promise<Availability> {
    let pending = building.get(eventId);
    if (!pending) {
      rebuilds++;
      pending = buildAvailability(db, eventId)
        .then((snapshot) => {
          if ((snapshots.get(eventId)?.version ?? -1) < snapshot.version) snapshots.set(eventId, snapshot);
          return snapshot;
        })
        .finally(() => building.delete(eventId));
      building.set(eventId, pending);
    }
    return pending;
  }

  return {
    layout: async (eventId, currency) => (await layouts.fetch(eventId, { context: currency }))!,
    async availability(eventId, minVersion) {
      for (;;) {
        const cached = snapshots.get(eventId);
        if (cached && cached.version >= minVersion) return cached;
        // A rebuild that started before the version we need was committed returns an older snapshot: go again.
        const built = await rebuild(eventId);
        if (built.version >= minVersion) return built;
      }
    },
    get rebuilds() {
      return rebuilds;
    },
  };
}
