/**
 * Advisory lock keys of the one-bigint key space, in one place so that no two uses share one (session locks and
 * transaction locks share the space). Best-available allocation uses `event id + 2^32` (holds.sql.ts), above these;
 * per-owner hold locks use the two-int space, which never overlaps this one.
 */
export const advisoryLocks = {
  /** Held while migrations are applied (transaction). */
  migrate: 8231001,
  /** Held while the demo is seeded (transaction). */
  seed: 8231002,
  /** Held by the outbox relay that publishes, for as long as its listening session lives. */
  relay: 8231003,
} as const;
