import { connect } from 'node:net';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { databaseUrl } from './helpers/services.js';
import { codes, modes, ok, startTestServer, closeCodeAfterInit, wsErrorCodes, wsQuery, type TestServer } from './helpers/harness.js';
import { JOIN_WAITLIST } from './helpers/waitlist.js';
import { createOnSaleEvent, HOLD_SEATS } from './helpers/write-path.js';

describe.each(modes)('server (%s)', (mode) => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer(mode);
  });
  afterAll(() => server?.stop());

  it('answers liveness and readiness, naming the checks', async () => {
    const health = await fetch(server.url.replace('/graphql', '/healthz'));
    expect(health.status).toBe(200);
    const ready = await fetch(server.url.replace('/graphql', '/readyz'));
    expect(ready.status).toBe(200);
    expect(await ready.json()).toEqual({ status: 'ready', database: 'ok', pubsub: 'ok' });
  });

  it('serves Prometheus metrics', async () => {
    await server.gql('{ __typename }');
    const metrics = await (await fetch(server.url.replace('/graphql', '/metrics'))).text();
    expect(metrics).toContain('onsale_http_request_duration_seconds_count{route="/graphql",status="200"}');
    expect(metrics).toContain('process_cpu_seconds_total');
  });

  it('counts operations by root field and outcome, and reads seats, waitlists, outbox, pool and sockets at each scrape', async () => {
    const event = await createOnSaleEvent(server, [{ name: 'Metered', price: 100, rows: 1, seatsPerRow: 2 }]);
    const [alice, bob] = await Promise.all([server.token('metrics-alice'), server.token('metrics-bob')]);
    ok(await server.gql(HOLD_SEATS, { input: { eventId: event.id, seatIds: [event.seatId(0), event.seatId(1)] } }, alice));
    expect(codes(await server.gql(HOLD_SEATS, { input: { eventId: event.id, seatIds: [event.seatId(0)] } }, bob))).toEqual(['SEAT_UNAVAILABLE']);
    ok(await server.gql(JOIN_WAITLIST, { input: { eventId: event.id, quantity: 1 } }, bob));
    const client = server.ws();
    await wsQuery(client, '{ __typename }');
    const metrics = await (await fetch(server.url.replace('/graphql', '/metrics'))).text();
    expect(metrics).toMatch(/onsale_graphql_operation_duration_seconds_count\{operation="holdSeats",outcome="OK"\} [1-9]/);
    expect(metrics).toMatch(/onsale_graphql_operation_duration_seconds_count\{operation="holdSeats",outcome="SEAT_UNAVAILABLE"\} [1-9]/);
    expect(metrics).toContain(`onsale_event_seats{event="${event.eventId}",status="held"} 2`);
    expect(metrics).toContain(`onsale_event_seats{event="${event.eventId}",status="available"} 0`);
    expect(metrics).toContain(`onsale_waitlist_entries{event="${event.eventId}",state="WAITING"} 1`);
    expect(metrics).toMatch(/onsale_outbox_lag_seconds \d/);
    expect(metrics).toMatch(/onsale_websocket_connections [1-9]/);
    expect(metrics).toContain('onsale_database_gauges 1');
    if (mode === 'postgres') expect(metrics).toMatch(/onsale_db_pool_clients\{state="total"\} [1-9]/);
  });

  it('serves the Apollo Sandbox landing page to browsers outside production', async () => {
    const response = await fetch(server.url, { headers: { accept: 'text/html' } });
    expect(response.status).toBe(200);
    expect(await response.text()).toContain('sandbox');
  });

  it('answers queries over GET with a preflight header, and refuses CSRF-able GETs', async () => {
    const url = `${server.url}?query=${encodeURIComponent('{ events(first: 1) { totalCount } }')}`;
    const guarded = await fetch(url, { headers: { 'apollo-require-preflight': 'true' } });
    expect(guarded.status).toBe(200);
    expect(((await guarded.json()) as any).data.events.totalCount).toBeGreaterThan(50);
    expect((await fetch(url)).status).toBe(400);
  });

  it('echoes a request id and logs it with the operation', async () => {
    const response = await fetch(server.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-request-id': 'req-abc-123' },
      body: JSON.stringify({ query: 'query Ping { __typename }' }),
    });
    expect(response.headers.get('x-request-id')).toBe('req-abc-123');
    expect(server.logs.some((line) => line.requestId === 'req-abc-123' && line.operationName === 'Ping')).toBe(true);
    const generated = await fetch(server.url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"query":"{__typename}"}' });
    expect(generated.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('answers a malformed request line with 400 and keeps serving', async () => {
    const { port } = new URL(server.url);
    const reply = await new Promise<string>((resolve, reject) => {
      const socket = connect(Number(port), '127.0.0.1', () => socket.write('GET http://[ HTTP/1.1\r\nHost: x\r\n\r\n'));
      let data = '';
      socket.on('data', (chunk) => (data += chunk));
      socket.on('end', () => resolve(data));
      socket.on('error', reject);
      socket.setTimeout(5_000, () => socket.end());
    });
    expect(reply).toMatch(/^HTTP\/1\.1 400/);
    expect(ok(await server.gql('{ __typename }'))).toEqual({ __typename: 'Query' });
  });

  it('refuses bodies over 1 MiB (413) and malformed JSON (400)', async () => {
    const big = await fetch(server.url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: 'x'.repeat(1024 * 1024 + 1) });
    expect(big.status).toBe(413);
    const bad = await fetch(server.url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"query":' });
    expect(bad.status).toBe(400);
  });

  it('runs operations over graphql-ws on the same port and path, as the caller of connection_init', async () => {
    const anonymous = await wsQuery(server.ws(), '{ viewer { id } events(first: 2) { totalCount } }');
    expect(anonymous.data.viewer).toBeNull();
    expect(anonymous.data.events.totalCount).toBeGreaterThan(50);
    const token = await server.token('fan-ws');
    const signedIn = await wsQuery(server.ws({ authorization: `Bearer ${token}` }), '{ viewer { id } }');
    expect(signedIn.data.viewer).toEqual({ id: 'fan-ws' });
  });

  it('answers a subscription sent over HTTP (application/json) with BAD_REQUEST, pointing at WebSocket', async () => {
    const response = await server.gql('subscription { seatMapChanged(eventId: "evt_1") { version } }');
    // GraphQL over HTTP: 200 for a request error under application/json (DECISIONS §38).
    expect(response.status).toBe(200);
    expect(codes(response)).toEqual(['BAD_REQUEST']);
    expect(response.errors![0]!.message).toMatch(/WebSocket/);
  });

  it('closes a WebSocket with 4403 when connection_init carries bad credentials', async () => {
    expect(await closeCodeAfterInit(server.url, { authorization: 'Bearer forged' })).toBe(4403);
    expect(await closeCodeAfterInit(server.url, { apiKey: 'unknown-key' })).toBe(4403);
  });

  it('gives WebSocket clients the error codes HTTP clients get', async () => {
    const client = server.ws();
    expect(await wsErrorCodes(client, '{ event(id: "bogus") { id } }')).toEqual(['BAD_USER_INPUT']);
    expect(await wsErrorCodes(client, '{ evnts { totalCount } }')).toEqual(['GRAPHQL_VALIDATION_FAILED']);
    expect(await wsErrorCodes(client, '{ events(')).toEqual(['GRAPHQL_PARSE_FAILED']);
    expect(await wsErrorCodes(client, 'query($n: Int) { events(first: $n) { totalCount } }', { n: 'x' })).toEqual(['BAD_USER_INPUT']);
    expect(await wsErrorCodes(client, 'query($id: ID!) { event(id: $id) { id } }')).toEqual(['BAD_USER_INPUT']);
    expect(await wsErrorCodes(client, 'query A { viewer { id } } query B { viewer { id } }')).toEqual(['BAD_REQUEST']);
    expect(server.logs.filter((line) => line.msg === 'internal error')).toEqual([]);
  });
});

describe('server faults and shutdown (postgres)', () => {
  it('masks internal errors for clients and logs them with detail for operators', async () => {
    const server = await startTestServer('postgres');
    try {
      await server.app.services.db.query('DROP VIEW event_rows');
      const response = await fetch(server.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-request-id': 'req-fault' },
        body: JSON.stringify({ query: '{ events(first: 1) { totalCount } }' }),
      });
      const body = (await response.json()) as any;
      expect(body.errors).toEqual([
        { message: 'Internal server error', locations: [{ line: 1, column: 3 }], path: ['events'], extensions: { code: 'INTERNAL_SERVER_ERROR' } },
      ]);
      const logged = server.logs.find((line) => line.requestId === 'req-fault' && line.level === 50);
      expect(logged?.err?.message).toContain('event_rows');
    } finally {
      await server.stop();
    }
  });

  it('turns off introspection and the landing page in production', async () => {
    const server = await startTestServer('postgres', {
      NODE_ENV: 'production', JWT_SECRET: 'p'.repeat(40), PAYMENT_WEBHOOK_SECRET: 'w'.repeat(20), PAYMENT_PROVIDER: 'test',
    });
    try {
      const response = await server.gql('{ __schema { types { name } } }');
      expect(codes(response)).toEqual(['GRAPHQL_VALIDATION_FAILED']);
      const overWebSocket = await wsErrorCodes(server.ws(), '{ __schema { types { name } } }');
      expect(new Set(overWebSocket)).toEqual(new Set(['GRAPHQL_VALIDATION_FAILED']));
      const page = await fetch(server.url, { headers: { accept: 'text/html' } });
      expect(await page.text()).not.toContain('sandbox');
      expect(ok(await server.gql('{ events(first: 1) { totalCount } }')).events.totalCount).toBeGreaterThan(50);
    } finally {
      await server.stop();
    }
  });

  it('drains on stop: in-flight requests finish, new ones are refused, sockets close with 1001', async () => {
    const server = await startTestServer('postgres');
    const database = new URL(server.app.services.config.databaseUrl!).pathname.slice(1);
    const locker = new pg.Client({ connectionString: databaseUrl(database) });
    await locker.connect();
    try {
      // An exclusive lock makes the next read wait in Postgres: a request that is provably in flight.
      await locker.query('BEGIN');
      await locker.query('LOCK TABLE events IN ACCESS EXCLUSIVE MODE');
      const socket = new WebSocket(server.url.replace('http', 'ws'), 'graphql-transport-ws');
      const socketClosed = new Promise<number>((resolve) => socket.on('close', (code) => resolve(code)));
      await new Promise<void>((resolve) => {
        socket.on('open', () => socket.send(JSON.stringify({ type: 'connection_init' })));
        socket.once('message', () => resolve());
      });
      const inFlight = server.gql('{ event(id: "evt_1") { title } }');
      await waitFor(async () => {
        // pg_locks is the whole cluster's: only a wait in this server's database is this request's.
        const { rows } = await locker.query(
          `SELECT count(*)::int AS n FROM pg_locks WHERE NOT granted AND database = (SELECT oid FROM pg_database WHERE datname = current_database())`,
        );
        return rows[0].n > 0;
      });
      const stopped = server.app.stop();
      await waitFor(async () => (await fetch(server.url).then(() => false, () => true)));
      await locker.query('COMMIT');
      const response = await inFlight;
      expect(response.status).toBe(200);
      expect(ok(response).event.title).toBeTruthy();
      await stopped;
      expect(await socketClosed).toBe(1001);
    } finally {
      await locker.end();
      await server.stop();
    }
  });
});

/** Polls `condition` until it holds, at most 5 s. */
async function waitFor(condition: () => Promise<boolean>): Promise<void> {
  for (let i = 0; i < 250; i++) {
    if (await condition()) return;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  throw new Error('condition not met within 5 s');
}
