import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { ApolloServer, HeaderMap } from '@apollo/server';
import type { GraphQLSchema } from 'graphql';
import { receivePaymentWebhook } from '../domain/booking/booking.service.js';
import { DomainError } from '../domain/errors.js';
import { encodingOf, sendEncoded, varyOnEncoding } from './compression.js';
import { createContext, type Context, type Services } from './context.js';
import type { Caller } from '../domain/caller.js';
import { createGate, statusOf } from './edge/gate.js';
import { createResponseCache, matchesEtag, type CachedResponse } from './edge/response-cache.js';
import { formatError, toHttpGraphQLError } from './errors.js';
import { createInFlight } from './inflight.js';
import type { Metrics } from './metrics.js';
import { apolloPlugins, singleResultType } from './plugins.js';
import { createSseHandler } from './sse.js';
import { attachWebSocketServer } from './websocket.js';

const MAX_BODY_BYTES = 1024 * 1024;
const requestIdPattern = /^[\w.:-]{1,100}$/;
const routes = new Set(['/graphql', '/graphql/stream', '/healthz', '/readyz', '/metrics', '/webhooks/payments']);

class HttpError extends Error {
  constructor(readonly status: number, message: string) {
    super(message);
  }
}

/** An edge refusal outside Apollo (a cached read over its budget): answered as Apollo answers it. */
class RefusedError extends Error {
  constructor(readonly error: DomainError) {
    super(error.message);
  }
}

function send(res: ServerResponse, status: number, body: unknown, contentType = 'application/json') {
  res.statusCode = status;
  res.setHeader('content-type', contentType);
  res.end(typeof body === 'string' ? body : JSON.stringify(body));
}

/** A refusal of the edge's (RATE_LIMITED): its status, Retry-After, and the error as Apollo formats it. */
function refuse(res: ServerResponse, error: DomainError) {
  const retryAfter = error.extensions.retryAfterSeconds;
  if (typeof retryAfter === 'number') res.setHeader('retry-after', String(retryAfter));
  send(res, statusOf(error), { errors: [{ message: error.message, extensions: { ...error.extensions, code: error.code } }] });
}

function parseUrl(raw: string | undefined): URL {
  try {
    return new URL(raw ?? '/', 'http://localhost');
  } catch {
    throw new HttpError(400, 'malformed request URL');
  }
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_BODY_BYTES) throw new HttpError(413, `request body larger than ${MAX_BODY_BYTES} bytes`);
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
}

async function parseBody(req: IncomingMessage): Promise<unknown> {
  if (req.method !== 'POST') return undefined;
  const text = await readBody(req);
  if (!/^application\/(graphql-response\+)?json\b/i.test(req.headers['content-type'] ?? '')) return text;
  try {
    return JSON.parse(text);
  } catch {
    throw new HttpError(400, 'request body is not valid JSON');
  }
}

/**
 * On every response: no MIME sniffing, no framing, no referrer leaks; in production (behind TLS) HSTS and a
 * content policy that allows nothing (there is no landing page there: every response is data).
 */
const securityHeaders: [string, string][] = [
  ['x-content-type-options', 'nosniff'],
  ['x-frame-options', 'DENY'],
  ['referrer-policy', 'no-referrer'],
  ...(process.env.NODE_ENV === 'production'
    ? ([
        ['strict-transport-security', 'max-age=31536000; includeSubDomains'],
        ['content-security-policy', "default-src 'none'; frame-ancestors 'none'"],
      ] as [string, string][])
    : []),
];

/** CORS for an allowed browser origin (the gate decides which): what its pages may send and read. */
const corsHeaders = (origin: string): [string, string][] => [
  ['access-control-allow-origin', origin],
  ['vary', 'Origin'],
  ['access-control-allow-methods', 'GET, POST, OPTIONS'],
  ['access-control-allow-headers', 'content-type, authorization, x-api-key, apollo-require-preflight, x-apollo-operation-name, apollographql-client-name, apollographql-client-version, x-request-id'],
  ['access-control-expose-headers', 'retry-after, x-request-id, etag, x-cache'],
  ['access-control-max-age', '600'],
];

/**
 * The GraphQL-over-HTTP persisted documents proposal's `documentId` (`sha256:<hex>`), as Apollo's own APQ
 * extension, which Apollo Server understands: a query string (GET) or a JSON body (POST).
 */
/** `documentId` (API.md, Persisted operations) spelled as the APQ extension that Apollo and the gate understand. */
const persistedQueryOf = (documentId: string) => ({ persistedQuery: { version: 1, sha256Hash: documentId.replace(/^sha256:/, '') } });

function searchWithDocumentId(search: URLSearchParams): string {
  const id = search.get('documentId');
  if (id !== null && !search.has('extensions')) {
    search.delete('documentId');
    search.set('extensions', JSON.stringify(persistedQueryOf(id)));
  }
  return search.size ? `?${search}` : '';
}

function bodyWithDocumentId(input: unknown): unknown {
  const body = input as { documentId?: unknown; extensions?: Record<string, unknown> } | undefined;
  if (typeof body !== 'object' || body === null || typeof body.documentId !== 'string' || body.extensions?.persistedQuery) return input;
  const { documentId, ...rest } = body;
  return { ...rest, extensions: { ...body.extensions, ...persistedQueryOf(documentId) } };
}

/** Any of these proves a request is not a cross-site simple request (CSRF prevention; Apollo's rule as configured below). */
const PREFLIGHT_HEADERS = ['x-apollo-operation-name', 'apollo-require-preflight', 'authorization', 'x-api-key'];
const SIMPLE_TYPES = new Set(['', 'application/x-www-form-urlencoded', 'multipart/form-data', 'text/plain']);
const preflighted = (req: IncomingMessage) =>
  PREFLIGHT_HEADERS.some((name) => req.headers[name] !== undefined) ||
  (req.headers['content-type'] !== undefined && !SIMPLE_TYPES.has(req.headers['content-type'].split(';')[0]!.trim().toLowerCase()));

/**
 * A client asking for a fresh response (`Cache-Control: no-cache`, `max-age=0`, `Pragma: no-cache`) gets one built
 * for it. Not a revalidation (If-None-Match): fetch() adds `no-cache` to every conditional request, and the
 * cache's entries are checked against the seat-map versions they show, which is what revalidating means.
 */
const wantsFresh = (req: IncomingMessage) =>
  req.headers['if-none-match'] === undefined &&
  (/\b(no-cache|no-store|max-age=0)\b/i.test(req.headers['cache-control'] ?? '') || /\bno-cache\b/i.test(String(req.headers.pragma ?? '')));

/** A cached response (`X-Cache: HIT`, or MISS when it was built for this request), or 304 when the client's copy is current. */
function sendCached(req: IncomingMessage, res: ServerResponse, entry: CachedResponse, hit: boolean) {
  res.setHeader('x-cache', hit ? 'HIT' : 'MISS');
  res.setHeader('etag', entry.etag);
  res.setHeader('cache-control', entry.cacheControl);
  res.setHeader('age', Math.floor((Date.now() - entry.storedAt) / 1000));
  varyOnEncoding(res);
  if (matchesEtag(req.headers['if-none-match'], entry.etag)) {
    res.statusCode = 304;
    return void res.end();
  }
  const encoding = encodingOf(req);
  const body = entry.bodies[encoding] ?? entry.bodies.identity;
  res.statusCode = 200;
  res.setHeader('content-type', entry.contentType);
  if (body !== entry.bodies.identity) res.setHeader('content-encoding', encoding);
  res.setHeader('content-length', body.length);
  res.end(body);
}

/** graphql-sse's requests on /graphql: those that ask for an event stream (the rest are Apollo's). */
const wantsEventStream = (req: IncomingMessage) => /\btext\/event-stream\b/i.test(req.headers.accept ?? '');

/** The parts of a running server that the app starts and stops. */
export interface HttpParts {
  httpServer: Server;
  apollo: ApolloServer<Context>;
  /** Closes every WebSocket with 1001 (going away) and stops accepting new ones. */
  closeWebSockets: () => Promise<void>;
  /** Marks the server as draining: /readyz answers 503 so that load balancers stop sending traffic. */
  setDraining: () => void;
  /** Resolves once no GraphQL operation is executing, including those whose client has hung up. */
  idle: () => Promise<void>;
  /** Closes the gateway edge's Redis connection (APQ, rate budgets): once nothing runs any more. */
  closeEdge: () => Promise<void>;
  /** Resolves once the edge is ready to count budgets where every instance does (see Gate.ready). */
  edgeReady: () => Promise<void>;
}

/**
 * Apollo Server (HTTP) and graphql-ws (WebSocket) on one `http.Server`, one port, one path (`/graphql`), plus
 * the operational routes: /healthz, /readyz and /metrics.
 */
export function createHttpServer(services: Services, schema: GraphQLSchema, metrics: Metrics, redisPrefix?: string): HttpParts {
  const { config, log } = services;
  let draining = false;
  // Apollo's drain follows sockets; an operation whose client hung up has no socket but may still be running,
  // and must finish before the pools close. WebSocket operations are counted too.
  const inFlight = createInFlight();
  const gate = createGate(services, schema, redisPrefix);
  const httpServer = createServer((req, res) => {
    const started = performance.now();
    const header = req.headers['x-request-id'];
    const requestId = typeof header === 'string' && requestIdPattern.test(header) ? header : randomUUID();
    res.setHeader('x-request-id', requestId);
    for (const [name, value] of securityHeaders) res.setHeader(name, value);
    let route = 'other';
    res.on('finish', () => {
      metrics.httpRequests.observe({ route, status: res.statusCode }, (performance.now() - started) / 1000);
    });
    // Everything that can throw, URL parsing included, runs inside the promise: a malformed request answers
    // 400 or 500 and never reaches the process as an uncaught exception.
    const handled = (async () => {
      const url = parseUrl(req.url);
      if (routes.has(url.pathname)) route = url.pathname;
      await handle(req, res, url, requestId);
    })();
    handled.catch((error: unknown) => {
      if (error instanceof HttpError) return send(res, error.status, { errors: [{ message: error.message, extensions: { code: 'BAD_REQUEST' } }] });
      if (error instanceof RefusedError) return refuse(res, error.error);
      log.error({ err: error, requestId }, 'request failed');
      if (!res.headersSent) send(res, 500, { errors: [{ message: 'Internal server error', extensions: { code: 'INTERNAL_SERVER_ERROR' } }] });
      else res.destroy();
    });
  });

  const apollo = new ApolloServer<Context>({
    schema,
    introspection: !config.production,
    // server/index.ts owns SIGTERM/SIGINT and stops everything in order; Apollo's own handlers would race it.
    stopOnTerminationSignals: false,
    includeStacktraceInErrorResponses: false,
    formatError,
    // Limits, APQ (shared through Redis) and field suggestions: the gate's, as for WebSocket and SSE.
    ...gate.apolloOptions,
    // One operation per request: a batch would multiply every limit by its length.
    allowBatchedHttpRequests: false,
    // Any header that a browser cannot send cross-site without a preflight proves the request is not CSRF.
    csrfPrevention: { requestHeaders: PREFLIGHT_HEADERS },
    plugins: apolloPlugins({
      httpServer,
      gate: gate.apolloPlugin,
      production: config.production,
      metrics,
      // Leave time within the shutdown budget to close pools after in-flight requests finish.
      stopGracePeriodMillis: Math.max(0, config.shutdownTimeoutMs - 2_000),
    }),
  });

  async function readiness(): Promise<Record<string, string>> {
    const check = (probe: Promise<unknown>) =>
      Promise.race([probe, new Promise((_, reject) => setTimeout(() => reject(new Error('timed out')), 2_000).unref())])
        .then(() => 'ok')
        .catch((error: Error) => error.message);
    const [database, pubsub] = await Promise.all([check(services.db.query('SELECT 1')), check(services.pubsub.ping())]);
    return { database, pubsub };
  }

  async function handle(req: IncomingMessage, res: ServerResponse, url: URL, requestId: string) {
    if (url.pathname === '/graphql' || url.pathname === '/graphql/stream') {
      const origin = req.headers.origin;
      if (!gate.originAllowed(origin, req.headers.host)) return send(res, 403, { errors: [{ message: 'Origin not allowed', extensions: { code: 'FORBIDDEN' } }] });
      if (origin !== undefined) for (const [name, value] of corsHeaders(origin)) res.setHeader(name, value);
      if (req.method === 'OPTIONS') return send(res, 204, '');
    }
    switch (url.pathname) {
      case '/healthz':
        return send(res, 200, { status: 'ok' });
      case '/readyz': {
        const checks = await readiness();
        const ready = !draining && Object.values(checks).every((status) => status === 'ok');
        return send(res, ready ? 200 : 503, { status: draining ? 'draining' : ready ? 'ready' : 'unavailable', ...checks });
      }
      case '/metrics':
        return send(res, 200, await metrics.registry.metrics(), metrics.registry.contentType);
      case '/graphql':
        if (wantsEventStream(req)) return sse.handle(req, res, await parseBody(req));
        return inFlight.track(() => graphql(req, res, url, requestId));
      case '/graphql/stream':
        return sse.handle(req, res, await parseBody(req));
      case '/webhooks/payments': {
        if (req.method !== 'POST') return send(res, 405, { error: 'POST a signed payment event' });
        const header = req.headers['onsale-signature'];
        const signature = typeof header === 'string' ? header : undefined;
        const rawBody = await readBody(req);
        const answer = await inFlight.track(() => receivePaymentWebhook(services, signature, rawBody, Date.now() / 1000));
        if (answer.status !== 200) log.warn({ requestId, error: answer.body.error }, 'payment webhook refused');
        return send(res, answer.status, answer.body);
      }
      default:
        return send(res, 404, { error: `no route ${url.pathname}` });
    }
  }

  const responses = createResponseCache(gate.redis, redisPrefix ?? 'onsale:', async (eventId) => (await services.eventBatcher.load(eventId))?.seatMapVersion);

  /**
   * A GraphQL request through Apollo, or (GET) from the response cache when the same public response is fresh there:
   * the caller is authenticated and charged a read either way; resellers (trusted documents) always run.
   */
  async function graphql(req: IncomingMessage, res: ServerResponse, url: URL, requestId: string) {
    const search = searchWithDocumentId(url.searchParams);
    const body = bodyWithDocumentId(await parseBody(req));
    const credentials = { authorization: req.headers.authorization, apiKey: req.headers['x-api-key'] };
    const address = gate.addressOf(req);
    // Bad credentials are Apollo's to answer (401), below.
    const caller: Caller | undefined = await gate.callerOf(credentials).catch(() => undefined);
    const mediaType = singleResultType(req.headers.accept);
    // GET only: it is the cacheable form (and never a mutation, which Apollo refuses over GET).
    const key =
      req.method === 'GET' && caller && caller.kind !== 'reseller' && mediaType && preflighted(req)
        ? responses.keyOf({ ...Object.fromEntries(new URLSearchParams(search)), mediaType })
        : undefined;
    const fresh = wantsFresh(req);
    if (key && !fresh) {
      let entry = await responses.get(key);
      const running = entry ? undefined : responses.settled(key);
      if (running) entry = (await running, await responses.get(key));
      if (entry) {
        await gate.chargeRead({ caller: caller!, address }).catch((error: unknown) => {
          throw error instanceof DomainError ? new RefusedError(error) : error;
        });
        return sendCached(req, res, entry, true);
      }
    }

    const headers = new HeaderMap();
    for (const [name, value] of Object.entries(req.headers)) {
      if (value !== undefined) headers.set(name, Array.isArray(value) ? value.join(', ') : value);
    }
    let context: Context | undefined;
    const done = key && !fresh ? responses.running(key) : undefined;
    try {
      const response = await apollo.executeHTTPGraphQLRequest({
        httpGraphQLRequest: { method: req.method!.toUpperCase(), headers, search, body },
        context: async () => {
          try {
            return (context = createContext(services, caller ?? (await gate.callerOf(credentials)), requestId, address));
          } catch (error) {
            throw error instanceof DomainError ? toHttpGraphQLError(error, 401) : error;
          }
        },
      });
      for (const [name, value] of response.headers) res.setHeader(name, value);
      res.statusCode = response.status ?? 200;
      if (response.body.kind === 'chunked') {
        for await (const chunk of response.body.asyncIterator) res.write(chunk);
        return void res.end();
      }
      const stored =
        // A client that asked for a fresh response gets it as it is: storing it would encode it in every coding.
        key && !fresh && context && res.statusCode === 200
          ? await responses.put(key, { body: response.body.string, cacheControl: response.headers.get('cache-control'), contentType: response.headers.get('content-type') }, context.seatMapReads)
          : undefined;
      if (stored) return sendCached(req, res, stored, false);
      await sendEncoded(req, res, response.body.string);
    } finally {
      done?.();
    }
  }

  const sse = createSseHandler(services, schema, inFlight, gate);
  const webSockets = attachWebSocketServer(httpServer, services, schema, inFlight, gate);
  Object.assign(metrics.sources, { db: services.db, webSockets: webSockets.open, sseStreams: sse.open, listens: () => services.pubsub.listening() });

  return {
    httpServer,
    apollo,
    closeWebSockets: () => Promise.all([webSockets.close(), sse.close()]).then(() => undefined),
    setDraining: () => void (draining = true),
    closeEdge: gate.close,
    edgeReady: gate.ready,
    idle: inFlight.idle,
  };
}
