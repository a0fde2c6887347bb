// Shared by the waiting-room suites: a gated event, its operations, and admission ticks on demand.
import { createHash, createHmac } from 'node:crypto';
import { admitNextBatch, type TickResult } from '../../domain/waiting-room/admission.service.js';
import type { TestServer } from './harness.js';
import { ok } from './harness.js';
import { createOnSaleEvent, type SectionSpec, type TestEvent } from './write-path.js';
import { eventually } from './realtime.js';

export const TICKET_FIELDS = `id eventId state position estimatedWaitSeconds admissionToken admissionExpiresAt`;
export const JOIN = `mutation($eventId: ID!, $challengeToken: String) { joinWaitingRoom(eventId: $eventId, challengeToken: $challengeToken) { ${TICKET_FIELDS} } }`;
export const LEAVE = `mutation($eventId: ID!) { leaveWaitingRoom(eventId: $eventId) { ${TICKET_FIELDS} } }`;
export const TICKET = `query($eventId: ID!) { queueTicket(eventId: $eventId) { ${TICKET_FIELDS} } }`;
export const QUEUE_TICKET_UPDATED = `subscription($eventId: ID!) { queueTicketUpdated(eventId: $eventId) { ${TICKET_FIELDS} } }`;
export const ROOM = `query($id: ID!) { event(id: $id) { waitingRoom { opensAt admissionsPerMinute admissionWindowSeconds raffleCommitment raffleSeed challengeRequired } } }`;

export interface Ticket {
  id: string;
  eventId: string;
  state: string;
  position: number | null;
  estimatedWaitSeconds: number | null;
  admissionToken: string | null;
  admissionExpiresAt: string | null;
}

const SMALL: SectionSpec[] = [{ name: 'Floor', price: 5000, rows: 4, seatsPerRow: 10 }];

/**
 * A gated event whose waiting room opened an hour ago and whose on-sale comes in `onSaleInMs` (negative: it is
 * on sale already, and the raffle has an empty pre-queue).
 */
export async function createGatedEvent(
  server: TestServer,
  options: { onSaleInMs?: number; admissionsPerMinute?: number; admissionWindowSeconds?: number; sections?: SectionSpec[] } = {},
): Promise<TestEvent> {
  const now = Date.now();
  return createOnSaleEvent(server, options.sections ?? SMALL, {
    onSaleAt: new Date(now + (options.onSaleInMs ?? -60_000)).toISOString(),
    waitingRoom: {
      opensAt: new Date(now - 3_600_000).toISOString(),
      admissionsPerMinute: options.admissionsPerMinute ?? 1,
      admissionWindowSeconds: options.admissionWindowSeconds ?? 900,
    },
  });
}

/** `userIds` join, all at once; their tickets in the same order. */
export async function joinAll(server: TestServer, event: TestEvent, userIds: string[]): Promise<Ticket[]> {
  const tokens = await Promise.all(userIds.map((id) => server.token(id)));
  return Promise.all(tokens.map(async (token) => ok(await server.gql(JOIN, { eventId: event.id }, token)).joinWaitingRoom as Ticket));
}

/** Waits until the event's on-sale has come by the database's clock (the raffle needs it). */
export async function untilOnSale(server: TestServer, event: TestEvent): Promise<void> {
  await eventually('the on-sale', async () => {
    const { rows } = await server.app.services.db.query<{ due: boolean }>(`SELECT now() >= on_sale_at AS due FROM events WHERE id = $1`, [event.eventId]);
    return rows[0]!.due;
  }, (due) => due);
}

/** Gives the event's room exactly `credit` admissions and runs one admission tick of it on this instance. */
export async function admit(server: TestServer, event: TestEvent, credit: number): Promise<TickResult> {
  await server.app.services.db.query(`UPDATE waiting_rooms SET credit = $2, ticked_at = now() WHERE event_id = $1`, [event.eventId, credit]);
  const result = await admitNextBatch(server.app.services, event.eventId);
  if (!result) throw new Error(`no admission tick for ${event.id}: its raffle has not run, or another instance holds its turn`);
  return result;
}

/** The raffle's order, recomputed as docs/RAFFLE.md says, independently of the server's code. */
export function recomputeRaffle(seed: string, ticketIds: string[]): string[] {
  const key = (id: string) => createHmac('sha256', seed).update(id).digest('hex');
  return [...ticketIds].sort((a, b) => (key(a) < key(b) ? -1 : 1));
}

export const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

/** The caller's ticket now. */
export async function ticketOf(server: TestServer, event: TestEvent, token: string): Promise<Ticket | null> {
  return ok(await server.gql(TICKET, { eventId: event.id }, token)).queueTicket as Ticket | null;
}
