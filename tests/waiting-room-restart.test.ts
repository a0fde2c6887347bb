// Redis restarts (without persistence, as on this machine) in the middle of a waiting room: the line is gone, but
// every ticket is in Postgres. Joins go on meanwhile; the next admission tick rebuilds the same line, so no one
// loses their place, no one is admitted twice, and admissions carry on in the raffle's order. Runs in the
// `redis-restart` project, alone (see vitest.config.ts).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findRaffleRecord } from '../datasources/postgres/queue-tickets.sql.js';
import { admitNextBatch } from '../domain/waiting-room/admission.service.js';
import { auditRaffle } from '../domain/waiting-room/raffle-audit.js';
import { ok, startTestServer, type TestServer } from './helpers/harness.js';
import { answers, assertLocalRedis, startRedis, stopRedis } from './helpers/redis-control.js';
import { admit, createGatedEvent, JOIN, joinAll, ticketOf, untilOnSale } from './helpers/waiting-room.js';

describe('a Redis restart in the middle of a waiting room', () => {
  let server: TestServer;
  beforeAll(async () => {
    assertLocalRedis();
    server = await startTestServer('postgres', { ADMISSION_INTERVAL_MS: '0' });
  });
  afterAll(async () => {
    if (!answers()) await startRedis();
    await server?.stop();
  });

  it('loses no one\'s place', async () => {
    const event = await createGatedEvent(server, { onSaleInMs: 1_500 });
    const users = Array.from({ length: 30 }, (_, i) => `restart-fan-${i}`);
    await joinAll(server, event, users);
    await untilOnSale(server, event);
    await server.app.admitter.runOnce();
    await admit(server, event, 5);
    const tokens = await Promise.all(users.map((id) => server.token(id)));
    const before = await Promise.all(tokens.map((token) => ticketOf(server, event, token)));
    expect(before.filter((t) => t!.state === 'ADMITTED')).toHaveLength(5);

    await stopRedis();
    // A join while Redis is down is kept (in Postgres); its position is unknown until the line is rebuilt.
    const late = await server.token('restart-late');
    const joined = ok(await server.gql(JOIN, { eventId: event.id }, late)).joinWaitingRoom;
    expect(joined).toMatchObject({ state: 'WAITING', position: null });
    expect((await ticketOf(server, event, tokens[0]!))!.state).toBe(before[0]!.state);
    await expect(admitNextBatch(server.app.services, event.eventId)).rejects.toThrow();
    await startRedis();

    // The next tick finds the line gone and builds it again from Postgres: the same order, the late joiner last.
    const rebuilt = await admitNextBatch(server.app.services, event.eventId);
    expect(rebuilt).toMatchObject({ built: true, admitted: 0 });
    const after = await Promise.all(tokens.map((token) => ticketOf(server, event, token)));
    expect(after.map((t) => [t!.id, t!.state, t!.position])).toEqual(before.map((t) => [t!.id, t!.state, t!.position]));
    expect((await ticketOf(server, event, late))!.position).toBe(26);

    await admit(server, event, 3);
    const audit = auditRaffle((await findRaffleRecord(server.app.services.db, event.eventId))!);
    expect(audit).toMatchObject({ ok: true, admitted: 8 });
  });
});
