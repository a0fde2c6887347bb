import { randomUUID } from 'node:crypto';
import type { Database, Queryable } from '../../datasources/db.js';
import { findHold, findHoldsOfOwner, type ClaimResult, type DbHold, type DbHoldEvent } from '../../datasources/postgres/holds.sql.js';
import { mayAct, ownerKey, type Caller } from '../caller.js';
import { BadUserInputError, NotFoundError } from '../errors.js';
import { decodeId, decodeUuidId } from '../ids.js';
import type { SeatMapCache } from '../seat-map/seat-map.service.js';
import type { AdmissionTokens } from '../waiting-room/admission-token.js';
import type { HoldBatch, HoldWriter } from './hold-writer.js';
import {
  checkMayHold,
  checkQuantity,
  checkSeatsExist,
  holdMessage,
  MAX_LISTED,
  noSeatFree,
  noSeatFreeError,
  notAdmitted,
  seatOrdinals,
  seatsUnavailable,
} from './hold.rules.js';

/** What holds need: the hold writer, the seat-map cache and the admission check. (Services has them.) */
export interface HoldDeps {
  holdWrites: HoldWriter;
  seatMaps: Pick<SeatMapCache, 'knownTaken' | 'learnTaken'>;
  admissions: Pick<AdmissionTokens, 'admits'>;
}

/**
 * Whether the caller's admission token admits them to the event (checked by signature, no I/O), and NOT_ADMITTED
 * at once, without a transaction, when this instance knows the event is gated and on sale and the token does not.
 */
function checkAdmission({ holdWrites, admissions }: Pick<HoldDeps, 'holdWrites' | 'admissions'>, owner: string, eventId: number, token?: string | null): boolean {
  const admitted = admissions.admits(token, owner, eventId);
  if (!admitted && holdWrites.onSale(eventId)?.gated) throw notAdmitted(token);
  return admitted;
}

/**
 * A seat this instance knows (from the deltas it received) to be held for at least this much longer, or booked,
 * is refused without asking the database; the margin covers clock drift between this host and Postgres.
 */
const KNOWN_TAKEN_MARGIN_MS = 2_000;

/**
 * Checks that `owner` may hold `wanted.quantity` more seats of the batch's event, and reserves them in the
 * batch's count; NOT_FOUND when there is no such event, SEAT_UNAVAILABLE at once when no seat of it is free. Returns how to give the reservation back if the hold fails.
 */
function reserve(
  batch: HoldBatch,
  owner: string,
  wanted: { eventId: number; quantity: number; ordinals?: readonly number[] },
  admission: { admitted: boolean; token?: string | null },
): { event: DbHoldEvent; undo: () => void } {
  const { event } = batch;
  const requested = wanted.quantity;
  if (!event) throw new NotFoundError('Event', 'input.eventId');
  checkMayHold(event, event.ticketsInUse[owner] ?? 0, requested, admission);
  if (noSeatFree(event)) throw noSeatFreeError(wanted.eventId, wanted.ordinals ?? []);
  event.ticketsInUse[owner] = (event.ticketsInUse[owner] ?? 0) + requested;
  return { event, undo: () => void (event.ticketsInUse[owner]! -= requested) };
}

/** The hold a claim made, or SEAT_UNAVAILABLE (giving the caller's reservation back). */
function claimed(eventId: number, claim: ClaimResult, undo: () => void): DbHold {
  if (claim.hold) return claim.hold;
  undo();
  throw seatsUnavailable(eventId, claim.taken);
}

/**
 * Holds exactly these seats, or none (all or nothing). A seat is free when it is available or its hold has
 * lapsed; a seat another transaction is claiming at this moment is not waited for (`SKIP LOCKED`, which fails as
 * fast as `NOWAIT` without aborting the batch it shares a transaction with), so SEAT_UNAVAILABLE comes at once
 * and lists every seat that was taken or being claimed.
 */
export async function holdSeats(
  { holdWrites, seatMaps, admissions }: HoldDeps,
  caller: Caller,
  input: { eventId: string; seatIds: readonly string[]; admissionToken?: string | null },
): Promise<DbHold> {
  const owner = ownerKey(caller);
  const eventId = decodeId('evt', input.eventId, 'input.eventId');
  const ordinals = seatOrdinals(eventId, input.seatIds);
  const admission = { admitted: checkAdmission({ holdWrites, admissions }, owner, eventId, input.admissionToken), token: input.admissionToken };
  // The rush's commonest answer, given without a transaction: these seats were taken a moment ago (the deltas
  // say so), or another request here is claiming them right now (as NOWAIT would find their rows locked).
  const refusal = (alsoTaken: readonly number[] = []) => {
    if (!holdWrites.onSale(eventId)) return undefined;
    const known = seatMaps.knownTaken(eventId, ordinals, Date.now() + KNOWN_TAKEN_MARGIN_MS);
    const taken = ordinals.filter((ordinal) => known.includes(ordinal) || alsoTaken.includes(ordinal));
    return taken.length ? seatsUnavailable(eventId, taken) : undefined;
  };
  const claim = holdWrites.claim(eventId, ordinals);
  const refused = refusal(claim.taken);
  if (refused) {
    claim.done();
    // Let the I/O that is ready (commits under way) go first: under a flood of refusals they would starve.
    await new Promise((resolve) => setImmediate(resolve));
    throw refused;
  }
  const work = async (_tx: Queryable, batch: HoldBatch) => {
    if (batch.event) checkSeatsExist(eventId, ordinals, batch.event.capacity, input.seatIds);
    const { undo } = reserve(batch, owner, { eventId, quantity: ordinals.length, ordinals }, admission);
    return claimed(eventId, await batch.claim({ id: randomUUID(), eventId, owner, ordinals }), undo);
  };
  try {
    const hold = await holdWrites.run(eventId, owner, work, () => refusal());
    // Held here from now on, before the delta says so.
    seatMaps.learnTaken(eventId, hold.ordinals, hold.expiresAt.getTime());
    return hold;
  } finally {
    claim.done();
  }
}

/**
 * Holds the best `quantity` free seats (see pickAdjacent and `best_available_key`), side by side in one row
 * when `adjacent`. Best-available requests for one event choose one at a time (lockBestAvailable); seats that
 * explicit holds are claiming meanwhile are skipped, never waited for (`FOR UPDATE SKIP LOCKED`).
 */
export async function holdBestAvailable(
  { holdWrites, admissions }: Pick<HoldDeps, 'holdWrites' | 'admissions'>,
  caller: Caller,
  input: {
    eventId: string;
    quantity: number;
    sectionId?: string | null;
    maxPrice?: number | null;
    adjacent?: boolean | null;
    admissionToken?: string | null;
  },
): Promise<DbHold> {
  const owner = ownerKey(caller);
  const eventId = decodeId('evt', input.eventId, 'input.eventId');
  const { quantity } = input;
  checkQuantity(quantity);
  const sectionId = input.sectionId == null ? null : decodeId('sec', input.sectionId, 'input.sectionId');
  if (input.maxPrice != null && input.maxPrice < 0) throw new BadUserInputError('input.maxPrice', 'must be 0 or more');
  const adjacent = input.adjacent ?? true;
  const admission = { admitted: checkAdmission({ holdWrites, admissions }, owner, eventId, input.admissionToken), token: input.admissionToken };
  return holdWrites.run(eventId, owner, async (_tx, batch) => {
    const { undo } = reserve(batch, owner, { eventId, quantity }, admission);
    try {
      return await batch.choose({ owner, quantity, sectionId, maxPrice: input.maxPrice ?? null, adjacent });
    } catch (error) {
      undo();
      throw error;
    }
  });
}

/** A hold by its public ID, if `caller` may see it (owner or admin); null otherwise, whether or not it exists. */
export async function getHold(db: Database, caller: Caller, id: string): Promise<DbHold | null> {
  const hold = await findHold(db, decodeUuidId('hold', id, 'id'));
  return hold && mayAct(caller, hold.owner) ? hold : null;
}

/** The caller's holds, newest first (at most MAX_LISTED), of one event if `eventId` is given. */
export async function holdsOfCaller(db: Database, caller: Caller, eventId: string | null | undefined): Promise<DbHold[]> {
  return findHoldsOfOwner(db, ownerKey(caller), eventId == null ? null : decodeId('evt', eventId, 'eventId'), MAX_LISTED);
}
