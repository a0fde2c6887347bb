// Shared set-up for the write-path suites: an event on sale with a given layout, and the operations they send.
import type { TestServer } from './harness.js';
import { ok } from './harness.js';

export const HOLD_FIELDS = `id status expiresAt total { amount currency } seats { id ordinal status } event { id availableCount }`;
export const BOOKING_FIELDS = `id status createdAt total { amount currency } seats { id ordinal status } event { id }`;

export const HOLD_SEATS = `mutation($input: HoldSeatsInput!) { holdSeats(input: $input) { ${HOLD_FIELDS} } }`;
export const HOLD_BEST = `mutation($input: HoldBestAvailableInput!) { holdBestAvailable(input: $input) { ${HOLD_FIELDS} } }`;
export const RELEASE = `mutation($id: ID!) { releaseHold(id: $id) { ${HOLD_FIELDS} } }`;
export const CONFIRM = `mutation($input: ConfirmBookingInput!) { confirmBooking(input: $input) { ${BOOKING_FIELDS} } }`;
export const CANCEL = `mutation($id: ID!) { cancelBooking(id: $id) { ${BOOKING_FIELDS} } }`;

export interface SectionSpec {
  name: string;
  price: number;
  rows: number;
  seatsPerRow: number;
}

export interface TestEvent {
  id: string;
  /** Numeric id, for SQL. */
  eventId: number;
  sectionIds: string[];
  seatId: (ordinal: number) => string;
}

let venue: Promise<string> | undefined;
let venueServer: TestServer | undefined;

/**
 * Creates an event that is on sale now (sales opened an hour ago, it starts in 30 days) with these sections,
 * through the admin API. `overrides` go into CreateEventInput (maxTicketsPerUser, holdDurationSeconds, …).
 */
export async function createOnSaleEvent(
  server: TestServer,
  sections: SectionSpec[],
  overrides: Record<string, unknown> = {},
): Promise<TestEvent> {
  const admin = await server.token('admin', true);
  if (venueServer !== server) {
    venueServer = server;
    venue = server
      .gql(`mutation { createVenue(input: { name: "Test Arena", city: "Testville", country: "Testland" }) { id } }`, {}, admin)
      .then((response) => ok(response).createVenue.id as string);
  }
  const now = Date.now();
  const response = await server.gql(
    `mutation($input: CreateEventInput!) { createEvent(input: $input) { id seatMap { sections { id } } } }`,
    {
      input: {
        venueId: await venue,
        title: 'Write Path Test',
        performer: 'The Racers',
        category: 'concert',
        startsAt: new Date(now + 30 * 86_400_000).toISOString(),
        onSaleAt: new Date(now - 3_600_000).toISOString(),
        sections,
        ...overrides,
      },
    },
    admin,
  );
  const event = ok(response).createEvent;
  const eventId = Number(String(event.id).slice(4));
  return {
    id: event.id,
    eventId,
    sectionIds: event.seatMap.sections.map((section: { id: string }) => section.id),
    seatId: (ordinal) => `seat_${eventId}_${ordinal}`,
  };
}

/**
 * Makes every active hold of the event lapse now, as if its time had run out: moves `expires_at` (and the
 * seats' `held_until`) into the past, and tells the server to forget what it knew of their expiry. No sweep runs.
 */
export async function lapseHolds(server: TestServer, eventId: number): Promise<void> {
  // One statement, so that a hold committed meanwhile is either lapsed with its seats or not touched at all.
  await server.app.services.db.query(
    `WITH lapsed AS (
       UPDATE holds SET expires_at = now() - interval '1 second', base_expires_at = now() - interval '1 second'
        WHERE event_id = $1 AND status = 'ACTIVE' RETURNING id)
     UPDATE seats SET held_until = now() - interval '1 second'
      WHERE event_id = $1 AND status = 'held' AND hold_id IN (SELECT id FROM lapsed)`,
    [eventId],
  );
  // The server learnt from the deltas until when those holds run; time that passes in SQL does not reach it.
  server.app.services.seatMaps.forget(eventId);
}

/** Seat counts of an event by status, straight from the database. */
export async function seatCounts(server: TestServer, eventId: number): Promise<{ available: number; held: number; booked: number }> {
  const { rows } = await server.app.services.db.query<{ available: number; held: number; booked: number }>(
    `SELECT count(*) FILTER (WHERE status = 'available')::int AS available,
            count(*) FILTER (WHERE status = 'held')::int AS held,
            count(*) FILTER (WHERE status = 'booked')::int AS booked
       FROM seats WHERE event_id = $1`,
    [eventId],
  );
  return rows[0]!;
}
