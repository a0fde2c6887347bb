import type { IncomingMessage, ServerResponse } from 'node:http';
import {
  createSourceEventStream,
  execute,
  getOperationAST,
  GraphQLError,
  type ExecutionArgs,
  type ExecutionResult,
  type GraphQLFormattedError,
  type GraphQLSchema,
} from 'graphql';
import { createHandler, type ExecutionResult as SseResult, type Request as SseRequest, type Response as SseResponse } from 'graphql-sse';
import { anonymous, type Caller } from '../domain/caller.js';
import { DomainError } from '../domain/errors.js';
import { createContext, renewContext, type Context, type Services } from './context.js';
import { coded, type Gate } from './edge/gate.js';
import { formatError, logInternalErrors } from './errors.js';
import type { InFlight } from './inflight.js';

/** A stream that has this much waiting to be sent is not reading: it is dropped rather than buffered without end. */
const MAX_BUFFERED_BYTES = 4 * 1024 * 1024;

/** graphql-sse wants a context with an index signature, which an interface has not. */
type OperationContext = Context & Record<PropertyKey, unknown>;

/** What one SSE request carries to graphql-sse's callbacks: who calls, from where, under which request id. */
interface RequestState {
  caller: Caller;
  address: string;
  requestId: string;
}

const header = (req: IncomingMessage, name: string): string | undefined => {
  const value = req.headers[name];
  return Array.isArray(value) ? value.join(', ') : value;
};

/** graphql-sse's requests: those that ask for an event stream (distinct connections mode). */
const wantsEventStream = (req: IncomingMessage) => /\btext\/event-stream\b/i.test(header(req, 'accept') ?? '');

const json = (status: number, errors: GraphQLFormattedError[], headers: Record<string, string> = {}): SseResponse => [
  JSON.stringify({ errors }),
  { status, statusText: '', headers: { 'content-type': 'application/json; charset=utf-8', ...headers } },
];

/**
 * graphql-sse answers a malformed request (no query, a body that is not a JSON object, a GET mutation…) with
 * `{ errors: [{ message }] }`: given the code HTTP's answer to such a request has.
 */
function withCodes([body, init]: SseResponse): SseResponse {
  if (typeof body !== 'string' || init.status < 400) return [body, init];
  try {
    const parsed = JSON.parse(body) as { errors?: GraphQLFormattedError[] };
    if (!Array.isArray(parsed.errors)) return [body, init];
    const errors = parsed.errors.map((error) => ({ ...error, extensions: { code: 'BAD_REQUEST', ...error.extensions } }));
    return [JSON.stringify({ ...parsed, errors }), init];
  } catch {
    return [body, init];
  }
}

/**
 * graphql-sse reads only `query`, `operationName`, `variables` and `extensions`, and refuses a request without a
 * `query`: a persisted operation (`documentId`, or APQ's `extensions.persistedQuery` alone) reaches it with an
 * empty `query` and its hash in `extensions`, which `onSubscribe` turns back into a hash-only request.
 */
function withHashOnly(request: { query?: unknown; documentId?: unknown; extensions?: unknown }): Record<string, unknown> | undefined {
  if (request.query !== undefined && request.query !== null) return undefined;
  const extensions = (typeof request.extensions === 'object' && request.extensions !== null ? request.extensions : {}) as Record<string, unknown>;
  if (extensions.persistedQuery) return { ...request, query: '' };
  if (typeof request.documentId !== 'string') return undefined;
  const { documentId, ...rest } = request;
  return { ...rest, query: '', extensions: { ...extensions, persistedQuery: { version: 1, sha256Hash: documentId.replace(/^sha256:/, '') } } };
}

function bodyOf(body: unknown): string | Record<PropertyKey, unknown> | null {
  if (typeof body === 'string') return body;
  if (typeof body !== 'object' || body === null || Array.isArray(body)) return (body ?? null) as null;
  return withHashOnly(body as Record<string, unknown>) ?? (body as Record<string, unknown>);
}

function urlOf(raw: string): string {
  const url = new URL(raw, 'http://localhost');
  const search = url.searchParams;
  let extensions: unknown;
  try {
    extensions = search.has('extensions') ? JSON.parse(search.get('extensions')!) : undefined;
  } catch {
    return raw; // graphql-sse answers "Unparsable URL"
  }
  const rewritten = withHashOnly({ query: search.get('query') ?? undefined, documentId: search.get('documentId') ?? undefined, extensions });
  if (!rewritten) return raw;
  search.delete('documentId');
  search.set('query', '');
  search.set('extensions', JSON.stringify(rewritten.extensions));
  return `${url.pathname}?${search}`;
}

/** The hash an `onSubscribe` request names (APQ's extension, as withHashOnly leaves it). */
const hasHash = (extensions: Record<string, unknown> | undefined) => Boolean((extensions?.persistedQuery as { sha256Hash?: unknown } | undefined)?.sha256Hash);

/**
 * graphql-js's `subscribe`, except that each message executes with a context of its own (fresh loaders,
 * nothing listed yet), like a request, as over WebSocket; and each execution counts as in flight. The iterator
 * is a plain object rather than an async generator: ending it (the client went away, the server stops) ends the
 * source at once, even while it waits for a message, so that its pub/sub subscription goes too.
 */
function createSubscribe(inFlight: InFlight) {
  return async (args: ExecutionArgs): Promise<ExecutionResult | AsyncIterableIterator<ExecutionResult>> => {
    const source = await createSourceEventStream(args);
    if (!(Symbol.asyncIterator in source)) return source;
    const events = source[Symbol.asyncIterator]();
    const context = args.contextValue as Context;
    const close = async () => {
      await events.return?.();
      return { done: true, value: undefined } as const;
    };
    const results: AsyncIterableIterator<ExecutionResult> & { throw(error: unknown): Promise<never> } = {
      async next() {
        const event = await events.next();
        if (event.done) return { done: true, value: undefined };
        const value = await inFlight.track(() => execute({ ...args, rootValue: event.value, contextValue: renewContext(context) }));
        return { done: false, value };
      },
      return: close,
      async throw(error: unknown) {
        await close();
        throw error;
      },
      [Symbol.asyncIterator]() {
        return this;
      },
    };
    return results;
  };
}

/**
 * GraphQL over Server-Sent Events (the graphql-sse protocol, distinct connections mode: one event stream per
 * operation, `Accept: text/event-stream`) on /graphql/stream and on /graphql. Operations get the policy of
 * graphql-ws (server/websocket.ts): the caller from `Authorization: Bearer` or `X-API-Key` (bad credentials:
 * 401 UNAUTHENTICATED), every gate rule and its codes (refused operations: their errors in a `next` event, then
 * `complete`), the same masking of execution errors, and at most WS_MAX_CONNECTIONS_PER_IP open streams per
 * client address (429 LIMIT_EXCEEDED). The Origin rule (403) is http.ts's, before anything here.
 *
 * graphql-sse's own Node adapter (`graphql-sse/lib/use/http`) reads the body from the request, which http.ts
 * has already read; so the request is handed to its core handler here, and the answer written here too.
 */
export function createSseHandler(services: Services, schema: GraphQLSchema, inFlight: InFlight, gate: Gate) {
  const { log } = services;
  const maxStreamsPerAddress = services.config.webSockets.maxConnectionsPerIp;
  /** The results of refused operations: already formatted, so onNext leaves them alone. */
  const refusals = new WeakSet<object>();
  const refuse = (errors: readonly GraphQLError[]): SseResult => {
    // Uncoded errors here are the request's own: the client's to fix.
    const tagged = errors.map((e) => (e.extensions?.code || e.originalError ? e : coded(e, 'BAD_REQUEST')));
    logInternalErrors(log, tagged);
    // graphql-sse takes a result for one only with a `data` key; undefined, it is not in the JSON.
    const result = { data: undefined, errors: tagged.map((error) => formatError(error.toJSON(), error)) } as unknown as SseResult;
    refusals.add(result);
    return result;
  };

  const handler = createHandler<IncomingMessage, RequestState, OperationContext>({
    schema,
    // gate.prepare has validated the document, with every rule.
    validate: () => [],
    execute: (args) => inFlight.track(() => execute(args)),
    subscribe: createSubscribe(inFlight),
    authenticate: async (req) => {
      try {
        req.context.caller = await gate.callerOf({ authorization: header(req.raw, 'authorization'), apiKey: header(req.raw, 'x-api-key') });
      } catch (error) {
        if (!(error instanceof DomainError)) throw error;
        return json(401, [{ message: error.message, extensions: { ...error.extensions, code: error.code } }]);
      }
      // No token: "single connection mode" is off, every request is its own stream.
      return null;
    },
    onSubscribe: async (req, params) => {
      const { caller, address, requestId } = req.context;
      const query = params.query === '' && hasHash(params.extensions) ? undefined : params.query;
      const prepared = await gate.prepare({ caller, address }, { ...params, query });
      if (!('document' in prepared)) return refuse(prepared);
      if (!getOperationAST(prepared.document, prepared.operationName)) {
        return refuse([new GraphQLError(prepared.operationName ? `Unknown operation named "${prepared.operationName}"` : 'Must provide the name of the operation to run')]);
      }
      return { schema, ...prepared, contextValue: createContext(services, caller, requestId, address) as OperationContext };
    },
    onNext: (context, _req, result) => {
      if (!result.errors || refusals.has(result)) return;
      // Execution errors have a path; one without is about the request itself (its variables). A domain error
      // beneath it (a DateTime scalar's) still decides the code in formatError.
      const errors = result.errors.map((e) => (e.path ? e : coded(e, 'BAD_USER_INPUT')));
      logInternalErrors(context?.log ?? log, errors);
      return { ...result, errors: errors.map((error) => formatError(error.toJSON(), error)) } as unknown as SseResult;
    },
  });

  let closing = false;
  /** Every request being served, with the way to end its stream (once there is one). */
  const serving = new Map<Promise<void>, { end?: () => void }>();
  const perAddress = new Map<string, number>();

  async function serve(req: IncomingMessage, res: ServerResponse, body: unknown, address: string, stream: { end?: () => void }) {
    const requestId = String(res.getHeader('x-request-id') ?? '');
    let [answer, init] = withCodes(
      await handler({
        method: req.method ?? 'GET',
        url: req.method === 'GET' ? urlOf(req.url ?? '/') : (req.url ?? '/'),
        // graphql-sse recognises a stream request by this exact Accept (http.ts routes only those here).
        headers: { get: (key) => (key === 'accept' ? 'text/event-stream' : header(req, key)) },
        body: bodyOf(body),
        raw: req,
        context: { caller: anonymous, address, requestId },
      }),
    );
    if (answer !== null && typeof answer !== 'string' && closing) {
      // The server began stopping while this operation started: it ends here (its subscription too).
      void answer.return(undefined);
      [answer, init] = unavailable();
    }
    if (answer === null || typeof answer === 'string') {
      res.writeHead(init.status, init.headers);
      return void res.end(answer ?? undefined);
    }
    const events = answer;
    stream.end = () => void events.return(undefined);
    res.once('close', stream.end);
    // Through proxies (nginx) too, each event as it comes.
    res.writeHead(init.status, { ...init.headers, 'x-accel-buffering': 'no' });
    try {
      for await (const event of events) {
        if (res.destroyed || !res.writable) break;
        res.write(event);
        if (res.writableLength > MAX_BUFFERED_BYTES) {
          log.info({ requestId }, 'SSE stream dropped: the client is not reading');
          res.destroy();
          break;
        }
      }
    } finally {
      res.off('close', stream.end);
      await events.return(undefined);
      if (!res.destroyed) res.end();
    }
  }

  const unavailable = (): SseResponse => json(503, [{ message: 'The server is stopping: try again', extensions: { code: 'SERVICE_UNAVAILABLE' } }], { 'retry-after': '1' });

  return {
    /** Serves one graphql-sse request; `body` is the parsed JSON body (a string if not JSON, undefined for GET). */
    handle: async (req: IncomingMessage, res: ServerResponse, body: unknown): Promise<void> => {
      const send = ([answer, init]: SseResponse) => {
        res.writeHead(init.status, init.headers);
        res.end(answer);
      };
      if (closing) return send(unavailable());
      if (!wantsEventStream(req)) {
        return send(json(406, [{ message: 'Send Accept: text/event-stream (graphql-sse, distinct connections mode)', extensions: { code: 'BAD_REQUEST' } }]));
      }
      const address = gate.addressOf(req);
      const open = perAddress.get(address) ?? 0;
      if (open >= maxStreamsPerAddress) {
        return send(json(429, [{ message: `At most ${maxStreamsPerAddress} event streams at once from one address`, extensions: { code: 'LIMIT_EXCEEDED', limit: maxStreamsPerAddress } }]));
      }
      perAddress.set(address, open + 1);
      const stream: { end?: () => void } = {};
      const served = serve(req, res, body, address, stream).finally(() => {
        serving.delete(served);
        const count = (perAddress.get(address) ?? 1) - 1;
        if (count) perAddress.set(address, count);
        else perAddress.delete(address);
      });
      serving.set(served, stream);
      return served;
    },
    /**
     * Ends every open event stream (the server is stopping) and refuses new ones. A stream ends without a
     * `complete`: its client sees the connection go, as a WebSocket client sees 1001, and may retry elsewhere.
     */
    close: async (): Promise<void> => {
      closing = true;
      for (const stream of serving.values()) stream.end?.();
      await Promise.allSettled(serving.keys());
    },
    /** How many event streams are open. */
    open: () => serving.size,
  };
}
