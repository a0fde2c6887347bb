import type { Queryable, Statement } from '../db.js';

export type DbHoldStatus = 'ACTIVE' | 'RELEASED' | 'EXPIRED' | 'CONVERTED';

export interface DbHold {
  id: string;
  eventId: number;
  owner: string;
  ordinals: number[];
  total: number;
  currency: string;
  status: DbHoldStatus;
  expiresAt: Date;
  createdAt: Date;
}

const holdColumns = `id, event_id AS "eventId", owner, ordinals, total, currency, status, expires_at AS "expiresAt", created_at AS "createdAt"`;

/** What hold decisions need to know about the event, read once per batch of holds. */
export interface DbHoldEvent {
  now: Date;
  onSaleAt: Date;
  startsAt: Date;
  cancelled: boolean;
  gated: boolean;
  capacity: number;
  currency: string;
  maxTicketsPerUser: number;
  holdDurationSeconds: number;
  availableCount: number;
  /** True when some hold of the event has lapsed but is not swept yet (its seats are free); only read when sold out. */
  lapsedHolds: boolean | null;
  /** Per owner: seats in live holds (not being paid for) plus pending and confirmed bookings of the event. */
  ticketsInUse: Record<string, number>;
}

// Serialises each owner's holds on one event, across transactions and instances, so that concurrent requests
// cannot each see room under the limit. Owners are locked in one order, so two batches cannot deadlock. A
// separate statement: the next one must take its snapshot after the locks are granted.
const lockOwners: Statement = {
  name: 'lock_owners',
  text: `SELECT count(pg_advisory_xact_lock($1, hashtext(o)))::int AS locked
       FROM (SELECT DISTINCT o FROM unnest($2::text[]) AS o ORDER BY o) AS sorted`,
};

// `h.status || ''` keeps holds_due_idx (ACTIVE holds by expiry) out of the per-owner sums: with statistics taken
// before a sale's holds existed (autovacuum off, or not yet run), the planner took that index for "few ACTIVE
// holds" and walked every one of them per owner, 1.5 ms each at 20,000 holds, 30 ms for a batch of 20 owners
// (bench:holds, release-and-offer). The owner index is the one that fits, and now the only one that matches.
const holdEvent: Statement = {
  name: 'hold_event',
  text: `SELECT now() AS now, e.on_sale_at AS "onSaleAt", e.starts_at AS "startsAt", e.cancelled_at IS NOT NULL AS cancelled,
            e.wr_opens_at IS NOT NULL AS gated, e.capacity, e.currency, e.max_tickets_per_user AS "maxTicketsPerUser",
            e.hold_duration_seconds AS "holdDurationSeconds", i.available_count AS "availableCount",
            CASE WHEN i.available_count = 0 THEN EXISTS (
              SELECT 1 FROM holds h WHERE h.event_id = e.id AND h.status = 'ACTIVE' AND h.expires_at <= now()) END AS "lapsedHolds",
            (SELECT coalesce(jsonb_object_agg(o, (
                (SELECT coalesce(sum(cardinality(h.ordinals)), 0) FROM holds h
                  WHERE h.owner = o AND h.event_id = e.id AND h.status || '' = 'ACTIVE' AND h.expires_at > now()
                    AND NOT EXISTS (SELECT 1 FROM bookings b WHERE b.hold_id = h.id AND b.status IN ('PENDING_PAYMENT', 'CONFIRMED')))
              + (SELECT coalesce(sum(cardinality(b.ordinals)), 0) FROM bookings b
                  WHERE b.owner = o AND b.event_id = e.id AND b.status IN ('PENDING_PAYMENT', 'CONFIRMED')))), '{}')
               FROM (SELECT DISTINCT unnest($2::text[]) AS o) AS owners) AS "ticketsInUse"
       FROM events e JOIN event_inventory i ON i.event_id = e.id
      WHERE e.id = $1`,
};

/**
 * Locks these owners' tickets of the event until the transaction ends, then reads the event and what each owner
 * already holds or has bought there. Null when there is no such event.
 */
export async function lockHoldEvent(tx: Queryable, eventId: number, owners: readonly string[]): Promise<DbHoldEvent | null> {
  await lockOwnersOf(tx, eventId, owners);
  return readHoldEvent(tx, eventId, owners);
}

/** Locks these owners' tickets of the event until the transaction ends (as holds do). */
export async function lockOwnersOf(tx: Queryable, eventId: number, owners: readonly string[]): Promise<void> {
  await tx.query(lockOwners, [eventId, owners]);
}

/** The event and what each of these owners holds or has bought there now (see DbHoldEvent); null when there is no such event. */
export async function readHoldEvent(tx: Queryable, eventId: number, owners: readonly string[]): Promise<DbHoldEvent | null> {
  const { rows } = await tx.query<DbHoldEvent>(holdEvent, [eventId, owners]);
  return rows[0] ?? null;
}

// The best-available allocator of one event: a transaction-scoped advisory lock in the one-bigint key space
// (the caller locks above use the two-int space, which never overlaps it), offset past small constants.
const lockAllocator: Statement = { name: 'lock_allocator', text: `SELECT pg_advisory_xact_lock($1::bigint + 4294967296)` };

/**
 * Takes the event's best-available allocator until the transaction ends: best-available requests for one event
 * choose their seats one at a time, each seeing what the one before took, so that they pack rows without
 * stranding single seats, and none is refused while seats it could have had are merely locked by another.
 */
export async function lockBestAvailable(tx: Queryable, eventId: number): Promise<void> {
  await tx.query(lockAllocator, [eventId]);
}

/** A free seat found by a best-available search. */
export interface DbFreeSeat {
  ordinal: number;
  sectionId: number;
  rowIndex: number;
  seatNumber: number;
  rank: number;
}

export interface FreeSeatFilter {
  /** Only seats of these sections; null for any. */
  sectionIds: number[] | null;
  /** Also take seats whose hold has lapsed but is not swept yet (slower: not on the partial index). */
  includeLapsed: boolean;
}

const FREE = `(s.status = 'available' OR (s.status = 'held' AND s.held_until <= now()))`;

// No join: the partial index on (event_id, rank) gives the order, and LIMIT stops the walk after a few rows.
const freeSeats = (includeLapsed: boolean, lock: boolean): Statement => ({
  name: `free_seats_${includeLapsed ? 'lapsed' : 'available'}_${lock ? 'lock' : 'read'}`,
  text: `SELECT s.ordinal, s.section_id AS "sectionId", s.row_index AS "rowIndex", s.seat_number AS "seatNumber", s.rank
       FROM seats s
      WHERE s.event_id = $1 AND ${includeLapsed ? FREE : `s.status = 'available'`}
        AND ($2::int[] IS NULL OR s.section_id = ANY($2::int[]))
      ORDER BY s.rank LIMIT $3
      ${lock ? 'FOR UPDATE OF s SKIP LOCKED' : ''}`,
});

/**
 * The best `limit` free seats of an event in best-available order. With `lock`, each is locked for this
 * transaction and seats that others have locked are skipped, never waited for; without, it is a plain read.
 */
export async function findFreeSeats(
  tx: Queryable,
  eventId: number,
  filter: FreeSeatFilter,
  limit: number,
  lock: boolean,
): Promise<DbFreeSeat[]> {
  const { rows } = await tx.query<DbFreeSeat>(freeSeats(filter.includeLapsed, lock), [eventId, filter.sectionIds, limit]);
  return rows;
}

const lockFree: Statement = {
  name: 'lock_free_seats',
  text: `SELECT s.ordinal FROM seats s WHERE s.event_id = $1 AND s.ordinal = ANY($2::int[]) AND ${FREE} FOR UPDATE OF s SKIP LOCKED`,
};

/** Locks those of these seats that are free and not being claimed by another transaction, and returns them. */
export async function lockFreeSeats(tx: Queryable, eventId: number, ordinals: readonly number[]): Promise<number[]> {
  return (await tx.query<{ ordinal: number }>(lockFree, [eventId, ordinals])).rows.map((row) => row.ordinal);
}

const claimLocked: Statement = {
  name: 'claim_locked_seats',
  text: `WITH claimed AS (
         UPDATE seats s SET status = 'held', hold_id = w.hold_id, held_until = (now() + make_interval(secs => $2))::timestamptz(3),
                booking_id = NULL
           FROM unnest($3::int[], $4::uuid[]) AS w(ordinal, hold_id)
          WHERE s.event_id = $1 AND s.ordinal = w.ordinal
         RETURNING s.ordinal
       ), hold AS (
         INSERT INTO holds (id, event_id, owner, ordinals, total, currency, expires_at, base_expires_at)
         SELECT r.id, $1, r.owner, r.ordinals::int[],
                (SELECT coalesce(sum(c.price), 0) FROM unnest(r.ordinals::int[]) o(ordinal)
                   JOIN sections c ON c.event_id = $1 AND o.ordinal >= c.first_ordinal
                                  AND o.ordinal < c.first_ordinal + c.row_count * c.seats_per_row),
                (SELECT currency FROM events WHERE id = $1),
                now() + make_interval(secs => $2), now() + make_interval(secs => $2)
           FROM unnest($5::uuid[], $6::text[], $7::text[]) AS r(id, owner, ordinals)
         RETURNING ${holdColumns}
       )
       SELECT (SELECT count(*)::int FROM claimed) AS claimed, (SELECT coalesce(json_agg(hold), '[]') FROM hold) AS holds`,
};

/**
 * Claims seats this transaction has locked and found free (lockFreeSeats) for several new holds at once, in one
 * statement: one seat-map version and one outbox row for all of them.
 */
export async function claimLockedSeats(tx: Queryable, eventId: number, holdDurationSeconds: number, holds: readonly NewHold[]): Promise<DbHold[]> {
  const seats = holds.flatMap((hold) => hold.ordinals.map((ordinal) => [ordinal, hold.id] as const));
  const { rows } = await tx.query<{ claimed: number; holds: (Omit<DbHold, 'expiresAt' | 'createdAt'> & { expiresAt: string; createdAt: string })[] }>(
    claimLocked,
    [
      eventId,
      holdDurationSeconds,
      seats.map(([ordinal]) => ordinal),
      seats.map(([, id]) => id),
      holds.map((hold) => hold.id),
      holds.map((hold) => hold.owner),
      holds.map((hold) => `{${hold.ordinals.join(',')}}`),
    ],
  );
  // The seats were locked and checked by this transaction: anything else is a bug, and aborts it.
  if (rows[0]!.claimed !== seats.length) throw new Error(`claimed ${rows[0]!.claimed} of ${seats.length} locked seats`);
  return rows[0]!.holds.map((hold) => ({ ...hold, expiresAt: new Date(hold.expiresAt), createdAt: new Date(hold.createdAt) }));
}

export interface NewHold {
  id: string;
  eventId: number;
  owner: string;
  /** Ascending. */
  ordinals: number[];
}

/** What a claim did: the hold, or the seats that stood in the way (none of the seats is claimed then). */
export type ClaimResult = { hold: DbHold; taken: [] } | { hold: null; taken: number[] };

const holdById = (lock: boolean): Statement => ({
  name: lock ? 'hold_by_id_lock' : 'hold_by_id',
  text: `SELECT ${holdColumns} FROM holds WHERE id = $1 ${lock ? 'FOR UPDATE' : ''}`,
});

/** A hold by id; with `lock`, locked until the transaction ends (lock order: hold, booking, seats). */
export async function findHold(db: Queryable, id: string, lock = false): Promise<DbHold | null> {
  return (await db.query<DbHold>(holdById(lock), [id])).rows[0] ?? null;
}

/** The holds of `owner`, newest first, at most `limit`; of one event when `eventId` is given. */
export async function findHoldsOfOwner(db: Queryable, owner: string, eventId: number | null, limit: number): Promise<DbHold[]> {
  const { rows } = await db.query<DbHold>(
    `SELECT ${holdColumns} FROM holds WHERE owner = $1 AND ($2::int IS NULL OR event_id = $2)
      ORDER BY created_at DESC, id LIMIT $3`,
    [owner, eventId, limit],
  );
  return rows;
}

/** These holds, locked until the transaction ends, in id order (so that two batches cannot deadlock). */
export async function lockHolds(tx: Queryable, ids: readonly string[]): Promise<DbHold[]> {
  const { rows } = await tx.query<DbHold>(
    { name: 'lock_holds', text: `SELECT ${holdColumns} FROM holds WHERE id = ANY($1::uuid[]) ORDER BY id FOR UPDATE` },
    [ids],
  );
  return rows;
}

/**
 * Ends active holds as RELEASED and frees those of their seats they still hold (a lapsed hold's seats may
 * already belong to another hold). Returns the holds that were active.
 */
export async function releaseHolds(tx: Queryable, ids: readonly string[]): Promise<DbHold[]> {
  const { rows } = await tx.query<DbHold>(
    {
      name: 'release_holds',
      text: `WITH freed AS (
           UPDATE seats SET status = 'available', hold_id = NULL, held_until = NULL
            WHERE hold_id = ANY($1::uuid[]) AND status = 'held'
         )
         UPDATE holds SET status = 'RELEASED', ended_at = now() WHERE id = ANY($1::uuid[]) AND status = 'ACTIVE'
         RETURNING ${holdColumns}`,
    },
    [ids],
  );
  return rows;
}

/**
 * Locks up to `limit` active holds whose time has passed, oldest first. Holds another instance is sweeping (or
 * someone is paying for) are skipped, so any number of sweepers can run at once.
 */
export async function lockDueHolds(tx: Queryable, limit: number): Promise<DbHold[]> {
  const { rows } = await tx.query<DbHold>(
    `SELECT ${holdColumns} FROM holds WHERE status = 'ACTIVE' AND expires_at <= now() ORDER BY expires_at LIMIT $1 FOR UPDATE SKIP LOCKED`,
    [limit],
  );
  return rows;
}

/** Marks these locked, due holds EXPIRED and frees those of their seats they still hold; returns them. */
export async function expireHolds(tx: Queryable, ids: readonly string[]): Promise<DbHold[]> {
  const { rows } = await tx.query<DbHold>(
    `WITH freed AS (
       UPDATE seats s SET status = 'available', hold_id = NULL, held_until = NULL
        WHERE s.hold_id = ANY($1::uuid[]) AND s.status = 'held'
     )
     UPDATE holds SET status = 'EXPIRED', ended_at = now() WHERE id = ANY($1::uuid[]) AND status = 'ACTIVE'
     RETURNING ${holdColumns}`,
    [ids],
  );
  return rows;
}

/**
 * Moves an active, unexpired hold's expiry (and its seats') to at least `seconds` from now, for a payment in
 * flight. False when the hold had already lapsed (by the database's clock) and nothing changed.
 */
export async function extendHold(tx: Queryable, id: string, seconds: number): Promise<boolean> {
  const { rows } = await tx.query<{ extended: number }>(
    `WITH hold AS (
       UPDATE holds SET expires_at = greatest(expires_at, now() + make_interval(secs => $2))
        WHERE id = $1 AND status = 'ACTIVE' AND expires_at > now()
       RETURNING expires_at
     ), seats AS (
       UPDATE seats SET held_until = (SELECT expires_at FROM hold)
        WHERE hold_id = $1 AND status = 'held' AND EXISTS (SELECT 1 FROM hold)
     )
     SELECT count(*)::int AS extended FROM hold`,
    [id, seconds],
  );
  return rows[0]!.extended === 1;
}

/** Puts a hold's expiry (and its seats') back to what it was before a payment extended it. */
export async function restoreHoldExpiry(tx: Queryable, id: string): Promise<void> {
  await tx.query(
    `WITH hold AS (
       UPDATE holds SET expires_at = base_expires_at WHERE id = $1 AND status = 'ACTIVE' RETURNING expires_at)
     UPDATE seats SET held_until = (SELECT expires_at FROM hold) WHERE hold_id = $1 AND status = 'held'
       AND EXISTS (SELECT 1 FROM hold)`,
    [id],
  );
}

/**
 * Turns an active hold's seats into booked seats of `bookingId` and marks the hold CONVERTED. Returns how many
 * seats were converted: fewer than the hold's seats means the hold had lost some, and nothing should commit.
 */
export async function convertHold(tx: Queryable, id: string, bookingId: string): Promise<number> {
  const { rows } = await tx.query<{ converted: number }>(
    `WITH seats AS (
       UPDATE seats SET status = 'booked', booking_id = $2, held_until = NULL
        WHERE hold_id = $1 AND status = 'held' AND held_until > now()
       RETURNING ordinal
     ), hold AS (
       UPDATE holds SET status = 'CONVERTED', ended_at = now() WHERE id = $1 AND status = 'ACTIVE'
     )
     SELECT count(*)::int AS converted FROM seats`,
    [id, bookingId],
  );
  return rows[0]!.converted;
}

/**
 * The hold path's reads, with arguments that match nothing: run once on each connection at start-up
 * (Database.warm), so that the first rush finds them prepared.
 */
export const holdPathWarmUp: readonly (readonly [Statement, readonly unknown[]])[] = [
  [lockOwners, [-1, []]],
  [holdEvent, [-1, []]],
  [lockFree, [-1, []]],
  [freeSeats(false, true), [-1, null, 1]],
  [freeSeats(false, false), [-1, null, 1]],
];
