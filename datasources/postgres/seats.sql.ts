import type { Queryable, Statement } from '../db.js';

/**
 * Creates every seat of an event from its sections, in one statement: ordinals run through the sections in
 * order, then rows, then seats; `rowLabels[i]` labels row i of every section. Each seat's `rank` is its place
 * in the best-available order (`best_available_key`, migration 002).
 */
export async function insertSeatsFromSections(db: Queryable, eventId: number, rowLabels: readonly string[]): Promise<number> {
  const { rowCount } = await db.query(
    `INSERT INTO seats (event_id, ordinal, section_id, row_label, row_index, seat_number, rank)
     SELECT s.event_id, s.first_ordinal + r.i * s.seats_per_row + n - 1, s.id, ($2::text[])[r.i + 1], r.i, n,
            row_number() OVER (ORDER BY best_available_key(s.price, s.position, r.i, n, s.seats_per_row)) - 1
       FROM sections s
      CROSS JOIN LATERAL generate_series(0, s.row_count - 1) AS r(i)
      CROSS JOIN LATERAL generate_series(1, s.seats_per_row) AS n
      WHERE s.event_id = $1`,
    [eventId, rowLabels],
  );
  return rowCount;
}

/** A seat's place in the layout; the layout of an event never changes. */
export interface DbSeatPlace {
  eventId: number;
  ordinal: number;
  sectionId: number;
  rowLabel: string;
  seatNumber: number;
}

const seatPlaces: Statement = {
  name: 'seat_places',
  text: `SELECT event_id AS "eventId", ordinal, section_id AS "sectionId", row_label AS "rowLabel", seat_number AS "seatNumber"
       FROM seats WHERE event_id = ANY($1::int[]) ORDER BY event_id, ordinal`,
};

/** Every seat of these events, by event, then in ordinal order. */
export async function findSeatPlaces(db: Queryable, eventIds: readonly number[]): Promise<DbSeatPlace[]> {
  return (await db.query<DbSeatPlace>(seatPlaces, [eventIds])).rows;
}

/** Seat statuses of an event as one string, one letter per ordinal: A(vailable), H(eld), B(ooked). */
export interface DbSeatStatuses {
  eventId: number;
  version: number;
  statuses: string;
}

// One statement, so each event's version and statuses come from the same snapshot.
const seatStatuses: Statement = {
  name: 'seat_statuses',
  text: `SELECT i.event_id AS "eventId", i.seat_map_version AS version,
            string_agg(CASE s.status WHEN 'available' THEN 'A' WHEN 'held' THEN 'H' ELSE 'B' END, '' ORDER BY s.ordinal)
              AS statuses
       FROM event_inventory i JOIN seats s ON s.event_id = i.event_id
      WHERE i.event_id = ANY($1::int[])
      GROUP BY i.event_id`,
};

/** The statuses of every seat of these events and the seat-map version they belong to; absent events are left out. */
export async function findSeatStatuses(db: Queryable, eventIds: readonly number[]): Promise<DbSeatStatuses[]> {
  return (await db.query<DbSeatStatuses>(seatStatuses, [eventIds])).rows;
}

const statusesOfSeats: Statement = {
  name: 'statuses_of_seats',
  text: `SELECT s.event_id AS "eventId", s.ordinal, s.status
       FROM unnest($1::int[], $2::int[]) AS w(event_id, ordinal)
       JOIN seats s ON s.event_id = w.event_id AND s.ordinal = w.ordinal`,
};

/** The statuses (available, held, booked) of some seats, each named by event and ordinal; absent seats are left out. */
export async function findStatusesOfSeats(
  db: Queryable,
  seats: readonly { eventId: number; ordinal: number }[],
): Promise<{ eventId: number; ordinal: number; status: string }[]> {
  const { rows } = await db.query<{ eventId: number; ordinal: number; status: string }>(statusesOfSeats, [
    seats.map((seat) => seat.eventId),
    seats.map((seat) => seat.ordinal),
  ]);
  return rows;
}
