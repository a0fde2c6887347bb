import { encodeId } from '../domain/ids.js';
import { watchQueueTicket } from '../domain/waiting-room/queue-watch.js';
import { joinWaitingRoom, leaveWaitingRoom, queueTicketOf, type QueueTicketView } from '../domain/waiting-room/waiting-room.service.js';
import type { Resolvers } from './__generated__/types.js';

export const waitingRoomResolvers: Resolvers = {
  Query: {
    queueTicket: (_, { eventId }, { services, caller }) => queueTicketOf(services, caller, eventId),
  },
  Mutation: {
    joinWaitingRoom: (_, { eventId, challengeToken }, { services, caller }) => joinWaitingRoom(services, caller, eventId, challengeToken),
    leaveWaitingRoom: (_, { eventId }, { services, caller }) => leaveWaitingRoom(services, caller, eventId),
  },
  Subscription: {
    queueTicketUpdated: { subscribe: (_, { eventId }, { services, caller }) => watchQueueTicket(services, caller, eventId), resolve: (view: QueueTicketView) => view },
  },
  QueueTicket: {
    eventId: (view) => encodeId('evt', view.eventId),
  },
};
