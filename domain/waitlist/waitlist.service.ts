import { randomUUID } from 'node:crypto';
import type { Database, Queryable } from '../../datasources/db.js';
import { findHold, lockHoldEvent } from '../../datasources/postgres/holds.sql.js';
import { insertOutbox } from '../../datasources/postgres/outbox.sql.js';
import { findSectionsOfEvents } from '../../datasources/postgres/sections.sql.js';
import {
  countFree,
  findEntriesOfOwner,
  findEntry,
  findLiveEntry,
  findPositions,
  findSeatHolder,
  insertEntry,
  leaveWaiting,
  type DbWaitlistEntry,
} from '../../datasources/postgres/waitlist.sql.js';
import { mayAct, ownerKey, type Caller } from '../caller.js';
import { BadUserInputError, NotFoundError } from '../errors.js';
import { decodeId, decodeSeatId, decodeUuidId } from '../ids.js';
import { checkMayHold, checkQuantity } from '../hold/hold.rules.js';
import { learnFreed, releaseLockedHold } from '../hold/hold-release.js';
import type { SeatMapCache } from '../seat-map/seat-map.service.js';
import type { AdmissionTokens } from '../waiting-room/admission-token.js';
import { entryMessage, entryState, MAX_ENTRIES_LISTED } from './waitlist.rules.js';

/** A waitlist entry as clients see it: with its place in line. */
export type WaitlistEntryView = DbWaitlistEntry & { position: number };

/** What the waitlist needs. (Services has it.) */
export interface WaitlistDeps {
  db: Database;
  admissions: Pick<AdmissionTokens, 'admits'>;
  seatMaps: Pick<SeatMapCache, 'learnTaken'>;
}

/** These entries with their positions, read in one statement. */
export async function withPositions(db: Queryable, entries: readonly DbWaitlistEntry[]): Promise<WaitlistEntryView[]> {
  const positions = entries.length ? await findPositions(db, entries.map((entry) => entry.id)) : new Map<string, number>();
  return entries.map((entry) => ({ ...entry, position: positions.get(entry.id) ?? 0 }));
}

/**
 * Joins the event's waitlist for one seat, for `quantity` seats of a section, or for `quantity` seats anywhere.
 * Joining twice for the same target gives the live entry back. Refused while the sale is not running
 * (EVENT_NOT_ON_SALE), on a gated event without the caller's admission (NOT_ADMITTED: the waiting room's order
 * is not to be jumped through the waitlist), beyond `maxTicketsPerUser` (LIMIT_EXCEEDED), and while the seats
 * are free right now (BAD_USER_INPUT: hold them instead).
 */
export async function joinWaitlist(
  deps: Pick<WaitlistDeps, 'db' | 'admissions'>,
  caller: Caller,
  input: { eventId: string; quantity: number; sectionId?: string | null; seatId?: string | null; admissionToken?: string | null },
): Promise<WaitlistEntryView> {
  const owner = ownerKey(caller);
  const eventId = decodeId('evt', input.eventId, 'input.eventId');
  const { quantity } = input;
  checkQuantity(quantity);
  if (input.seatId != null && input.sectionId != null) throw new BadUserInputError('input.seatId', 'name a seat or a section, not both');
  const seat = input.seatId == null ? null : decodeSeatId(input.seatId, 'input.seatId');
  if (seat && seat.eventId !== eventId) throw new BadUserInputError('input.seatId', `${input.seatId} is a seat of another event`);
  if (seat && quantity !== 1) throw new BadUserInputError('input.quantity', 'must be 1 for a seat');
  const wantedSection = input.sectionId == null ? null : decodeId('sec', input.sectionId, 'input.sectionId');
  const admission = { admitted: deps.admissions.admits(input.admissionToken, owner, eventId), token: input.admissionToken };
  const entry = await deps.db.transaction(async (tx) => {
    const event = await lockHoldEvent(tx, eventId, [owner]);
    if (!event) throw new NotFoundError('Event', 'input.eventId');
    const sections = await findSectionsOfEvents(tx, [eventId]);
    const section = seat
      ? sections.find((s) => seat.ordinal >= s.firstOrdinal && seat.ordinal < s.firstOrdinal + s.rowCount * s.seatsPerRow)
      : sections.find((s) => s.id === wantedSection);
    if (seat && !section) throw new BadUserInputError('input.seatId', `${input.seatId} is not a seat of this event`);
    if (wantedSection !== null && !section) throw new BadUserInputError('input.sectionId', 'not a section of this event');
    const target = { eventId, owner, sectionId: section?.id ?? null, seatOrdinal: seat?.ordinal ?? null };
    const live = await findLiveEntry(tx, target);
    if (live) return live;
    if (quantity > event.maxTicketsPerUser) throw new BadUserInputError('input.quantity', `must be at most ${event.maxTicketsPerUser} for this event`);
    checkMayHold(event, event.ticketsInUse[owner] ?? 0, quantity, admission);
    // Waiting for a seat you hold would hand it back to you with a fresh hold when you let it go.
    if (seat && (await findSeatHolder(tx, eventId, seat.ordinal)) === owner) throw new BadUserInputError('input.seatId', 'you hold this seat already');
    const free = await countFree(tx, eventId, target);
    if (free >= quantity) {
      throw seat
        ? new BadUserInputError('input.seatId', 'this seat is available: hold it instead')
        : new BadUserInputError('input.quantity', `${free} seats you ask for are free right now: hold them instead`);
    }
    return insertEntry(tx, { ...target, id: randomUUID(), quantity });
  });
  return (await withPositions(deps.db, [entry]))[0]!;
}

/**
 * Leaves a waitlist entry: a WAITING entry turns LEFT; an OFFERED one turns LEFT and its offered seats go to the
 * next entry at once (HOLD_NOT_ACTIVE while the offer is being paid for). NOT_FOUND for someone else's entry;
 * BAD_USER_INPUT for one that has ended (left, expired or accepted): nothing changes.
 */
export async function leaveWaitlist(deps: Pick<WaitlistDeps, 'db' | 'seatMaps'>, caller: Caller, id: string): Promise<WaitlistEntryView> {
  const entryId = decodeUuidId('wl', id, 'id');
  const { entry, freed } = await deps.db.transaction(async (tx) => {
    // An entry offered seats between the read and the update is read again, as OFFERED.
    for (let attempt = 0; ; attempt++) {
      const found = await findEntry(tx, entryId);
      if (!found || !mayAct(caller, found.owner)) throw new NotFoundError('WaitlistEntry', 'id');
      const state = entryState(found);
      if (state !== 'WAITING' && state !== 'OFFERED') {
        throw new BadUserInputError('id', `this entry has ended (${state}): there is nothing to leave`);
      }
      if (state === 'OFFERED') {
        // The offer's hold first (lock order): releasing it declines the offer, and the entry is LEFT.
        const hold = (await findHold(tx, found.offerHoldId!, true))!;
        if ((await findEntry(tx, entryId, true))!.state === 'OFFERED') {
          const freed = await releaseLockedHold(tx, hold);
          return { entry: (await findEntry(tx, entryId))!, freed };
        }
      } else {
        const left = await leaveWaiting(tx, entryId);
        if (left) {
          await insertOutbox(tx, [entryMessage(left)]);
          return { entry: left, freed: null };
        }
      }
      if (attempt > 0) throw new Error(`waitlist entry ${entryId} keeps changing`);
    }
  });
  if (freed) learnFreed(deps.seatMaps, freed.released, freed.offers);
  return (await withPositions(deps.db, [entry]))[0]!;
}

/** The hold an entry was offered (the entry's owner's), if it was. */
export const offerOf = (db: Database, entry: DbWaitlistEntry) => (entry.offerHoldId === null ? null : findHold(db, entry.offerHoldId));

/** The caller's entries, newest first (at most MAX_ENTRIES_LISTED), of one event if `eventId` is given. */
export async function waitlistEntriesOfCaller(db: Database, caller: Caller, eventId: string | null | undefined): Promise<WaitlistEntryView[]> {
  const entries = await findEntriesOfOwner(db, ownerKey(caller), eventId == null ? null : decodeId('evt', eventId, 'eventId'), MAX_ENTRIES_LISTED);
  return withPositions(db, entries);
}
