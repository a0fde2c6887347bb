/**
 * The pub/sub topics and what travels on them. Every message is an outbox row, published by the relay as an
 * envelope: the row's id (per topic, rows are in commit order), when it was written, and its payload.
 */
export interface Envelope<P> {
  /** The outbox row's id: grows with every message of a topic; a repeated id is a message delivered twice. */
  id: number;
  /** When the outbox row was written (ms since the epoch), just before its transaction committed. */
  at: number;
  payload: P;
}

/** One committed change to some seats of an event: the seats trigger writes one per statement. */
export interface SeatDelta {
  eventId: number;
  version: number;
  /** The seats whose status changed, ascending. */
  ordinals: number[];
  /** Their new statuses, one letter each: A(vailable), H(eld), B(ooked). */
  statuses: string;
  /** Until when the seats it holds are held at least (ms since the epoch); null when it holds none. */
  heldUntil: number | null;
}

/** A hold or a booking changed; subscribers read it afresh. */
export interface HoldChanged {
  holdId: string;
  status: string;
}
export interface BookingChanged {
  bookingId: string;
  status: string;
}

/** A waiting-room ticket changed (admitted, expired, left): its owner's watchers read it afresh. */
export interface QueueTicketChanged {
  ticketId: string;
  state: string;
}

/** A waitlist entry changed (offered, skipped, accepted, expired, left): its owner's watchers read it afresh. */
export interface WaitlistEntryChanged {
  entryId: string;
  state: string;
}

/**
 * "Now serving": one message per event per admission tick, the same for everyone waiting, from which each
 * watcher's position follows (`number - served`; see domain/waiting-room/line.ts). Published straight to
 * pub/sub, not through the outbox: the next tick says it again, so a lost one costs a second of staleness.
 */
export interface QueueServing {
  eventId: number;
  epoch: string;
  served: number;
  length: number;
}

export const topics = {
  seatMap: (eventId: number) => `seatMap.${eventId}`,
  hold: (holdId: string) => `hold.${holdId}`,
  booking: (bookingId: string) => `booking.${bookingId}`,
  queueServing: (eventId: number) => `queue.${eventId}`,
  queueTicket: (eventId: number, owner: string) => `queueTicket.${eventId}.${owner}`,
  waitlist: (eventId: number, owner: string) => `waitlist.${eventId}.${owner}`,
};
