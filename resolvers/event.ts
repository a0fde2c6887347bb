import { createEvent, createVenue, searchEvents } from '../domain/event/event.service.js';
import { decodeId, encodeId } from '../domain/ids.js';
import type { Resolvers } from './__generated__/types.js';
import { selectsField } from './selection.js';

const money = (amount: number, currency: string) => ({ amount, currency });

/** The seat map's fields that change with its version (schema hints: maxAge 1); the rest is its fixed layout. */
const LIVE_FIELDS = [['version'], ['availableCount'], ['availability'], ['sections', 'rows', 'seats', 'status']];

export const eventResolvers: Resolvers = {
  Query: {
    events: (_, args, { services }, info) => searchEvents(services.db, args, selectsField(info, 'totalCount')),
    event: (_, { id }, { loaders }) => loaders.event.load(decodeId('evt', id, 'id')),
    viewer: (_, __, { caller }) => (caller.kind === 'user' ? caller : null),
  },
  Mutation: {
    createVenue: (_, { input }, { services, caller }) => createVenue(services.db, caller, input),
    async createEvent(_, { input: { venueId, ...event } }, { services, caller, loaders }) {
      const id = await createEvent(services.db, caller, decodeId('ven', venueId, 'input.venueId'), event);
      return (await loaders.event.load(id))!;
    },
  },
  Viewer: {
    id: (caller) => caller.userId,
    isAdmin: (caller) => caller.admin,
  },
  EventConnection: {
    pageInfo: (page) => ({ hasNextPage: page.hasNextPage, endCursor: page.endCursor }),
    totalCount: (page) => page.totalCount!,
  },
  Event: {
    id: (event) => encodeId('evt', event.id),
    venue: (e) => ({ id: e.venueId, name: e.venueName, city: e.venueCity, country: e.venueCountry }),
    priceRange: (e) =>
      e.priceMin === null || e.priceMax === null
        ? null
        : { min: money(e.priceMin, e.currency), max: money(e.priceMax, e.currency) },
    waitingRoom: (event) => (event.waitingRoomOpensAt ? event : null),
    async seatMap(event, _, context, info) {
      const availability = await context.services.seatMaps.availability(event.id, event.seatMapVersion);
      if (LIVE_FIELDS.some((path) => selectsField(info, ...path))) context.seatMapReads.set(event.id, availability.version);
      return { event, availability };
    },
  },
  WaitingRoom: {
    opensAt: (event) => event.waitingRoomOpensAt!,
    admissionsPerMinute: (event) => event.admissionsPerMinute!,
    admissionWindowSeconds: (event) => event.admissionWindowSeconds!,
    raffleCommitment: (event) => event.raffleCommitment!,
    challengeRequired: (_, __, { services }) => services.challenge !== undefined,
  },
  Venue: {
    id: (venue) => encodeId('ven', venue.id),
  },
};
