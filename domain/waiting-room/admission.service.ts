import { randomUUID } from 'node:crypto';
import type { Database, Queryable } from '../../datasources/db.js';
import { insertOutbox } from '../../datasources/postgres/outbox.sql.js';
import {
  admitTickets,
  expireAdmissions,
  findLineTickets,
  findRunningRooms,
  lockRoom,
  lockTicketStates,
  markRaffled,
  saveRoom,
} from '../../datasources/postgres/queue-tickets.sql.js';
import type { Logger } from '../../server/logger.js';
import type { PubSub } from '../../subscriptions/pubsub.js';
import { topics, type QueueServing } from '../../subscriptions/topics.js';
import type { LineStatus, QueueLine } from './line.js';
import { earnCredit, fifoEntry, lineEntries, ticketMessage } from './waiting-room.rules.js';

/** What admission needs; Services has all of it. */
export interface AdmissionDeps {
  db: Database;
  queueLine: QueueLine;
  pubsub: PubSub;
  log: Logger;
}

/** What one tick of one event did. */
export interface TickResult {
  admitted: number;
  expired: number;
  /** Tickets taken off the line's head: the admitted and those skipped because they had left. */
  removed: number;
  /** Whether this tick (re)built the line: after the raffle, or after the line was lost. */
  built: boolean;
  status: LineStatus | null;
}

/**
 * Runs the event's raffle, once: the first caller after the on-sale marks it run (revealing the seed), any other
 * caller, now or later, on any instance, finds it run and changes nothing. The order itself is a pure function of
 * the seed and the pre-queue (docs/RAFFLE.md), so a crash before the line is built cannot make a second order:
 * the next tick builds the same one. Returns whether this call ran it.
 */
export async function runRaffle(db: Database, eventId: number): Promise<boolean> {
  return (await db.transaction((tx) => markRaffled(tx, eventId))) !== null;
}

/**
 * Fills the line from Postgres: the pre-queue in the raffle's order (by the keys worked out at each join), then
 * the others by join order. Joins that commit while it fills find the line unbuilt and add nothing; the second
 * read, once it is built, adds them.
 */
async function buildLine(tx: Queryable, line: QueueLine, eventId: number, epoch: string): Promise<void> {
  const tickets = await findLineTickets(tx, eventId, 0);
  await line.build(eventId, lineEntries(tickets), epoch);
  const since = await findLineTickets(tx, eventId, tickets.reduce((max, t) => Math.max(max, t.seq), 0));
  await line.place(eventId, since.map(fifoEntry));
}

/** How many more tickets than the credit a tick reads from the head, to step over those who left. */
const HEAD_SLACK = 50;

/**
 * One admission tick of one event: expires admissions whose window passed, earns credit at the event's rate,
 * and admits that many from the head of the line in order, skipping those who left. Instances take turns by a
 * row lock (SKIP LOCKED: an instance that finds it taken does nothing), so no one is admitted twice and the rate
 * holds however many run. Admission notices go through the outbox in the same transaction: an admitted fan is
 * told. Null when another instance holds the turn or the event's raffle has not run.
 */
export async function admitNextBatch(deps: AdmissionDeps, eventId: number): Promise<TickResult | null> {
  const { db, queueLine } = deps;
  const tick = await db.transaction(async (tx) => {
    const room = await lockRoom(tx, eventId);
    if (!room) return null;
    // Built again when missing (after the raffle, or a Redis restart), or when it is not the one this room built.
    const current = await queueLine.status(eventId);
    const built = !current || current.epoch !== room.lineEpoch;
    const lineEpoch = built ? randomUUID() : room.lineEpoch;
    if (built) await buildLine(tx, queueLine, eventId, lineEpoch!);
    const expired = await expireAdmissions(tx, eventId);
    const recycled = expired.filter((ticket) => ticket.unused).length;
    let credit = earnCredit(room, recycled);
    const due = Math.floor(credit);
    const consumed: string[] = [];
    const chosen: string[] = [];
    // Step through the head in order until `due` are chosen: the prefix read is all admitted or skipped.
    for (let offset = 0; chosen.length < due; ) {
      const head = (await queueLine.head(eventId, offset, due - chosen.length + HEAD_SLACK)) ?? [];
      if (!head.length) break;
      offset += head.length;
      const states = await lockTicketStates(tx, head);
      for (const id of head) {
        consumed.push(id);
        if (states.get(id) === 'QUEUED' && chosen.push(id) === due) break;
      }
    }
    const admitted = await admitTickets(tx, eventId, chosen, room.admitted + 1, room.admissionWindowSeconds);
    credit -= admitted.length;
    // An empty line banks nothing beyond the cap; what is left of the credit is the fraction earned so far.
    await saveRoom(tx, eventId, { credit, admitted: room.admitted + admitted.length, recycled: room.recycled + recycled, lineEpoch });
    await insertOutbox(tx, [...admitted.map((t) => ticketMessage(t, 'ADMITTED')), ...expired.map((t) => ticketMessage({ ...t, eventId }, 'EXPIRED'))]);
    return { admitted: admitted.length, expired: expired.length, consumed, built };
  });
  if (!tick) return null;
  // After the commit: a crash in between leaves admitted tickets in line, and the next tick skips them.
  const removed = tick.consumed.length ? await queueLine.remove(eventId, tick.consumed) : 0;
  const status = await queueLine.status(eventId);
  if (status) await announceServing(deps, eventId, status);
  return { admitted: tick.admitted, expired: tick.expired, removed, built: tick.built, status };
}

/** Publishes "now serving" for the event's watchers; a lost one is said again by the next tick. */
async function announceServing(deps: AdmissionDeps, eventId: number, status: LineStatus): Promise<void> {
  const payload: QueueServing = { eventId, ...status };
  await deps.pubsub.publish(topics.queueServing(eventId), payload).catch((error: unknown) => deps.log.debug({ err: error }, 'waiting room: now-serving not published'));
}

/** One round of the admission worker: every running gated event gets its raffle (once) and a tick. */
export async function tickWaitingRooms(deps: AdmissionDeps): Promise<TickResult[]> {
  const results: TickResult[] = [];
  for (const room of await findRunningRooms(deps.db)) {
    if (!room.raffled && (await runRaffle(deps.db, room.eventId))) deps.log.info({ eventId: room.eventId }, 'waiting room: raffle ran, seed revealed');
    const result = await admitNextBatch(deps, room.eventId);
    if (result?.built) deps.log.info({ eventId: room.eventId, inLine: result.status?.length }, 'waiting room: line built');
    if (result?.admitted || result?.expired) deps.log.debug({ eventId: room.eventId, ...result }, 'waiting room: admitted');
    if (result) results.push(result);
  }
  return results;
}
