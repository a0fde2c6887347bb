import { randomUUID } from 'node:crypto';
import type { Server } from 'node:http';
import {
  createSourceEventStream,
  execute,
  GraphQLError,
  NoSchemaIntrospectionCustomRule,
  parse,
  specifiedRules,
  validate,
  type DocumentNode,
  type ExecutionArgs,
  type ExecutionResult,
  type GraphQLSchema,
} from 'graphql';
import { LRUCache } from 'lru-cache';
import { useServer } from 'graphql-ws/use/ws';
import { WebSocketServer } from 'ws';
import { anonymous, type Caller } from '../domain/caller.js';
import { resolveCaller } from './auth.js';
import { createContext, type Context, type Services } from './context.js';
import { formatError, logInternalErrors } from './errors.js';
import type { InFlight } from './inflight.js';
import { publicPayloads } from '../subscriptions/stream.js';

const MAX_MESSAGE_BYTES = 64 * 1024;
/** Valid documents by their text: thousands of clients subscribing with the same query parse and validate it once. */
const DOCUMENT_CACHE_SIZE = 1_000;

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

/** What a connection is allowed: from the configuration. */
export interface WebSocketLimits {
  keepAliveMs: number;
  maxSubscriptionsPerConnection: number;
  maxConnectionsPerIp: number;
}

/** Maps each value of `source` through `map`, in order; return() ends the source too (the client went away). */
function mapSource<T, R>(source: AsyncIterable<T>, map: (value: T) => Promise<R>): AsyncGenerator<R> {
  const iterator = source[Symbol.asyncIterator]();
  return {
    async next() {
      const result = await iterator.next();
      return result.done ? { done: true, value: undefined } : { done: false, value: await map(result.value) };
    },
    async return() {
      await iterator.return?.();
      return { done: true, value: undefined };
    },
    async throw(error: unknown) {
      await iterator.return?.();
      throw error;
    },
    [Symbol.asyncIterator]() {
      return this;
    },
    [Symbol.asyncDispose]: async () => void (await iterator.return?.()),
  } as AsyncGenerator<R>;
}

/**
 * graphql-js's `subscribe`, except that a public payload (one every subscriber gets, see publicPayloads) is
 * executed once per document and variables, however many subscribers share them: 5,000 watchers of one event
 * cost one execution per change, not 5,000.
 */
function createSharedSubscribe() {
  const documentIds = new WeakMap<DocumentNode, number>();
  let nextDocumentId = 0;
  const results = new WeakMap<object, Map<string, Promise<ExecutionResult>>>();
  return async (args: ExecutionArgs) => {
    const source = await createSourceEventStream(args);
    if (!(Symbol.asyncIterator in source)) return source;
    let documentId = documentIds.get(args.document);
    if (documentId === undefined) documentIds.set(args.document, (documentId = nextDocumentId++));
    const key = `${documentId}|${args.operationName ?? ''}|${JSON.stringify(args.variableValues ?? {})}`;
    return mapSource(source, (payload: unknown) => {
      const run = () => Promise.resolve(execute({ ...args, rootValue: payload }));
      if (typeof payload !== 'object' || payload === null || !publicPayloads.has(payload)) return run();
      let byOperation = results.get(payload);
      if (!byOperation) results.set(payload, (byOperation = new Map()));
      let result = byOperation.get(key);
      if (!result) byOperation.set(key, (result = run()));
      return result;
    });
  };
}

/**
 * graphql-ws on the HTTP server's port and path. Operations get the policy HTTP operations get from Apollo:
 * the same validation rules (no introspection in production), the same error codes and masking, the same
 * caller resolution (bad credentials in connection_init close the socket with 4403).
 */
export function attachWebSocketServer(httpServer: Server, services: Services, schema: GraphQLSchema, inFlight: InFlight) {
  const { config, log } = services;
  const limits = config.webSockets;
  const rules = config.production ? [...specifiedRules, NoSchemaIntrospectionCustomRule] : specifiedRules;
  const documents = new LRUCache<string, DocumentNode>({ max: DOCUMENT_CACHE_SIZE });

  // Connections per client address: one more is refused at the upgrade (HTTP 429), before any WebSocket exists.
  const perIp = new Map<string, number>();
  const wss = new WebSocketServer({
    server: httpServer,
    path: '/graphql',
    maxPayload: MAX_MESSAGE_BYTES,
    verifyClient: (info, accept) => {
      const ip = info.req.socket.remoteAddress ?? 'unknown';
      if ((perIp.get(ip) ?? 0) >= limits.maxConnectionsPerIp) return accept(false, 429, 'Too many connections from this address');
      accept(true);
    },
  });
  // Keep-alive: a socket that has not answered the last ping by the next one is gone (a phone that lost its
  // network sends no close); terminating it ends its subscriptions and their pub/sub subscriptions.
  const alive = new WeakSet<object>();
  wss.on('connection', (socket, req) => {
    const ip = req.socket.remoteAddress ?? 'unknown';
    perIp.set(ip, (perIp.get(ip) ?? 0) + 1);
    alive.add(socket);
    socket.on('pong', () => alive.add(socket));
    socket.once('close', () => {
      const count = (perIp.get(ip) ?? 1) - 1;
      if (count) perIp.set(ip, count);
      else perIp.delete(ip);
    });
  });
  const keepAlive = setInterval(() => {
    for (const socket of wss.clients) {
      if (!alive.has(socket)) {
        socket.terminate();
        continue;
      }
      alive.delete(socket);
      socket.ping();
    }
  }, limits.keepAliveMs);
  keepAlive.unref();

  const server = useServer<Record<string, unknown> | undefined, { caller?: Caller }>(
    {
      schema,
      execute: (args) => inFlight.track(() => execute(args)),
      subscribe: createSharedSubscribe(),
      onConnect: async (ctx) => {
        try {
          ctx.extra.caller = await resolveCaller(config.jwtSecret, credentials(ctx.connectionParams));
          return true;
        } catch {
          return false;
        }
      },
      onSubscribe: (ctx, _id, payload) => {
        // This operation is already counted among the connection's subscriptions.
        if (Object.keys(ctx.subscriptions).length > limits.maxSubscriptionsPerConnection) {
          const limit = limits.maxSubscriptionsPerConnection;
          return [new GraphQLError(`At most ${limit} operations at once on one connection`, { extensions: { code: 'LIMIT_EXCEEDED', limit } })];
        }
        let document = documents.get(payload.query);
        if (!document) {
          try {
            document = parse(payload.query);
          } catch (error) {
            return [coded(error as GraphQLError, 'GRAPHQL_PARSE_FAILED')];
          }
          const errors = validate(schema, document, rules);
          if (errors.length) return errors.map((error) => coded(error, 'GRAPHQL_VALIDATION_FAILED'));
          documents.set(payload.query, document);
        }
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
  return {
    close: async () => {
      clearInterval(keepAlive);
      await server.dispose();
    },
  };
}
