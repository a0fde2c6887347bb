import type { Queryable } from '../db.js';

/** A row of `venues`. */
export interface DbVenue {
  id: number;
  name: string;
  city: string;
  country: string;
}

/** Inserts a venue. */
export async function insertVenue(db: Queryable, venue: Omit<DbVenue, 'id'>): Promise<DbVenue> {
  const { rows } = await db.query<DbVenue>(
    `INSERT INTO venues (name, city, country) VALUES ($1, $2, $3) RETURNING id, name, city, country`,
    [venue.name, venue.city, venue.country],
  );
  return rows[0]!;
}
