// What must hold after a surge, read from the database (and the test provider's ledger in it): each invariant is
// a count of violations, with up to five examples, so that a failure says what broke.
import type pg from 'pg';

export interface Violations {
  count: number;
  examples: unknown[];
}

const check = async (db: pg.Client, sql: string, params: unknown[]): Promise<Violations> => {
  const { rows } = await db.query(sql, params);
  return { count: rows.length, examples: rows.slice(0, 5) };
};

/** Claims on seats that count now: unexpired ACTIVE holds (a booking being paid rides on its hold) and CONFIRMED bookings. */
const LIVE_CLAIMS = `
  SELECT 'hold ' || h.id AS claim, unnest(h.ordinals) AS ordinal FROM holds h
   WHERE h.event_id = $1 AND h.status = 'ACTIVE' AND h.expires_at > now()
  UNION ALL
  SELECT 'booking ' || b.id, unnest(b.ordinals) FROM bookings b WHERE b.event_id = $1 AND b.status = 'CONFIRMED'`;

/** The invariants of a surge on event `eventId` (the number), by name. */
export async function checkInvariants(db: pg.Client, eventId: number): Promise<Record<string, Violations>> {
  const p = [eventId];
  return {
    // No seat in two live holds or bookings, and every seat's row names the claim that holds it.
    noSeatClaimedTwice: await check(db, `SELECT ordinal, array_agg(claim) AS claims FROM (${LIVE_CLAIMS}) c GROUP BY ordinal HAVING count(*) > 1`, p),
    seatsAgreeWithClaims: await check(
      db,
      `SELECT s.ordinal, s.status, s.hold_id, s.booking_id FROM seats s
         LEFT JOIN holds h ON h.id = s.hold_id LEFT JOIN bookings b ON b.id = s.booking_id
        WHERE s.event_id = $1 AND CASE s.status
          WHEN 'booked' THEN b.status IS DISTINCT FROM 'CONFIRMED' OR NOT s.ordinal = ANY (b.ordinals)
          WHEN 'held' THEN h.status IS DISTINCT FROM 'ACTIVE' OR NOT s.ordinal = ANY (h.ordinals)
          ELSE false END
       UNION ALL
       SELECT c.ordinal, 'claimed, but the seat is ' || s.status, NULL, NULL FROM (${LIVE_CLAIMS}) c
         JOIN seats s ON s.event_id = $1 AND s.ordinal = c.ordinal
        WHERE s.status = 'available' OR (c.claim LIKE 'booking %' AND s.status <> 'booked')`,
      p,
    ),
    // sold + held + available = capacity, and the event's counters say the same as its seats.
    soldHeldAvailableIsCapacity: await check(
      db,
      `SELECT e.capacity, i.available_count, i.booked_count, count(*) FILTER (WHERE s.status = 'available') AS available,
              count(*) FILTER (WHERE s.status = 'held') AS held, count(*) FILTER (WHERE s.status = 'booked') AS booked
         FROM events e JOIN event_inventory i ON i.event_id = e.id JOIN seats s ON s.event_id = e.id WHERE e.id = $1
        GROUP BY e.capacity, i.available_count, i.booked_count
       HAVING count(*) <> e.capacity OR i.available_count <> count(*) FILTER (WHERE s.status = 'available')
           OR i.booked_count <> count(*) FILTER (WHERE s.status = 'booked')`,
      p,
    ),
    // Every CONFIRMED booking has one captured charge (the ledger's key is the booking), not refunded.
    everyConfirmedBookingCapturedOnce: await check(
      db,
      `SELECT b.id, c.status, c.refunds FROM bookings b LEFT JOIN test_payment_charges c ON c.key = b.id::text
        WHERE b.event_id = $1 AND b.status = 'CONFIRMED' AND (c.status IS DISTINCT FROM 'captured' OR c.refunds <> 0)`,
      p,
    ),
    // Money taken for no seats went back: every capture whose booking is not CONFIRMED was refunded.
    everyCaptureWithoutSeatsRefunded: await check(
      db,
      `SELECT c.key, b.status, b.failure, b.refund_status FROM test_payment_charges c JOIN bookings b ON b.id::text = c.key
        WHERE b.event_id = $1 AND c.status = 'captured' AND b.status <> 'CONFIRMED' AND c.refunds <> 1`,
      p,
    ),
    // Nothing committed is left unannounced: the relay published every outbox row.
    everyNotificationPublished: await check(db, `SELECT id, topic FROM outbox WHERE published_at IS NULL`, []),
    // Strict waitlist order: no entry still waiting (and never skipped for its limit) was passed over by a later
    // entry whose offer had enough of the seats it waits for.
    waitlistOffersInJoinOrder: await check(
      db,
      `SELECT w.id AS waiting, w.seq, l.id AS offered, l.seq AS "offeredSeq" FROM waitlist_entries w
         JOIN waitlist_entries l ON l.event_id = w.event_id AND l.seq > w.seq AND l.offer_hold_id IS NOT NULL
         JOIN holds h ON h.id = l.offer_hold_id
        WHERE w.event_id = $1 AND w.state = 'WAITING' AND w.skip_reason IS NULL
          AND (SELECT count(*) FROM seats s WHERE s.event_id = w.event_id AND s.ordinal = ANY (h.ordinals)
                AND (w.seat_ordinal IS NULL OR s.ordinal = w.seat_ordinal) AND (w.section_id IS NULL OR s.section_id = w.section_id)) >= w.quantity`,
      p,
    ),
  };
}

/** What the watchers are compared with: the seat map's version and availability (README's bitmap), once nothing is lapsed unswept. */
export async function seatMapNow(db: pg.Client, eventId: number): Promise<{ version: number; availability: string; settled: boolean }> {
  const { rows } = await db.query<{ version: number; ordinals: number[]; lapsed: boolean; capacity: number }>(
    `SELECT i.seat_map_version AS version, e.capacity,
            array(SELECT ordinal FROM seats WHERE event_id = $1 AND status = 'available') AS ordinals,
            EXISTS (SELECT 1 FROM seats WHERE event_id = $1 AND status = 'held' AND held_until <= now()) AS lapsed
       FROM event_inventory i JOIN events e ON e.id = i.event_id WHERE i.event_id = $1`,
    [eventId],
  );
  const { version, ordinals, lapsed, capacity } = rows[0]!;
  const bits = Buffer.alloc(Math.ceil(capacity / 8));
  for (const ordinal of ordinals) bits[ordinal >> 3]! |= 1 << (7 - (ordinal % 8));
  return { version, availability: bits.toString('base64'), settled: !lapsed };
}

/**
 * Where the seats that are not sold are, for a sale that stopped short: available seats, holds by kind (a waitlist
 * offer or not; a payment in flight or not), and the waitlist entries still waiting, by quantity.
 */
export async function unsoldSeats(db: pg.Client, eventId: number): Promise<Record<string, number>> {
  const { rows } = await db.query<{ what: string; n: number }>(
    `SELECT 'available seats' AS what, count(*)::int AS n FROM seats WHERE event_id = $1 AND status = 'available'
     UNION ALL
     SELECT 'held seats: ' || CASE WHEN w.id IS NULL THEN 'hold' ELSE 'waitlist offer' END
              || CASE WHEN b.id IS NULL THEN '' ELSE ', payment ' || b.charge_status END
              || CASE WHEN h.expires_at <= now() THEN ', lapsed' ELSE '' END, sum(cardinality(h.ordinals))::int
       FROM holds h LEFT JOIN waitlist_entries w ON w.offer_hold_id = h.id
       LEFT JOIN bookings b ON b.hold_id = h.id AND b.status = 'PENDING_PAYMENT'
      WHERE h.event_id = $1 AND h.status = 'ACTIVE' GROUP BY 1
     UNION ALL
     SELECT 'waitlist entries waiting for ' || quantity, count(*)::int FROM waitlist_entries
      WHERE event_id = $1 AND state = 'WAITING' GROUP BY quantity`,
    [eventId],
  );
  return Object.fromEntries(rows.map((row) => [row.what, row.n]));
}
