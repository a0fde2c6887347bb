import { readFileSync, readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { makeExecutableSchema } from '@graphql-tools/schema';
import type { GraphQLSchema } from 'graphql';
import { eventResolvers } from './event.js';
import { gatewayResolvers } from './gateway.js';
import { holdResolvers } from './hold.js';
import { DateTime } from './scalars.js';
import { seatMapResolvers } from './seat-map.js';
import { subscriptionResolvers } from './subscription.js';
import { waitingRoomResolvers } from './waiting-room.js';
import { waitlistResolvers } from './waitlist.js';

const schemaDir = fileURLToPath(new URL('../schema/', import.meta.url));

/** The SDL of schema/*.graphql, one file per aggregate. */
export const typeDefs = readdirSync(schemaDir)
  .filter((file) => file.endsWith('.graphql'))
  .sort()
  .map((file) => readFileSync(schemaDir + file, 'utf8'));

/** The executable schema: SDL plus resolvers, shared by HTTP and WebSocket. */
export function createSchema(): GraphQLSchema {
  return makeExecutableSchema({ typeDefs, resolvers: [{ DateTime }, eventResolvers, gatewayResolvers, seatMapResolvers, holdResolvers, subscriptionResolvers, waitingRoomResolvers, waitlistResolvers] });
}
