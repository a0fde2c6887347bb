// GraphQL-over-HTTP conformance: graphql-http's own audits run against our /graphql, plus the status rules we
// chose where the spec leaves room (200 vs 400 by response media type).
import { serverAudits } from 'graphql-http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { modes, startTestServer, type TestServer } from './helpers/harness.js';

/**
 * The MAY audits we fail on purpose, by id, and why. Every other audit must pass; a MAY listed here that starts
 * passing fails too, so that this list stays the exact record.
 */
// Apollo's csrfPrevention (server/http.ts): a GET that a browser could send cross-site without a preflight (no
// content-type, no preflight header such as apollo-require-preflight) is refused with 400 before anything runs.
// These audits send plain GETs; the same GETs with a preflight header pass (tests/server.test.ts).
const CSRF = 'a GET without a preflight header is refused by CSRF prevention';
const DELIBERATE_MAY_FAILURES: Record<string, string> = { '5A70': CSRF, D6D5: CSRF, '6A70': CSRF };

const JSON_TYPE = 'application/json';
const GRAPHQL_JSON = 'application/graphql-response+json';

// Accept headers, the media type we answer each in, and the status of a request error under it. fetch sends
// an accept-anything header when given none, so the wildcard case is also the no-Accept one.
const accepts: { accept: string; type: string; status: number }[] = [
  { accept: JSON_TYPE, type: JSON_TYPE, status: 200 },
  { accept: '*/*', type: JSON_TYPE, status: 200 },
  { accept: GRAPHQL_JSON, type: GRAPHQL_JSON, status: 400 },
  // What the spec recommends that clients send: the new type first, JSON as a fall-back.
  { accept: `${GRAPHQL_JSON}, ${JSON_TYPE};q=0.9`, type: GRAPHQL_JSON, status: 400 },
];

/** Well-formed requests that fail as GraphQL requests, and the code each answers. */
const requestErrors: [string, Record<string, unknown>, string][] = [
  ['document parsing', { query: '{' }, 'GRAPHQL_PARSE_FAILED'],
  ['document validation', { query: '{ noSuchField }' }, 'GRAPHQL_VALIDATION_FAILED'],
  ['operation resolution', { query: 'query A { __typename } query B { __typename }' }, 'OPERATION_RESOLUTION_FAILURE'],
  ['variable coercion', { query: 'query ($id: ID!) { event(id: $id) { id } }', variables: { id: null } }, 'BAD_USER_INPUT'],
  // Our limits: the alias limit is a validation rule, the cost limit judges the resolved operation (server/edge).
  ['alias limit', { query: `{ ${Array.from({ length: 31 }, (_, i) => `a${i}: events(first: 1) { totalCount }`).join(' ')} }` }, 'QUERY_TOO_COMPLEX'],
  ['cost limit', { query: '{ events(first: 1000) { edges { node { seatMap { sections { rows { seats { id } } } } } } } }' }, 'QUERY_TOO_COMPLEX'],
  // A subscription is a well-formed request that this transport refuses (server/plugins.ts).
  ['subscription over HTTP', { query: 'subscription { seatMapChanged(eventId: "evt_1") { version } }' }, 'BAD_REQUEST'],
];

describe.each(modes)('GraphQL over HTTP (%s)', (mode) => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer(mode);
  });
  afterAll(() => server?.stop());

  const post = (body: string, headers: Record<string, string>) =>
    fetch(server.url, { method: 'POST', headers: { 'content-type': JSON_TYPE, ...headers }, body });

  // The audits read the URL when they run, once the server has started.
  for (const audit of serverAudits({ url: () => server.url, fetchFn: fetch })) {
    it(`${audit.id} ${audit.name}`, async () => {
      const result = await audit.fn();
      const failure = result.status === 'ok' ? undefined : result.reason;
      if (!audit.name.startsWith('MAY')) return void expect(result.status, failure).toBe('ok');
      const deliberate = DELIBERATE_MAY_FAILURES[audit.id];
      expect(failure === undefined ? 'passes' : 'fails', failure ?? deliberate).toBe(deliberate ? 'fails' : 'passes');
    });
  }

  describe.each(requestErrors)('%s failure', (_what, body, code) => {
    it.each(accepts)('answers $status in $type to Accept: $accept', async ({ accept, type, status }) => {
      const response = await post(JSON.stringify(body), { accept });
      expect(response.status).toBe(status);
      expect(response.headers.get('content-type')).toContain(type);
      const result = (await response.json()) as { data?: unknown; errors: { extensions: { code: string } }[] };
      // A request error: nothing ran, so there is no data entry at all.
      expect(result).not.toHaveProperty('data');
      expect(result.errors.map((error) => error.extensions.code)).toContain(code);
    });
  });

  // Requests that are not well-formed, or refused by HTTP itself, keep their status whatever they accept.
  it.each<{ what: string; body: string; headers: Record<string, string>; status: number }>([
    { what: 'a body without `query`', body: JSON.stringify({ qeury: '{ __typename }' }), headers: {}, status: 400 },
    { what: 'a body that is not JSON', body: '{"query":', headers: {}, status: 400 },
    { what: 'a forged bearer token', body: JSON.stringify({ query: '{ __typename }' }), headers: { authorization: 'Bearer forged' }, status: 401 },
  ])('keeps $status for $what, whatever the client accepts', async ({ body, headers, status }) => {
    for (const accept of [JSON_TYPE, GRAPHQL_JSON]) {
      expect((await post(body, { accept, ...headers })).status, accept).toBe(status);
    }
  });

  it('keeps 405 for a mutation over GET under application/json', async () => {
    const url = `${server.url}?query=${encodeURIComponent('mutation { __typename }')}`;
    const response = await fetch(url, { headers: { accept: JSON_TYPE, 'apollo-require-preflight': 'true' } });
    expect(response.status).toBe(405);
  });

  it('answers a query that succeeds 200 under both media types', async () => {
    for (const { accept, type } of accepts) {
      const response = await post(JSON.stringify({ query: '{ __typename }' }), { accept });
      expect(response.status).toBe(200);
      expect(response.headers.get('content-type')).toContain(type);
    }
  });
});
