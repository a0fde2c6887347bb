import type { Queryable, Statement } from '../db.js';

/**
 * Creates every seat of an event from its sections, in one statement: ordinals run through the sections in
 * order, then rows, then seats; `rowLabels[i]` labels row i of every section.
 */
export async function insertSeatsFromSections(db: Queryable, eventId: number, rowLabels: readonly string[]): Promise<number> {
  const { rowCount } = await db.query(
    `INSERT INTO seats (event_id, ordinal, section_id, row_label, row_index, seat_number)
     SELECT s.event_id, s.first_ordinal + r.i * s.seats_per_row + n - 1, s.id, ($2::text[])[r.i + 1], r.i, n
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
  ordinal: number;
  sectionId: number;
  rowLabel: string;
  seatNumber: number;
}

const seatPlaces: Statement = {
  name: 'seat_places',
  text: `SELECT ordinal, section_id AS "sectionId", row_label AS "rowLabel", seat_number AS "seatNumber"
       FROM seats WHERE event_id = $1 ORDER BY ordinal`,
};

/** Every seat of an event in ordinal order. */
export async function findSeatPlaces(db: Queryable, eventId: number): Promise<DbSeatPlace[]> {
  return (await db.query<DbSeatPlace>(seatPlaces, [eventId])).rows;
}

/** Seat statuses of an event as one string, one letter per ordinal: A(vailable), H(eld), B(ooked). */
export interface DbSeatStatuses {
  version: number;
  statuses: string;
}

// One statement, so the version and the statuses come from the same snapshot.
const seatStatuses: Statement = {
  name: 'seat_statuses',
  text: `SELECT e.seat_map_version AS version,
            string_agg(CASE s.status WHEN 'available' THEN 'A' WHEN 'held' THEN 'H' ELSE 'B' END, '' ORDER BY s.ordinal)
              AS statuses
       FROM events e JOIN seats s ON s.event_id = e.id
      WHERE e.id = $1
      GROUP BY e.id`,
};

/** The statuses of every seat of an event and the seat-map version they belong to; null for no such event. */
export async function findSeatStatuses(db: Queryable, eventId: number): Promise<DbSeatStatuses | null> {
  return (await db.query<DbSeatStatuses>(seatStatuses, [eventId])).rows[0] ?? null;
}
