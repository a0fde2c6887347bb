import { QueryTooComplexError } from '../errors.js';

/**
 * How many seat objects one request may list: the largest event there can be. Listing seats costs about a
 * thousand times the bitmap, so without a bound one request could ask for millions (aliases, many events).
 */
export const MAX_LISTED_SEATS_PER_REQUEST = 200_000;

/** Adds `seats` to what a request has listed; QUERY_TOO_COMPLEX past the per-request bound. */
export function chargeListedSeats(listedSoFar: number, seats: number): number {
  const total = listedSoFar + seats;
  if (total > MAX_LISTED_SEATS_PER_REQUEST) {
    throw new QueryTooComplexError(
      `this request lists ${total} seats, more than ${MAX_LISTED_SEATS_PER_REQUEST}: list one seat map per request, or use availability`,
      { limit: 'seats', max: MAX_LISTED_SEATS_PER_REQUEST },
    );
  }
  return total;
}

/** How a seat's status is stored in a status string: one letter per ordinal. */
export type StatusLetter = 'A' | 'H' | 'B';
export type SeatStatus = 'AVAILABLE' | 'HELD' | 'BOOKED';

const statusOfLetter: Record<string, SeatStatus> = { A: 'AVAILABLE', H: 'HELD', B: 'BOOKED' };

/** The status of the seat at `ordinal` in a status string. */
export function seatStatus(statuses: string, ordinal: number): SeatStatus {
  const status = statusOfLetter[statuses[ordinal]!];
  if (!status) throw new Error(`no seat with ordinal ${ordinal} in a map of ${statuses.length} seats`);
  return status;
}

/** A status string with the seats at `ordinals` set to `letters` (one letter each). */
export function applyStatuses(statuses: string, ordinals: readonly number[], letters: string): string {
  const bytes = Buffer.from(statuses, 'latin1');
  ordinals.forEach((ordinal, i) => {
    if (ordinal < bytes.length) bytes[ordinal] = letters.charCodeAt(i);
  });
  return bytes.toString('latin1');
}

/**
 * The availability bitmap of API.md: ceil(n / 8) bytes, seat i AVAILABLE iff bit 7 - (i % 8) of byte
 * floor(i / 8) is set, as standard base64.
 */
export function availabilityBitmap(statuses: string): { bitmap: string; availableCount: number } {
  const bytes = new Uint8Array(Math.ceil(statuses.length / 8));
  let availableCount = 0;
  for (let i = 0; i < statuses.length; i++) {
    if (statuses.charCodeAt(i) === 65 /* 'A' */) {
      bytes[i >> 3]! |= 0x80 >> (i & 7);
      availableCount++;
    }
  }
  return { bitmap: Buffer.from(bytes).toString('base64'), availableCount };
}

/** Which seats a bitmap marks AVAILABLE (the client's side of the format; used by tests and tools). */
export function decodeAvailability(bitmap: string, seatCount: number): boolean[] {
  const bytes = Buffer.from(bitmap, 'base64');
  return Array.from({ length: seatCount }, (_, i) => ((bytes[i >> 3]! >> (7 - (i & 7))) & 1) === 1);
}
