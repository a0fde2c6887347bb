// Resellers' API keys and trusted documents, in both modes: keys created by admins and shown once, revoked and
// forged keys refused on HTTP and WebSocket, documents registered from both manifest formats (all or none, every
// hash checked, every document validated), and a reseller restricted to its own documents however it sends
// them (in full, by APQ hash over GET and POST, by documentId; over HTTP and WebSocket), within its own budget.
import { execFile } from 'node:child_process';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { documentHash } from '../domain/api-key/manifest.js';
import { closeCodeAfterInit, codes, modes, ok, startTestServer, wsErrorCodes, wsQuery, type GraphQLResponse, type TestServer } from './helpers/harness.js';

const EVENTS = 'query Events { events(first: 2) { edges { node { id title } } } }';
const VIEWER = 'query Viewer { viewer { id } }';
const OTHER = 'query Other { events(first: 1) { totalCount } }';
const CREATE = `mutation($input: CreateApiKeyInput!) { createApiKey(input: $input) { id name key apiKey { id reseller readsPerMinute writesPerMinute revokedAt } } }`;
const REGISTER = `mutation($apiKeyId: ID!, $documents: [String!]!, $manifest: String) {
  registerPersistedOperations(apiKeyId: $apiKeyId, documents: $documents, manifest: $manifest) { id name } }`;
const REVOKE = `mutation($id: ID!) { revokeApiKey(id: $id) { id revokedAt } }`;

const persisted = (query: string) => ({ persistedQuery: { version: 1, sha256Hash: documentHash(query) } });

/** Requests as a reseller, and new keys, on the server (and with the admin token) a suite has started. */
function resellerHelpers(server: () => TestServer, admin: () => string) {
  /** One request with an API key: POST with `body`, or GET with `body` in the query string. */
  async function asKey(key: string, body: Record<string, unknown>, method: 'GET' | 'POST' = 'POST'): Promise<GraphQLResponse<any>> {
    const headers = { 'x-api-key': key, 'content-type': 'application/json', 'apollo-require-preflight': 'true' };
    const search = new URLSearchParams(
      Object.entries(body).map(([name, value]): [string, string] => [name, typeof value === 'string' ? value : JSON.stringify(value)]),
    );
    const response =
      method === 'GET'
        ? await fetch(`${server().url}?${search}`, { headers })
        : await fetch(server().url, { method, headers, body: JSON.stringify(body) });
    return { status: response.status, headers: response.headers, ...((await response.json()) as object) };
  }

  async function createKey(input: Record<string, unknown> = {}) {
    return ok(await server().gql(CREATE, { input: { name: 'TicketHub', reseller: 'tickethub', ...input } }, admin())).createApiKey;
  }
  return { asKey, createKey };
}

describe.each(modes)('API keys and trusted documents (%s)', (mode) => {
  let server: TestServer;
  let admin: string;

  const { asKey, createKey } = resellerHelpers(() => server, () => admin);

  beforeAll(async () => {
    server = await startTestServer(mode);
    admin = await server.token('ops', true);
  });
  afterAll(() => server?.stop());

  it('creates a key for admins only, shows it once, and validates the input', async () => {
    const created = await createKey({ readsPerMinute: 100 });
    expect(created.key).toMatch(/^onsale_[A-Za-z0-9_-]{43}$/);
    expect(created.apiKey).toEqual({ id: created.id, reseller: 'tickethub', readsPerMinute: 100, writesPerMinute: 600, revokedAt: null });
    const listed = ok(await server.gql('{ apiKeys { id name } }', {}, admin)).apiKeys;
    expect(listed).toContainEqual({ id: created.id, name: 'TicketHub' });
    expect(JSON.stringify(listed)).not.toContain(created.key);
    const input = { name: 'x', reseller: 'y' };
    expect(codes(await server.gql(CREATE, { input }))).toEqual(['UNAUTHENTICATED']);
    expect(codes(await server.gql(CREATE, { input }, await server.token('fan')))).toEqual(['FORBIDDEN']);
    expect(codes(await server.gql(CREATE, { input: { ...input, name: ' ' } }, admin))).toEqual(['BAD_USER_INPUT']);
    expect(codes(await server.gql(CREATE, { input: { ...input, writesPerMinute: 0 } }, admin))).toEqual(['BAD_USER_INPUT']);
    expect(codes(await server.gql(REVOKE, { id: 'key_999999' }, admin))).toEqual(['NOT_FOUND']);
  });

  it('runs only the documents registered for the key, however they are sent', async () => {
    const { id, key } = await createKey();
    const registered = ok(await server.gql(REGISTER, { apiKeyId: id, documents: [EVENTS, VIEWER] }, admin)).registerPersistedOperations;
    expect(registered).toEqual([{ id: documentHash(EVENTS), name: 'Events' }, { id: documentHash(VIEWER), name: 'Viewer' }]);

    const full = await asKey(key, { query: EVENTS });
    expect(full.status).toBe(200);
    expect(full.data.events.edges).toHaveLength(2);
    for (const method of ['GET', 'POST'] as const) {
      const byHash = await asKey(key, { extensions: persisted(EVENTS) }, method);
      expect([method, byHash.status, byHash.data?.events.edges.length]).toEqual([method, 200, 2]);
      const byId = await asKey(key, { documentId: `sha256:${documentHash(EVENTS)}` }, method);
      expect([method, byId.status, byId.data?.events.edges.length]).toEqual([method, 200, 2]);
    }
    // A reseller's viewer is not a fan's.
    expect((await asKey(key, { query: VIEWER })).data).toEqual({ viewer: null });

    for (const body of [{ query: OTHER }, { extensions: persisted(OTHER) }, { documentId: `sha256:${documentHash(OTHER)}` }, { query: `${EVENTS} ` }]) {
      const refused = await asKey(key, body);
      expect([refused.status, codes(refused)]).toEqual([403, ['OPERATION_NOT_ALLOWED']]);
    }
    // Another key's documents are not this one's.
    const other = await createKey({ name: 'Other' });
    expect(codes(await asKey(other.key, { query: EVENTS }))).toEqual(['OPERATION_NOT_ALLOWED']);

    // The same rule over WebSocket.
    const socket = server.ws({ apiKey: key });
    expect((await wsQuery(socket, EVENTS)).data.events.edges).toHaveLength(2);
    expect(await wsErrorCodes(socket, OTHER)).toEqual(['OPERATION_NOT_ALLOWED']);
  });

  it('registers both manifest formats, all or none, checking every hash and validating every document', async () => {
    const { id, key } = await createKey();
    const codegen = JSON.stringify({ [`sha256:${documentHash(EVENTS)}`]: EVENTS });
    const apollo = JSON.stringify({
      format: 'apollo-persisted-query-manifest',
      version: 1,
      operations: [{ id: documentHash(OTHER), name: 'OtherEvents', type: 'query', body: OTHER }],
    });
    const register = (variables: Record<string, unknown>) => server.gql(REGISTER, { apiKeyId: id, documents: [], ...variables }, admin);
    expect(ok(await register({ manifest: codegen })).registerPersistedOperations).toEqual([{ id: documentHash(EVENTS), name: 'Events' }]);
    expect(ok(await register({ manifest: apollo })).registerPersistedOperations).toEqual([{ id: documentHash(OTHER), name: 'OtherEvents' }]);
    expect((await asKey(key, { extensions: persisted(OTHER) })).data.events.totalCount).toBeGreaterThan(0);

    // A wrong hash, an invalid document or a broken manifest: BAD_USER_INPUT, and nothing of the call registered.
    const mismatched = JSON.stringify({ [documentHash(EVENTS)]: VIEWER });
    const bad = [
      { documents: [VIEWER], manifest: mismatched },
      { documents: [VIEWER, '{ noSuchField }'] },
      { documents: [VIEWER, '{ events('] },
      { documents: [VIEWER], manifest: '{"format":"apollo-persisted-query-manifest","version":2,"operations":[]}' },
      { documents: [VIEWER], manifest: 'not json' },
    ];
    for (const variables of bad) {
      const response = await register(variables);
      expect([JSON.stringify(variables), codes(response)]).toEqual([JSON.stringify(variables), ['BAD_USER_INPUT']]);
    }
    expect(codes(await asKey(key, { query: VIEWER }))).toEqual(['OPERATION_NOT_ALLOWED']);
    expect(codes(await server.gql(REGISTER, { apiKeyId: id, documents: [VIEWER] }, await server.token('fan')))).toEqual(['FORBIDDEN']);
    expect(codes(await server.gql(REGISTER, { apiKeyId: 'key_0', documents: [VIEWER] }, admin))).toEqual(['BAD_USER_INPUT']);
  });

  it('refuses revoked and forged keys: 401 UNAUTHENTICATED on HTTP, 4403 on WebSocket', async () => {
    const { id, key } = await createKey();
    ok(await server.gql(REGISTER, { apiKeyId: id, documents: [EVENTS] }, admin));
    expect((await asKey(key, { query: EVENTS })).status).toBe(200);
    const revoked = ok(await server.gql(REVOKE, { id }, admin)).revokeApiKey;
    expect(revoked.revokedAt).not.toBeNull();
    expect(ok(await server.gql(REVOKE, { id }, admin)).revokeApiKey.revokedAt).toBe(revoked.revokedAt);
    for (const presented of [key, `${key.slice(0, -1)}A`, 'onsale_forged', '']) {
      if (!presented) continue;
      const refused = await asKey(presented, { query: EVENTS });
      expect([presented, refused.status, codes(refused)]).toEqual([presented, 401, ['UNAUTHENTICATED']]);
      expect(await closeCodeAfterInit(server.url, { apiKey: presented })).toBe(4403);
    }
  });

  it('charges a reseller its own key budget: RATE_LIMITED with Retry-After once it is spent', async () => {
    const { id, key } = await createKey({ readsPerMinute: 3 });
    ok(await server.gql(REGISTER, { apiKeyId: id, documents: [EVENTS] }, admin));
    const statuses = [];
    for (let i = 0; i < 4; i++) statuses.push(await asKey(key, { query: EVENTS }));
    expect(statuses.map((response) => response.status)).toEqual([200, 200, 200, 429]);
    const limited = statuses[3]!;
    expect(codes(limited)).toEqual(['RATE_LIMITED']);
    expect(limited.errors![0]!.extensions!.retryAfterSeconds).toBeGreaterThan(0);
    expect(Number(limited.headers.get('retry-after'))).toBe(limited.errors![0]!.extensions!.retryAfterSeconds);
    // Another key of the same reseller has a budget of its own.
    const other = await createKey({ readsPerMinute: 3 });
    ok(await server.gql(REGISTER, { apiKeyId: other.id, documents: [EVENTS] }, admin));
    expect((await asKey(other.key, { query: EVENTS })).status).toBe(200);
  });
});

describe('npm run persisted (postgres: the CLI reaches the database by DATABASE_URL)', () => {
  let server: TestServer;
  let admin: string;
  const { asKey, createKey } = resellerHelpers(() => server, () => admin);

  beforeAll(async () => {
    server = await startTestServer('postgres');
    admin = await server.token('ops', true);
  });
  afterAll(() => server?.stop());

  it('npm run persisted -- register registers a manifest file, refusing a bad one', async () => {
    const { id, key } = await createKey();
    const dir = await mkdtemp(join(tmpdir(), 'onsale-manifest-'));
    const good = join(dir, 'good.json');
    const bad = join(dir, 'bad.json');
    await writeFile(good, JSON.stringify({ [documentHash(VIEWER)]: VIEWER }));
    await writeFile(bad, JSON.stringify({ [documentHash(EVENTS)]: OTHER }));
    const run = (file: string) =>
      promisify(execFile)(process.execPath, ['--import', 'tsx', 'server/persisted.ts', 'register', id, file], {
        cwd: new URL('..', import.meta.url).pathname,
        env: { PATH: process.env.PATH!, DATABASE_URL: server.databaseUrl! },
      });
    expect((await run(good)).stdout).toContain(`registered 1 documents for ${id}`);
    await expect(run(bad)).rejects.toMatchObject({ code: 1, stderr: expect.stringMatching(/is not the SHA-256 of its document/) });
    expect((await asKey(key, { query: VIEWER })).status).toBe(200);
  });
});
