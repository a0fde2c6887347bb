import type { Queryable, Statement } from '../db.js';

export type DbEventStatus = 'SCHEDULED' | 'ON_SALE' | 'SOLD_OUT' | 'CANCELLED';

/** An event as clients see it: a row of the `event_rows` view, with its venue. */
export interface DbEvent {
  id: number;
  venueId: number;
  venueName: string;
  venueCity: string;
  venueCountry: string;
  title: string;
  performer: string;
  category: string;
  startsAt: Date;
  onSaleAt: Date;
  status: DbEventStatus;
  currency: string;
  maxTicketsPerUser: number;
  holdDurationSeconds: number;
  capacity: number;
  availableCount: number;
  /** Seats in holds, live or lapsed and not yet swept: capacity - available - booked. */
  heldCount: number;
  seatMapVersion: number;
  priceMin: number | null;
  priceMax: number | null;
  waitingRoomOpensAt: Date | null;
  admissionsPerMinute: number | null;
  admissionWindowSeconds: number | null;
  raffleCommitment: string | null;
  /** Null until the raffle has run. */
  raffleSeed: string | null;
}

const columns = `id, venue_id AS "venueId", venue_name AS "venueName", venue_city AS "venueCity",
  venue_country AS "venueCountry", title, performer, category, starts_at AS "startsAt", on_sale_at AS "onSaleAt",
  status, currency, max_tickets_per_user AS "maxTicketsPerUser", hold_duration_seconds AS "holdDurationSeconds",
  capacity, available_count AS "availableCount", held_count AS "heldCount", seat_map_version AS "seatMapVersion", price_min AS "priceMin",
  price_max AS "priceMax", wr_opens_at AS "waitingRoomOpensAt", wr_admissions_per_minute AS "admissionsPerMinute",
  wr_admission_window_seconds AS "admissionWindowSeconds", wr_raffle_commitment AS "raffleCommitment",
  wr_raffle_seed AS "raffleSeed"`;

const eventsByIds: Statement = {
  name: 'events_by_ids',
  text: `SELECT ${columns} FROM event_rows WHERE id = ANY($1::int[])`,
};

/** The events with these ids, in no particular order; missing ids are simply absent. */
export async function findEventsByIds(db: Queryable, ids: readonly number[]): Promise<DbEvent[]> {
  return (await db.query<DbEvent>(eventsByIds, [ids])).rows;
}

/** What an event search filters on; `tsquery` is already in `to_tsquery('simple', …)` syntax. */
export interface EventQuery {
  tsquery?: string;
  city?: string;
  category?: string;
  startsAfter?: Date;
  startsBefore?: Date;
  onSaleOnly?: boolean;
}

/** Where the previous page ended: `rank` only when searching by text. */
export interface EventKey {
  rank: number | null;
  startsAt: Date;
  id: number;
}

// Search statements differ only by which filters are present (a few hundred shapes at most), so each shape is
// named and `pg` prepares it once per connection: planning cost more than running the query (0.7 ms vs 0.2 ms).
const statementNames = new Map<string, string>();
function prepared(text: string): Statement {
  let name = statementNames.get(text);
  if (!name) statementNames.set(text, (name = `events_search_${statementNames.size + 1}`));
  return { name, text };
}

/** Collects the values of a statement as it is written: `param(v)` returns its placeholder (`$3`). */
function parameters() {
  const values: unknown[] = [];
  return { values, param: (value: unknown) => `$${values.push(value)}` };
}

function whereClause(query: EventQuery, param: (value: unknown) => string): string {
  const conditions: string[] = [];
  if (query.tsquery !== undefined) conditions.push(`search @@ to_tsquery('simple', ${param(query.tsquery)})`);
  if (query.city !== undefined) conditions.push(`lower(venue_city) = lower(${param(query.city)})`);
  if (query.category !== undefined) conditions.push(`lower(category) = lower(${param(query.category)})`);
  if (query.startsAfter !== undefined) conditions.push(`starts_at >= ${param(query.startsAfter)}`);
  if (query.startsBefore !== undefined) conditions.push(`starts_at < ${param(query.startsBefore)}`);
  if (query.onSaleOnly) conditions.push(`status = 'ON_SALE'`);
  return conditions.length ? `WHERE ${conditions.join(' AND ')}` : '';
}

/** A page of a search: rows with their rank, and, when asked for, how many events match across all pages. */
export interface EventSearchPage {
  rows: (DbEvent & { rank: number | null })[];
  totalCount: number | null;
}

/**
 * One page of matching events in a stable order: by text rank (performer, then title, then venue and city),
 * then start time and id; without text, by start time and id. Keyset pagination after `after`. With
 * `withTotal`, the same statement counts every match (a window over the matches, before the page is cut).
 */
export async function searchEvents(
  db: Queryable,
  query: EventQuery,
  after: EventKey | null,
  limit: number,
  withTotal: boolean,
): Promise<EventSearchPage> {
  const { values, param } = parameters();
  const ranked = query.tsquery !== undefined;
  const rank = ranked ? `ts_rank_cd(search, to_tsquery('simple', ${param(query.tsquery)}))::float8` : `NULL::float8`;
  const where = whereClause(query, param);
  let keyset = '';
  if (after) {
    const byTime = `(starts_at, id) > (${param(after.startsAt)}, ${param(after.id)})`;
    if (!ranked) keyset = `WHERE ${byTime}`;
    else {
      const afterRank = param(after.rank);
      keyset = `WHERE rank < ${afterRank} OR (rank = ${afterRank} AND ${byTime})`;
    }
  }
  const total = withTotal ? `, count(*) OVER ()::int AS total` : '';
  const { rows } = await db.query<DbEvent & { rank: number | null; total?: number }>(
    prepared(`SELECT * FROM (SELECT ${columns}, starts_at, ${rank} AS rank${total} FROM event_rows ${where}) matches
     ${keyset}
     ORDER BY ${ranked ? 'rank DESC, ' : ''}starts_at, id
     LIMIT ${param(limit)}`),
    values,
  );
  // A page past the last match has no row to carry the count; only then is a second statement needed.
  const totalCount = !withTotal ? null : rows.length ? rows[0]!.total! : after ? await countEvents(db, query) : 0;
  return { rows, totalCount };
}

/** How many events match, across all pages. */
export async function countEvents(db: Queryable, query: EventQuery): Promise<number> {
  const { values, param } = parameters();
  const { rows } = await db.query<{ count: number }>(
    prepared(`SELECT count(*)::int AS count FROM event_rows ${whereClause(query, param)}`),
    values,
  );
  return rows[0]!.count;
}

/** A new event's row; the seats come from its sections. */
export interface NewEvent {
  venueId: number;
  title: string;
  performer: string;
  category: string;
  startsAt: Date;
  onSaleAt: Date;
  currency: string;
  maxTicketsPerUser: number;
  holdDurationSeconds: number;
  capacity: number;
  priceMin: number;
  priceMax: number;
  waitingRoom: {
    opensAt: Date;
    admissionsPerMinute: number;
    admissionWindowSeconds: number;
    raffleSeed: string;
    raffleCommitment: string;
  } | null;
}

/**
 * Inserts an event at its venue, with its search document (performer weighted above title, title above
 * venue and city). Returns null when the venue does not exist.
 */
export async function insertEvent(db: Queryable, event: NewEvent): Promise<number | null> {
  const wr = event.waitingRoom;
  const { rows } = await db.query<{ id: number }>(
    `WITH event AS (
       INSERT INTO events (venue_id, title, performer, category, starts_at, on_sale_at, currency,
         max_tickets_per_user, hold_duration_seconds, capacity, price_min, price_max,
         wr_opens_at, wr_admissions_per_minute, wr_admission_window_seconds, wr_raffle_seed, wr_raffle_commitment,
         search)
       SELECT v.id, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17,
              setweight(to_tsvector('simple', $3), 'A') || setweight(to_tsvector('simple', $2), 'B')
                || setweight(to_tsvector('simple', v.name || ' ' || v.city), 'C')
         FROM venues v WHERE v.id = $1
       RETURNING id, capacity),
     inventory AS (INSERT INTO event_inventory (event_id, available_count) SELECT id, capacity FROM event)
     SELECT id FROM event`,
    [
      event.venueId, event.title, event.performer, event.category, event.startsAt, event.onSaleAt,
      event.currency, event.maxTicketsPerUser, event.holdDurationSeconds, event.capacity, event.priceMin,
      event.priceMax, wr?.opensAt ?? null, wr?.admissionsPerMinute ?? null, wr?.admissionWindowSeconds ?? null,
      wr?.raffleSeed ?? null, wr?.raffleCommitment ?? null,
    ],
  );
  return rows[0]?.id ?? null;
}
