import { encodeId, encodeSeatId, encodeUuidId } from '../domain/ids.js';
import { watchWaitlist } from '../domain/waitlist/waitlist-watch.js';
import { entryState } from '../domain/waitlist/waitlist.rules.js';
import { joinWaitlist, leaveWaitlist, offerOf, waitlistEntriesOfCaller, type WaitlistEntryView } from '../domain/waitlist/waitlist.service.js';
import type { Resolvers } from './__generated__/types.js';

export const waitlistResolvers: Resolvers = {
  Viewer: {
    waitlistEntries: (_, { eventId }, { services, caller }) => waitlistEntriesOfCaller(services.db, caller, eventId),
  },
  Mutation: {
    joinWaitlist: (_, { input }, { services, caller }) => joinWaitlist(services, caller, input),
    leaveWaitlist: (_, { id }, { services, caller }) => leaveWaitlist(services, caller, id),
  },
  Subscription: {
    waitlistEntryUpdated: { subscribe: (_, { eventId }, { services, caller }) => watchWaitlist(services, caller, eventId), resolve: (view: WaitlistEntryView) => view },
  },
  WaitlistEntry: {
    id: (entry) => encodeUuidId('wl', entry.id),
    event: (entry, _, { loaders }) => loaders.event.load(entry.eventId).then((event) => event!),
    sectionId: (entry) => (entry.sectionId === null ? null : encodeId('sec', entry.sectionId)),
    seatId: (entry) => (entry.seatOrdinal === null ? null : encodeSeatId(entry.eventId, entry.seatOrdinal)),
    state: (entry) => entryState(entry),
    offer: (entry, _, { services }) => offerOf(services.db, entry),
  },
};
