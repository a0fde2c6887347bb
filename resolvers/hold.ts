import { bookingsOfCaller, cancelBooking, confirmBooking, getBooking } from '../domain/booking/booking.service.js';
import { holdStatus } from '../domain/hold/hold.rules.js';
import { releaseHold } from '../domain/hold/hold-release.js';
import { getHold, holdBestAvailable, holdSeats, holdsOfCaller } from '../domain/hold/hold.service.js';
import { encodeUuidId } from '../domain/ids.js';
import { seatsOf } from '../domain/seat-map/seat-map.service.js';
import type { Context } from '../server/context.js';
import type { Resolvers } from './__generated__/types.js';

/** Runs a write; events loaded before it (in an earlier mutation of the request) are loaded afresh after it. */
async function write<T>(context: Context, result: Promise<T>): Promise<T> {
  const value = await result;
  context.loaders.event.clearAll();
  return value;
}

/** What a hold and a booking share: an event, some seats and a total. */
const claimFields = {
  event: (claim: { eventId: number }, _: unknown, { loaders }: Context) => loaders.event.load(claim.eventId).then((event) => event!),
  seats: (claim: { eventId: number; currency: string; ordinals: number[] }, _: unknown, { services }: Context) =>
    seatsOf(services.seatMaps, services.seatStatuses, claim),
  total: (claim: { total: number; currency: string }) => ({ amount: claim.total, currency: claim.currency }),
};

export const holdResolvers: Resolvers = {
  Query: {
    hold: (_, { id }, { services, caller }) => getHold(services.db, caller, id),
    booking: (_, { id }, { services, caller }) => getBooking(services.db, caller, id),
  },
  Viewer: {
    holds: (_, { eventId }, { services, caller }) => holdsOfCaller(services.db, caller, eventId),
    bookings: (_, { eventId }, { services, caller }) => bookingsOfCaller(services.db, caller, eventId),
  },
  Mutation: {
    holdSeats: (_, { input }, context) => write(context, holdSeats(context.services, context.caller, input)),
    holdBestAvailable: (_, { input }, context) => write(context, holdBestAvailable(context.services, context.caller, input)),
    releaseHold: (_, { id }, context) => write(context, releaseHold(context.services, context.caller, id)),
    confirmBooking: (_, { input }, context) => write(context, confirmBooking(context.services, context.caller, input)),
    cancelBooking: (_, { id }, context) => write(context, cancelBooking(context.services, context.caller, id)),
  },
  Hold: {
    id: (hold) => encodeUuidId('hold', hold.id),
    status: (hold) => holdStatus(hold),
    ...claimFields,
  },
  Booking: {
    id: (booking) => encodeUuidId('bkg', booking.id),
    ...claimFields,
  },
};
