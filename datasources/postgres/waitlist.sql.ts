import type { Queryable, Statement } from '../db.js';

export type DbWaitlistState = 'WAITING' | 'OFFERED' | 'ACCEPTED' | 'EXPIRED' | 'LEFT';

/** A waitlist entry: for one seat (`seatOrdinal`, with its section), for a section, or for the event (both null). */
export interface DbWaitlistEntry {
  id: string;
  eventId: number;
  owner: string;
  quantity: number;
  sectionId: number | null;
  seatOrdinal: number | null;
  state: DbWaitlistState;
  offerHoldId: string | null;
  /** The offer's expiry while OFFERED (it lapses then, swept or not). */
  offerExpiresAt: Date | null;
  skipReason: string | null;
  skippedAt: Date | null;
  createdAt: Date;
}

const columns = `w.id, w.event_id AS "eventId", w.owner, w.quantity, w.section_id AS "sectionId", w.seat_ordinal AS "seatOrdinal",
  w.state, w.offer_hold_id AS "offerHoldId", h.expires_at AS "offerExpiresAt", w.skip_reason AS "skipReason",
  w.skipped_at AS "skippedAt", w.created_at AS "createdAt"`;
const from = `waitlist_entries w LEFT JOIN holds h ON h.id = w.offer_hold_id`;

export type NewWaitlistEntry = Pick<DbWaitlistEntry, 'id' | 'eventId' | 'owner' | 'quantity' | 'sectionId' | 'seatOrdinal'>;

/** The owner's live entry (WAITING or OFFERED) for this target of the event, if any. */
export async function findLiveEntry(db: Queryable, target: Omit<NewWaitlistEntry, 'id' | 'quantity'>): Promise<DbWaitlistEntry | null> {
  const { rows } = await db.query<DbWaitlistEntry>(
    `SELECT ${columns} FROM ${from}
      WHERE w.event_id = $1 AND w.owner = $2 AND w.section_id IS NOT DISTINCT FROM $3 AND w.seat_ordinal IS NOT DISTINCT FROM $4
        AND w.state IN ('WAITING', 'OFFERED')`,
    [target.eventId, target.owner, target.sectionId, target.seatOrdinal],
  );
  return rows[0] ?? null;
}

/**
 * Adds an entry, or returns the owner's live entry for the same target of the event if there is one: joining
 * twice gives the first entry back, even at the same moment.
 */
export async function insertEntry(tx: Queryable, entry: NewWaitlistEntry): Promise<DbWaitlistEntry> {
  await tx.query(
    `INSERT INTO waitlist_entries (id, event_id, owner, quantity, section_id, seat_ordinal) VALUES ($1, $2, $3, $4, $5, $6)
     ON CONFLICT DO NOTHING`,
    [entry.id, entry.eventId, entry.owner, entry.quantity, entry.sectionId, entry.seatOrdinal],
  );
  return (await findLiveEntry(tx, entry))!;
}

/** An entry by id; with `lock`, locked until the transaction ends (lock order: the offer's hold first). */
export async function findEntry(db: Queryable, id: string, lock = false): Promise<DbWaitlistEntry | null> {
  const { rows } = await db.query<DbWaitlistEntry>(`SELECT ${columns} FROM ${from} WHERE w.id = $1 ${lock ? 'FOR UPDATE OF w' : ''}`, [id]);
  return rows[0] ?? null;
}

/** The owner's entries, newest first, at most `limit`; of one event when `eventId` is given. */
export async function findEntriesOfOwner(db: Queryable, owner: string, eventId: number | null, limit: number): Promise<DbWaitlistEntry[]> {
  const { rows } = await db.query<DbWaitlistEntry>(
    `SELECT ${columns} FROM ${from} WHERE w.owner = $1 AND ($2::int IS NULL OR w.event_id = $2) ORDER BY w.seq DESC LIMIT $3`,
    [owner, eventId, limit],
  );
  return rows;
}

/**
 * Per entry, its place among the WAITING entries of its event that could take the same seats: 1 + those ahead
 * whose target overlaps its own (a seat, its section, the whole event). 0 for an entry that is not WAITING.
 */
export async function findPositions(db: Queryable, ids: readonly string[]): Promise<Map<string, number>> {
  const { rows } = await db.query<{ id: string; position: number }>(
    `SELECT w.id, CASE WHEN w.state <> 'WAITING' THEN 0 ELSE 1 + (
              SELECT count(*) FROM waitlist_entries a
               WHERE a.event_id = w.event_id AND a.state = 'WAITING' AND a.seq < w.seq
                 AND (a.section_id IS NULL OR w.section_id IS NULL OR a.section_id = w.section_id)
                 AND (a.seat_ordinal IS NULL OR w.seat_ordinal IS NULL OR a.seat_ordinal = w.seat_ordinal)) END::int AS position
       FROM waitlist_entries w WHERE w.id = ANY($1::uuid[])`,
    [ids],
  );
  return new Map(rows.map((row) => [row.id, row.position]));
}

/** Waiting entries of event $1 that seats among ordinals $2 can serve: the seat's own, its section's, the event's. */
const servedBy = `w.event_id = $1 AND w.state = 'WAITING'
        AND (w.seat_ordinal = ANY($2::int[])
             OR (w.seat_ordinal IS NULL AND (w.section_id IS NULL OR w.section_id IN (
                   SELECT s.section_id FROM seats s WHERE s.event_id = $1 AND s.ordinal = ANY($2::int[])))))`;

// The entries that seats of these ordinals can serve, in join order: the first $3 of those asking for no more
// seats than could be free once these are, and the first $3 of those these seats alone can serve (so that a
// window full of entries waiting for seats that others are claiming right now does not hide the one-seat entry
// behind them). Locked, so that two transactions freeing seats that could serve one entry offer them one after
// the other.
const waitingFor: Statement = {
  name: 'waitlist_waiting_for',
  text: `SELECT ${columns} FROM ${from}
      WHERE w.id IN (
        (SELECT w.id FROM waitlist_entries w WHERE ${servedBy}
            AND w.quantity <= cardinality($2::int[]) + (SELECT i.available_count FROM event_inventory i WHERE i.event_id = $1)
          ORDER BY w.seq LIMIT $3)
        UNION
        (SELECT w.id FROM waitlist_entries w WHERE ${servedBy} AND w.quantity <= cardinality($2::int[])
          ORDER BY w.seq LIMIT $3))
      ORDER BY w.seq FOR UPDATE OF w`,
};

/** The first `limit` WAITING entries that seats among `ordinals` could serve, in join order, locked. */
export async function lockEntriesWaitingFor(tx: Queryable, eventId: number, ordinals: readonly number[], limit: number): Promise<DbWaitlistEntry[]> {
  return (await tx.query<DbWaitlistEntry>(waitingFor, [eventId, ordinals, limit])).rows;
}

/** A free seat that may be offered, with what adjacency needs. */
export interface DbOfferSeat {
  ordinal: number;
  sectionId: number;
  rowIndex: number;
  seatNumber: number;
  rank: number;
  seatsPerRow: number;
}

// Index walks only: the free seats within `reach` of each freed seat in its row (for seats side by side), the
// best `best` free seats of each section in `sectionIds`, and the event's best `best` when `anywhere`.
const offerPool: Statement = {
  name: 'waitlist_offer_pool',
  text: `SELECT s.ordinal, s.section_id AS "sectionId", s.row_index AS "rowIndex", s.seat_number AS "seatNumber", s.rank,
            c.seats_per_row AS "seatsPerRow"
       FROM seats s JOIN sections c ON c.id = s.section_id
      WHERE s.event_id = $1 AND s.status = 'available' AND s.ordinal = ANY(ARRAY(
              SELECT n.ordinal FROM seats f JOIN seats n ON n.section_id = f.section_id AND n.row_index = f.row_index
                 AND n.seat_number BETWEEN f.seat_number - $3 AND f.seat_number + $3
               WHERE f.event_id = $1 AND f.ordinal = ANY($2::int[]) AND n.status = 'available'
              UNION
              SELECT b.ordinal FROM unnest($5::int[]) AS w(section_id) CROSS JOIN LATERAL (
                SELECT x.ordinal FROM seats x WHERE x.section_id = w.section_id AND x.status = 'available' ORDER BY x.rank LIMIT $4) b
              UNION
              (SELECT a.ordinal FROM seats a WHERE $6 AND a.event_id = $1 AND a.status = 'available' ORDER BY a.rank LIMIT $4)))
      ORDER BY s.rank`,
};

/**
 * The free seats that may be offered once the seats of `ordinals` are freed, best first (not locked: see
 * lockFreeSeats): those within `reach` seats of a freed one in its row (the freed seats themselves included),
 * the best `best` of each section in `sectionIds`, and the event's best `best` when `anywhere`.
 */
export async function findOfferPool(
  tx: Queryable,
  eventId: number,
  ordinals: readonly number[],
  wanted: { reach: number; best: number; sectionIds: readonly number[]; anywhere: boolean },
): Promise<DbOfferSeat[]> {
  const { rows } = await tx.query<DbOfferSeat>(offerPool, [eventId, ordinals, wanted.reach, wanted.best, wanted.sectionIds, wanted.anywhere]);
  return rows;
}

/** Marks entries OFFERED with their holds, and entries passed over with why; in one statement. */
export async function recordOffers(
  tx: Queryable,
  offers: readonly { entryId: string; holdId: string }[],
  skipped: readonly { entryId: string; reason: string }[],
): Promise<void> {
  if (!offers.length && !skipped.length) return;
  await tx.query(
    {
      name: 'waitlist_record_offers',
      text: `WITH offered AS (
           UPDATE waitlist_entries w SET state = 'OFFERED', offer_hold_id = o.hold_id, updated_at = now()
             FROM unnest($1::uuid[], $2::uuid[]) AS o(id, hold_id) WHERE w.id = o.id AND w.state = 'WAITING'
         )
         UPDATE waitlist_entries w SET skip_reason = k.reason, skipped_at = now(), updated_at = now()
           FROM unnest($3::uuid[], $4::text[]) AS k(id, reason) WHERE w.id = k.id AND w.state = 'WAITING'`,
    },
    [offers.map((o) => o.entryId), offers.map((o) => o.holdId), skipped.map((s) => s.entryId), skipped.map((s) => s.reason)],
  );
}

/** Ends the offers made with these holds (ACCEPTED, EXPIRED or LEFT) and returns their entries. */
export async function endOffers(tx: Queryable, holdIds: readonly string[], state: 'ACCEPTED' | 'EXPIRED' | 'LEFT'): Promise<DbWaitlistEntry[]> {
  if (!holdIds.length) return [];
  const { rows } = await tx.query<DbWaitlistEntry>(
    {
      name: 'waitlist_end_offers',
      text: `WITH ended AS (
           UPDATE waitlist_entries SET state = $2, updated_at = now()
            WHERE offer_hold_id = ANY($1::uuid[]) AND state = 'OFFERED' RETURNING *
         )
         SELECT ${columns} FROM ended w LEFT JOIN holds h ON h.id = w.offer_hold_id`,
    },
    [holdIds, state],
  );
  return rows;
}

/** Turns a WAITING entry LEFT; null when it was not WAITING. */
export async function leaveWaiting(tx: Queryable, id: string): Promise<DbWaitlistEntry | null> {
  const { rows } = await tx.query<DbWaitlistEntry>(
    `WITH left_entry AS (
       UPDATE waitlist_entries SET state = 'LEFT', updated_at = now() WHERE id = $1 AND state = 'WAITING' RETURNING *
     )
     SELECT ${columns} FROM left_entry w LEFT JOIN holds h ON h.id = w.offer_hold_id`,
    [id],
  );
  return rows[0] ?? null;
}

/** How many seats of the target are free now (available, or held by a hold that lapsed). */
export async function countFree(db: Queryable, eventId: number, target: { sectionId: number | null; seatOrdinal: number | null }): Promise<number> {
  const { rows } = await db.query<{ free: number }>(
    `SELECT count(*)::int AS free FROM seats
      WHERE event_id = $1 AND ($2::int IS NULL OR section_id = $2) AND ($3::int IS NULL OR ordinal = $3)
        AND (status = 'available' OR (status = 'held' AND held_until <= now()))`,
    [eventId, target.sectionId, target.seatOrdinal],
  );
  return rows[0]!.free;
}

/** The owner of the live (unexpired) hold on this seat, if one holds it. */
export async function findSeatHolder(db: Queryable, eventId: number, ordinal: number): Promise<string | null> {
  const { rows } = await db.query<{ owner: string }>(
    `SELECT h.owner FROM seats s JOIN holds h ON h.id = s.hold_id
      WHERE s.event_id = $1 AND s.ordinal = $2 AND s.status = 'held' AND s.held_until > now() AND h.status = 'ACTIVE'`,
    [eventId, ordinal],
  );
  return rows[0]?.owner ?? null;
}
