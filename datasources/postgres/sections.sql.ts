import type { Queryable, Statement } from '../db.js';

/** A row of `sections`: a priced block of `rowCount` × `seatsPerRow` seats starting at `firstOrdinal`. */
export interface DbSection {
  id: number;
  eventId: number;
  position: number;
  name: string;
  price: number;
  rowCount: number;
  seatsPerRow: number;
  firstOrdinal: number;
}

export type NewSection = Omit<DbSection, 'id' | 'eventId'>;

/** Inserts an event's sections in one statement. */
export async function insertSections(db: Queryable, eventId: number, sections: readonly NewSection[]): Promise<void> {
  await db.query(
    `INSERT INTO sections (event_id, position, name, price, row_count, seats_per_row, first_ordinal)
     SELECT $1, * FROM unnest($2::int[], $3::text[], $4::int[], $5::int[], $6::int[], $7::int[])`,
    [
      eventId,
      sections.map((s) => s.position),
      sections.map((s) => s.name),
      sections.map((s) => s.price),
      sections.map((s) => s.rowCount),
      sections.map((s) => s.seatsPerRow),
      sections.map((s) => s.firstOrdinal),
    ],
  );
}

const sectionsOfEvents: Statement = {
  name: 'sections_of_events',
  text: `SELECT id, event_id AS "eventId", position, name, price, row_count AS "rowCount",
            seats_per_row AS "seatsPerRow", first_ordinal AS "firstOrdinal"
       FROM sections WHERE event_id = ANY($1::int[]) ORDER BY event_id, position`,
};

/** The sections of these events, by event, then in seat-map order. */
export async function findSectionsOfEvents(db: Queryable, eventIds: readonly number[]): Promise<DbSection[]> {
  return (await db.query<DbSection>(sectionsOfEvents, [eventIds])).rows;
}
