import { createHmac } from 'node:crypto';
import type { DbLineTicket, DbQueueState, DbQueueTicket, DbRoom, DbRoomEvent } from '../../datasources/postgres/queue-tickets.sql.js';
import { topics } from '../../subscriptions/topics.js';
import { BadUserInputError, DomainError, NotFoundError } from '../errors.js';
import { encodeUuidId } from '../ids.js';
import type { LineEntry } from './line.js';

/** What a client sees of a ticket (API.md, QueueTicket). */
export type QueueState = 'PRE_QUEUE' | 'WAITING' | 'ADMITTED' | 'EXPIRED' | 'LEFT';

/**
 * The stored states and the moves between them; the SQL of each move names its `from` state in its WHERE clause,
 * so a move that lost a race changes nothing. PRE_QUEUE and WAITING are both QUEUED: before and after the raffle.
 */
export const QUEUE_TRANSITIONS: Record<DbQueueState, readonly DbQueueState[]> = {
  QUEUED: ['ADMITTED', 'LEFT'],
  ADMITTED: ['EXPIRED', 'LEFT'],
  EXPIRED: [],
  LEFT: [],
};

/** The state a client sees: an admission past its window is EXPIRED at once, whether or not a tick has seen it. */
export function queueState(ticket: DbQueueTicket, now = new Date()): QueueState {
  if (ticket.state === 'QUEUED') return ticket.preQueue && !ticket.raffled ? 'PRE_QUEUE' : 'WAITING';
  if (ticket.state === 'ADMITTED' && ticket.admissionExpiresAt! <= now) return 'EXPIRED';
  return ticket.state;
}

/** Why the caller may not join the event's waiting room now; undefined when they may. */
export function joinRefusal(event: DbRoomEvent | null): DomainError | undefined {
  if (!event) return new NotFoundError('Event', 'eventId');
  if (!event.opensAt) return new BadUserInputError('eventId', 'this event has no waiting room: hold its seats directly');
  const closed = (why: string, extensions: Record<string, unknown> = {}) =>
    new DomainError('EVENT_NOT_ON_SALE', `This event's waiting room is not open: ${why}`, extensions);
  if (event.cancelled) return closed('the event was cancelled');
  if (event.now >= event.startsAt) return closed('the event has started');
  if (event.now < event.opensAt) return closed(`it opens at ${event.opensAt.toISOString()}`, { opensAt: event.opensAt.toISOString() });
  return undefined;
}

/** A ticket's public ID. */
export const ticketId = (id: string) => encodeUuidId('qt', id);

/**
 * The raffle's order key of a ticket (docs/RAFFLE.md): HMAC-SHA256 keyed with the seed (its 64 hex digits as
 * text) over the ticket's public ID, in hex. The pre-queue is served in ascending order of this key.
 */
export const raffleKey = (seed: string, id: string) => createHmac('sha256', seed).update(ticketId(id)).digest('hex');

/** The pre-queue tickets in the raffle's order. */
export function raffleOrder(seed: string, ids: readonly string[]): string[] {
  const keyed = ids.map((id) => ({ id, key: raffleKey(seed, id) }));
  keyed.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  return keyed.map((entry) => entry.id);
}

/** First come, first served tickets score above every raffle rank (at most one per possible ticket). */
const FIFO_BASE = 2 ** 32;

/** A ticket that joined after the on-sale, in line by its join order. */
export const fifoEntry = (ticket: Pick<DbLineTicket, 'id' | 'seq'>): LineEntry => ({ ticketId: ticket.id, score: FIFO_BASE + ticket.seq });

/** The line's entries for tickets in line order (findLineTickets): the pre-queue ranked 1, 2, 3, …, then the rest. */
export function lineEntries(tickets: readonly DbLineTicket[]): LineEntry[] {
  let rank = 0;
  return tickets.map((t) => (t.preQueue ? { ticketId: t.id, score: ++rank } : fifoEntry(t)));
}

/**
 * Admission credit: `admissionsPerMinute` earned smoothly, by the second, since the last tick (by the database's
 * clock, so any number of instances earn it once between them). At most a few seconds' worth is banked, so that
 * a stalled worker or an empty line does not end in a burst. Admissions that expired unused come back as credit.
 */
export const MAX_BANKED_SECONDS = 5;

export function earnCredit(room: Pick<DbRoom, 'credit' | 'tickedAt' | 'now' | 'admissionsPerMinute'>, recycled: number): number {
  const perSecond = room.admissionsPerMinute / 60;
  const elapsed = Math.max(0, (room.now.getTime() - room.tickedAt.getTime()) / 1000);
  const cap = Math.max(1, perSecond * MAX_BANKED_SECONDS);
  // Credit above the cap (slots given back by expired admissions) is kept; earning stops at the cap.
  return Math.max(room.credit, Math.min(room.credit + perSecond * elapsed, cap)) + recycled;
}

/** Seconds until a ticket at `position` is admitted at `admissionsPerMinute`. */
export const estimatedWaitSeconds = (position: number, admissionsPerMinute: number) => Math.ceil((position * 60) / admissionsPerMinute);

/** The personal notice of a ticket's change: its watchers read it afresh. */
export const ticketMessage = (ticket: { eventId: number; owner: string; id: string }, state: DbQueueState) => ({
  topic: topics.queueTicket(ticket.eventId, ticket.owner),
  payload: { ticketId: ticket.id, state },
});
