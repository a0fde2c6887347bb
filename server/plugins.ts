import type { ApolloServerPlugin } from '@apollo/server';
import { ApolloServerPluginDrainHttpServer } from '@apollo/server/plugin/drainHttpServer';
import { ApolloServerPluginCacheControl } from '@apollo/server/plugin/cacheControl';
import { ApolloServerPluginLandingPageDisabled } from '@apollo/server/plugin/disabled';
import { ApolloServerPluginLandingPageLocalDefault } from '@apollo/server/plugin/landingPage/default';
import type { Server } from 'node:http';
import { GraphQLError, Kind, type OperationDefinitionNode } from 'graphql';
import Negotiator from 'negotiator';
import type { Context } from './context.js';
import { logInternalErrors } from './errors.js';
import { layoutShortcut } from './layout-shortcut.js';
import type { Metrics } from './metrics.js';

/**
 * The metrics label of an operation: its first root field (`holdSeats`, `event`), a name the schema bounds, unlike
 * the client's operation name; `unparsed` before the document was validated.
 */
const rootField = (operation: OperationDefinitionNode | undefined) => {
  const first = operation?.selectionSet.selections[0];
  return first?.kind === Kind.FIELD ? first.name.value : operation ? 'fragment' : 'unparsed';
};

/** Logs every operation with its duration, and every fault of ours with its stack; counts errors and operations. */
function requestLogging(metrics: Metrics): ApolloServerPlugin<Context> {
  return {
    async requestDidStart({ contextValue }) {
      const started = performance.now();
      return {
        async didEncounterErrors({ errors, contextValue: { log } }) {
          logInternalErrors(log, errors);
        },
        async willSendResponse({ response, operationName, operation }) {
          const errors = response.body.kind === 'single' ? response.body.singleResult.errors : undefined;
          for (const error of errors ?? []) metrics.graphqlErrors.inc({ code: String(error.extensions?.code) });
          metrics.operations.observe(
            { operation: rootField(operation), outcome: errors?.length ? String(errors[0]!.extensions?.code) : 'OK' },
            (performance.now() - started) / 1000,
          );
          contextValue.log.info(
            { operationName, ms: Math.round(performance.now() - started), errors: errors?.map((e) => e.extensions?.code) },
            'graphql',
          );
        },
      };
    },
  };
}

/**
 * Subscriptions run over WebSocket only: over HTTP one is the client's mistake, said as such. The request is
 * well-formed and refused for what its operation is, a GraphQL request error like a validation failure: 400,
 * or 200 in application/json (see `legacyJsonStatus`).
 */
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
 * Apollo's media types for a single result, in its order (chooseContentTypeForSingleResultResponse, which it
 * does not export). JSON comes first: a request without Accept, or one that accepts anything, gets it.
 */
const SINGLE_RESULT_TYPES = [
  'application/json; charset=utf-8',
  'application/graphql-response+json; charset=utf-8',
  'application/json; callbackSpec=1.0; charset=utf-8',
];


/** The media type Apollo answers a single result in (it negotiates with `negotiator` too); undefined when the client accepts none (Apollo's 406). */
export const singleResultType = (accept: string | undefined) =>
  accept ? new Negotiator({ headers: { accept } }).mediaType(SINGLE_RESULT_TYPES) : SINGLE_RESULT_TYPES[0];

/**
 * The codes of GraphQL request errors of a well-formed request: parsing, validation (our depth, alias and
 * directive limits are validation rules), GetOperation, variable coercion, and the cost limit, which judges the
 * document and its variables as validation does (one code, QUERY_TOO_COMPLEX, one status).
 */
const REQUEST_ERROR_CODES = new Set([
  'GRAPHQL_PARSE_FAILED',
  'GRAPHQL_VALIDATION_FAILED',
  'OPERATION_RESOLUTION_FAILURE',
  'BAD_USER_INPUT',
  'QUERY_TOO_COMPLEX',
]);

/**
 * GraphQL over HTTP, application/json (the legacy media type): a client may trust the body of a 200 only, so a
 * request error of a well-formed request answers 200 with its errors; application/graphql-response+json keeps
 * Apollo's 400. Apollo picks the media type after this hook, from the Accept header, and keeps one a plugin has
 * set: we negotiate as it does and set it, so the status and the media type sent cannot disagree. Not touched:
 * requests that are not well-formed (a body without `query`: BAD_REQUEST, 400), and every status other than 400
 * (401 bad credentials, 403, 405, 413, 415, 429), some of which never reach plugins at all.
 */
const legacyJsonStatus: ApolloServerPlugin<Context> = {
  async requestDidStart() {
    return {
      async willSendResponse({ request, response, errors, operation }) {
        const { http, body } = response;
        if (http.status !== 400 || body.kind !== 'single' || body.singleResult.data !== undefined || !errors?.length) return;
        const refusedSubscription = operation?.operation === 'subscription';
        if (!refusedSubscription && !errors.every((error) => REQUEST_ERROR_CODES.has(String(error.extensions.code)))) return;
        const type = http.headers.get('content-type') ?? singleResultType(request.http?.headers.get('accept'));
        if (type?.split(';')[0]?.trim().toLowerCase() !== 'application/json') return;
        http.headers.set('content-type', type);
        http.status = 200;
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
  /** The gateway edge's rules (server/edge/gate.ts): trusted documents, cost, rate budgets. */
  gate: ApolloServerPlugin<Context>;
  production: boolean;
  metrics: Metrics;
  stopGracePeriodMillis: number;
}): ApolloServerPlugin<Context>[] {
  return [
    ApolloServerPluginDrainHttpServer({ httpServer: options.httpServer, stopGracePeriodMillis: options.stopGracePeriodMillis }),
    options.production ? ApolloServerPluginLandingPageDisabled() : ApolloServerPluginLandingPageLocalDefault({ embed: true }),
    // Cache-Control from the schema's @cacheControl hints: a field without one (a root field, or one returning an
    // object) makes the response uncacheable (no-store), so that only what is marked public is ever shared.
    ApolloServerPluginCacheControl({ defaultMaxAge: 0 }),
    subscriptionsOverWebSocket,
    options.gate,
    // After the gate, which judges and charges every request in didResolveOperation, before responseForOperation.
    layoutShortcut(),
    legacyJsonStatus,
    requestLogging(options.metrics),
  ];
}
