// Two instances on one Postgres and one Redis run the waiting room's workers at once: the raffle runs once, no
// one is admitted twice, the rate holds for both together, and admissions follow the order verify-raffle
// recomputes (also run here as its CLI). Postgres only.
import { spawnSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findRaffleRecord } from '../datasources/postgres/queue-tickets.sql.js';
import { admitNextBatch, runRaffle } from '../domain/waiting-room/admission.service.js';
import { auditRaffle } from '../domain/waiting-room/raffle-audit.js';
import type { App } from '../server/app.js';
import { startPeer, startTestServer, type GraphQLResponse, type TestServer } from './helpers/harness.js';
import { eventually, sleep } from './helpers/realtime.js';
import { createGatedEvent, joinAll, untilOnSale } from './helpers/waiting-room.js';

describe('the waiting room on two instances', () => {
  let a: TestServer;
  let b: App;
  beforeAll(async () => {
    a = await startTestServer('postgres', { ADMISSION_INTERVAL_MS: '0' });
    b = await startPeer(a, { ADMISSION_INTERVAL_MS: '0', DATABASE_POOL_SIZE: '5' });
  });
  afterAll(async () => {
    await b?.stop();
    await a?.stop();
  });

  it('raffles once and admits each fan once, in line order, never faster than the rate', async () => {
    const perMinute = 600;
    const event = await createGatedEvent(a, { onSaleInMs: 2_000, admissionsPerMinute: perMinute });
    const users = Array.from({ length: 200 }, (_, i) => `cluster-${i}`);
    for (let i = 0; i < users.length; i += 50) await joinAll(a, event, users.slice(i, i + 50));
    await untilOnSale(a, event);

    const ran = await Promise.all(Array.from({ length: 20 }, (_, i) => runRaffle((i % 2 ? b.services : a.app.services).db, event.eventId)));
    expect(ran.filter(Boolean)).toHaveLength(1);

    // Both instances tick as fast as they can for a while.
    const until = Date.now() + 3_000;
    const ticks = { a: 0, b: 0 };
    await Promise.all(
      (['a', 'b'] as const).map(async (name) => {
        const services = name === 'a' ? a.app.services : b.services;
        while (Date.now() < until) {
          if (await admitNextBatch(services, event.eventId)) ticks[name]++;
          await sleep(10);
        }
      }),
    );
    expect(ticks.a).toBeGreaterThan(0);
    expect(ticks.b).toBeGreaterThan(0);

    const { rows } = await a.app.services.db.query<{ admitted: number; numbers: number; last: number; seconds: number }>(
      `SELECT count(*)::int AS admitted, count(DISTINCT admission_number)::int AS numbers, max(admission_number) AS last,
              extract(epoch FROM max(t.admitted_at) - e.wr_raffle_ran_at)::float8 AS seconds
         FROM queue_tickets t JOIN events e ON e.id = t.event_id
        WHERE t.event_id = $1 AND t.admission_number IS NOT NULL GROUP BY e.wr_raffle_ran_at`,
      [event.eventId],
    );
    const { admitted, numbers, last, seconds } = rows[0]!;
    expect(numbers).toBe(admitted);
    expect(last).toBe(admitted);
    // Credit starts at 0 at the raffle and is earned by the database clock: never more than the rate allows.
    expect(admitted).toBeLessThanOrEqual(Math.floor((perMinute / 60) * seconds) + 1);
    expect(admitted).toBeGreaterThanOrEqual(10);
    // One notice per admission, whoever admitted.
    const { rows: notices } = await a.app.services.db.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM outbox WHERE topic LIKE $1 AND payload->>'state' = 'ADMITTED'`,
      [`queueTicket.${event.eventId}.%`],
    );
    expect(notices[0]!.n).toBe(admitted);

    const audit = auditRaffle((await findRaffleRecord(a.app.services.db, event.eventId))!);
    expect(audit).toMatchObject({ ok: true, preQueue: 200, admitted });
    const cli = spawnSync('npx', ['tsx', 'datasources/cli.ts', 'verify-raffle', event.id], { encoding: 'utf8', env: { ...process.env, DATABASE_URL: a.databaseUrl } });
    expect(cli.status, cli.stderr).toBe(0);
    expect(JSON.parse(cli.stdout)).toMatchObject({ eventId: event.id, ok: true, admitted });
    // And it fails when the record was tampered with: admissions 1 and 2 swapped (through negatives, as the
    // numbers are unique).
    const db = a.app.services.db;
    await db.query(`UPDATE queue_tickets SET admission_number = -admission_number WHERE event_id = $1 AND admission_number IN (1, 2)`, [event.eventId]);
    await db.query(`UPDATE queue_tickets SET admission_number = 3 + admission_number WHERE event_id = $1 AND admission_number IN (-1, -2)`, [event.eventId]);
    const tampered = spawnSync('npx', ['tsx', 'datasources/cli.ts', 'verify-raffle', event.id], { encoding: 'utf8', env: { ...process.env, DATABASE_URL: a.databaseUrl } });
    expect(tampered.status).toBe(1);
  });

  it('puts every join that raced the on-sale on one side of the raffle: in the pre-queue and raffled, or behind it', async () => {
    const event = await createGatedEvent(a, { onSaleInMs: 1_500, admissionsPerMinute: 1 });
    const answers: { user: string; state: string }[] = [];
    let n = 0;
    let raffled = false;
    let after = 0;
    // Fans keep joining through both instances while the workers of both try to raffle.
    const joining = Promise.all(
      Array.from({ length: 30 }, async (_, worker) => {
        // Until the raffle has run and 100 more have joined after it.
        while (!raffled || after++ < 100) {
          const user = `race-${n++}`;
          const [ticket] = await joinAll(worker % 2 ? a : { ...a, gql: ((q, v, as) => gqlOn(b, q, v, as)) as TestServer['gql'] }, event, [user]);
          answers.push({ user, state: ticket!.state });
        }
      }),
    );
    await untilOnSale(a, event);
    await Promise.all([b.admitter.runOnce(), a.app.admitter.runOnce(), b.admitter.runOnce()]);
    raffled = true;
    await joining;
    await a.app.admitter.runOnce();
    const states = new Set(answers.map((x) => x.state));
    expect(states).toEqual(new Set(['PRE_QUEUE', 'WAITING']));
    const { rows } = await a.app.services.db.query<{ owner: string; preQueue: boolean; id: string }>(
      `SELECT owner, pre_queue AS "preQueue", id FROM queue_tickets WHERE event_id = $1`,
      [event.eventId],
    );
    const byOwner = new Map(rows.map((row) => [row.owner, row]));
    expect(rows).toHaveLength(answers.length);
    for (const answer of answers) expect(byOwner.get(`user:${answer.user}`)!.preQueue, answer.user).toBe(answer.state === 'PRE_QUEUE');
    // Every ticket is in the line exactly once, the pre-queue ahead of everyone else.
    const line = (await a.app.services.queueLine.head(event.eventId, 0, 10_000))!;
    expect(new Set(line)).toEqual(new Set(rows.map((row) => row.id)));
    const pre = rows.filter((row) => row.preQueue).length;
    expect(line.slice(0, pre).every((id) => rows.find((row) => row.id === id)!.preQueue)).toBe(true);
    expect(auditRaffle((await findRaffleRecord(a.app.services.db, event.eventId))!).ok).toBe(true);
  });
});

/** An operation over HTTP on instance `app`, as the harness's `gql` does on its own. */
async function gqlOn(app: App, query: string, variables?: Record<string, unknown>, as?: string): Promise<GraphQLResponse> {
  const response = await fetch(app.url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(as && { authorization: `Bearer ${as}` }) },
    body: JSON.stringify({ query, variables }),
  });
  return { status: response.status, headers: response.headers, ...((await response.json()) as object) };
}

describe('paced admission', () => {
  it('admits by the second, at the event\'s rate, with the worker\'s own timer (embedded)', async () => {
    const server = await startTestServer('embedded', { ADMISSION_INTERVAL_MS: '100' });
    try {
      const perMinute = 600;
      const event = await createGatedEvent(server, { onSaleInMs: 1_000, admissionsPerMinute: perMinute });
      await joinAll(server, event, Array.from({ length: 100 }, (_, i) => `paced-${i}`));
      await untilOnSale(server, event);
      await eventually('admissions', () => countAdmitted(server, event.eventId), (n) => n >= 25);
      const { rows } = await server.app.services.db.query<{ second: number; n: number }>(
        `SELECT floor(extract(epoch FROM t.admitted_at - e.wr_raffle_ran_at))::int AS second, count(*)::int AS n
           FROM queue_tickets t JOIN events e ON e.id = t.event_id
          WHERE t.event_id = $1 AND t.admitted_at IS NOT NULL GROUP BY 1 ORDER BY 1`,
        [event.eventId],
      );
      // Smooth: every full second after the raffle admits about rate/60 (10), never a minute's worth at once.
      const full = rows.slice(0, -1);
      expect(full.length).toBeGreaterThanOrEqual(2);
      for (const { second, n } of full) expect(n, `second ${second} of ${JSON.stringify(rows)}`).toBeLessThanOrEqual(12);
      expect(full.reduce((sum, r) => sum + r.n, 0)).toBeLessThanOrEqual(10 * (full.at(-1)!.second + 1) + 1);
    } finally {
      await server.stop();
    }
  });
});

async function countAdmitted(server: TestServer, eventId: number): Promise<number> {
  const { rows } = await server.app.services.db.query<{ n: number }>(`SELECT count(*)::int AS n FROM queue_tickets WHERE event_id = $1 AND admitted_at IS NOT NULL`, [eventId]);
  return rows[0]!.n;
}
