// The gateway edge, the same on every transport (HTTP, graphql-ws, graphql-sse), in both modes (rate budgets in
// Redis, or in memory): each query limit answers QUERY_TOO_COMPLEX naming its limit; each rate budget (reads,
// writes, joins; per user, per address) answers RATE_LIMITED with retryAfterSeconds, and HTTP adds Retry-After.
// Addresses come from X-Forwarded-For (TRUST_PROXY=127.0.0.1), so that each case spends a budget of its own.
import { createClient as createSseClient } from 'graphql-sse';
import { createClient as createWsClient, type Client } from 'graphql-ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import type { App } from '../server/app.js';
import { modes, startPeer, startTestServer, type TestServer } from './helpers/harness.js';
import { testRedis } from './helpers/services.js';

type Transport = 'http' | 'ws' | 'sse';
const transports: Transport[] = ['http', 'ws', 'sse'];
type Result = { status?: number; retryAfter?: string | null; data?: any; errors?: { message: string; extensions?: Record<string, any> }[] };

let nextAddress = 1;
/** An address no other case has used. */
const freshAddress = () => `198.51.100.${nextAddress++}`;

const sockets: Client[] = [];

/** One operation over `transport` as `token` (anonymous without) from `address`: its single result. */
async function over(server: TestServer, transport: Transport, query: string, options: { token?: string; address: string }): Promise<Result> {
  const headers: Record<string, string> = { 'x-forwarded-for': options.address, ...(options.token && { authorization: `Bearer ${options.token}` }) };
  if (transport === 'http') {
    const response = await fetch(server.url, { method: 'POST', headers: { ...headers, 'content-type': 'application/json' }, body: JSON.stringify({ query }) });
    return { status: response.status, retryAfter: response.headers.get('retry-after'), ...((await response.json()) as object) };
  }
  if (transport === 'sse') {
    const client = createSseClient({ url: server.url.replace(/\/graphql$/, '/graphql/stream'), headers, singleConnection: false, retryAttempts: 0 });
    try {
      for await (const result of client.iterate({ query })) return result as Result;
      throw new Error('no result');
    } finally {
      client.dispose();
    }
  }
  const client = createWsClient({
    url: server.url.replace('http', 'ws'),
    connectionParams: options.token ? { authorization: `Bearer ${options.token}` } : {},
    webSocketImpl: class extends WebSocket {
      constructor(url: string, protocols: string[]) {
        super(url, protocols, { headers: { 'x-forwarded-for': options.address } });
      }
    },
    retryAttempts: 0,
  });
  sockets.push(client);
  return new Promise((resolve, reject) => {
    let result: Result | undefined;
    client.subscribe({ query }, {
      next: (value) => (result = value as Result),
      error: (errors) => (Array.isArray(errors) ? resolve({ errors }) : reject(errors)),
      complete: () => resolve(result!),
    });
  });
}

const codeOf = (result: Result) => result.errors?.map((error) => error.extensions?.code);

describe.each(modes)('query limits on every transport (%s)', (mode) => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer(mode, { QUERY_MAX_DEPTH: '4', QUERY_MAX_ALIASES: '3', QUERY_MAX_DIRECTIVES: '3', QUERY_MAX_TOKENS: '200', QUERY_MAX_COST: '1000' });
  });
  afterAll(async () => {
    await Promise.all(sockets.splice(0).map((client) => client.dispose()));
    await server?.stop();
  });

  const over4Deep = '{ events(first: 1) { edges { node { seatMap { sections { id } } } } } }';
  const cases: [string, string, number][] = [
    ['depth', over4Deep, 4],
    ['aliases', '{ a: events(first: 1) { totalCount } b: events(first: 1) { totalCount } c: events(first: 1) { totalCount } d: events(first: 1) { totalCount } }', 3],
    ['directives', '{ events(first: 1) @include(if: true) { totalCount @include(if: true) edges @skip(if: false) { cursor @skip(if: false) } } }', 3],
    ['tokens', `{ events(first: 1) { ${'totalCount '.repeat(200)} } }`, 200],
    ['cost', '{ events(first: 100) { edges { node { id title } } } }', 1000],
  ];
  it.each(transports)('answers QUERY_TOO_COMPLEX naming the limit over %s, and runs what is within them', async (transport) => {
    for (const [limit, query, max] of cases) {
      const result = await over(server, transport, query, { address: freshAddress() });
      expect([limit, codeOf(result), result.errors?.[0]?.extensions?.limit, result.errors?.[0]?.extensions?.max]).toEqual([limit, ['QUERY_TOO_COMPLEX'], limit, max]);
      expect(result.errors![0]!.message).toContain(`QUERY_MAX_${limit.toUpperCase()}`);
    }
    const within = await over(server, transport, '{ events(first: 2) { edges { node { id } } } }', { address: freshAddress() });
    expect(within.errors).toBeUndefined();
    expect(within.data.events.edges).toHaveLength(2);
  });
});

describe.each(modes)('rate budgets on every transport (%s)', (mode) => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer(mode, {
      TRUST_PROXY: '127.0.0.1',
      RATE_LIMIT_READS_PER_MINUTE: '3',
      RATE_LIMIT_WRITES_PER_MINUTE: '2',
      RATE_LIMIT_JOINS_PER_MINUTE: '1',
      RATE_LIMIT_ADDRESS_MULTIPLIER: '2',
    });
  });
  afterAll(async () => {
    await Promise.all(sockets.splice(0).map((client) => client.dispose()));
    await server?.stop();
  });

  const READ = '{ events(first: 1) { totalCount } }';
  const WRITE = 'mutation { releaseHold(id: "hold_00000000-0000-4000-8000-000000000000") { id } }';
  const JOIN = 'mutation { joinWaitingRoom(eventId: "evt_999999") { id } }';

  /** Sends `query` `times` times; the codes of each answer (undefined for success). */
  async function spend(transport: Transport, query: string, times: number, options: { token?: string; address: string }) {
    const results: Result[] = [];
    for (let i = 0; i < times; i++) results.push(await over(server, transport, query, options));
    return results;
  }

  function expectLimited(transport: Transport, result: Result, budget: string) {
    expect(codeOf(result)).toEqual(['RATE_LIMITED']);
    const { retryAfterSeconds } = result.errors![0]!.extensions!;
    expect(result.errors![0]!.extensions!.budget).toBe(budget);
    expect(retryAfterSeconds).toBeGreaterThanOrEqual(1);
    expect(retryAfterSeconds).toBeLessThanOrEqual(60);
    if (transport === 'http') expect([result.status, Number(result.retryAfter)]).toEqual([429, retryAfterSeconds]);
  }

  it.each(transports)('limits a user’s reads, writes and joins over %s, each budget on its own', async (transport) => {
    const token = await server.token(`fan-${transport}`);
    const reads = await spend(transport, READ, 4, { token, address: freshAddress() });
    expect(reads.slice(0, 3).map(codeOf)).toEqual([undefined, undefined, undefined]);
    expectLimited(transport, reads[3]!, 'read');
    // Writes and joins are budgets of their own: spent reads do not stop them.
    const writes = await spend(transport, WRITE, 3, { token, address: freshAddress() });
    expect(writes.slice(0, 2).map(codeOf)).toEqual([['NOT_FOUND'], ['NOT_FOUND']]);
    expectLimited(transport, writes[2]!, 'write');
    const joiner = await server.token(`joiner-${transport}`);
    const joins = await spend(transport, JOIN, 2, { token: joiner, address: freshAddress() });
    expect(codeOf(joins[0]!)).toEqual(['NOT_FOUND']);
    expectLimited(transport, joins[1]!, 'join');
    // Another fan is not limited by this one.
    const other = await over(server, transport, READ, { token: await server.token(`other-${transport}`), address: freshAddress() });
    expect(codeOf(other)).toBeUndefined();
  });

  it('limits an address: anonymous callers share it, and so do signed-in fans behind it', async () => {
    const address = freshAddress();
    const anonymous = await spend('http', READ, 7, { address });
    expect(anonymous.slice(0, 6).map(codeOf)).toEqual(Array(6).fill(undefined));
    expectLimited('http', anonymous[6]!, 'read');
    expectLimited('http', await over(server, 'http', READ, { token: await server.token('behind-nat'), address }), 'read');
    // The same fan from another address reads on.
    expect(codeOf(await over(server, 'http', READ, { token: await server.token('behind-nat'), address: freshAddress() }))).toBeUndefined();
  });
});

describe('rate budgets shared by two instances through Redis (postgres)', () => {
  const READS = 100;
  const env = { TRUST_PROXY: '127.0.0.1', RATE_LIMIT_READS_PER_MINUTE: String(READS) };
  let first: TestServer;
  let second: App;
  beforeAll(async () => {
    first = await startTestServer('postgres', env);
    second = await startPeer(first, env);
  });
  afterAll(async () => {
    await second?.stop();
    await first?.stop();
  });

  const READ = '{ __typename }';
  const read = (url: string, token: string) =>
    fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}`, 'x-forwarded-for': freshAddress() },
      body: JSON.stringify({ query: READ }),
    }).then(async (response) => (response.status === 200 ? 'read' : ((await response.json()) as Result).errors![0]!.extensions!.code));
  const admitted = (results: unknown[]) => results.filter((result) => result === 'read').length;

  it('admits exactly the budget to one instance, counting it in Redis ten points at a time', async () => {
    const token = await first.token('leaseholder');
    const monitor = testRedis();
    const commands: string[][] = [];
    // The commands a client sent (MONITOR also shows those a Lua script runs, as source `lua`).
    await monitor.monitor().then((feed) => feed.on('monitor', (_time: string, args: string[], source: string) => {
      if (source !== 'lua' && args.some((arg) => arg.includes(`${first.redisPrefix}rl:read:user`))) commands.push(args);
    }));
    try {
      const results: unknown[] = [];
      for (let i = 0; i <= READS; i++) results.push(await read(first.url, token));
      expect(admitted(results)).toBe(READS);
      expect(results[READS]).toBe('RATE_LIMITED');
      // 1 + 8 leases of 10 + 19 single points, and the refused one: 29 instead of 101.
      expect(commands.length).toBeLessThanOrEqual(30);
    } finally {
      monitor.disconnect();
    }
  });

  it('never admits more than the budget to hundreds of concurrent reads over both instances', async () => {
    const token = await first.token('racer');
    const results = await Promise.all(Array.from({ length: 300 }, (_, i) => read(i % 2 ? first.url : second.url, token)));
    expect(results.filter((result) => result !== 'read').every((code) => code === 'RATE_LIMITED')).toBe(true);
    // What each instance leased and did not spend (at most 9 points) is refused early, never admitted late.
    expect(admitted(results)).toBeLessThanOrEqual(READS);
    expect(admitted(results)).toBeGreaterThanOrEqual(READS - 2 * 9);
  });

  it('lets a fan who reads through both instances in turn spend the budget, give or take what each leased', async () => {
    const token = await first.token('alternating');
    const results: unknown[] = [];
    for (let i = 0; i < 1.5 * READS; i++) results.push(await read(i % 2 ? first.url : second.url, token));
    expect(admitted(results)).toBeLessThanOrEqual(READS);
    expect(admitted(results)).toBeGreaterThanOrEqual(READS - 2 * 9);
  });
});
