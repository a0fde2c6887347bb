// Bot friction at the door: with WAITING_ROOM_CHALLENGE set, a join needs a challenge token that the verifier
// accepts, checked before any ticket is made. The siteverify verifier (Turnstile, hCaptcha) is tried against a
// small local HTTP server that plays the provider.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSiteverifyVerifier } from '../datasources/challenge/siteverify.js';
import { TEST_CHALLENGE_PASS } from '../domain/waiting-room/challenge.js';
import { codes, ok, startTestServer, type TestServer } from './helpers/harness.js';
import { createGatedEvent, JOIN, ROOM } from './helpers/waiting-room.js';
import { createOnSaleEvent } from './helpers/write-path.js';

/** A siteverify endpoint: `good` passes, `boom` is an outage (HTTP 500), anything else fails. */
async function fakeProvider() {
  const requests: URLSearchParams[] = [];
  const server: Server = createServer((req, res) => {
    let body = '';
    req.on('data', (chunk) => (body += chunk));
    req.on('end', () => {
      const form = new URLSearchParams(body);
      requests.push(form);
      if (form.get('response') === 'boom') return void res.writeHead(500).end();
      res.setHeader('content-type', 'application/json');
      const success = form.get('secret') === 'provider-secret' && form.get('response') === 'good';
      res.end(JSON.stringify(success ? { success: true, hostname: 'localhost' } : { success: false, 'error-codes': ['invalid-input-response'] }));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/siteverify`, requests, close: () => server.close() };
}

describe('the join challenge', () => {
  let provider: Awaited<ReturnType<typeof fakeProvider>>;
  let testVerifier: TestServer;
  let siteverify: TestServer;
  beforeAll(async () => {
    provider = await fakeProvider();
    [testVerifier, siteverify] = await Promise.all([
      startTestServer('embedded', { ADMISSION_INTERVAL_MS: '0', WAITING_ROOM_CHALLENGE: 'test' }),
      startTestServer('embedded', {
        ADMISSION_INTERVAL_MS: '0',
        WAITING_ROOM_CHALLENGE: 'siteverify',
        WAITING_ROOM_CHALLENGE_URL: provider.url,
        WAITING_ROOM_CHALLENGE_SECRET: 'provider-secret',
      }),
    ]);
  });
  afterAll(async () => {
    await Promise.all([testVerifier?.stop(), siteverify?.stop()]);
    provider?.close();
  });

  const tickets = async (server: TestServer) => (await server.app.services.db.query<{ n: number }>(`SELECT count(*)::int AS n FROM queue_tickets`)).rows[0]!.n;
  const reason = (response: { errors?: { extensions?: Record<string, any> }[] }) => response.errors?.[0]?.extensions?.reason;

  it('needs the test verifier\'s pass token, and says so on the event', async () => {
    const event = await createGatedEvent(testVerifier, { onSaleInMs: 3_600_000 });
    const alice = await testVerifier.token('alice');
    expect(ok(await testVerifier.gql(ROOM, { id: event.id })).event.waitingRoom.challengeRequired).toBe(true);
    const missing = await testVerifier.gql(JOIN, { eventId: event.id }, alice);
    expect([codes(missing), reason(missing)]).toEqual([['FORBIDDEN'], 'CHALLENGE_REQUIRED']);
    const wrong = await testVerifier.gql(JOIN, { eventId: event.id, challengeToken: 'nope' }, alice);
    expect([codes(wrong), reason(wrong)]).toEqual([['FORBIDDEN'], 'CHALLENGE_FAILED']);
    expect(await tickets(testVerifier)).toBe(0);
    const joined = ok(await testVerifier.gql(JOIN, { eventId: event.id, challengeToken: TEST_CHALLENGE_PASS }, alice));
    expect(joined.joinWaitingRoom.state).toBe('PRE_QUEUE');
    // A join that would fail anyway fails for its own reason, before the verifier is asked.
    const open = await createOnSaleEvent(testVerifier, [{ name: 'A', price: 1, rows: 1, seatsPerRow: 1 }]);
    expect(codes(await testVerifier.gql(JOIN, { eventId: open.id }, alice))).toEqual(['BAD_USER_INPUT']);
  });

  it('asks a siteverify provider with the secret and the token, and fails closed when it is out', async () => {
    const event = await createGatedEvent(siteverify, { onSaleInMs: 3_600_000 });
    const bob = await siteverify.token('bob');
    const bad = await siteverify.gql(JOIN, { eventId: event.id, challengeToken: 'bad' }, bob);
    expect([codes(bad), reason(bad)]).toEqual([['FORBIDDEN'], 'CHALLENGE_FAILED']);
    const outage = await siteverify.gql(JOIN, { eventId: event.id, challengeToken: 'boom' }, bob);
    expect([codes(outage), reason(outage)]).toEqual([['FORBIDDEN'], 'CHALLENGE_UNAVAILABLE']);
    expect(await tickets(siteverify)).toBe(0);
    expect(ok(await siteverify.gql(JOIN, { eventId: event.id, challengeToken: 'good' }, bob)).joinWaitingRoom.state).toBe('PRE_QUEUE');
    expect(provider.requests.at(-1)!.get('secret')).toBe('provider-secret');
    expect(provider.requests.at(-1)!.get('response')).toBe('good');
  });

  it('passes the client address to the provider as remoteip when it is given', async () => {
    const verifier = createSiteverifyVerifier(provider.url, 'provider-secret');
    expect(await verifier.verify('good', '203.0.113.7')).toBe(true);
    expect(provider.requests.at(-1)!.get('remoteip')).toBe('203.0.113.7');
    expect(await verifier.verify('other')).toBe(false);
    await expect(verifier.verify('boom')).rejects.toThrow(/HTTP 500/);
  });
});
