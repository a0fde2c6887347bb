import type { DbWaitlistEntry, DbOfferSeat } from '../../datasources/postgres/waitlist.sql.js';
import { topics } from '../../subscriptions/topics.js';
import { pickAdjacent } from '../hold/hold.rules.js';

/** Entries listed per `viewer.waitlistEntries`, newest first. */
export const MAX_ENTRIES_LISTED = 100;

/** Why an entry whose turn came was passed over (it keeps its place): accepting would break `maxTicketsPerUser`. */
export const SKIPPED_FOR_LIMIT = 'LIMIT_EXCEEDED';

/** Whether a free seat is one the entry waits for: its seat, a seat of its section, or any seat of the event. */
const serves = (entry: Pick<DbWaitlistEntry, 'sectionId' | 'seatOrdinal'>, seat: DbOfferSeat) =>
  entry.seatOrdinal !== null ? seat.ordinal === entry.seatOrdinal : entry.sectionId === null || seat.sectionId === entry.sectionId;

/**
 * The seats to offer an entry among `free` (best first), or null when too few match: for more than one seat,
 * side by side in one row when such a run exists (the best row first, as best available picks), else the best
 * that match wherever they are.
 */
export function seatsFor(entry: Pick<DbWaitlistEntry, 'quantity' | 'sectionId' | 'seatOrdinal'>, free: readonly DbOfferSeat[]): number[] | null {
  const fits = free.filter((seat) => serves(entry, seat));
  if (fits.length < entry.quantity) return null;
  const seatsPerRow = new Map(fits.map((seat) => [seat.sectionId, seat.seatsPerRow]));
  const run = entry.quantity > 1 ? pickAdjacent(fits, entry.quantity, seatsPerRow) : null;
  return run ?? fits.slice(0, entry.quantity).map((seat) => seat.ordinal).sort((a, b) => a - b);
}

/** What the free seats of one event go to: offers to entries, and entries passed over, with why. */
export interface OfferDecision {
  offers: { entry: DbWaitlistEntry; ordinals: number[] }[];
  skipped: { entry: DbWaitlistEntry; reason: string }[];
}

/**
 * Strict join order: each entry in turn (`entries` in join order) is offered the seats it waits for if enough
 * of them are free, before any entry behind it; an entry that cannot be served yet keeps its place and the seats
 * go on to the next that can. An entry whose owner would then hold or have bought more than `maxTicketsPerUser`
 * of the event is skipped, and told. `ticketsInUse` is each owner's tickets now; offers count as they are made.
 */
export function decideOffers(
  entries: readonly DbWaitlistEntry[],
  pool: readonly DbOfferSeat[],
  limits: { maxTicketsPerUser: number; ticketsInUse: Readonly<Record<string, number>> },
): OfferDecision {
  const inUse = { ...limits.ticketsInUse };
  let free = pool;
  const decision: OfferDecision = { offers: [], skipped: [] };
  for (const entry of entries) {
    const ordinals = seatsFor(entry, free);
    if (!ordinals) continue;
    if ((inUse[entry.owner] ?? 0) + entry.quantity > limits.maxTicketsPerUser) {
      decision.skipped.push({ entry, reason: SKIPPED_FOR_LIMIT });
      continue;
    }
    inUse[entry.owner] = (inUse[entry.owner] ?? 0) + entry.quantity;
    decision.offers.push({ entry, ordinals });
    free = free.filter((seat) => !ordinals.includes(seat.ordinal));
  }
  return decision;
}

/** The outbox message that tells an entry's owner it changed. */
export const entryMessage = (entry: Pick<DbWaitlistEntry, 'id' | 'eventId' | 'owner' | 'state'>) => ({
  topic: topics.waitlist(entry.eventId, entry.owner),
  payload: { entryId: entry.id, state: entry.state },
});

/** The state a client sees: an OFFERED entry whose hold lapsed is EXPIRED at once, as the hold is. */
export const entryState = (entry: Pick<DbWaitlistEntry, 'state' | 'offerExpiresAt'>, now = new Date()) =>
  entry.state === 'OFFERED' && entry.offerExpiresAt !== null && entry.offerExpiresAt <= now ? 'EXPIRED' : entry.state;
