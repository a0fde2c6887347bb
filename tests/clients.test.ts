// The gateway through the client libraries real apps use: Apollo Client with its persisted-queries link (APQ
// shared through Redis across two instances), urql, graphql-ws and graphql-sse — auth, and a query limit's code
// as each of them surfaces it.
import { createHash, randomUUID } from 'node:crypto';
import { ApolloClient, ApolloLink, CombinedGraphQLErrors, HttpLink, InMemoryCache, gql } from '@apollo/client';
import { PersistedQueryLink } from '@apollo/client/link/persisted-queries';
import { createClient as createUrqlClient, fetchExchange, type Client as UrqlClient } from '@urql/core';
import { createClient as createSseClient, type Client as SseClient } from 'graphql-sse';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { modes, startTestServer, withPeer, wsErrorCodes, wsQuery, type TestServer } from './helpers/harness.js';

/** Depth 5 (events › edges › node › seatMap › sections): over a QUERY_MAX_DEPTH of 3. */
const DEEP = `{ events(first: 1) { edges { node { seatMap { sections { id } } } } } }`;
const EVENTS = `{ events(first: 1) { edges { node { id } } } }`;
const VIEWER = `{ viewer { id } }`;
const HOLD = `mutation { holdSeats(input: { eventId: "evt_nope", seatIds: ["seat_nope"] }) { id } }`;

const sha256 = (query: string) => createHash('sha256').update(query).digest('hex');

interface Sent {
  method: string;
  /** Whether the request carried the document's text (in the body or in the URL). */
  fullQuery: boolean;
  /** Whether it named the document by its APQ hash. */
  hash: boolean;
}

/** A fetch that records what each request carried, then sends it. */
function recordingFetch(sent: Sent[]): typeof fetch {
  return async (input, init) => {
    const url = new URL(typeof input === 'string' ? input : input instanceof URL ? input.href : input.url);
    const method = (init?.method ?? 'GET').toUpperCase();
    let body: Record<string, any> = {};
    if (typeof init?.body === 'string') body = JSON.parse(init.body);
    const query = body.query ?? url.searchParams.get('query');
    const extensions = body.extensions ?? (url.searchParams.has('extensions') ? JSON.parse(url.searchParams.get('extensions')!) : undefined);
    sent.push({ method, fullQuery: typeof query === 'string' && query.length > 0, hash: typeof extensions?.persistedQuery?.sha256Hash === 'string' });
    return fetch(input, init);
  };
}

const apolloClients: ApolloClient[] = [];
function apollo(link: ApolloLink): ApolloClient {
  const client = new ApolloClient({ link, cache: new InMemoryCache() });
  apolloClients.push(client);
  return client;
}

/** Apollo Client with APQ over GET for hashed queries, recording every request into `sent`. */
function apqClient(url: string, sent: Sent[]): ApolloClient {
  const persisted = new PersistedQueryLink({ sha256, useGETForHashedQueries: true });
  // CSRF prevention is on: a GET must carry a header that a browser cannot send cross-site without a preflight.
  const http = new HttpLink({ uri: url, fetch: recordingFetch(sent), headers: { 'apollo-require-preflight': 'true' } });
  return apollo(ApolloLink.from([persisted, http]));
}

const urqlClients: UrqlClient[] = [];
function urql(url: string, headers: Record<string, string> = {}): UrqlClient {
  // urql sends queries as GET when they fit in a URL: the preflight header satisfies CSRF prevention. urql aborts
  // each request's AbortController on teardown, after the result arrived; on Node 20 that leaves undici with an
  // unhandled AbortError rejection, so the requests go without the signal (nothing here cancels a request).
  const client = createUrqlClient({
    url,
    exchanges: [fetchExchange],
    fetch: (input, init) => fetch(input, { ...init, signal: null }),
    fetchOptions: { headers: { 'apollo-require-preflight': 'true', ...headers } },
  });
  urqlClients.push(client);
  return client;
}

const sseClients: SseClient[] = [];

afterAll(async () => {
  for (const client of apolloClients) client.stop();
  for (const client of sseClients) client.dispose();
  // urql's core client holds no connection of its own (fetchExchange): nothing to dispose.
  urqlClients.length = 0;
});

describe('Apollo Client persisted queries across two instances (postgres)', () => {
  const instances = withPeer();

  it('registers an unseen query on a miss through one instance, and the other finds it by hash', async () => {
    const name = `Apq${randomUUID().replaceAll('-', '')}`;
    const query = gql(`query ${name} { events(first: 1) { edges { node { id } } } }`);

    const sentA: Sent[] = [];
    const a = apqClient(instances.first.url, sentA);
    const resultA = await a.query({ query, fetchPolicy: 'network-only' });
    expect(resultA.error).toBeUndefined();
    expect((resultA.data as any).events.edges).toHaveLength(1);
    const id = (resultA.data as any).events.edges[0].node.id;
    expect(id).toEqual(expect.any(String));
    // A GET with the hash alone (PERSISTED_QUERY_NOT_FOUND), then the full document with its hash (registers it).
    expect(sentA).toEqual([
      { method: 'GET', fullQuery: false, hash: true },
      { method: 'POST', fullQuery: true, hash: true },
    ]);

    const sentB: Sent[] = [];
    const b = apqClient(instances.second.url, sentB);
    const resultB = await b.query({ query, fetchPolicy: 'network-only' });
    expect(resultB.error).toBeUndefined();
    expect((resultB.data as any).events.edges[0].node.id).toBe(id);
    // One GET, hash only: instance 2 found the document instance 1 registered, through Redis.
    expect(sentB).toEqual([{ method: 'GET', fullQuery: false, hash: true }]);
  });

  it('answers PERSISTED_QUERY_NOT_FOUND for a hash never registered (what the link retries on)', async () => {
    const hash = sha256(`query Never${randomUUID().replaceAll('-', '')} { viewer { id } }`);
    const extensions = encodeURIComponent(JSON.stringify({ persistedQuery: { version: 1, sha256Hash: hash } }));
    const response = await fetch(`${instances.second.url}?extensions=${extensions}`, { headers: { 'apollo-require-preflight': 'true' } });
    const body = (await response.json()) as { errors?: { extensions?: { code?: string } }[] };
    expect(body.errors?.map((error) => error.extensions?.code)).toEqual(['PERSISTED_QUERY_NOT_FOUND']);
  });
});

describe.each(modes)('urql and graphql-ws (%s)', (mode) => {
  let server: TestServer;

  beforeAll(async () => {
    server = await startTestServer(mode);
  });

  afterAll(async () => {
    await server?.stop();
  });

  it('urql: gets data for a query', async () => {
    const result = await urql(server.url).query(EVENTS, {}).toPromise();
    expect(result.error).toBeUndefined();
    expect(result.data.events.edges).toHaveLength(1);
    expect(result.data.events.edges[0].node.id).toEqual(expect.any(String));
  });

  it('urql: surfaces UNAUTHENTICATED for a mutation without a token', async () => {
    const result = await urql(server.url).mutation(HOLD, {}).toPromise();
    expect(result.data?.holdSeats ?? null).toBeNull();
    expect(result.error?.graphQLErrors.map((error) => error.extensions?.code)).toEqual(['UNAUTHENTICATED']);
  });

  it('urql: sees the fan as the viewer with a bearer token', async () => {
    const token = await server.token('fan');
    const result = await urql(server.url, { authorization: `Bearer ${token}` }).query(VIEWER, {}).toPromise();
    expect(result.error).toBeUndefined();
    expect(result.data.viewer).toEqual({ id: 'fan' });
    const anonymous = await urql(server.url).query(VIEWER, {}).toPromise();
    expect(anonymous.data.viewer).toBeNull();
  });

  it('graphql-ws: sees the fan as the viewer with the token in connection_init', async () => {
    const token = await server.token('fan');
    const result = await wsQuery(server.ws({ authorization: `Bearer ${token}` }), VIEWER);
    expect(result.errors).toBeUndefined();
    expect(result.data.viewer).toEqual({ id: 'fan' });
    const anonymous = await wsQuery(server.ws(), VIEWER);
    expect(anonymous.data.viewer).toBeNull();
  });
});

describe.each(modes)('a depth limit over every client (%s)', (mode) => {
  let server: TestServer;

  beforeAll(async () => {
    server = await startTestServer(mode, { QUERY_MAX_DEPTH: '3' });
  });

  afterAll(async () => {
    await server?.stop();
  });

  it('Apollo Client: CombinedGraphQLErrors with QUERY_TOO_COMPLEX, limit depth', async () => {
    const client = apollo(new HttpLink({ uri: server.url }));
    const error = await client.query({ query: gql(DEEP), fetchPolicy: 'network-only' }).then(
      () => undefined,
      (thrown: unknown) => thrown,
    );
    expect(CombinedGraphQLErrors.is(error)).toBe(true);
    const errors = (error as CombinedGraphQLErrors).errors;
    expect(errors[0]?.extensions?.code).toBe('QUERY_TOO_COMPLEX');
    expect(errors[0]?.extensions?.limit).toBe('depth');
    // Under the limit, the same client gets data: the refusal is the depth's.
    const shallow = await client.query({ query: gql(VIEWER), fetchPolicy: 'network-only' });
    expect(shallow.error).toBeUndefined();
    expect(shallow.data).toEqual({ viewer: null });
  });

  it('urql: QUERY_TOO_COMPLEX, limit depth', async () => {
    const result = await urql(server.url).query(DEEP, {}).toPromise();
    expect(result.data ?? null).toBeNull();
    expect(result.error?.graphQLErrors[0]?.extensions?.code).toBe('QUERY_TOO_COMPLEX');
    expect(result.error?.graphQLErrors[0]?.extensions?.limit).toBe('depth');
  });

  it('graphql-ws: QUERY_TOO_COMPLEX', async () => {
    expect(await wsErrorCodes(server.ws(), DEEP)).toEqual(['QUERY_TOO_COMPLEX']);
    // And the limit is the depth one.
    const limits = await new Promise<unknown[]>((resolve, reject) => {
      server.ws().subscribe({ query: DEEP }, {
        next: (value) => (value.errors ? resolve(value.errors.map((e: any) => e.extensions?.limit)) : reject(new Error('expected errors'))),
        error: (errors) => resolve((errors as { extensions?: { limit?: unknown } }[]).map((e) => e.extensions?.limit)),
        complete: () => {},
      });
    });
    expect(limits).toEqual(['depth']);
  });

  it('graphql-sse: QUERY_TOO_COMPLEX, limit depth', async () => {
    const client = createSseClient({ url: server.url.replace('/graphql', '/graphql/stream'), retryAttempts: 0 });
    sseClients.push(client);
    const outcome = await new Promise<{ results: any[]; error?: unknown }>((resolve) => {
      const results: any[] = [];
      client.subscribe({ query: DEEP }, {
        next: (value) => void results.push(value),
        error: (error) => resolve({ results, error }),
        complete: () => resolve({ results }),
      });
    });
    expect(outcome.error).toBeUndefined();
    expect(outcome.results).toHaveLength(1);
    const errors = outcome.results[0].errors as { extensions?: Record<string, unknown> }[];
    expect(errors.map((e) => e.extensions?.code)).toEqual(['QUERY_TOO_COMPLEX']);
    expect(errors[0]?.extensions?.limit).toBe('depth');
    expect(outcome.results[0].data ?? null).toBeNull();
  });
});
