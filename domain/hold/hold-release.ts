import { createTransactionBatcher, type TransactionBatcher } from '../../datasources/batch.js';
import type { Database, Queryable } from '../../datasources/db.js';
import { failPendingBookingsOfHolds, findHoldsWithLiveBookings } from '../../datasources/postgres/bookings.sql.js';
import { expireHolds, findHold, lockDueHolds, lockHolds, releaseHolds, type DbHold } from '../../datasources/postgres/holds.sql.js';
import { insertOutbox } from '../../datasources/postgres/outbox.sql.js';
import { endOffers } from '../../datasources/postgres/waitlist.sql.js';
import { bookingMessage } from '../booking/booking.rules.js';
import { mayAct, type Caller } from '../caller.js';
import { DomainError, NotFoundError } from '../errors.js';
import { decodeUuidId } from '../ids.js';
import type { SeatMapCache } from '../seat-map/seat-map.service.js';
import { freeWithOffers } from '../waitlist/offers.js';
import { entryMessage } from '../waitlist/waitlist.rules.js';
import { checkHoldActive, holdMessage } from './hold.rules.js';

// How held seats come free: releases (group-committed per event, as holds are) and the sweep of expired holds.
// Either way the seats are offered to the waitlist in the transaction that frees them.

/** A hold released, and the holds its batch's freed seats were offered to the waitlist as. */
export interface Released {
  released: DbHold;
  offers: DbHold[];
}

/** Per hold id of a batch: what its release did, or why it was refused. */
type Outcomes = Map<string, Released | DomainError>;

/** Commits the releases of one event that arrive together in one transaction, offers included. */
export type ReleaseWriter = TransactionBatcher<Outcomes>;

/** The release writer of a database: each batch locks its holds and releases those it may, all at once. */
export function createReleaseWriter(db: Database): ReleaseWriter {
  return createTransactionBatcher(db, async (tx, _eventId, holdIds) => releaseLockedHolds(tx, await lockHolds(tx, holdIds)));
}

const beingPaid = () => new DomainError('HOLD_NOT_ACTIVE', 'This hold is being paid for; it cannot be released now', { status: 'ACTIVE' });

/**
 * Releases those of these holds (locked by this transaction) that are active and not being paid for, in one
 * statement; their seats are offered to the waitlist, and a hold that was itself a waitlist offer is declined
 * (its entry LEFT). The others are answered HOLD_EXPIRED or HOLD_NOT_ACTIVE.
 */
export async function releaseLockedHolds(tx: Queryable, holds: readonly DbHold[]): Promise<Outcomes> {
  const outcomes: Outcomes = new Map();
  const paying = await findHoldsWithLiveBookings(tx, holds.map((hold) => hold.id));
  const releasable = holds.filter((hold) => {
    try {
      checkHoldActive(hold);
      if (paying.has(hold.id)) throw beingPaid();
      return true;
    } catch (error) {
      outcomes.set(hold.id, error as DomainError);
      return false;
    }
  });
  if (!releasable.length) return outcomes;
  const { value: released, holds: offers, messages } = await freeWithOffers(tx, releasable, () => releaseHolds(tx, releasable.map((hold) => hold.id)));
  const declined = await endOffers(tx, released.map((hold) => hold.id), 'LEFT');
  await insertOutbox(tx, [...released.map(holdMessage), ...declined.map(entryMessage), ...messages]);
  for (const hold of released) outcomes.set(hold.id, { released: hold, offers });
  return outcomes;
}

/** The outcome of one hold's release in its batch; a release is taken once: a second one in the same batch finds it released. */
function outcomeOf(outcomes: Outcomes, holdId: string): Released {
  const outcome = outcomes.get(holdId);
  if (!outcome) throw new DomainError('HOLD_NOT_ACTIVE', 'This hold is released', { status: 'RELEASED' });
  if (outcome instanceof Error) throw outcome;
  outcomes.delete(holdId);
  return outcome;
}

/**
 * Releases an active hold (its owner, or an admin): its seats are free at once, and offered to the waitlist in
 * the same transaction. Releasing a waitlist offer declines it: its entry is LEFT. HOLD_NOT_ACTIVE while it is
 * being paid for, or once released, expired or converted. Releases of one event that arrive together share a
 * transaction (group commit).
 */
export async function releaseHold(
  deps: { db: Database; releases: ReleaseWriter; seatMaps: Pick<SeatMapCache, 'learnTaken'> },
  caller: Caller,
  id: string,
): Promise<DbHold> {
  const holdId = decodeUuidId('hold', id, 'id');
  const hold = await findHold(deps.db, holdId);
  if (!hold || !mayAct(caller, hold.owner)) throw new NotFoundError('Hold', 'id');
  checkHoldActive(hold);
  const { released, offers } = await deps.releases.run(hold.eventId, holdId, async (_tx, outcomes) => outcomeOf(outcomes, holdId));
  learnFreed(deps.seatMaps, released, offers);
  return released;
}

/** Releases a hold locked by this transaction (see releaseLockedHolds), or throws why not. */
export async function releaseLockedHold(tx: Queryable, hold: DbHold): Promise<Released> {
  return outcomeOf(await releaseLockedHolds(tx, [hold]), hold.id);
}

/** Tells this instance's seat-map cache at once what a commit freed and what of it was offered to the waitlist. */
export function learnFreed(seatMaps: Pick<SeatMapCache, 'learnTaken'>, freed: { eventId: number; ordinals: number[] }, offers: readonly DbHold[]): void {
  // Other instances hear of it from the delta.
  seatMaps.learnTaken(freed.eventId, freed.ordinals, 0);
  for (const offer of offers) seatMaps.learnTaken(offer.eventId, offer.ordinals, offer.expiresAt.getTime());
}

/**
 * What happens when a hold expires: its seats are already free to others (implicit expiry), and the sweep makes
 * it official. Up to `batchSize` due holds are marked EXPIRED, their seats freed and offered to the waitlist,
 * any booking still waiting for its payment FAILED (a capture arriving later is refunded), a waitlist offer among
 * them EXPIRED (its seats go on to the next entry), and their watchers told. Holds another sweeper has locked
 * are skipped, so any number of instances may sweep at once. Returns how many holds expired.
 */
export async function sweepExpiredHolds(db: Database, batchSize: number): Promise<number> {
  return db.transaction(async (tx) => {
    const due = await lockDueHolds(tx, batchSize);
    if (!due.length) return 0;
    const { value: expired, messages } = await freeWithOffers(tx, due, () => expireHolds(tx, due.map((hold) => hold.id)));
    const ids = expired.map((hold) => hold.id);
    const failed = await failPendingBookingsOfHolds(tx, ids);
    const lapsed = await endOffers(tx, ids, 'EXPIRED');
    await insertOutbox(tx, [...expired.map(holdMessage), ...failed.map(bookingMessage), ...lapsed.map(entryMessage), ...messages]);
    return expired.length;
  });
}
