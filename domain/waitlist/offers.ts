import { randomUUID } from 'node:crypto';
import type { Queryable } from '../../datasources/db.js';
import { claimLockedSeats, lockFreeSeats, lockOwnersOf, readHoldEvent, type DbHold, type DbHoldEvent } from '../../datasources/postgres/holds.sql.js';
import type { OutboxMessage } from '../../datasources/postgres/outbox.sql.js';
import { findOfferPool, lockEntriesWaitingFor, recordOffers, type DbWaitlistEntry } from '../../datasources/postgres/waitlist.sql.js';
import { saleRefusal } from '../hold/hold.rules.js';
import { decideOffers, entryMessage } from './waitlist.rules.js';

/** Seats of an event that a transaction is about to free. */
export interface Freeing {
  eventId: number;
  ordinals: readonly number[];
}

/** What the offers made: the holds (to learn as taken) and the notices for the outbox. */
export interface Offered {
  holds: DbHold[];
  messages: OutboxMessage[];
}

/**
 * How many waiting entries, in join order, a freeing looks at per event: 20, and 2 more per seat it frees; as many
 * again among those its seats alone can serve (see lockEntriesWaitingFor).
 */
const entriesPerFreeing = (seats: number) => Math.min(20 + 2 * seats, 1_000);
/** How many of the best free seats of a section (or of the event) offers to its entries may also choose from. */
const BEST_FREE = 50;
/** How many times offers are decided again when seats they chose were claimed by someone else meanwhile. */
const DECISIONS = 3;

interface Plan {
  eventId: number;
  ordinals: number[];
  entries: DbWaitlistEntry[];
}

/**
 * Frees seats (`free`, in `tx`) and offers them, in the same transaction, to the waitlist entries that match
 * them in join order (decideOffers): no third party can take them in between. Each offer is a hold of the
 * entry's owner for the event's hold duration, and the entry turns OFFERED.
 *
 * Lock order, the same on every path, so that nothing deadlocks: the entries and their owners' tickets
 * (as holds lock them) are locked before the seats are freed; the seat writes come after (and the event's
 * inventory row at the commit, DECISIONS §53). Two transactions freeing seats that could serve the same entry
 * therefore wait for each other's commit (that entry's lock), and offers follow one another in strict order.
 * Nothing is offered once the sale is over.
 */
export async function freeWithOffers<T>(tx: Queryable, freeing: readonly Freeing[], free: () => Promise<T>): Promise<{ value: T } & Offered> {
  const byEvent = new Map<number, number[]>();
  for (const { eventId, ordinals } of freeing) byEvent.set(eventId, [...(byEvent.get(eventId) ?? []), ...ordinals]);
  const plans: Plan[] = [];
  for (const [eventId, ordinals] of [...byEvent].sort(([a], [b]) => a - b)) {
    const entries = await lockEntriesWaitingFor(tx, eventId, ordinals, entriesPerFreeing(ordinals.length));
    if (!entries.length) continue;
    await lockOwnersOf(tx, eventId, entries.map((entry) => entry.owner));
    plans.push({ eventId, ordinals, entries });
  }
  const value = await free();
  const offered: Offered = { holds: [], messages: [] };
  for (const plan of plans) {
    // Read after the freeing: the holds it ended no longer count against their owners' limits.
    const event = await readHoldEvent(tx, plan.eventId, plan.entries.map((entry) => entry.owner));
    if (!event || saleRefusal(event)) continue;
    const made = await offer(tx, plan, event);
    offered.holds.push(...made.holds);
    offered.messages.push(...made.messages);
  }
  return { value, ...offered };
}

async function offer(tx: Queryable, plan: Plan, event: DbHoldEvent): Promise<Offered> {
  // Around each freed seat, seats side by side for the largest request; the best few of each section and of the
  // event for entries that take any seat of them.
  let pool = await findOfferPool(tx, plan.eventId, plan.ordinals, {
    reach: Math.max(...plan.entries.map((entry) => entry.quantity)) - 1,
    best: BEST_FREE,
    sectionIds: [...new Set(plan.entries.filter((e) => e.seatOrdinal === null && e.sectionId !== null).map((e) => e.sectionId!))],
    anywhere: plan.entries.some((entry) => entry.sectionId === null),
  });
  // Only the seats chosen are locked (the freed ones are this transaction's already); a seat a hold is claiming
  // at this moment is left out, and the offers decided again.
  let decision = decideOffers(plan.entries, pool, event);
  /** Seats this transaction holds: the freed ones, and those it has locked since. */
  const ours = new Set(plan.ordinals);
  for (let attempt = 1; ; attempt++) {
    const chosen = decision.offers.flatMap((o) => o.ordinals);
    if (!chosen.length) break;
    const locked = new Set(await lockFreeSeats(tx, plan.eventId, chosen));
    locked.forEach((ordinal) => ours.add(ordinal));
    if (locked.size === chosen.length) break;
    if (attempt === DECISIONS) {
      // Decided once more among the seats already ours, so that the seats this transaction freed are offered
      // however busy the seats around them are: dropping the offers instead left a freed seat available, with
      // entries waiting for it and nothing to offer it again.
      decision = decideOffers(plan.entries, pool.filter((seat) => ours.has(seat.ordinal)), event);
      break;
    }
    pool = pool.filter((seat) => locked.has(seat.ordinal) || !chosen.includes(seat.ordinal));
    decision = decideOffers(plan.entries, pool, event);
  }
  const offers = decision.offers.map((o) => ({ ...o, holdId: randomUUID() }));
  const holds = offers.length
    ? await claimLockedSeats(tx, plan.eventId, event.holdDurationSeconds, offers.map((o) => ({ id: o.holdId, eventId: plan.eventId, owner: o.entry.owner, ordinals: o.ordinals })))
    : [];
  await recordOffers(tx, offers.map((o) => ({ entryId: o.entry.id, holdId: o.holdId })), decision.skipped.map((s) => ({ entryId: s.entry.id, reason: s.reason })));
  const messages = [
    ...offers.map((o) => entryMessage({ ...o.entry, state: 'OFFERED' })),
    ...decision.skipped.map((s) => entryMessage(s.entry)),
  ];
  return { holds, messages };
}
