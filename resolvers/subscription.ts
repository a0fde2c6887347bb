import { encodeId, encodeSeatId } from '../domain/ids.js';
import { seatStatus } from '../domain/seat-map/seat-map.rules.js';
import { watchBooking, watchHold, watchSeatMap } from '../domain/watch.service.js';
import type { Resolvers } from './__generated__/types.js';

/** Each subscription yields its parent object itself. */
const itself = <T>(value: T) => value;

export const subscriptionResolvers: Resolvers = {
  Subscription: {
    seatMapChanged: { subscribe: (_, { eventId }, { services }) => watchSeatMap(services, eventId), resolve: itself },
    holdUpdated: { subscribe: (_, { id }, { services, caller }) => watchHold(services, caller, id), resolve: itself },
    bookingUpdated: { subscribe: (_, { id }, { services, caller }) => watchBooking(services, caller, id), resolve: itself },
  },
  SeatMapDelta: {
    eventId: (change) => encodeId('evt', change.eventId),
    changes: (change) =>
      change.ordinals.map((ordinal, i) => ({ seatId: encodeSeatId(change.eventId, ordinal), ordinal, status: seatStatus(change.statuses, i) })),
  },
};
