import type { Queryable } from '../db.js';

const WRITE_PATH_TABLES = ['seats', 'sections', 'event_inventory', 'holds', 'bookings', 'waitlist_entries'];

/**
 * Refreshes the planner's statistics of the write path's tables that need it, by autovacuum's own rule (never
 * analyzed, or changed by more than 50 rows + 10% since): without them (a new deployment, autovacuum off or not
 * come round yet) a new event's seats look like a handful of rows, and the best-available statement's generic
 * plan reads and sorts every free seat of the event instead of walking its index. Sampled (30,000 rows a table at
 * most), so it takes a fraction of a second. With `all`, every one of them. The embedded database keeps no such
 * counts: it is analyzed when seeded.
 */
export async function refreshWritePathStatistics(db: Queryable, options: { all?: boolean } = {}): Promise<void> {
  if (options.all) return db.exec(`ANALYZE ${WRITE_PATH_TABLES.join(', ')}`);
  const { rows } = await db.query<{ relname: string }>(
    `SELECT s.relname FROM pg_stat_user_tables s JOIN pg_class c ON c.oid = s.relid
      WHERE s.relname = ANY($1::text[])
        AND ((s.last_analyze IS NULL AND s.last_autoanalyze IS NULL) OR s.n_mod_since_analyze > 50 + 0.1 * greatest(c.reltuples, 0))`,
    [WRITE_PATH_TABLES],
  );
  if (rows.length) await db.exec(`ANALYZE ${rows.map((row) => row.relname).join(', ')}`);
}
