import type { Queryable, Statement } from '../db.js';

export type DbBookingStatus = 'PENDING_PAYMENT' | 'CONFIRMED' | 'FAILED' | 'REFUNDED';
export type DbChargeStatus = 'requested' | 'pending' | 'captured' | 'declined';
export type DbBookingFailure = 'declined' | 'hold_lost' | 'timeout';

export interface DbBooking {
  id: string;
  eventId: number;
  holdId: string;
  owner: string;
  ordinals: number[];
  total: number;
  currency: string;
  status: DbBookingStatus;
  requestHash: string;
  chargeStatus: DbChargeStatus;
  chargeId: string | null;
  failure: DbBookingFailure | null;
  refundStatus: 'due' | 'done' | null;
  createdAt: Date;
}

const columns = `id, event_id AS "eventId", hold_id AS "holdId", owner, ordinals, total, currency, status,
  request_hash AS "requestHash", charge_status AS "chargeStatus", charge_id AS "chargeId", failure,
  refund_status AS "refundStatus", created_at AS "createdAt"`;

const byKey: Statement = {
  name: 'booking_by_key',
  text: `SELECT ${columns} FROM bookings WHERE owner = $1 AND idempotency_key = $2`,
};

/** The booking `owner` made with this idempotency key, if any. */
export async function findBookingByKey(db: Queryable, owner: string, key: string): Promise<DbBooking | null> {
  return (await db.query<DbBooking>(byKey, [owner, key])).rows[0] ?? null;
}

const byId = (lock: boolean): Statement => ({
  name: lock ? 'booking_by_id_lock' : 'booking_by_id',
  text: `SELECT ${columns} FROM bookings WHERE id = $1 ${lock ? 'FOR UPDATE' : ''}`,
});

/** A booking by id; with `lock`, locked until the transaction ends (lock its hold first). */
export async function findBooking(db: Queryable, id: string, lock = false): Promise<DbBooking | null> {
  return (await db.query<DbBooking>(byId(lock), [id])).rows[0] ?? null;
}

/** The live (pending or confirmed) booking of a hold, if any. */
export async function findLiveBookingOfHold(db: Queryable, holdId: string): Promise<DbBooking | null> {
  const { rows } = await db.query<DbBooking>(
    `SELECT ${columns} FROM bookings WHERE hold_id = $1 AND status IN ('PENDING_PAYMENT', 'CONFIRMED')`,
    [holdId],
  );
  return rows[0] ?? null;
}

/** Which of these holds are being paid for or booked (a PENDING_PAYMENT or CONFIRMED booking). */
export async function findHoldsWithLiveBookings(db: Queryable, holdIds: readonly string[]): Promise<Set<string>> {
  const { rows } = await db.query<{ holdId: string }>(
    {
      name: 'holds_with_live_bookings',
      text: `SELECT hold_id AS "holdId" FROM bookings WHERE hold_id = ANY($1::uuid[]) AND status IN ('PENDING_PAYMENT', 'CONFIRMED')`,
    },
    [holdIds],
  );
  return new Set(rows.map((row) => row.holdId));
}

/** The bookings of `owner`, newest first, at most `limit`; of one event when `eventId` is given. */
export async function findBookingsOfOwner(db: Queryable, owner: string, eventId: number | null, limit: number): Promise<DbBooking[]> {
  const { rows } = await db.query<DbBooking>(
    `SELECT ${columns} FROM bookings WHERE owner = $1 AND ($2::int IS NULL OR event_id = $2)
      ORDER BY created_at DESC, id LIMIT $3`,
    [owner, eventId, limit],
  );
  return rows;
}

export type NewBooking = Pick<DbBooking, 'id' | 'eventId' | 'holdId' | 'owner' | 'ordinals' | 'total' | 'currency' | 'requestHash'> & {
  idempotencyKey: string;
};

/** Inserts a PENDING_PAYMENT booking. Throws 23505 when the owner has used the key already. */
export async function insertBooking(tx: Queryable, b: NewBooking): Promise<DbBooking> {
  const { rows } = await tx.query<DbBooking>(
    `INSERT INTO bookings (id, event_id, hold_id, owner, ordinals, total, currency, idempotency_key, request_hash)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING ${columns}`,
    [b.id, b.eventId, b.holdId, b.owner, b.ordinals, b.total, b.currency, b.idempotencyKey, b.requestHash],
  );
  return rows[0]!;
}

/** The columns a state change of a booking may set. */
export interface BookingChange {
  status?: DbBookingStatus;
  chargeStatus?: DbChargeStatus;
  chargeId?: string;
  failure?: DbBookingFailure;
  refundStatus?: 'due' | 'done';
  refundId?: string;
}

const changeColumns: Record<keyof BookingChange, string> = {
  status: 'status',
  chargeStatus: 'charge_status',
  chargeId: 'charge_id',
  failure: 'failure',
  refundStatus: 'refund_status',
  refundId: 'refund_id',
};

/** Applies `change` to a booking; the table's CHECKs refuse any combination that would break a money rule. */
export async function updateBooking(tx: Queryable, id: string, change: BookingChange): Promise<DbBooking> {
  const entries = Object.entries(change).filter(([, value]) => value !== undefined) as [keyof BookingChange, string][];
  const sets = entries.map(([key], i) => `${changeColumns[key]} = $${i + 2}`);
  const { rows } = await tx.query<DbBooking>(
    `UPDATE bookings SET ${[...sets, 'updated_at = now()'].join(', ')} WHERE id = $1 RETURNING ${columns}`,
    [id, ...entries.map(([, value]) => value)],
  );
  return rows[0]!;
}

/** Frees the seats a booking holds (after a refund), returning how many. */
export async function freeBookedSeats(tx: Queryable, bookingId: string): Promise<number> {
  const { rowCount } = await tx.query(
    `UPDATE seats SET status = 'available', booking_id = NULL, hold_id = NULL WHERE booking_id = $1 AND status = 'booked'`,
    [bookingId],
  );
  return rowCount;
}

/** Fails the pending bookings of holds that have just expired: their payment did not complete in time. */
export async function failPendingBookingsOfHolds(tx: Queryable, holdIds: string[]): Promise<DbBooking[]> {
  const { rows } = await tx.query<DbBooking>(
    `UPDATE bookings SET status = 'FAILED', failure = 'timeout', updated_at = now()
      WHERE hold_id = ANY($1::uuid[]) AND status = 'PENDING_PAYMENT' RETURNING ${columns}`,
    [holdIds],
  );
  return rows;
}

/** Records that a due refund was made. */
export async function recordRefund(db: Queryable, id: string, refundId: string): Promise<void> {
  await db.query(
    `UPDATE bookings SET refund_status = 'done', refund_id = $2, updated_at = now() WHERE id = $1 AND refund_status = 'due'`,
    [id, refundId],
  );
}

/** Bookings matching `condition` (each has a partial index on updated_at) unchanged for `olderThanSeconds`, oldest first. */
async function findQuiet(db: Queryable, condition: string, olderThanSeconds: number, limit: number): Promise<DbBooking[]> {
  const { rows } = await db.query<DbBooking>(
    `SELECT ${columns} FROM bookings WHERE ${condition} AND updated_at <= now() - make_interval(secs => $1) ORDER BY updated_at LIMIT $2`,
    [olderThanSeconds, limit],
  );
  return rows;
}

/** Bookings whose refund is due and has not been recorded for `olderThanSeconds` (a crash or a provider outage). */
export const findRefundsDue = (db: Queryable, olderThanSeconds: number, limit: number) => findQuiet(db, `refund_status = 'due'`, olderThanSeconds, limit);

/** Bookings waiting for their charge's outcome with no change for `olderThanSeconds`. */
export const findUnsettledBookings = (db: Queryable, olderThanSeconds: number, limit: number) =>
  findQuiet(db, `status = 'PENDING_PAYMENT'`, olderThanSeconds, limit);

/** Marks bookings as looked at now (`updated_at`), changing nothing else. */
export async function touchBookings(db: Queryable, ids: readonly string[]): Promise<void> {
  if (ids.length) await db.query(`UPDATE bookings SET updated_at = now() WHERE id = ANY($1::uuid[])`, [ids]);
}

/** Records a provider event as applied; false when it was applied before (a duplicate delivery). */
export async function recordPaymentEvent(tx: Queryable, id: string, type: string): Promise<boolean> {
  const { rowCount } = await tx.query(`INSERT INTO payment_events (id, type) VALUES ($1, $2) ON CONFLICT DO NOTHING`, [id, type]);
  return rowCount === 1;
}
