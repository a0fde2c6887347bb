import type { Queryable, Statement } from '../db.js';

export type DbQueueState = 'QUEUED' | 'ADMITTED' | 'EXPIRED' | 'LEFT';

/** A waiting-room ticket as stored; `raffled` is whether the event's raffle has run. */
export interface DbQueueTicket {
  id: string;
  eventId: number;
  owner: string;
  seq: number;
  preQueue: boolean;
  state: DbQueueState;
  joinedAt: Date;
  admissionNumber: number | null;
  admittedAt: Date | null;
  admissionExpiresAt: Date | null;
  raffled: boolean;
  admissionsPerMinute: number;
}

const ticketColumns = `t.id, t.event_id AS "eventId", t.owner, t.seq::float8 AS seq, t.pre_queue AS "preQueue", t.state,
  t.joined_at AS "joinedAt", t.admission_number AS "admissionNumber", t.admitted_at AS "admittedAt",
  t.admission_expires_at AS "admissionExpiresAt",
  (SELECT e.wr_raffle_ran_at IS NOT NULL FROM events e WHERE e.id = t.event_id) AS raffled,
  (SELECT e.wr_admissions_per_minute FROM events e WHERE e.id = t.event_id) AS "admissionsPerMinute"`;

/** What a join needs to know about the event, read under a share lock that the raffle waits for. */
export interface DbRoomEvent {
  now: Date;
  onSaleAt: Date;
  startsAt: Date;
  cancelled: boolean;
  opensAt: Date | null;
  raffled: boolean;
  raffleSeed: string | null;
}

const roomEvent: Statement = {
  name: 'queue_room_event',
  text: `SELECT clock_timestamp() AS now, on_sale_at AS "onSaleAt", starts_at AS "startsAt", cancelled_at IS NOT NULL AS cancelled,
            wr_opens_at AS "opensAt", wr_raffle_ran_at IS NOT NULL AS raffled, wr_raffle_seed AS "raffleSeed"
       FROM events WHERE id = $1 FOR SHARE`,
};

/**
 * Reads the event and share-locks its row until the transaction ends: the raffle updates that row, so it runs
 * only once every join that saw the pre-queue open has committed, and no join sees it open after it ran.
 */
export async function lockRoomEvent(tx: Queryable, eventId: number): Promise<DbRoomEvent | null> {
  return (await tx.query<DbRoomEvent>(roomEvent, [eventId])).rows[0] ?? null;
}

const insertTickets: Statement = {
  name: 'queue_insert_tickets',
  text: `WITH t AS (
           INSERT INTO queue_tickets (id, event_id, owner, pre_queue, raffle_key)
           SELECT id, $1, owner, key IS NOT NULL, decode(key, 'hex') FROM unnest($2::uuid[], $3::text[], $4::text[]) AS n(id, owner, key)
           ON CONFLICT (event_id, owner) WHERE state IN ('QUEUED', 'ADMITTED') DO NOTHING
           RETURNING *)
         SELECT ${ticketColumns} FROM t`,
};

/**
 * Inserts a ticket per owner, skipping owners who have a live ticket of the event; returns those inserted. A
 * ticket with a `raffleKey` (hex) is in the pre-queue.
 */
export async function insertQueueTickets(
  tx: Queryable,
  eventId: number,
  tickets: readonly { id: string; owner: string; raffleKey: string | null }[],
): Promise<DbQueueTicket[]> {
  const params = [eventId, tickets.map((t) => t.id), tickets.map((t) => t.owner), tickets.map((t) => t.raffleKey)];
  return (await tx.query<DbQueueTicket>(insertTickets, params)).rows;
}

/** The live (QUEUED or ADMITTED) tickets of these owners for the event. */
export async function findLiveTickets(db: Queryable, eventId: number, owners: readonly string[]): Promise<DbQueueTicket[]> {
  const { rows } = await db.query<DbQueueTicket>(
    {
      name: 'queue_live_tickets',
      text: `SELECT ${ticketColumns} FROM queue_tickets t WHERE t.event_id = $1 AND t.owner = ANY($2::text[]) AND t.state IN ('QUEUED', 'ADMITTED')`,
    },
    [eventId, owners],
  );
  return rows;
}

/** The owner's newest ticket for the event, whatever its state. */
export async function findLatestTicket(db: Queryable, eventId: number, owner: string): Promise<DbQueueTicket | null> {
  const { rows } = await db.query<DbQueueTicket>(
    {
      name: 'queue_latest_ticket',
      text: `SELECT ${ticketColumns} FROM queue_tickets t WHERE t.event_id = $1 AND t.owner = $2 ORDER BY t.seq DESC LIMIT 1`,
    },
    [eventId, owner],
  );
  return rows[0] ?? null;
}

/** Ends the owner's live ticket as LEFT; null when there is none. */
export async function leaveQueue(tx: Queryable, eventId: number, owner: string): Promise<DbQueueTicket | null> {
  const { rows } = await tx.query<DbQueueTicket>(
    `WITH t AS (
       UPDATE queue_tickets SET state = 'LEFT', ended_at = now()
        WHERE event_id = $1 AND owner = $2 AND state IN ('QUEUED', 'ADMITTED') RETURNING *)
     SELECT ${ticketColumns} FROM t`,
    [eventId, owner],
  );
  return rows[0] ?? null;
}

/**
 * Marks the raffle of the event as run, once: only when it is gated, not yet raffled and its on-sale has come
 * (by the database's clock), and opens its admission. Returns the revealed seed, or null when nothing changed.
 */
export async function markRaffled(tx: Queryable, eventId: number): Promise<string | null> {
  const { rows } = await tx.query<{ seed: string }>(
    `UPDATE events SET wr_raffle_ran_at = now()
      WHERE id = $1 AND wr_opens_at IS NOT NULL AND wr_raffle_ran_at IS NULL AND now() >= on_sale_at
      RETURNING wr_raffle_seed AS seed`,
    [eventId],
  );
  if (!rows[0]) return null;
  await tx.query(`INSERT INTO waiting_rooms (event_id) VALUES ($1) ON CONFLICT DO NOTHING`, [eventId]);
  return rows[0].seed;
}

/** A ticket in line, as the line is built from. */
export interface DbLineTicket {
  id: string;
  preQueue: boolean;
  seq: number;
}

/**
 * The event's QUEUED tickets joined after `afterSeq`, in line order: the pre-queue by raffle key (the raffle's
 * order), then the others by join order.
 */
export async function findLineTickets(db: Queryable, eventId: number, afterSeq: number): Promise<DbLineTicket[]> {
  const { rows } = await db.query<DbLineTicket>(
    `SELECT id, pre_queue AS "preQueue", seq::float8 AS seq FROM queue_tickets
      WHERE event_id = $1 AND state = 'QUEUED' AND seq > $2 ORDER BY pre_queue DESC, raffle_key, seq`,
    [eventId, afterSeq],
  );
  return rows;
}

/** Gated events whose sale is running: the ones with a raffle to run or admissions to give. */
export async function findRunningRooms(db: Queryable): Promise<{ eventId: number; raffled: boolean }[]> {
  const { rows } = await db.query<{ eventId: number; raffled: boolean }>({
    name: 'queue_running_rooms',
    text: `SELECT id AS "eventId", wr_raffle_ran_at IS NOT NULL AS raffled FROM events
            WHERE wr_opens_at IS NOT NULL AND on_sale_at <= now() AND starts_at > now() AND cancelled_at IS NULL
            ORDER BY on_sale_at, id`,
  });
  return rows;
}

/** The admission state of a raffled event, locked for this transaction. */
export interface DbRoom {
  now: Date;
  credit: number;
  tickedAt: Date;
  admitted: number;
  recycled: number;
  lineEpoch: string | null;
  admissionsPerMinute: number;
  admissionWindowSeconds: number;
}

/** Locks the room's admission state, or null when another instance is admitting for it right now. */
export async function lockRoom(tx: Queryable, eventId: number): Promise<DbRoom | null> {
  const { rows } = await tx.query<DbRoom>(
    {
      name: 'queue_lock_room',
      text: `SELECT now() AS now, r.credit, r.ticked_at AS "tickedAt", r.admitted, r.recycled, r.line_epoch AS "lineEpoch",
                  e.wr_admissions_per_minute AS "admissionsPerMinute", e.wr_admission_window_seconds AS "admissionWindowSeconds"
             FROM waiting_rooms r JOIN events e ON e.id = r.event_id
            WHERE r.event_id = $1 FOR UPDATE OF r SKIP LOCKED`,
    },
    [eventId],
  );
  return rows[0] ?? null;
}

/** Saves the room's admission state after a tick. */
export async function saveRoom(tx: Queryable, eventId: number, room: Pick<DbRoom, 'credit' | 'admitted' | 'recycled' | 'lineEpoch'>): Promise<void> {
  await tx.query(
    {
      name: 'queue_save_room',
      text: `UPDATE waiting_rooms SET credit = $2, admitted = $3, recycled = $4, line_epoch = $5, ticked_at = now() WHERE event_id = $1`,
    },
    [eventId, room.credit, room.admitted, room.recycled, room.lineEpoch],
  );
}

/** Admissions whose window has passed, now EXPIRED; `unused` when their fan made no hold after admission. */
export async function expireAdmissions(tx: Queryable, eventId: number): Promise<{ id: string; owner: string; unused: boolean }[]> {
  const { rows } = await tx.query<{ id: string; owner: string; unused: boolean }>(
    {
      name: 'queue_expire_admissions',
      text: `UPDATE queue_tickets t SET state = 'EXPIRED', ended_at = now()
              WHERE t.event_id = $1 AND t.state = 'ADMITTED' AND t.admission_expires_at <= now()
          RETURNING t.id, t.owner, NOT EXISTS (
              SELECT 1 FROM holds h WHERE h.owner = t.owner AND h.event_id = t.event_id AND h.created_at >= t.admitted_at) AS unused`,
    },
    [eventId],
  );
  return rows;
}

/** The states of these tickets, locked (so that a leave waits for the tick, or the tick sees it). */
export async function lockTicketStates(tx: Queryable, ids: readonly string[]): Promise<Map<string, DbQueueState>> {
  const { rows } = await tx.query<{ id: string; state: DbQueueState }>(
    { name: 'queue_lock_states', text: `SELECT id, state FROM queue_tickets WHERE id = ANY($1::uuid[]) ORDER BY id FOR UPDATE` },
    [ids],
  );
  return new Map(rows.map((row) => [row.id, row.state]));
}

/** Admits these QUEUED tickets, numbered from `firstNumber` in the order given, for `windowSeconds`. */
export async function admitTickets(tx: Queryable, eventId: number, ids: readonly string[], firstNumber: number, windowSeconds: number): Promise<DbQueueTicket[]> {
  const { rows } = await tx.query<DbQueueTicket>(
    {
      name: 'queue_admit',
      text: `WITH t AS (
               UPDATE queue_tickets q SET state = 'ADMITTED', admission_number = $3 + o.n - 1, admitted_at = now(),
                      admission_expires_at = now() + make_interval(secs => $4)
                 FROM unnest($2::uuid[]) WITH ORDINALITY AS o(id, n)
                WHERE q.id = o.id AND q.event_id = $1 AND q.state = 'QUEUED'
                RETURNING q.*)
             SELECT ${ticketColumns} FROM t ORDER BY t.admission_number`,
    },
    [eventId, ids, firstNumber, windowSeconds],
  );
  return rows;
}

/** The public record of an event's raffle and admissions, for verify-raffle. */
export async function findRaffleRecord(db: Queryable, eventId: number) {
  const { rows: events } = await db.query<{ seed: string | null; commitment: string; onSaleAt: Date; raffledAt: Date | null }>(
    `SELECT CASE WHEN wr_raffle_ran_at IS NOT NULL THEN wr_raffle_seed END AS seed, wr_raffle_commitment AS commitment,
            on_sale_at AS "onSaleAt", wr_raffle_ran_at AS "raffledAt"
       FROM events WHERE id = $1 AND wr_opens_at IS NOT NULL`,
    [eventId],
  );
  const { rows: tickets } = await db.query<{ id: string; preQueue: boolean; seq: number; state: DbQueueState; admissionNumber: number | null }>(
    `SELECT id, pre_queue AS "preQueue", seq::float8 AS seq, state, admission_number AS "admissionNumber"
       FROM queue_tickets WHERE event_id = $1 ORDER BY seq`,
    [eventId],
  );
  return events[0] ? { ...events[0], tickets } : null;
}
