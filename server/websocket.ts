import { randomUUID } from 'node:crypto';
import type { IncomingMessage, Server } from 'node:http';
import {
  createSourceEventStream,
  execute,
  GraphQLError,
  type DocumentNode,
  type ExecutionArgs,
  type ExecutionResult,
  type GraphQLSchema,
} from 'graphql';
import { CloseCode, handleProtocols, makeServer, type ServerOptions } from 'graphql-ws';
import { WebSocket, WebSocketServer } from 'ws';
import { anonymous, type Caller } from '../domain/caller.js';
import { coded, type Gate } from './edge/gate.js';
import { createContext, renewContext, type Context, type Services } from './context.js';
import { formatError, logInternalErrors } from './errors.js';
import type { InFlight } from './inflight.js';
import type { Logger } from './logger.js';
import { createStream, publicPayloads, type StreamIterator } from '../subscriptions/stream.js';

const MAX_MESSAGE_BYTES = 64 * 1024;

const credentials = (params: Record<string, unknown> | undefined) => ({
  authorization: params?.authorization,
  apiKey: params?.apiKey,
});

const isPromise = <T>(value: T | Promise<T>): value is Promise<T> => typeof (value as Partial<Promise<T>>).then === 'function';

const isDivertible = (source: AsyncIterable<unknown>): source is StreamIterator<unknown> =>
  typeof (source as Partial<StreamIterator<unknown>>).divert === 'function';

/** A shared execution: its result (a promise while a resolver is still working) and, once known, its JSON. */
interface SharedResult {
  result: ExecutionResult | Promise<ExecutionResult>;
  /** The `next` payload as JSON, once the result is known and has no errors. */
  json?: Buffer;
}

/**
 * graphql-js's `subscribe`, made cheap for broadcasts. A public payload (one every subscriber gets, see
 * publicPayloads) is executed once per document and variables, however many subscribers share them, and turned
 * into JSON once; each subscriber's socket then gets that JSON inside its own `next` frame, written directly
 * rather than through graphql-ws's per-subscriber serialisation. 5,000 watchers of one event cost one execution
 * and one serialisation per change, plus a frame each. Anything else (a result with errors, a payload that
 * depends on the caller) goes through graphql-ws as usual.
 */
function createSharedSubscribe() {
  const documentIds = new WeakMap<DocumentNode, number>();
  let nextDocumentId = 0;
  const shared = new WeakMap<object, Map<string, SharedResult>>();
  return async (args: ExecutionArgs) => {
    const source = await createSourceEventStream(args);
    if (!(Symbol.asyncIterator in source)) return source;
    let documentId = documentIds.get(args.document);
    if (documentId === undefined) documentIds.set(args.document, (documentId = nextDocumentId++));
    const key = `${documentId}|${args.operationName ?? ''}|${JSON.stringify(args.variableValues ?? {})}`;
    // Each message is executed with a context of its own (fresh loaders, nothing listed yet), like a request.
    const run = (payload: unknown) => execute({ ...args, rootValue: payload, contextValue: renewContext(args.contextValue as Context) });
    const withJson = (entry: SharedResult, result: ExecutionResult) => {
      if (!result.errors) entry.json = Buffer.from(JSON.stringify(result));
      return (entry.result = result);
    };
    const sharedOf = (payload: object): SharedResult => {
      let byOperation = shared.get(payload);
      if (!byOperation) shared.set(payload, (byOperation = new Map()));
      let entry = byOperation.get(key);
      if (!entry) {
        const created: SharedResult = (entry = { result: run(payload) });
        if (isPromise(created.result)) created.result = created.result.then((result) => withJson(created, result));
        else withJson(created, created.result);
        byOperation.set(key, created);
      }
      return entry;
    };
    const isPublic = (payload: unknown): payload is object => typeof payload === 'object' && payload !== null && publicPayloads.has(payload);

    const { sendNext } = args.contextValue as Context;
    if (!sendNext || !isDivertible(source)) throw new Error('a subscription must come from a stream (subscriptions/stream.ts) over WebSocket');
    // Once the subscription is over (completed, its socket gone), nothing of it is sent any more, even a message
    // still waiting for its result: its ID may already name a new subscription.
    let open = true;
    const others = createStream<ExecutionResult>(() => {
      open = false;
      void source.return?.();
    });
    const failed = (error: unknown) => (args.contextValue as Context).log.error({ err: error }, 'a subscription message failed');
    // One message at a time, in order, whether it is written here or handed to graphql-ws. A broadcast whose
    // result is already known (its resolvers were synchronous, or another subscriber waited for them) is written
    // at once when nothing of this subscription is waiting: 5,000 subscribers cost 5,000 writes, not 5,000 promises.
    let previous = Promise.resolve();
    let waiting = 0;
    source.divert((payload) => {
      const entry = isPublic(payload) ? sharedOf(payload) : undefined;
      if (!waiting && entry?.json) return open && sendNext(entry.json);
      waiting++;
      previous = previous
        .then(async () => {
          const result = await (entry ? entry.result : run(payload));
          if (!open) return;
          if (entry?.json) sendNext(entry.json);
          else others.push(result);
        })
        .catch(failed)
        .finally(() => waiting--);
    });
    return others.iterator;
  };
}

/** A message's type and id, as far as they are there (graphql-ws judges the message, malformed ones too). */
function peek(text: string): { type?: unknown; id?: string } {
  try {
    const { type, id } = (JSON.parse(text) ?? {}) as { type?: unknown; id?: unknown };
    return { type, id: typeof id === 'string' ? id : undefined };
  } catch {
    return {};
  }
}

/** A close frame's reason holds at most 123 bytes (ws throws on more); an id is the client's and may be long. */
const closeReason = (reason: string) => (Buffer.byteLength(reason) <= 123 ? reason : 'Subscriber already exists');

/** An operation of a socket, from its Subscribe until graphql-ws has finished handling it: until it has ended. */
interface Operation {
  /** The client has sent Complete for it. */
  completed: boolean;
  /** While it waits for an earlier operation under its id to end: resolves once graphql-ws has its Subscribe. */
  waiting?: Promise<void>;
  ended: Promise<void>;
}

/**
 * A socket's Subscribe and Complete messages, put in order with the operations they name before graphql-ws
 * sees them. graphql-ws frees an id at the client's Complete while the operation may still be starting (reading
 * its hold, subscribing) or ending, and accepts a Subscribe that reuses the id at once, to run beside it. Either
 * the first, once started, is registered under the id and then overwritten: nothing ends it any more, so it keeps
 * sending frames and keeps its pub/sub subscription after the socket has closed. Or the first one's clean-up
 * removes the second, which then never sends a thing. So here a Subscribe that reuses the id of an operation the
 * client has completed waits until that one has ended (one at a time per id), and a Complete for an operation
 * still waiting reaches graphql-ws after its Subscribe. Reusing the id of an operation the client has not
 * completed is the protocol's 4409, as before.
 */
function orderOperations(socket: WebSocket) {
  const operations = new Map<string, Operation>();
  return {
    /** Operations that have not ended, including those the client completed: for the per-connection limit. */
    get size() {
      return operations.size;
    },
    receive(text: string, handle: (text: string) => Promise<void>): void {
      const { type, id } = peek(text);
      const current = id === undefined ? undefined : operations.get(id);
      if (type === 'complete' && current) {
        current.completed = true;
        if (current.waiting) return void current.waiting.then(() => handle(text));
      }
      if (type !== 'subscribe' || id === undefined) return void handle(text);
      if (current && (!current.completed || current.waiting)) {
        return socket.close(CloseCode.SubscriberAlreadyExists, closeReason(`Subscriber for ${id} already exists`));
      }
      let started = () => {};
      const operation: Operation = { completed: false, ended: Promise.resolve() };
      if (current) operation.waiting = new Promise<void>((resolve) => (started = resolve));
      const start = () => {
        // graphql-ws takes the Subscribe in (and reserves its id) before this returns; a socket closed meanwhile
        // gets nothing started.
        const ended = socket.readyState === WebSocket.OPEN ? handle(text) : Promise.resolve();
        operation.waiting = undefined;
        started();
        return ended;
      };
      // Counted (and its id taken) before graphql-ws asks onSubscribe about it.
      operations.set(id, operation);
      operation.ended = current ? current.ended.then(start) : start();
      void operation.ended.finally(() => operations.get(id) === operation && operations.delete(id));
    },
  };
}

/** What graphql-ws hands every callback besides the message: the socket, the upgrade request, and who called. */
interface Extra {
  socket: WebSocket;
  request: IncomingMessage;
  caller?: Caller;
  /** The client address, as per-address limits count it. */
  address?: string;
  /** The socket's operations that have not ended, including those the client completed. */
  operations: { readonly size: number };
}

/**
 * graphql-ws's protocol on the sockets of `wss`: graphql-ws's own adapter for `ws` (`graphql-ws/use/ws`), except
 * that what goes wrong is logged through the server's logger. That adapter writes a client's protocol mistakes (a
 * message over the size limit, a malformed frame) to the console as "internal errors", a stack trace on stderr per
 * bad message that any client can produce at will. Here they are the client's: logged at `info` with ws's code,
 * while a failure of our own handling is logged as an error and closes the socket with 1011.
 *
 * Keep-alive as there: a ping every `keepAliveMs`, and a socket that has not answered within as long is dropped.
 */
function serveGraphqlWs(wss: WebSocketServer, options: ServerOptions<Record<string, unknown> | undefined, Extra>, keepAliveMs: number, log: Logger) {
  const server = makeServer(options);
  wss.options.handleProtocols = handleProtocols;
  wss.on('error', (error) => log.error({ err: error }, 'WebSocket server error'));
  wss.on('connection', (socket, request) => {
    // ws has already closed the socket (1002, 1007, 1009…) when it reports a client's protocol error here.
    socket.on('error', (error: Error & { code?: string }) => {
      if (error.code?.startsWith('WS_ERR_')) log.info({ code: error.code, reason: error.message }, 'WebSocket closed on a protocol error');
      else log.warn({ err: error }, 'WebSocket error');
    });
    const operations = orderOperations(socket);
    let pongWait: NodeJS.Timeout | undefined;
    const pinger = setInterval(() => {
      if (socket.readyState !== WebSocket.OPEN) return;
      pongWait = setTimeout(() => socket.terminate(), keepAliveMs);
      socket.once('pong', () => clearTimeout(pongWait));
      socket.ping();
    }, keepAliveMs);
    const closed = server.opened(
      {
        protocol: socket.protocol,
        send: (data) =>
          new Promise<void>((resolve, reject) => {
            if (socket.readyState !== WebSocket.OPEN) return resolve();
            socket.send(data, (error) => (error ? reject(error) : resolve()));
          }),
        close: (code, reason) => socket.close(code, reason),
        onMessage: (handle) => {
          const handled = async (text: string) => {
            try {
              await handle(text);
            } catch (error) {
              // A reply that could not be sent because the client went away is not our failure.
              if (socket.readyState !== WebSocket.OPEN) return log.debug({ err: error }, 'WebSocket reply to a closed socket');
              log.error({ err: error }, 'WebSocket message handling failed');
              socket.close(CloseCode.InternalServerError, 'Internal server error');
            }
          };
          socket.on('message', (data) => operations.receive(String(data), handled));
        },
      },
      { socket, request, operations },
    );
    socket.once('close', (code, reason) => {
      clearTimeout(pongWait);
      clearInterval(pinger);
      closed(code, String(reason)).catch((error: unknown) => log.error({ err: error }, 'WebSocket subscriptions failed to close'));
    });
  });
  return {
    /** Closes every socket with 1001 (going away) and stops accepting new ones. */
    dispose: async () => {
      for (const client of wss.clients) client.close(1001, 'Going away');
      wss.removeAllListeners();
      await new Promise<void>((resolve, reject) => wss.close((error) => (error ? reject(error) : resolve())));
    },
  };
}

/** A socket that has this much waiting to be sent is not reading: it is dropped rather than buffered without end. */
const MAX_BUFFERED_BYTES = 4 * 1024 * 1024;

/** Writes `next` frames whose payload is already JSON straight to a socket (see createSharedSubscribe). */
function directNext(socket: WebSocket, id: string): (payloadJson: Buffer) => void {
  const head = Buffer.from(`{"id":${JSON.stringify(id)},"type":"next","payload":`);
  const tail = Buffer.from('}');
  return (payloadJson) => {
    if (socket.readyState !== WebSocket.OPEN) return;
    if (socket.bufferedAmount > MAX_BUFFERED_BYTES) return void socket.terminate();
    socket.send(Buffer.concat([head, payloadJson, tail]), { binary: false });
  };
}

/**
 * graphql-ws on the HTTP server's port and path. Operations get the policy HTTP operations get from Apollo:
 * the same validation rules (no introspection in production), the same error codes and masking, the same
 * caller resolution (bad credentials in connection_init close the socket with 4403).
 */
export function attachWebSocketServer(httpServer: Server, services: Services, schema: GraphQLSchema, inFlight: InFlight, gate: Gate) {
  const { config, log } = services;
  const limits = config.webSockets;

  // Connections per client address (an IPv6 one by its /64): one more is refused at the upgrade (HTTP 429),
  // before any WebSocket exists; so is a browser page from an origin that is not allowed (403).
  const perIp = new Map<string, number>();
  const clientAddress = gate.addressOf;
  const wss = new WebSocketServer({
    server: httpServer,
    path: '/graphql',
    maxPayload: MAX_MESSAGE_BYTES,
    // ws's default, said out loud: compressing each delta once per socket costs the fan-out more than it saves (DECISIONS §46).
    perMessageDeflate: false,
    verifyClient: (info, accept) => {
      if (!gate.originAllowed(info.req.headers.origin)) return accept(false, 403, 'Origin not allowed');
      const ip = clientAddress(info.req);
      if ((perIp.get(ip) ?? 0) >= limits.maxConnectionsPerIp) return accept(false, 429, 'Too many connections from this address');
      accept(true);
    },
  });
  wss.on('connection', (socket, req) => {
    const ip = clientAddress(req);
    perIp.set(ip, (perIp.get(ip) ?? 0) + 1);
    socket.once('close', () => {
      const count = (perIp.get(ip) ?? 1) - 1;
      if (count) perIp.set(ip, count);
      else perIp.delete(ip);
    });
  });

  // graphql-ws pings every keepAliveMs and drops a socket that has not answered within as long (a phone that
  // lost its network sends no close); dropping it ends its subscriptions and their pub/sub subscriptions.
  const server = serveGraphqlWs(
    wss,
    {
      schema,
      execute: (args) => inFlight.track(() => execute(args)),
      subscribe: createSharedSubscribe(),
      onConnect: async (ctx) => {
        try {
          ctx.extra.caller = await gate.callerOf(credentials(ctx.connectionParams));
          ctx.extra.address = clientAddress(ctx.extra.request);
          return true;
        } catch {
          return false;
        }
      },
      onSubscribe: async (ctx, _id, payload) => {
        // This operation is already counted among the connection's subscriptions. Those the client completed
        // while they were starting run on until they end, uncounted there: they count here, with room for a client
        // that completes one and starts the next at once.
        const limit = limits.maxSubscriptionsPerConnection;
        if (Object.keys(ctx.subscriptions).length > limit || ctx.extra.operations.size > 2 * limit) {
          return [new GraphQLError(`At most ${limit} operations at once on one connection`, { extensions: { code: 'LIMIT_EXCEEDED', limit } })];
        }
        const prepared = await gate.prepare({ caller: ctx.extra.caller ?? anonymous, address: ctx.extra.address ?? 'unknown' }, payload);
        return 'document' in prepared ? { schema, ...prepared } : [...prepared];
      },
      context: (ctx, id) => ({ ...createContext(services, ctx.extra.caller ?? anonymous, randomUUID(), ctx.extra.address), sendNext: directNext(ctx.extra.socket, id) }),
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
    limits.keepAliveMs,
    log,
  );
  return {
    /** Closes every WebSocket with 1001 (going away) and stops accepting new ones. */
    close: async () => void (await server.dispose()),
    /** How many WebSockets are open. */
    open: () => wss.clients.size,
  };
}
