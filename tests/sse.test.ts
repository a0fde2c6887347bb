// GraphQL over Server-Sent Events (graphql-sse, distinct connections mode) on /graphql/stream and on /graphql
// with Accept: text/event-stream, in both modes, through graphql-sse's own client: subscriptions that see a
// committed change, queries, the graphql-ws transport's credentials and error codes, the Origin rule, the
// per-address stream limit, a client that goes away, and a server that stops.
import { createClient, NetworkError, type Client, type ExecutionResult } from 'graphql-sse';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { modes, ok, startTestServer, type TestServer } from './helpers/harness.js';
import { eventually } from './helpers/realtime.js';
import { testRedis } from './helpers/services.js';
import { createOnSaleEvent, HOLD_SEATS, RELEASE } from './helpers/write-path.js';

const HOLD_UPDATED = `subscription($id: ID!) { holdUpdated(id: $id) { id status } }`;
const SEAT_MAP_CHANGED = `subscription($eventId: ID!) { seatMapChanged(eventId: $eventId) { eventId version changes { seatId status } } }`;
const EVENT = `query($id: ID!) { event(id: $id) { id title } }`;
/** Depth 5 (events › edges › node › seatMap › sections): over a QUERY_MAX_DEPTH of 3. */
const DEEP = `{ events(first: 1) { edges { node { seatMap { sections { id } } } } } }`;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** `server.url` (…/graphql) with another path. */
const at = (server: TestServer, path: string) => server.url.replace(/\/graphql$/, path);

const clients = new Set<Client>();
afterEach(() => {
  for (const client of clients) client.dispose();
  clients.clear();
});

/** A graphql-sse client in distinct connections mode that never retries. */
function sse(server: TestServer, headers: Record<string, string> = {}, path = '/graphql/stream'): Client {
  const client = createClient({ url: at(server, path), headers, singleConnection: false, retryAttempts: 0 });
  clients.add(client);
  return client;
}

const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

/** One operation's stream as it goes: its results, its error (the client's), whether it ended. */
interface Run<T> {
  results: ExecutionResult<T, unknown>[];
  error?: unknown;
  completed: boolean;
  /** Set once the server has answered 200 and the stream is open. */
  connected: boolean;
  /** Resolves once `condition` holds; rejects after `ms`. */
  until(condition: (run: Run<T>) => boolean, what: string, ms?: number): Promise<void>;
  stop(): void;
}

function run<T = Record<string, any>>(client: Client, query: string, variables?: Record<string, unknown>): Run<T> {
  const listeners = new Set<() => void>();
  const notify = () => listeners.forEach((listener) => listener());
  const state: Run<T> = {
    results: [],
    completed: false,
    connected: false,
    until(condition, what, ms = 10_000) {
      return new Promise((resolve, reject) => {
        const check = () => {
          if (!condition(state)) return;
          clearTimeout(timer);
          listeners.delete(check);
          resolve();
        };
        const timer = setTimeout(() => {
          listeners.delete(check);
          reject(new Error(`${what}: not within ${ms} ms; got ${JSON.stringify(state.results)}, error ${String(state.error)}, completed ${state.completed}`));
        }, ms);
        listeners.add(check);
        check();
      });
    },
    stop: () => {},
  };
  state.stop = client.subscribe<T>(
    { query, variables },
    {
      next: (result) => {
        state.results.push(result);
        notify();
      },
      error: (error) => {
        state.error = error;
        notify();
      },
      complete: () => {
        state.completed = true;
        notify();
      },
    },
    { connected: () => ((state.connected = true), notify()) },
  );
  return state;
}

/** The single result of an operation that completes (a query, a refused operation). */
async function single<T = Record<string, any>>(client: Client, query: string, variables?: Record<string, unknown>): Promise<ExecutionResult<T, unknown>> {
  const r = run<T>(client, query, variables);
  await r.until((s) => s.completed || s.error !== undefined, 'the operation to end');
  if (r.error !== undefined) throw r.error;
  expect(r.results).toHaveLength(1);
  return r.results[0]!;
}

const codesOf = (result: ExecutionResult<unknown, unknown>) => (result.errors ?? []).map((error) => error.extensions?.code);

/** The refusal a client got for its stream request: the HTTP status and the codes of the JSON body. */
async function refusal(r: Run<unknown>): Promise<{ status: number; codes: unknown[] }> {
  await r.until((s) => s.error !== undefined || s.completed, 'the request to be refused');
  expect(r.error).toBeInstanceOf(NetworkError);
  const response = (r.error as NetworkError<Response>).response!;
  const body = (await response.json()) as { errors: { extensions?: { code?: string } }[] };
  return { status: response.status, codes: body.errors.map((error) => error.extensions?.code) };
}

/**
 * Resolves once the server listens on `topic`: with Redis, once Redis counts its subscriber; in-process, once
 * the instance counts one more listen than `before`.
 */
async function subscribed(server: TestServer, topic: string, before: number): Promise<void> {
  if (!server.redisPrefix) {
    await eventually('a listen on this instance', async () => server.app.services.pubsub.listening(), (n) => n > before);
    return;
  }
  const redis = testRedis();
  try {
    const channel = server.redisPrefix + topic;
    await eventually(`a subscriber on ${channel}`, async () => Number(((await redis.call('PUBSUB', 'NUMSUB', channel)) as [string, number])[1]), (n) => n >= 1);
  } finally {
    redis.disconnect();
  }
}

describe.each(modes)('GraphQL over SSE (%s)', (mode) => {
  let server: TestServer;
  /** QUERY_MAX_DEPTH 3, CORS_ORIGINS https://good.example, at most 2 streams per address. */
  let strict: TestServer;
  beforeAll(async () => {
    [server, strict] = await Promise.all([
      startTestServer(mode, { SEAT_MAP_COALESCE_MS: '20', SWEEP_INTERVAL_MS: '0' }),
      startTestServer(mode, { QUERY_MAX_DEPTH: '3', CORS_ORIGINS: 'https://good.example', WS_MAX_CONNECTIONS_PER_IP: '2' }),
    ]);
  });
  afterAll(() => Promise.all([server?.stop(), strict?.stop()]));

  it('tells the owner of a hold over SSE when it is released (a committed change), then ends the subscription when the client goes', async () => {
    const event = await createOnSaleEvent(server, [{ name: 'Stalls', price: 3_000, rows: 1, seatsPerRow: 6 }]);
    const owner = await server.token('sse-hold-owner');
    const hold = ok(await server.gql(HOLD_SEATS, { input: { eventId: event.id, seatIds: [event.seatId(0)] } }, owner)).holdSeats;
    const before = server.app.services.pubsub.listening();

    const mine = run<{ holdUpdated: { id: string; status: string } }>(sse(server, bearer(owner)), HOLD_UPDATED, { id: hold.id });
    await subscribed(server, `hold.${hold.id.slice(5)}`, before);
    ok(await server.gql(RELEASE, { id: hold.id }, owner));
    await mine.until((s) => s.results.some((r) => r.data?.holdUpdated.status === 'RELEASED'), 'RELEASED');
    expect(mine.results).toEqual([{ data: { holdUpdated: { id: hold.id, status: 'RELEASED' } } }]);
    expect(mine.error).toBeUndefined();

    // The client goes away: the server ends the subscription and its pub/sub listen.
    expect(server.app.services.pubsub.listening()).toBeGreaterThan(before);
    mine.stop();
    await eventually('the listen to end', async () => server.app.services.pubsub.listening(), (n) => n === before);
  });

  it('streams seat-map deltas to an anonymous watcher on /graphql with Accept: text/event-stream', async () => {
    const event = await createOnSaleEvent(server, [{ name: 'Floor', price: 2_000, rows: 2, seatsPerRow: 10 }]);
    type Delta = { seatMapChanged: { eventId: string; version: number; changes: { seatId: string; status: string }[] } };
    const w = run<Delta>(sse(server, {}, '/graphql'), SEAT_MAP_CHANGED, { eventId: event.id });
    await w.until((s) => s.connected, 'the stream to open');
    // The feed starts asynchronously: hold one seat after another until a delta arrives.
    const held: string[] = [];
    for (let ordinal = 0; ordinal < 20 && !w.results.length && w.error === undefined; ordinal++) {
      ok(await server.gql(HOLD_SEATS, { input: { eventId: event.id, seatIds: [event.seatId(ordinal)] } }, await server.token(`sse-poke-${mode}-${ordinal}`)));
      held.push(event.seatId(ordinal));
      await sleep(100);
    }
    await w.until((s) => s.results.length > 0, 'a delta');
    const delta = w.results[0]!;
    expect(delta.errors).toBeUndefined();
    expect(delta.data!.seatMapChanged.eventId).toBe(event.id);
    for (const change of delta.data!.seatMapChanged.changes) {
      expect(held).toContain(change.seatId);
      expect(change.status).toBe('HELD');
    }
    expect(delta.data!.seatMapChanged.changes.length).toBeGreaterThan(0);
    expect(w.completed).toBe(false);
  });

  it('answers a query over SSE with one result, then completes', async () => {
    const event = await createOnSaleEvent(server, [{ name: 'Stalls', price: 3_000, rows: 1, seatsPerRow: 2 }]);
    const result = await single<{ event: { id: string; title: string } }>(sse(server), EVENT, { id: event.id });
    expect(result).toEqual({ data: { event: { id: event.id, title: 'Write Path Test' } } });

    // Spoken as an event stream, on both paths: the same request gets `next` and `complete` events.
    for (const path of ['/graphql', '/graphql/stream']) {
      const response = await fetch(at(server, path), {
        method: 'POST',
        headers: { 'content-type': 'application/json', accept: 'text/event-stream' },
        body: JSON.stringify({ query: EVENT, variables: { id: event.id } }),
      });
      expect(response.status).toBe(200);
      expect(response.headers.get('content-type')).toMatch(/^text\/event-stream/);
      const text = await response.text();
      expect(text).toContain('event: next');
      expect(text).toContain(`"id":"${event.id}"`);
      expect(text).toContain('event: complete');
    }
  });

  it('refuses bad credentials with 401 UNAUTHENTICATED, and judges per-user streams by the caller', async () => {
    const forged = run(sse(server, bearer('not.a.token')), EVENT, { id: 'evt_1' });
    expect(await refusal(forged)).toEqual({ status: 401, codes: ['UNAUTHENTICATED'] });
    expect(forged.results).toEqual([]);

    const badKey = run(sse(server, { 'x-api-key': 'osk_nonsense' }), EVENT, { id: 'evt_1' });
    expect(await refusal(badKey)).toEqual({ status: 401, codes: ['UNAUTHENTICATED'] });

    // Anonymous, a per-user stream answers UNAUTHENTICATED in the stream; another user's hold, FORBIDDEN.
    const event = await createOnSaleEvent(server, [{ name: 'Stalls', price: 3_000, rows: 1, seatsPerRow: 2 }]);
    const hold = ok(await server.gql(HOLD_SEATS, { input: { eventId: event.id, seatIds: [event.seatId(1)] } }, await server.token('sse-owner-2'))).holdSeats;
    expect(codesOf(await single(sse(server), HOLD_UPDATED, { id: hold.id }))).toEqual(['UNAUTHENTICATED']);
    expect(codesOf(await single(sse(server, bearer(await server.token('sse-stranger'))), HOLD_UPDATED, { id: hold.id }))).toEqual(['FORBIDDEN']);
  });

  it('refuses a malformed or invalid document with the codes graphql-ws gives', async () => {
    const client = sse(server);
    expect(codesOf(await single(client, '{ noSuchField }'))).toEqual(['GRAPHQL_VALIDATION_FAILED']);
    expect(codesOf(await single(client, '{'))).toEqual(['GRAPHQL_PARSE_FAILED']);
    expect(codesOf(await single(client, 'query A { __typename } query B { __typename }'))).toEqual(['BAD_REQUEST']);
    expect(codesOf(await single(client, 'query ($id: ID!) { event(id: $id) { id } }', { id: null }))).toEqual(['BAD_USER_INPUT']);
    expect(codesOf(await single(client, SEAT_MAP_CHANGED, { eventId: 'evt_999999' }))).toEqual(['NOT_FOUND']);
  });

  it('refuses an operation deeper than QUERY_MAX_DEPTH with QUERY_TOO_COMPLEX', async () => {
    const client = sse(strict);
    const deep = await single(client, DEEP);
    expect(codesOf(deep)).toEqual(['QUERY_TOO_COMPLEX']);
    expect(deep.data).toBeUndefined();
    // The same operation is fine where the limit is the default.
    expect(codesOf(await single(sse(server), DEEP))).toEqual([]);
  });

  it('refuses a browser page from an origin that is not allowed with 403, and serves an allowed one', async () => {
    const request = (origin: string) =>
      fetch(at(strict, '/graphql/stream'), {
        method: 'POST',
        headers: { 'content-type': 'application/json', accept: 'text/event-stream', origin },
        body: JSON.stringify({ query: '{ __typename }' }),
      });
    const evil = await request('https://evil.example');
    expect(evil.status).toBe(403);
    expect(((await evil.json()) as { errors: { extensions: { code: string } }[] }).errors[0]!.extensions.code).toBe('FORBIDDEN');
    const good = await request('https://good.example');
    expect(good.status).toBe(200);
    expect(good.headers.get('access-control-allow-origin')).toBe('https://good.example');
    expect(await good.text()).toContain('"__typename":"Query"');
  });

  it('allows at most WS_MAX_CONNECTIONS_PER_IP open streams per address: one more is 429 LIMIT_EXCEEDED', async () => {
    // This server allows no deeper operation than 3 (createOnSaleEvent asks for more).
    const admin = await strict.token('admin', true);
    const venue = ok(await strict.gql(`mutation { createVenue(input: { name: "Arena", city: "Town", country: "Land" }) { id } }`, {}, admin)).createVenue.id;
    const now = Date.now();
    const input = {
      venueId: venue, title: 'Limits', performer: 'Band', category: 'concert', startsAt: new Date(now + 86_400_000).toISOString(),
      onSaleAt: new Date(now - 3_600_000).toISOString(), sections: [{ name: 'Stalls', price: 1_000, rows: 1, seatsPerRow: 2 }],
    };
    const eventId = ok(await strict.gql(`mutation($input: CreateEventInput!) { createEvent(input: $input) { id } }`, { input }, admin)).createEvent.id;
    const WATCH = `subscription($eventId: ID!) { seatMapChanged(eventId: $eventId) { version } }`;
    const open = [run(sse(strict), WATCH, { eventId }), run(sse(strict), WATCH, { eventId })];
    await Promise.all(open.map((r) => r.until((s) => s.connected, 'the stream to open')));
    expect(open.map((r) => r.error)).toEqual([undefined, undefined]);
    const third = run(sse(strict), WATCH, { eventId });
    expect(await refusal(third)).toEqual({ status: 429, codes: ['LIMIT_EXCEEDED'] });
    // Once one ends, there is room again.
    open[0]!.stop();
    await eventually('room for a stream', async () => {
      const r = run(sse(strict), '{ __typename }');
      await r.until((s) => s.completed || s.error !== undefined, 'the query to end');
      return r.results[0]?.data?.__typename;
    }, (typename) => typename === 'Query');
    open[1]!.stop();
  });
});

describe.each(modes)('GraphQL over SSE when the server stops (%s)', (mode) => {
  it('ends every open stream at once (the client sees the connection go, not a complete)', async () => {
    const server = await startTestServer(mode, { SHUTDOWN_TIMEOUT_MS: '20000' });
    let stopped = false;
    try {
      const event = await createOnSaleEvent(server, [{ name: 'Stalls', price: 3_000, rows: 1, seatsPerRow: 2 }]);
      const w = run(sse(server), SEAT_MAP_CHANGED, { eventId: event.id });
      await w.until((s) => s.connected, 'the stream to open');
      await sleep(200);
      expect(w.error).toBeUndefined();
      const started = Date.now();
      const stopping = server.stop().then(() => (stopped = true));
      // Well within Apollo's drain grace period (18 s here), after which every connection would be cut anyway.
      await w.until((s) => s.error !== undefined || s.completed, 'the stream to end', 5_000);
      expect(Date.now() - started).toBeLessThan(5_000);
      expect(w.completed).toBe(false);
      expect(w.error).toBeInstanceOf(NetworkError);
      await stopping;
      expect(Date.now() - started).toBeLessThan(8_000);
    } finally {
      if (!stopped) await server.stop();
    }
  });
});
