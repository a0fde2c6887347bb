import { createHash, randomBytes } from 'node:crypto';
import DataLoader from 'dataloader';
import { assertNotInTransaction, type Database, type Queryable } from '../../datasources/db.js';
import { findEventsByIds, insertEvent, searchEvents as searchEventRows, type DbEvent, type EventQuery } from '../../datasources/postgres/events.sql.js';
import { insertSections, type NewSection } from '../../datasources/postgres/sections.sql.js';
import { insertSeatsFromSections } from '../../datasources/postgres/seats.sql.js';
import { insertVenue, type DbVenue } from '../../datasources/postgres/venues.sql.js';
import { refreshWritePathStatistics } from '../../datasources/postgres/stats.sql.js';
import { requireAdmin, type Caller } from '../caller.js';
import { NotFoundError } from '../errors.js';
import { checkText } from '../input.js';
import { sharedBatchOptions } from '../shared-batch.js';
import { decodeCursor, encodeCursor, eventSpec, pageSize, rowLabel, toPrefixQuery, validateEventSpec, type EventInput } from './event.rules.js';

export interface EventFilter {
  text?: string | null;
  city?: string | null;
  category?: string | null;
  startsAfter?: Date | null;
  startsBefore?: Date | null;
  onSaleOnly?: boolean | null;
}

/** One page of a search; `totalCount` is null unless it was asked for. */
export interface EventPage {
  edges: { cursor: string; node: DbEvent }[];
  hasNextPage: boolean;
  endCursor: string | null;
  totalCount: number | null;
}

const orUndefined = <T>(value: T | null | undefined): T | undefined => value ?? undefined;

/** Events matching `filter`, one page at a time; with `withTotal`, also how many match in all. */
export async function searchEvents(
  db: Database,
  args: { filter?: EventFilter | null; first?: number | null; after?: string | null },
  withTotal: boolean,
): Promise<EventPage> {
  const limit = pageSize(args.first);
  const filter = args.filter ?? {};
  if (filter.city != null) checkText('filter.city', filter.city, 100);
  if (filter.category != null) checkText('filter.category', filter.category, 50);
  const query: EventQuery = {
    tsquery: filter.text ? toPrefixQuery(filter.text) : undefined,
    city: orUndefined(filter.city),
    category: orUndefined(filter.category),
    startsAfter: orUndefined(filter.startsAfter),
    startsBefore: orUndefined(filter.startsBefore),
    onSaleOnly: orUndefined(filter.onSaleOnly),
  };
  const after = args.after != null ? decodeCursor(args.after, query.tsquery !== undefined) : null;
  const { rows, totalCount } = await searchEventRows(db, query, after, limit + 1, withTotal);
  const edges = rows.slice(0, limit).map((row) => ({
    cursor: encodeCursor({ rank: row.rank, startsAt: row.startsAt, id: row.id }),
    node: row,
  }));
  return {
    edges,
    hasNextPage: rows.length > limit,
    endCursor: edges.at(-1)?.cursor ?? null,
    totalCount,
  };
}

/**
 * Fetches events by id for every request at once: loads made in the same tick, by any number of concurrent
 * requests, become one query. It caches nothing, so no request ever sees another's data, only shares its round trip.
 */
export function createEventBatcher(db: Database): DataLoader<number, DbEvent | null> {
  return new DataLoader(
    async (ids) => {
      const byId = new Map((await findEventsByIds(db, ids)).map((event) => [event.id, event]));
      return ids.map((id) => byId.get(id) ?? null);
    },
    sharedBatchOptions,
  );
}

/** A request-scoped loader of events by id: each event is fetched once per request, through the shared batcher. */
export function createEventLoader(batcher: DataLoader<number, DbEvent | null>): DataLoader<number, DbEvent | null> {
  return new DataLoader(async (ids) => {
    // The batcher is shared with other requests: a caller inside a transaction must fail alone, before joining it.
    assertNotInTransaction();
    return batcher.loadMany(ids);
  });
}

/** Creates a venue (admin only). */
export async function createVenue(
  db: Database,
  caller: Caller,
  input: { name: string; city: string; country: string },
): Promise<DbVenue> {
  requireAdmin(caller);
  for (const [field, max] of [['name', 200], ['city', 100], ['country', 100]] as const) checkText(`input.${field}`, input[field], max);
  return insertVenue(db, { name: input.name.trim(), city: input.city.trim(), country: input.country.trim() });
}

/** The raffle seed of a gated event and its published commitment: sha256 (hex) of the seed's hex text. */
function raffleSeed(): { raffleSeed: string; raffleCommitment: string } {
  const seed = randomBytes(32).toString('hex');
  return { raffleSeed: seed, raffleCommitment: createHash('sha256').update(seed).digest('hex') };
}

/** From this many seats on, a new event's seats are analyzed at once whatever autovacuum's rule says. */
const BIG_EVENT_SEATS = 1_000;

/**
 * Creates an event and every seat of its layout in one transaction (admin only), then refreshes the write
 * path's planner statistics (unless `refreshStatistics` is false: a seed does it once at the end). Returns the
 * new event's id; NOT_FOUND when the venue does not exist, and then nothing is written.
 */
export async function createEvent(
  db: Database,
  caller: Caller,
  venueId: number,
  input: EventInput,
  options: { refreshStatistics?: boolean } = {},
): Promise<number> {
  requireAdmin(caller);
  const spec = eventSpec(input);
  validateEventSpec(spec);
  let ordinal = 0;
  const sections: NewSection[] = spec.sections.map((section, position) => {
    const firstOrdinal = ordinal;
    ordinal += section.rows * section.seatsPerRow;
    const { name, price, rows: rowCount, seatsPerRow } = section;
    return { position, name: name.trim(), price, rowCount, seatsPerRow, firstOrdinal };
  });
  const prices = sections.map((section) => section.price);
  const maxRows = Math.max(...sections.map((section) => section.rowCount));
  const created = await db.transaction(async (tx) => {
    await allowBulkWork(tx);
    const eventId = await insertEvent(tx, {
      ...spec,
      title: spec.title.trim(),
      performer: spec.performer.trim(),
      category: spec.category.trim().toLowerCase(),
      venueId,
      capacity: ordinal,
      priceMin: Math.min(...prices),
      priceMax: Math.max(...prices),
      waitingRoom: spec.waitingRoom && { ...spec.waitingRoom, ...raffleSeed() },
    });
    if (eventId === null) throw new NotFoundError('Venue', 'input.venueId');
    await insertSections(tx, eventId, sections);
    await insertSeatsFromSections(tx, eventId, Array.from({ length: maxRows }, (_, i) => rowLabel(i)));
    return eventId;
  });
  // Its first rush must not wait for autovacuum to learn that the seats exist (the plans depend on it): always
  // for an event of a thousand seats or more, else by autovacuum's rule.
  if (options.refreshStatistics ?? true) {
    await db.transaction(async (tx) => (await allowBulkWork(tx), refreshWritePathStatistics(tx, { all: ordinal >= BIG_EVENT_SEATS })));
  }
  return created;
}

/**
 * Creating an event writes up to 200,000 seats and analyzes them: work proportional to the layout, which on a
 * busy host may outlast DATABASE_STATEMENT_TIMEOUT_MS (meant for hot-path statements stuck behind a lock).
 * Its own transaction gets minutes.
 */
const allowBulkWork = (tx: Queryable) => tx.query(`SET LOCAL statement_timeout = '120s'`);
