import type { DbFreeSeat, DbHold, DbHoldEvent } from '../../datasources/postgres/holds.sql.js';
import { BadUserInputError, DomainError, SeatUnavailableError } from '../errors.js';
import { decodeSeatId, encodeSeatId } from '../ids.js';
import { topics } from '../../subscriptions/topics.js';

/** The most seats one request may name or ask for, whatever the event allows (an event allows at most 100). */
export const MAX_SEATS_PER_REQUEST = 100;

/** Holds and bookings listed per `viewer` field, newest first. */
export const MAX_LISTED = 100;

/** The distinct ordinals behind `seatIds`, ascending; BAD_USER_INPUT naming the first bad ID. */
export function seatOrdinals(eventId: number, seatIds: readonly string[]): number[] {
  if (seatIds.length === 0) throw new BadUserInputError('input.seatIds', 'name at least one seat');
  if (seatIds.length > MAX_SEATS_PER_REQUEST) {
    throw new BadUserInputError('input.seatIds', `name at most ${MAX_SEATS_PER_REQUEST} seats`);
  }
  const seen = new Set<number>();
  seatIds.forEach((seatId, i) => {
    const field = `input.seatIds[${i}]`;
    const seat = decodeSeatId(seatId, field);
    if (seat.eventId !== eventId) throw new BadUserInputError(field, `${seatId} is a seat of another event`);
    if (seen.has(seat.ordinal)) throw new BadUserInputError(field, `${seatId} is named twice`);
    seen.add(seat.ordinal);
  });
  return [...seen].sort((a, b) => a - b);
}

/** BAD_USER_INPUT unless `quantity` is 1 to MAX_SEATS_PER_REQUEST. */
export function checkQuantity(quantity: number): void {
  if (!Number.isInteger(quantity) || quantity < 1 || quantity > MAX_SEATS_PER_REQUEST) {
    throw new BadUserInputError('input.quantity', `must be 1 to ${MAX_SEATS_PER_REQUEST}`);
  }
}

/**
 * Why nobody may hold seats of the event now (EVENT_NOT_ON_SALE): before `onSaleAt`, from the start, or cancelled;
 * undefined while the sale runs. Seats that are all taken do not end the sale: held seats come back when their
 * holds lapse, and a fan refused them is the one a waitlist is for (SEAT_UNAVAILABLE, see `noSeatFree`).
 */
export function saleRefusal(ctx: Omit<DbHoldEvent, 'ticketsInUse'>): DomainError | undefined {
  const notOnSale = (why: string) => new DomainError('EVENT_NOT_ON_SALE', `This event is not on sale: ${why}`);
  if (ctx.cancelled) return notOnSale('it was cancelled');
  if (ctx.now < ctx.onSaleAt) return notOnSale(`sales open at ${ctx.onSaleAt.toISOString()}`);
  if (ctx.now >= ctx.startsAt) return notOnSale('it has started');
  return undefined;
}

/** True when no seat of the event is free, not even one of a lapsed hold: a hold is refused without looking at seats. */
export const noSeatFree = (ctx: Pick<DbHoldEvent, 'availableCount' | 'lapsedHolds'>) => ctx.availableCount === 0 && !ctx.lapsedHolds;

/** SEAT_UNAVAILABLE when every seat is held or booked: the explicit seats asked for, or none for best available. */
export const noSeatFreeError = (eventId: number, ordinals: readonly number[]) =>
  seatsUnavailable(eventId, ordinals, 'No seat of this event is free right now: every seat is held or booked (held seats come back if their holds lapse)');

/** NOT_ADMITTED: a gated event's seats need an admission token of the caller's own, for this event, unexpired. */
export const notAdmitted = (token: string | null | undefined) =>
  new DomainError(
    'NOT_ADMITTED',
    token
      ? 'This admission token does not admit you to this event (it is expired, or another fan\'s or event\'s): join the waiting room again'
      : 'This event is gated: join its waiting room and hold with the admission token it gives you',
  );

/**
 * Whether the caller may hold `requested` more seats of this event now. Sales run from `onSaleAt` until the
 * event starts, unless it is cancelled; a gated event needs an admission from its waiting room
 * (`admitted`: the caller's token was checked); a caller's live holds plus pending and confirmed bookings never
 * exceed `maxTicketsPerUser`.
 */
export function checkMayHold(ctx: DbHoldEvent, ticketsInUse: number, requested: number, admission: { admitted: boolean; token?: string | null }): void {
  const refusal = saleRefusal(ctx);
  if (refusal) throw refusal;
  if (ctx.gated && !admission.admitted) throw notAdmitted(admission.token);
  if (ticketsInUse + requested > ctx.maxTicketsPerUser) {
    throw new DomainError(
      'LIMIT_EXCEEDED',
      `At most ${ctx.maxTicketsPerUser} tickets per person for this event; you hold or have bought ${ticketsInUse}`,
      { limit: ctx.maxTicketsPerUser, inUse: ticketsInUse },
    );
  }
}

/** BAD_USER_INPUT for an ordinal beyond the event's seats (a seat ID that looks right but does not exist). */
export function checkSeatsExist(eventId: number, ordinals: readonly number[], capacity: number, seatIds: readonly string[]): void {
  const missing = ordinals.find((ordinal) => ordinal >= capacity);
  if (missing !== undefined) {
    const id = encodeSeatId(eventId, missing);
    throw new BadUserInputError(`input.seatIds[${seatIds.indexOf(id)}]`, `${id} is not a seat of this event`);
  }
}

/** SEAT_UNAVAILABLE listing these seats of the event. */
export const seatsUnavailable = (eventId: number, ordinals: readonly number[], message?: string) =>
  new SeatUnavailableError(ordinals.map((ordinal) => encodeSeatId(eventId, ordinal)), message);

/**
 * How many seats a best-available request locks to look for `quantity` side by side: the best seats of a row
 * come centre first, alternating sides, so twice the quantity (plus slack) covers a run in a free row.
 */
export const adjacentWindow = (quantity: number) => 2 * quantity + 2;

/**
 * The best `quantity` seats side by side among `seats` (in best-available order): the first row, in that order,
 * that has such a run (so the cheapest section, then the lowest row), and in it the run nearest the centre
 * (then the lower seat numbers). Null when no row has one.
 */
export function pickAdjacent(seats: readonly DbFreeSeat[], quantity: number, seatsPerRow: ReadonlyMap<number, number>): number[] | null {
  const rows = new Map<string, DbFreeSeat[]>();
  for (const seat of seats) {
    const key = `${seat.sectionId}:${seat.rowIndex}`;
    let row = rows.get(key);
    if (!row) rows.set(key, (row = []));
    row.push(seat);
  }
  for (const row of rows.values()) {
    row.sort((a, b) => a.seatNumber - b.seatNumber);
    const centre = (seatsPerRow.get(row[0]!.sectionId)! + 1) / 2;
    let best: { start: number; distance: number } | null = null;
    let islandStart = 0;
    for (let i = 0; i < row.length; i++) {
      if (i > 0 && row[i]!.seatNumber !== row[i - 1]!.seatNumber + 1) islandStart = i;
      if (i - islandStart + 1 < quantity) continue;
      const start = i - quantity + 1;
      const distance = Math.abs((row[start]!.seatNumber + row[i]!.seatNumber) / 2 - centre);
      if (!best || distance < best.distance) best = { start, distance };
    }
    if (best) return row.slice(best.start, best.start + quantity).map((seat) => seat.ordinal).sort((a, b) => a - b);
  }
  return null;
}

/** The outbox message that tells a hold's watchers its new status. */
export const holdMessage = (hold: Pick<DbHold, 'id' | 'status'>) => ({
  topic: topics.hold(hold.id),
  payload: { holdId: hold.id, status: hold.status },
});

/** The status a client sees: an ACTIVE hold past its expiry is EXPIRED at once, swept or not. */
export const holdStatus = (hold: DbHold, now = new Date()) =>
  hold.status === 'ACTIVE' && hold.expiresAt <= now ? 'EXPIRED' : hold.status;

/** HOLD_EXPIRED or HOLD_NOT_ACTIVE unless the hold can still be paid for or released. */
export function checkHoldActive(hold: DbHold, now = new Date()): void {
  const status = holdStatus(hold, now);
  if (status === 'EXPIRED') throw new DomainError('HOLD_EXPIRED', 'This hold has expired; its seats are no longer yours', { status });
  if (status !== 'ACTIVE') throw new DomainError('HOLD_NOT_ACTIVE', `This hold is ${status.toLowerCase()}`, { status });
}
