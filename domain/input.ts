import { BadUserInputError } from './errors.js';

/**
 * The earliest and latest instants both databases store and read back alike: years 1000 to 9999, UTC. Postgres
 * goes further back, but PGlite reads years below 100 back wrong (0001 as 2001).
 */
export const MIN_INSTANT_MS = Date.parse('1000-01-01T00:00:00.000Z');
export const MAX_INSTANT_MS = Date.parse('9999-12-31T23:59:59.999Z');

/** True for a time (ms since the epoch) that can be stored and compared in the database. */
export const isStorableInstant = (ms: number) => Number.isFinite(ms) && ms >= MIN_INSTANT_MS && ms <= MAX_INSTANT_MS;

/**
 * Checks a text input: 1 to `max` characters, not blank, and no NUL (which Postgres cannot store in text);
 * BAD_USER_INPUT naming `field` otherwise.
 */
export function checkText(field: string, value: string, max: number): void {
  if (value.trim().length === 0 || value.length > max) {
    throw new BadUserInputError(field, `must be 1 to ${max} characters, not blank`);
  }
  if (value.includes('\u0000')) throw new BadUserInputError(field, 'must not contain NUL characters');
}
