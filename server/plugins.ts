import type { ApolloServerPlugin } from '@apollo/server';
import { ApolloServerPluginDrainHttpServer } from '@apollo/server/plugin/drainHttpServer';
import { ApolloServerPluginCacheControlDisabled, ApolloServerPluginLandingPageDisabled } from '@apollo/server/plugin/disabled';
import { ApolloServerPluginLandingPageLocalDefault } from '@apollo/server/plugin/landingPage/default';
import type { Server } from 'node:http';
import { GraphQLError } from 'graphql';
import type { Context } from './context.js';
import { logInternalErrors } from './errors.js';
import type { Metrics } from './metrics.js';

/** Logs every operation with its duration, and every fault of ours with its stack; counts errors by code. */
function requestLogging(metrics: Metrics): ApolloServerPlugin<Context> {
  return {
    async requestDidStart({ contextValue }) {
      const started = performance.now();
      return {
        async didEncounterErrors({ errors, contextValue: { log } }) {
          logInternalErrors(log, errors);
        },
        async willSendResponse({ response, operationName }) {
          const errors = response.body.kind === 'single' ? response.body.singleResult.errors : undefined;
          for (const error of errors ?? []) metrics.graphqlErrors.inc({ code: String(error.extensions?.code) });
          contextValue.log.info(
            { operationName, ms: Math.round(performance.now() - started), errors: errors?.map((e) => e.extensions?.code) },
            'graphql',
          );
        },
      };
    },
  };
}

/** Subscriptions run over WebSocket only: over HTTP one is the client's mistake (400), said as such. */
const subscriptionsOverWebSocket: ApolloServerPlugin<Context> = {
  async requestDidStart() {
    return {
      async didResolveOperation({ operation }) {
        if (operation?.operation !== 'subscription') return;
        throw new GraphQLError('Subscriptions run over WebSocket (graphql-transport-ws) on this same path, not over HTTP', {
          extensions: { code: 'BAD_REQUEST', http: { status: 400 } },
        });
      },
    };
  },
};

/**
 * The Apollo plugins, in order. Draining comes first so that a stop waits for in-flight operations before
 * anything else shuts down; the landing page (Apollo Sandbox) exists only outside production; request logging
 * comes last so that it sees the response every other plugin has shaped.
 */
export function apolloPlugins(options: {
  httpServer: Server;
  production: boolean;
  metrics: Metrics;
  stopGracePeriodMillis: number;
}): ApolloServerPlugin<Context>[] {
  return [
    ApolloServerPluginDrainHttpServer({ httpServer: options.httpServer, stopGracePeriodMillis: options.stopGracePeriodMillis }),
    options.production ? ApolloServerPluginLandingPageDisabled() : ApolloServerPluginLandingPageLocalDefault({ embed: true }),
    // We set no cache hints; the cache-control plugin would still run a hook on every resolved field.
    ApolloServerPluginCacheControlDisabled(),
    subscriptionsOverWebSocket,
    requestLogging(options.metrics),
  ];
}
