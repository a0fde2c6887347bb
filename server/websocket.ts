import { randomUUID } from 'node:crypto';
import type { Server } from 'node:http';
import {
  execute,
  GraphQLError,
  NoSchemaIntrospectionCustomRule,
  parse,
  specifiedRules,
  validate,
  type DocumentNode,
  type GraphQLSchema,
} from 'graphql';
import { useServer } from 'graphql-ws/use/ws';
import { WebSocketServer } from 'ws';
import { anonymous, type Caller } from '../domain/caller.js';
import { resolveCaller } from './auth.js';
import { createContext, type Context, type Services } from './context.js';
import { formatError, logInternalErrors } from './errors.js';
import type { InFlight } from './inflight.js';

const MAX_MESSAGE_BYTES = 64 * 1024;

/** The same error with an Apollo-style code, so that WebSocket clients see what HTTP clients see. */
function coded(error: GraphQLError, code: string): GraphQLError {
  return new GraphQLError(error.message, {
    nodes: error.nodes,
    source: error.source,
    positions: error.positions,
    path: error.path,
    originalError: error.originalError,
    extensions: { ...error.extensions, code },
  });
}

const credentials = (params: Record<string, unknown> | undefined) => ({
  authorization: params?.authorization,
  apiKey: params?.apiKey,
});

/**
 * graphql-ws on the HTTP server's port and path. Operations get the policy HTTP operations get from Apollo:
 * the same validation rules (no introspection in production), the same error codes and masking, the same
 * caller resolution (bad credentials in connection_init close the socket with 4403).
 */
export function attachWebSocketServer(httpServer: Server, services: Services, schema: GraphQLSchema, inFlight: InFlight) {
  const { config, log } = services;
  const rules = config.production ? [...specifiedRules, NoSchemaIntrospectionCustomRule] : specifiedRules;
  const wss = new WebSocketServer({ server: httpServer, path: '/graphql', maxPayload: MAX_MESSAGE_BYTES });
  const server = useServer<Record<string, unknown> | undefined, { caller?: Caller }>(
    {
      schema,
      execute: (args) => inFlight.track(() => execute(args)),
      onConnect: async (ctx) => {
        try {
          ctx.extra.caller = await resolveCaller(config.jwtSecret, credentials(ctx.connectionParams));
          return true;
        } catch {
          return false;
        }
      },
      onSubscribe: (_ctx, _id, payload) => {
        let document: DocumentNode;
        try {
          document = parse(payload.query);
        } catch (error) {
          return [coded(error as GraphQLError, 'GRAPHQL_PARSE_FAILED')];
        }
        const errors = validate(schema, document, rules);
        if (errors.length) return errors.map((error) => coded(error, 'GRAPHQL_VALIDATION_FAILED'));
        return { schema, document, operationName: payload.operationName, variableValues: payload.variables };
      },
      context: (ctx) => createContext(services, ctx.extra.caller ?? anonymous, randomUUID()),
      onNext: (_ctx, _id, _payload, args, result) => {
        if (!result.errors) return;
        // Execution errors have a path; one without is about the request itself (its variables). A domain error
        // beneath it (a DateTime scalar's) still decides the code in formatError.
        const errors = result.errors.map((e) => (e.path ? e : coded(e, 'BAD_USER_INPUT')));
        logInternalErrors((args.contextValue as Context).log, errors);
        return { ...result, errors: errors.map((error) => formatError(error.toJSON(), error)) };
      },
      onError: (_ctx, _id, _payload, errors) => {
        // Uncoded errors here are the protocol's own ("Unable to identify operation"): the client's to fix.
        const tagged = errors.map((e) => (e.extensions?.code || e.originalError ? e : coded(e, 'BAD_REQUEST')));
        logInternalErrors(log, tagged);
        return tagged.map((error) => formatError(error.toJSON(), error));
      },
    },
    wss,
  );
  /** Closes every WebSocket with 1001 (going away) and stops accepting new ones. */
  return { close: async () => server.dispose() };
}
