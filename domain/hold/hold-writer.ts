import { randomUUID } from 'node:crypto';
import { createTransactionBatcher, type TransactionBatcher } from '../../datasources/batch.js';
import type { Database, Queryable } from '../../datasources/db.js';
import {
  claimLockedSeats,
  findFreeSeats,
  lockBestAvailable,
  lockFreeSeats,
  lockHoldEvent,
  type ClaimResult,
  type DbFreeSeat,
  type DbHold,
  type DbHoldEvent,
  type FreeSeatFilter,
  type NewHold,
} from '../../datasources/postgres/holds.sql.js';
import { findSectionsOfEvents, type DbSection } from '../../datasources/postgres/sections.sql.js';
import { BadUserInputError } from '../errors.js';
import { adjacentWindow, pickAdjacent, saleRefusal, seatsUnavailable } from './hold.rules.js';

// The hold writer: group commit of the holds of one event, and how a batch claims and chooses its seats.
/**
 * One batch of holds on an event (one transaction): the event and each owner's tickets, read once and kept
 * current as holds are decided; explicit holds claimed together; best-available holds chosen one at a time.
 */
export interface HoldBatch {
  event: DbHoldEvent | null;
  /** Claims exactly these seats for a new hold, with every other explicit hold of the batch, in one statement. */
  claim(hold: NewHold): Promise<ClaimResult>;
  /** Chooses the best free seats for a new hold and claims them, with every other best-available hold of the batch. */
  choose(request: BestRequest): Promise<DbHold>;
}

/** A best-available request, validated. */
export interface BestRequest {
  owner: string;
  quantity: number;
  sectionId: number | null;
  maxPrice: number | null;
  adjacent: boolean;
}

/** Commits the holds of one event that arrive together in one transaction (see createTransactionBatcher). */
export interface HoldWriter extends TransactionBatcher<HoldBatch> {
  /**
   * Whether a batch of this instance found the event on sale within the last second, and none has sold it out
   * since: only then may a hold be refused for seats known to be taken, without its own look at the event (any
   * other reason to refuse, such as a sale that is over, comes first). Says whether the event is gated.
   */
  onSale(eventId: number): { gated: boolean } | undefined;
  /**
   * Marks these seats as being claimed by one request of this instance, as a row lock would, unless another
   * request of this instance is claiming some of them: then it marks nothing and `taken` lists those. `done`
   * ends the claim.
   */
  claim(eventId: number, ordinals: readonly number[]): { taken: number[]; done: () => void };
}

/** How long a batch's finding that an event is on sale is trusted for refusing holds without a batch. */
const ON_SALE_KNOWN_MS = 1_000;

/** The hold writer of a database: each batch first locks its owners' tickets and reads the event, once for all. */
export function createHoldWriter(db: Database): HoldWriter {
  /** Until when each event was last seen on sale by a batch (ms since the epoch), and whether it is gated. */
  const onSaleUntil = new Map<number, { until: number; gated: boolean }>();
  /** Per event, the seats requests of this instance are claiming, each by its claim. */
  const claims = new Map<number, Map<number, object>>();
  const batcher = createTransactionBatcher(db, async (tx, eventId, owners) => {
    const event = await lockHoldEvent(tx, eventId, owners);
    if (event && !saleRefusal(event)) onSaleUntil.set(eventId, { until: Date.now() + ON_SALE_KNOWN_MS, gated: event.gated });
    else onSaleUntil.delete(eventId);
    return openBatch(tx, eventId, event, () => onSaleUntil.delete(eventId));
  });
  return {
    ...batcher,
    onSale(eventId) {
      const known = onSaleUntil.get(eventId);
      return known && known.until > Date.now() ? known : undefined;
    },
    claim(eventId, ordinals) {
      let claimed = claims.get(eventId);
      if (!claimed) claims.set(eventId, (claimed = new Map()));
      const seats = claimed;
      const taken = ordinals.filter((ordinal) => seats.has(ordinal));
      if (taken.length) return { taken, done: () => {} };
      const mine = {};
      for (const ordinal of ordinals) seats.set(ordinal, mine);
      const done = () => {
        for (const ordinal of ordinals) if (seats.get(ordinal) === mine) seats.delete(ordinal);
        if (!seats.size && claims.get(eventId) === seats) claims.delete(eventId);
      };
      return { taken, done };
    },
  };
}

/** The batch of one event. `onSoldOut` hears when the seats it is about to claim are the last ones available. */
function openBatch(tx: Queryable, eventId: number, event: DbHoldEvent | null, onSoldOut: () => void): HoldBatch {
  /** What is left to sell, as this batch claims seats. */
  let available = event?.availableCount ?? 0;
  const claiming = (ordinals: number[]) => {
    available -= ordinals.length;
    if (available <= 0) onSoldOut();
  };
  let turn: Promise<unknown> = Promise.resolve();
  let waiting: { hold: NewHold; resolve: (result: ClaimResult) => void; reject: (error: unknown) => void }[] = [];

  // All or nothing per hold, first come first served within the batch: lock every seat asked for that is free
  // and not being claimed by another transaction, give each hold its seats if all are still there, and write
  // the winners in one statement.
  async function claimWaiting() {
    const requests = waiting;
    waiting = [];
    try {
      const free = new Set(await lockFreeSeats(tx, eventId, [...new Set(requests.flatMap((r) => r.hold.ordinals))]));
      const results = requests.map(({ hold }) => {
        const taken = hold.ordinals.filter((ordinal) => !free.has(ordinal));
        if (!taken.length) hold.ordinals.forEach((ordinal) => free.delete(ordinal));
        return taken;
      });
      // The refused learn it now; the others once their claim is written.
      requests.forEach((r, i) => results[i]!.length && r.resolve({ hold: null, taken: results[i]! }));
      const winners = requests.filter((_, i) => !results[i]!.length).map((r) => r.hold);
      if (winners.length) claiming(winners.flatMap((hold) => hold.ordinals));
      const holds = winners.length ? await claimLockedSeats(tx, eventId, event!.holdDurationSeconds, winners) : [];
      const byId = new Map(holds.map((hold) => [hold.id, hold]));
      requests.forEach((r, i) => !results[i]!.length && r.resolve({ hold: byId.get(r.hold.id)!, taken: [] }));
    } catch (error) {
      for (const r of requests) r.reject(error);
    }
  }

  let choosing: { request: BestRequest; resolve: (hold: DbHold) => void; reject: (error: unknown) => void }[] = [];
  let sections: DbSection[] | undefined;

  // Best available, in arrival order: one statement locks a window of the best free seats big enough for every
  // request of the batch without a filter, each request takes its seats from what is left of it (the fast path),
  // a request with a filter or no run in the window looks further on its own, and one statement claims them all.
  async function chooseWaiting() {
    const requests = choosing;
    choosing = [];
    try {
      if (!sections) {
        sections = await findSectionsOfEvents(tx, [eventId]);
        await lockBestAvailable(tx, eventId);
      }
      const seatsPerRow = new Map(sections.map((section) => [section.id, section.seatsPerRow]));
      const plain = requests.filter(({ request }) => request.sectionId === null && request.maxPrice === null);
      const windowSize = plain.reduce((sum, { request }) => sum + adjacentWindow(request.quantity), 0);
      let window = windowSize ? await findFreeSeats(tx, eventId, { sectionIds: null, includeLapsed: false }, windowSize, true) : [];
      const chosen = new Set<number>();
      const outcomes: (NewHold | Error)[] = [];
      for (const { request } of requests) {
        try {
          const filter = sectionFilter(sections, request);
          let ordinals = filter.sectionIds === null && window.length ? pickFrom(window, request, seatsPerRow) : null;
          if (!ordinals && (filter.sectionIds === null || filter.sectionIds.length)) {
            ordinals = request.adjacent
              ? await lockAdjacent(tx, eventId, filter, request.quantity, seatsPerRow, chosen)
              : await lockAny(tx, eventId, filter, request.quantity, chosen);
          }
          if (!ordinals) throw seatsUnavailable(eventId, [], `No ${request.quantity} seats${request.adjacent ? ' side by side' : ''} are free that match`);
          ordinals.forEach((ordinal) => chosen.add(ordinal));
          window = window.filter((seat) => !chosen.has(seat.ordinal));
          outcomes.push({ id: randomUUID(), eventId, owner: request.owner, ordinals });
        } catch (error) {
          outcomes.push(error as Error);
        }
      }
      const winners = outcomes.filter((outcome): outcome is NewHold => !(outcome instanceof Error));
      if (winners.length) claiming(winners.flatMap((hold) => hold.ordinals));
      const holds = winners.length ? await claimLockedSeats(tx, eventId, event!.holdDurationSeconds, winners) : [];
      const byId = new Map(holds.map((hold) => [hold.id, hold]));
      requests.forEach((r, i) => {
        const outcome = outcomes[i]!;
        if (outcome instanceof Error) r.reject(outcome);
        else r.resolve(byId.get(outcome.id)!);
      });
    } catch (error) {
      for (const r of requests) r.reject(error);
    }
  }

  // Claims and choices take turns, so that no choice locks a seat a claim then takes, or back.
  function inTurn(work: () => Promise<void>): void {
    turn = turn.then(work).catch(() => {});
  }

  return {
    event,
    // Every piece of the batch starts in the same turn of the event loop: claim or choose once they all have asked.
    claim: (hold) =>
      new Promise((resolve, reject) => {
        if (waiting.push({ hold, resolve, reject }) === 1) setImmediate(() => inTurn(claimWaiting));
      }),
    choose: (request) =>
      new Promise((resolve, reject) => {
        if (choosing.push({ request, resolve, reject }) === 1) setImmediate(() => inTurn(chooseWaiting));
      }),
  };
}

/** Which sections a request may take seats from: null for any; BAD_USER_INPUT for a section of another event. */
function sectionFilter(sections: readonly DbSection[], request: BestRequest): FreeSeatFilter {
  if (request.sectionId !== null && !sections.some((s) => s.id === request.sectionId)) {
    throw new BadUserInputError('input.sectionId', 'not a section of this event');
  }
  const wanted = sections.filter((s) => (request.sectionId === null || s.id === request.sectionId) && (request.maxPrice === null || s.price <= request.maxPrice));
  return { sectionIds: wanted.length === sections.length ? null : wanted.map((s) => s.id), includeLapsed: false };
}

/** The request's seats from a window of free seats in best-available order, or null. */
function pickFrom(window: readonly DbFreeSeat[], request: BestRequest, seatsPerRow: ReadonlyMap<number, number>): number[] | null {
  if (request.adjacent) return pickAdjacent(window, request.quantity, seatsPerRow);
  return window.length >= request.quantity ? window.slice(0, request.quantity).map((seat) => seat.ordinal).sort((a, b) => a - b) : null;
}


/** Locks the best `quantity` free seats not in `chosen`, wherever they are; null when fewer are free. */
async function lockAny(tx: Queryable, eventId: number, filter: FreeSeatFilter, quantity: number, chosen: ReadonlySet<number>): Promise<number[] | null> {
  const find = async (includeLapsed: boolean) =>
    (await findFreeSeats(tx, eventId, { ...filter, includeLapsed }, quantity + chosen.size, true)).filter((seat) => !chosen.has(seat.ordinal));
  let seats = await find(false);
  // Lapsed holds are not on the index of available seats: look there only when the fast path falls short.
  if (seats.length < quantity) seats = await find(true);
  return seats.length < quantity ? null : seats.slice(0, quantity).map((seat) => seat.ordinal).sort((a, b) => a - b);
}

/** How many runs the slow path of lockAdjacent tries to claim before it gives up. */
const ADJACENT_ATTEMPTS = 5;
/** How many free seats, best first, the slow path of lockAdjacent reads. */
const ADJACENT_SCAN = 5_000;

/**
 * Locks `quantity` free seats side by side. Fast path: lock a small window of the best free seats and find a
 * run in it. Slow path (a fragmented map): read the best free seats without locking, and lock the best runs one
 * at a time, skipping any that an explicit hold is claiming.
 */
async function lockAdjacent(
  tx: Queryable,
  eventId: number,
  filter: FreeSeatFilter,
  quantity: number,
  seatsPerRow: ReadonlyMap<number, number>,
  chosen: ReadonlySet<number>,
): Promise<number[] | null> {
  const free = (seats: DbFreeSeat[]) => seats.filter((seat) => !chosen.has(seat.ordinal));
  const window = free(await findFreeSeats(tx, eventId, filter, adjacentWindow(quantity) + chosen.size, true));
  const run = pickAdjacent(window, quantity, seatsPerRow);
  if (run) return run;
  let candidates = free(await findFreeSeats(tx, eventId, { ...filter, includeLapsed: true }, ADJACENT_SCAN, false));
  for (let attempt = 0; attempt < ADJACENT_ATTEMPTS; attempt++) {
    const next = pickAdjacent(candidates, quantity, seatsPerRow);
    if (!next) return null;
    if ((await lockFreeSeats(tx, eventId, next)).length === next.length) return next;
    candidates = candidates.filter((seat) => !next.includes(seat.ordinal));
  }
  return null;
}

