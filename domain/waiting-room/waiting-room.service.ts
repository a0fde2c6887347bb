import { randomUUID } from 'node:crypto';
import type DataLoader from 'dataloader';
import { createTransactionBatcher, type TransactionBatcher } from '../../datasources/batch.js';
import type { Database, Queryable } from '../../datasources/db.js';
import type { DbEvent } from '../../datasources/postgres/events.sql.js';
import { insertOutbox } from '../../datasources/postgres/outbox.sql.js';
import {
  findLatestTicket,
  findLiveTickets,
  insertQueueTickets,
  leaveQueue,
  lockRoomEvent,
  type DbQueueTicket,
  type DbRoomEvent,
} from '../../datasources/postgres/queue-tickets.sql.js';
import type { Logger } from '../../server/logger.js';
import { ownerKey, type Caller } from '../caller.js';
import { DomainError } from '../errors.js';
import { decodeId } from '../ids.js';
import type { AdmissionTokens } from './admission-token.js';
import { checkChallenge, type ChallengeVerifier } from './challenge.js';
import type { QueueLine } from './line.js';
import { estimatedWaitSeconds, fifoEntry, joinRefusal, queueState, raffleKey, ticketId, ticketMessage, type QueueState } from './waiting-room.rules.js';

/** A ticket as clients see it (API.md, QueueTicket), with what its watchers need to follow its position. */
export interface QueueTicketView {
  id: string;
  eventId: number;
  state: QueueState;
  position: number | null;
  estimatedWaitSeconds: number | null;
  admissionToken: string | null;
  admissionExpiresAt: Date | null;
  /** `served + rank + 1` in line `epoch` (see line.ts): the position is `number - served` as the line moves. */
  number: number | null;
  epoch: string | null;
  ticket: DbQueueTicket;
}

/** One batch of joins to an event (one transaction): the event read once under its share lock, one insert for all. */
export interface JoinBatch {
  event: DbRoomEvent | null;
  join(owner: string): Promise<DbQueueTicket>;
}

export type JoinWriter = TransactionBatcher<JoinBatch>;

/** Group commit for joins, per event: a rush of joins costs a transaction per batch, not one each. */
export function createJoinWriter(db: Database): JoinWriter {
  return createTransactionBatcher(db, async (tx, eventId) => openJoinBatch(tx, eventId, await lockRoomEvent(tx, eventId)));
}

function openJoinBatch(tx: Queryable, eventId: number, event: DbRoomEvent | null): JoinBatch {
  let pending: { owner: string; resolve: (ticket: DbQueueTicket) => void; reject: (error: unknown) => void }[] = [];
  // Everyone who joins before the on-sale (by the database's clock, read under the lock the raffle waits for) is
  // in the pre-queue; everyone after it queues first come, first served.
  const preQueue = !!event && !event.raffled && event.now < event.onSaleAt;
  const raffleKeyOf = (id: string) => (preQueue ? raffleKey(event!.raffleSeed!, id) : null);

  const newTicket = (owner: string) => {
    const id = randomUUID();
    return { id, owner, raffleKey: raffleKeyOf(id) };
  };

  async function insertPending() {
    const requests = pending;
    pending = [];
    try {
      const owners = [...new Set(requests.map((r) => r.owner))];
      const tickets = new Map<string, DbQueueTicket>();
      for (const t of await insertQueueTickets(tx, eventId, owners.map((owner) => newTicket(owner)))) tickets.set(t.owner, t);
      // Those who had a ticket already get it back (joining twice returns the same ticket).
      const existing = owners.filter((owner) => !tickets.has(owner));
      if (existing.length) for (const t of await findLiveTickets(tx, eventId, existing)) tickets.set(t.owner, t);
      for (const r of requests) {
        const ticket = tickets.get(r.owner);
        if (ticket) r.resolve(ticket);
        else r.reject(new DomainError('BAD_USER_INPUT', 'Your ticket changed while you joined; join again'));
      }
    } catch (error) {
      for (const r of requests) r.reject(error);
    }
  }

  return {
    event,
    join: (owner) =>
      new Promise((resolve, reject) => {
        if (pending.push({ owner, resolve, reject }) === 1) setImmediate(() => void insertPending());
      }),
  };
}

/** What the waiting room needs; Services has all of it. */
export interface WaitingRoomDeps {
  db: Database;
  log: Logger;
  queueLine: QueueLine;
  admissions: AdmissionTokens;
  joinWrites: JoinWriter;
  eventBatcher: DataLoader<number, DbEvent | null>;
  /** Set when WAITING_ROOM_CHALLENGE names a verifier. */
  challenge?: ChallengeVerifier;
}

/** Adds FIFO tickets to the line; while the line is out of reach they wait in Postgres for its rebuild. */
async function placeInLine(deps: Pick<WaitingRoomDeps, 'queueLine' | 'log'>, tickets: readonly DbQueueTicket[]): Promise<void> {
  const fifo = tickets.filter((t) => t.state === 'QUEUED' && !t.preQueue);
  if (!fifo.length) return;
  await deps.queueLine.place(fifo[0]!.eventId, fifo.map(fifoEntry)).catch((error: unknown) => {
    deps.log.warn({ err: error, eventId: fifo[0]!.eventId }, 'waiting room: the line is out of reach; the ticket is kept and placed when it is rebuilt');
  });
}

/** A ticket as its owner sees it: its place in line from the line (null while the line is being built). */
export async function viewTicket(deps: Pick<WaitingRoomDeps, 'queueLine' | 'admissions'>, ticket: DbQueueTicket): Promise<QueueTicketView> {
  const state = queueState(ticket);
  const place = state === 'WAITING' ? await deps.queueLine.position(ticket.eventId, ticket.id).catch(() => null) : null;
  const rank = place?.rank ?? null;
  const position = rank === null ? null : rank + 1;
  return {
    id: ticketId(ticket.id),
    eventId: ticket.eventId,
    state,
    position,
    estimatedWaitSeconds: position === null ? null : estimatedWaitSeconds(position, ticket.admissionsPerMinute),
    admissionToken: state === 'ADMITTED' ? deps.admissions.sign({ ...ticket, admissionExpiresAt: ticket.admissionExpiresAt! }) : null,
    admissionExpiresAt: ticket.admissionExpiresAt,
    number: rank === null ? null : place!.status.served + rank + 1,
    epoch: place?.status.epoch ?? null,
    ticket,
  };
}

/** The event's facts a join is decided on, as the (unlocked) event row tells them. */
const roomEventOf = (event: DbEvent | null): DbRoomEvent | null =>
  event && {
    now: new Date(),
    onSaleAt: event.onSaleAt,
    startsAt: event.startsAt,
    cancelled: event.status === 'CANCELLED',
    opensAt: event.waitingRoomOpensAt,
    raffled: event.raffleSeed !== null,
    raffleSeed: null,
  };

/**
 * Joins the event's waiting room, or returns the caller's ticket if they have one (one live ticket per caller and
 * event; after leaving or an expired admission, joining again queues anew at the back). Before the on-sale the
 * ticket is in the pre-queue, which the raffle orders; after it, in line first come, first served.
 */
export async function joinWaitingRoom(deps: WaitingRoomDeps, caller: Caller, id: string, challengeToken?: string | null): Promise<QueueTicketView> {
  const owner = ownerKey(caller);
  const eventId = decodeId('evt', id, 'eventId');
  if (deps.challenge) {
    // Refuse a join that would fail anyway before asking the verifier (a network call); the batch decides again.
    const refusal = joinRefusal(roomEventOf(await deps.eventBatcher.load(eventId)));
    if (refusal) throw refusal;
    await checkChallenge(deps.challenge, challengeToken);
  }
  const ticket = await deps.joinWrites.run(eventId, owner, async (_tx, batch) => {
    const refusal = joinRefusal(batch.event);
    if (refusal) throw refusal;
    return batch.join(owner);
  });
  await placeInLine(deps, [ticket]);
  return viewTicket(deps, ticket);
}

/** Leaves the waiting room: the caller's live ticket turns LEFT. NOT_FOUND when they have none (or left already). */
export async function leaveWaitingRoom(deps: Pick<WaitingRoomDeps, 'db' | 'queueLine' | 'admissions'>, caller: Caller, id: string): Promise<QueueTicketView> {
  const owner = ownerKey(caller);
  const eventId = decodeId('evt', id, 'eventId');
  const left = await deps.db.transaction(async (tx) => {
    const ticket = await leaveQueue(tx, eventId, owner);
    if (ticket) await insertOutbox(tx, [ticketMessage(ticket, 'LEFT')]);
    return ticket;
  });
  // The line keeps the ticket until admission reaches it, and skips it then: positions stay `number - served`.
  if (!left) throw new DomainError('NOT_FOUND', 'You are not in the waiting room of this event', { field: 'eventId' });
  return viewTicket(deps, left);
}

/** The caller's newest ticket for the event, whatever its state; null when they never joined. */
export async function queueTicketOf(deps: Pick<WaitingRoomDeps, 'db' | 'queueLine' | 'admissions'>, caller: Caller, id: string): Promise<QueueTicketView | null> {
  const ticket = await findLatestTicket(deps.db, decodeId('evt', id, 'eventId'), ownerKey(caller));
  return ticket && viewTicket(deps, ticket);
}
