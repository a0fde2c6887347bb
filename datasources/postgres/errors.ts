/**
 * The Postgres errors the domain acts on, by SQLSTATE. Both `pg` and PGlite report the code as `error.code`;
 * the domain decides what each means for the client.
 */
export const PgError = {
  uniqueViolation: '23505',
} as const;
// The seats trigger's OS001 (a second live claim, migration 002) is deliberately not here: it means the code
// is wrong, so it surfaces as an internal error, logged in full.

/** True when `error` is the Postgres error `code`, and (if given) about `constraint`. */
export function isPgError(error: unknown, code: string, constraint?: string): boolean {
  const e = error as { code?: unknown; constraint?: unknown } | null;
  return typeof e === 'object' && e !== null && e.code === code && (constraint === undefined || e.constraint === constraint);
}
