import type { Queryable } from '../db.js';

/**
 * Refreshes the planner's statistics of the tables the write path reads. Without them (a new deployment, or
 * autovacuum off, or not yet come round) a new event's seats look like a handful of rows, and the best-available
 * statement's generic plan reads and sorts every free seat of the event instead of walking its index: a new
 * event's first rush ran at half speed. Sampled (30,000 rows a table at most), so it takes a fraction of a second.
 */
export async function refreshWritePathStatistics(db: Queryable): Promise<void> {
  await db.exec('ANALYZE seats, sections, event_inventory, holds, bookings, waitlist_entries');
}
