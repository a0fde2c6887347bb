// Reads at CDN scale: compressed responses, Cache-Control from the schema's hints, ETags and 304s, and the shared
// response cache (Redis across instances, memory in the embedded mode) that never holds a caller's data.
import { randomUUID } from 'node:crypto';
import { request } from 'node:http';
import zlib from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { modes, ok, startTestServer, withPeer, type TestServer } from './helpers/harness.js';
import { createOnSaleEvent, HOLD_SEATS, type TestEvent } from './helpers/write-path.js';

const LAYOUT = `query Layout($id: ID!) { event(id: $id) { seatMap { sections { id name rows { label seats { id number ordinal } } } } } }`;
const LIVE = `query Live($id: ID!) { event(id: $id) { seatMap { version availability } } }`;
const DETAILS = `query Details($id: ID!) { event(id: $id) { title performer startsAt venue { name city } priceRange { min { amount } } } }`;
const STATUS = `query Status($id: ID!) { event(id: $id) { title status availableCount } }`;
const VIEWER = `query Me { viewer { id } }`;
const MIXED = `query Mixed($id: ID!) { viewer { id } event(id: $id) { title } }`;

interface Raw {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  /** The bytes as sent (not decoded). */
  bytes: Buffer;
}

/** A GET of `query` with node:http, which (unlike fetch) leaves the body as it was sent. */
function get(url: string, query: string, variables: Record<string, unknown> = {}, headers: Record<string, string> = {}): Promise<Raw> {
  const target = new URL(url);
  target.searchParams.set('query', query);
  target.searchParams.set('variables', JSON.stringify(variables));
  return new Promise((resolve, reject) => {
    const req = request(target, { headers: { 'apollo-require-preflight': 'true', 'accept-encoding': 'identity', ...headers } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, bytes: Buffer.concat(chunks) }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}

function decoded(raw: Raw): any {
  const coding = raw.headers['content-encoding'];
  const bytes = coding === 'br' ? zlib.brotliDecompressSync(raw.bytes) : coding === 'gzip' ? zlib.gunzipSync(raw.bytes) : raw.bytes;
  return JSON.parse(bytes.toString());
}

/** How many operations Apollo ran (one `graphql` log line each): a cache hit or a 304 runs none. */
const executions = (server: TestServer) => server.logs.filter((line) => line.msg === 'graphql').length;

describe.each(modes)('caching (%s)', (mode) => {
  let server: TestServer;
  let stadium: string;
  let event: TestEvent;

  beforeAll(async () => {
    server = await startTestServer(mode);
    const { rows } = await server.app.services.db.query<{ id: number }>(`SELECT id FROM events ORDER BY capacity DESC, id LIMIT 1`);
    stadium = `evt_${rows[0]!.id}`;
    event = await createOnSaleEvent(server, [{ name: 'Floor', price: 5000, rows: 2, seatsPerRow: 10 }]);
  });
  afterAll(() => server?.stop());

  it('compresses the layout as the client asks (br first), and every coding decodes to the same JSON', async () => {
    const plain = await get(server.url, LAYOUT, { id: stadium });
    expect(plain.status).toBe(200);
    expect(plain.headers['content-encoding']).toBeUndefined();
    const json = JSON.parse(plain.bytes.toString());
    expect(json.data.event.seatMap.sections.flatMap((s: any) => s.rows.flatMap((r: any) => r.seats))).toHaveLength(20_000);
    const sizes: Record<string, number> = { identity: plain.bytes.length };
    for (const [accept, coding] of [['gzip', 'gzip'], ['br', 'br'], ['gzip, deflate, br', 'br'], ['gzip;q=1, br;q=0.5', 'gzip'], ['br;q=0, gzip', 'gzip']]) {
      const raw = await get(server.url, LAYOUT, { id: stadium }, { 'accept-encoding': accept! });
      expect(raw.headers['content-encoding'], accept).toBe(coding);
      expect(String(raw.headers.vary)).toMatch(/Accept-Encoding/);
      expect(decoded(raw)).toEqual(json);
      sizes[coding!] = raw.bytes.length;
    }
    // The budget for the layout on the wire.
    expect(sizes.br).toBeLessThan(150_000);
    expect(sizes.gzip).toBeLessThan(sizes.identity! / 5);
  });

  it('sends identity for codings it does not know, garbage, or a refusal of every coding', async () => {
    for (const accept of ['compress, x-unknown', 'br;q=banana, ;;, gzip;q=', '*;q=0', 'identity;q=0']) {
      const raw = await get(server.url, LAYOUT, { id: stadium }, { 'accept-encoding': accept });
      expect(raw.status, accept).toBe(200);
      if (raw.headers['content-encoding'] === undefined) expect(JSON.parse(raw.bytes.toString()).data.event.seatMap.sections.length).toBeGreaterThan(0);
      else expect(decoded(raw).data.event.seatMap.sections.length).toBeGreaterThan(0);
    }
    expect((await get(server.url, LAYOUT, { id: stadium }, { 'accept-encoding': 'x-unknown' })).headers['content-encoding']).toBeUndefined();
  });

  it('never compresses a tiny response', async () => {
    const raw = await get(server.url, `{ __typename }`, {}, { 'accept-encoding': 'br, gzip' });
    expect(raw.headers['content-encoding']).toBeUndefined();
    expect(JSON.parse(raw.bytes.toString())).toEqual({ data: { __typename: 'Query' } });
  });

  it('says how long each kind of response may be kept, and by whom', async () => {
    const token = await server.token(`fan-${randomUUID()}`);
    const header = async (query: string, auth?: string) =>
      (await get(server.url, query, { id: event.id }, auth ? { authorization: `Bearer ${auth}` } : {})).headers['cache-control'];
    expect(await header(DETAILS)).toBe('max-age=3600, public');
    expect(await header(LAYOUT)).toBe('max-age=3600, public');
    expect(await header(LIVE)).toBe('max-age=1, public');
    expect(await header(STATUS)).toBe('max-age=1, public');
    expect(await header(VIEWER, token)).toBe('no-store');
    expect(await header(MIXED, token)).toBe('no-store');
    expect(await header(`query($id: ID!) { hold(id: $id) { id } }`, token)).toBe('no-store');
    // An error is never cacheable.
    expect(await header(`query($id: ID!) { event(id: $id) { title nope } }`)).toBe('no-store');
  });

  it('revalidates the layout with 304 without running the operation, and its ETag never changes', async () => {
    const first = await get(server.url, LAYOUT, { id: event.id });
    const etag = String(first.headers.etag);
    expect(etag).toMatch(/^W\/"static\./);
    const before = executions(server);
    const revalidated = await get(server.url, LAYOUT, { id: event.id }, { 'if-none-match': etag });
    expect(revalidated.status).toBe(304);
    expect(revalidated.bytes).toHaveLength(0);
    expect(revalidated.headers.etag).toBe(etag);
    expect(revalidated.headers['cache-control']).toBe('max-age=3600, public');
    // A list of tags, one of them ours; weak comparison.
    expect((await get(server.url, LAYOUT, { id: event.id }, { 'if-none-match': `"other", ${etag.slice(2)}` })).status).toBe(304);
    // As fetch() sends a conditional request (it adds no-cache): still a revalidation, answered from the cache.
    const viaFetch = await fetch(`${server.url}?${new URLSearchParams({ query: LAYOUT, variables: JSON.stringify({ id: event.id }) })}`, {
      headers: { 'apollo-require-preflight': 'true', 'if-none-match': etag },
    });
    expect(viaFetch.status).toBe(304);
    expect(executions(server)).toBe(before);
    // A seat changes: the layout is the same layout.
    const fan = await server.token(`fan-${randomUUID()}`);
    ok(await server.gql(HOLD_SEATS, { input: { eventId: event.id, seatIds: [event.seatId(0)] } }, fan));
    expect((await get(server.url, LAYOUT, { id: event.id }, { 'if-none-match': etag })).status).toBe(304);
  });

  it('answers garbage in If-None-Match with the response', async () => {
    for (const garbage of ['garbage', 'W/', '"', ',,,', 'W/"static.', '*x']) {
      const raw = await get(server.url, LAYOUT, { id: event.id }, { 'if-none-match': garbage });
      expect(raw.status, garbage).toBe(200);
      expect(JSON.parse(raw.bytes.toString()).data.event.seatMap.sections).toHaveLength(1);
    }
  });

  it('gives live seat data an ETag of its event and seat-map version: 304 until a seat changes, then 200', async () => {
    const first = await get(server.url, LIVE, { id: event.id });
    const { version } = JSON.parse(first.bytes.toString()).data.event.seatMap;
    const etag = String(first.headers.etag);
    expect(etag).toMatch(new RegExp(`^W/"${event.eventId}\\.${version}\\.`));
    const before = executions(server);
    expect((await get(server.url, LIVE, { id: event.id }, { 'if-none-match': etag })).status).toBe(304);
    expect(executions(server)).toBe(before);

    const fan = await server.token(`fan-${randomUUID()}`);
    ok(await server.gql(HOLD_SEATS, { input: { eventId: event.id, seatIds: [event.seatId(5)] } }, fan));
    const after = await get(server.url, LIVE, { id: event.id }, { 'if-none-match': etag });
    expect(after.status).toBe(200);
    const body = JSON.parse(after.bytes.toString()).data.event.seatMap;
    expect(body.version).toBeGreaterThan(version);
    expect(after.headers.etag).not.toBe(etag);
    expect(after.headers.etag).toMatch(new RegExp(`^W/"${event.eventId}\\.${body.version}\\.`));
    // Seat 5 is held in the bitmap the client now has (bit 7 - 5 of byte 0).
    expect(Buffer.from(body.availability, 'base64')[0]! & (1 << 2)).toBe(0);
  });

  it('serves the same public request from the cache, and a fresh one to a client that asks for it', async () => {
    const miss = await get(server.url, DETAILS, { id: stadium });
    expect(miss.headers['x-cache']).toMatch(/MISS|HIT/);
    const before = executions(server);
    const hit = await get(server.url, DETAILS, { id: stadium });
    expect(hit.headers['x-cache']).toBe('HIT');
    expect(hit.bytes.equals(miss.bytes)).toBe(true);
    expect(Number(hit.headers.age)).toBeGreaterThanOrEqual(0);
    expect(executions(server)).toBe(before);
    const fresh = await get(server.url, DETAILS, { id: stadium }, { 'cache-control': 'no-cache' });
    expect(fresh.headers['x-cache']).toBeUndefined();
    expect(fresh.headers['cache-control']).toBe('max-age=3600, public');
    expect(executions(server)).toBe(before + 1);
    expect(JSON.parse(fresh.bytes.toString())).toEqual(JSON.parse(miss.bytes.toString()));
  });

  it("keeps no caller's data: each caller gets their own over GET, and nothing of theirs is served from the cache", async () => {
    const [a, b] = [`fan-a-${randomUUID()}`, `fan-b-${randomUUID()}`];
    const [tokenA, tokenB] = [await server.token(a), await server.token(b)];
    for (const query of [VIEWER, MIXED]) {
      const asA = await get(server.url, query, { id: event.id }, { authorization: `Bearer ${tokenA}` });
      const asB = await get(server.url, query, { id: event.id }, { authorization: `Bearer ${tokenB}` });
      const anonymous = await get(server.url, query, { id: event.id });
      expect(JSON.parse(asA.bytes.toString()).data.viewer).toEqual({ id: a });
      expect(JSON.parse(asB.bytes.toString()).data.viewer).toEqual({ id: b });
      expect(JSON.parse(anonymous.bytes.toString()).data.viewer).toBeNull();
      for (const raw of [asA, asB, anonymous]) {
        expect(raw.headers['x-cache']).toBeUndefined();
        expect(raw.headers.etag).toBeUndefined();
      }
    }
  });

  it("runs a reseller's request through its trusted documents, never from the cache", async () => {
    const admin = await server.token('ops', true);
    const created = ok(
      await server.gql(`mutation($input: CreateApiKeyInput!) { createApiKey(input: $input) { id key } }`, { input: { name: 'TicketHub', reseller: 'tickethub' } }, admin),
    ).createApiKey;
    expect((await get(server.url, DETAILS, { id: stadium })).headers['x-cache']).toBeDefined();
    expect((await get(server.url, DETAILS, { id: stadium })).headers['x-cache']).toBe('HIT');
    const refused = await get(server.url, DETAILS, { id: stadium }, { 'x-api-key': created.key });
    expect(refused.headers['x-cache']).toBeUndefined();
    expect(JSON.parse(refused.bytes.toString()).errors.map((e: any) => e.extensions.code)).toEqual(['OPERATION_NOT_ALLOWED']);
  });

  it('still authenticates a cached read', async () => {
    await get(server.url, DETAILS, { id: stadium });
    const forged = await get(server.url, DETAILS, { id: stadium }, { authorization: 'Bearer not.a.token' });
    expect(forged.status).toBe(401);
    expect(JSON.parse(forged.bytes.toString()).errors[0].extensions.code).toBe('UNAUTHENTICATED');
  });
});

describe.each(modes)('a cached read over its budget (%s)', (mode) => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer(mode, { RATE_LIMIT_READS_PER_MINUTE: '3', RATE_LIMIT_ADDRESS_MULTIPLIER: '1' });
  });
  afterAll(() => server?.stop());

  it('is RATE_LIMITED with Retry-After, as the same read run by Apollo is', async () => {
    const answers = [];
    for (let i = 0; i < 5; i++) answers.push(await get(server.url, `{ events(first: 1) { totalCount } }`));
    expect(answers.map((raw) => raw.status)).toEqual([200, 200, 200, 429, 429]);
    expect(answers[1]!.headers['x-cache']).toBe('HIT');
    const refused = JSON.parse(answers[3]!.bytes.toString());
    expect(refused.errors[0].extensions).toMatchObject({ code: 'RATE_LIMITED', budget: 'read' });
    expect(Number(answers[3]!.headers['retry-after'])).toBeGreaterThan(0);
  });
});

describe('the response cache across two instances (postgres)', () => {
  const instances = withPeer();

  it('serves on one instance what the other built, and forgets it for both when a seat changes', async () => {
    const event = await createOnSaleEvent(instances.first, [{ name: 'Floor', price: 5000, rows: 1, seatsPerRow: 8 }]);
    const built = await get(instances.first.url, LIVE, { id: event.id }, { 'accept-encoding': 'gzip' });
    expect(built.headers['x-cache']).toBe('MISS');
    const shared = await get(instances.second.url, LIVE, { id: event.id }, { 'accept-encoding': 'gzip' });
    expect(shared.headers['x-cache']).toBe('HIT');
    expect(shared.headers.etag).toBe(built.headers.etag);
    expect(decoded(shared)).toEqual(decoded(built));

    const fan = await instances.first.token(`fan-${randomUUID()}`);
    ok(await instances.first.gql(HOLD_SEATS, { input: { eventId: event.id, seatIds: [event.seatId(0)] } }, fan));
    const after = await get(instances.second.url, LIVE, { id: event.id });
    expect(after.headers['x-cache']).toBe('MISS');
    expect(JSON.parse(after.bytes.toString()).data.event.seatMap.version).toBeGreaterThan(decoded(built).data.event.seatMap.version);
  });
});
