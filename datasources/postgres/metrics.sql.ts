import type { Queryable } from '../db.js';

/** What /metrics reads from Postgres at each scrape: one statement, about the events that have not started. */
export interface DbGauges {
  outboxLagSeconds: number;
  outboxUnpublished: number;
  /** Per event whose sale is running: seats by status. */
  seats: { eventId: number; available: number; held: number; booked: number }[];
  /** Per event not started: waitlist entries WAITING and OFFERED, and offers ever made. */
  waitlists: { eventId: number; waiting: number; offered: number; offers: number }[];
  /** Per gated event not started: tickets in line and admitted (live), and admissions ever made. */
  waitingRooms: { eventId: number; queued: number; admitted: number; admissions: number }[];
}

export async function readGauges(db: Queryable): Promise<DbGauges> {
  const { rows } = await db.query<DbGauges>(
    // Events not cancelled and not started: their waiting rooms and waitlists can still move.
    `WITH live AS (SELECT id FROM events WHERE cancelled_at IS NULL AND starts_at > now())
     SELECT
       (SELECT coalesce(extract(epoch FROM now() - min(created_at)), 0)::float8 FROM outbox WHERE published_at IS NULL) AS "outboxLagSeconds",
       (SELECT count(*)::int FROM outbox WHERE published_at IS NULL) AS "outboxUnpublished",
       (SELECT coalesce(json_agg(json_build_object('eventId', e.id, 'available', i.available_count, 'booked', i.booked_count,
                 'held', e.capacity - i.available_count - i.booked_count)), '[]')
          FROM events e JOIN event_inventory i ON i.event_id = e.id
         WHERE e.cancelled_at IS NULL AND e.on_sale_at <= now() AND e.starts_at > now()) AS seats,
       (SELECT coalesce(json_agg(w), '[]') FROM (
          SELECT event_id AS "eventId", count(*) FILTER (WHERE state = 'WAITING')::int AS waiting,
                 count(*) FILTER (WHERE state = 'OFFERED')::int AS offered, count(offer_hold_id)::int AS offers
            FROM waitlist_entries WHERE event_id IN (SELECT id FROM live) GROUP BY event_id) w) AS waitlists,
       (SELECT coalesce(json_agg(q), '[]') FROM (
          SELECT event_id AS "eventId", count(*) FILTER (WHERE state = 'QUEUED')::int AS queued,
                 count(*) FILTER (WHERE state = 'ADMITTED')::int AS admitted, coalesce(max(admission_number), 0)::int AS admissions
            FROM queue_tickets WHERE event_id IN (SELECT id FROM live) GROUP BY event_id) q) AS "waitingRooms"`,
  );
  return rows[0]!;
}
