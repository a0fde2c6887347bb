import { encodeId } from '../domain/ids.js';
import { chargeListedSeats, seatStatus } from '../domain/seat-map/seat-map.rules.js';
import type { Resolvers } from './__generated__/types.js';
import { selectsField } from './selection.js';

// The seat-level fields are plain properties of cached layout objects, so graphql-js's default resolver
// reads them: a 20,000-seat listing allocates one small object per seat and calls no resolver per field.
export const seatMapResolvers: Resolvers = {
  SeatMap: {
    eventId: ({ event }) => encodeId('evt', event.id),
    version: ({ availability }) => availability.version,
    seatCount: ({ event }) => event.capacity,
    availableCount: ({ availability }) => availability.availableCount,
    availability: ({ availability }) => availability.bitmap,
    async sections({ event, availability }, _, context, info) {
      if (selectsField(info, 'rows', 'seats')) context.listedSeats = chargeListedSeats(context.listedSeats, event.capacity);
      const layout = await context.services.seatMaps.layout(event.id, event.currency);
      return layout.sections.map((section) => ({ ...section, statuses: availability.statuses }));
    },
  },
  Section: {
    rows: (section) => section.rows.map((row) => ({ ...row, statuses: section.statuses })),
  },
  Row: {
    seats: (row) => row.seats.map((seat) => ({ ...seat, status: seatStatus(row.statuses, seat.ordinal) })),
  },
};
