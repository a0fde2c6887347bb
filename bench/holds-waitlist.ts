// The waitlist case of `npm run bench:holds` (w): releaseHold as fast as 64 callers can, on an event whose every
// seat is held in one-seat holds, first with nobody waiting, then (same run, a second such event) with 25,000
// waitlist entries behind the releases — for a seat, a section or anywhere, one or two seats each — so that
// every release offers its seat in its own transaction.
import type pg from 'pg';

/** What the case needs of bench/holds.ts: its runner, timer, events and tokens. */
export interface WaitlistKit<R extends { opsPerSecond: number; latency: Record<string, { p99Ms: number }> }> {
  sql: pg.Client;
  createEvent(label: string): Promise<number>;
  seatsPerEvent: number;
  sections: number;
  sign(user: string): string;
  runCase(name: string, op: (rec: Recorder) => Promise<void>, options: { after?: () => Promise<Record<string, number | string>>; maxSeconds?: number }): Promise<R>;
  timed(rec: Recorder, query: string, variables: Record<string, unknown>, token: string, series?: string): Promise<{ code: string; message?: string; ms: number }>;
}

interface Recorder {
  sample(series: string, ms: number): void;
  count(code: string, example?: string): void;
}

const RELEASE = `mutation($id: ID!) { releaseHold(id: $id) { id status } }`;
/** Entries behind the releases: enough that at least 10,000 are still waiting when the measurement ends. */
const WAITLIST_ENTRIES = 25_000;

/** Holds every seat of the event in one-seat holds of distinct owners (by SQL: the ground, not the measurement). */
async function holdEverySeat(sql: pg.Client, eventId: number): Promise<{ id: string; owner: string }[]> {
  const { rows } = await sql.query<{ id: string; owner: string }>(
    `WITH made AS (
       INSERT INTO holds (id, event_id, owner, ordinals, total, currency, expires_at, base_expires_at)
       SELECT gen_random_uuid(), $1, 'user:bench-rel-' || $1::int || '-' || s.ordinal, ARRAY[s.ordinal], c.price, 'USD',
              now() + interval '1 hour', now() + interval '1 hour'
         FROM seats s JOIN sections c ON c.id = s.section_id WHERE s.event_id = $1
       RETURNING id, owner, ordinals[1] AS ordinal
     ), held AS (
       UPDATE seats s SET status = 'held', hold_id = made.id, held_until = now() + interval '1 hour'
         FROM made WHERE s.event_id = $1 AND s.ordinal = made.ordinal
     )
     SELECT id, owner FROM made`,
    [eventId],
  );
  return rows.sort(() => Math.random() - 0.5);
}

/** WAITLIST_ENTRIES waiting entries: a fifth for one seat, two fifths for a section, two fifths for anywhere. */
async function fillWaitlist(sql: pg.Client, eventId: number, seats: number, sections: number): Promise<void> {
  await sql.query(
    `INSERT INTO waitlist_entries (id, event_id, owner, quantity, section_id, seat_ordinal)
     SELECT gen_random_uuid(), $1, 'user:bench-wl-' || $1::int || '-' || g,
            CASE WHEN g % 5 = 0 THEN 1 ELSE 1 + g % 2 END,
            CASE WHEN g % 5 = 0 THEN (SELECT section_id FROM seats WHERE event_id = $1 AND ordinal = (g * 7919) % $3)
                 WHEN g % 5 IN (1, 2) THEN (SELECT id FROM sections WHERE event_id = $1 ORDER BY position OFFSET g % $4 LIMIT 1) END,
            CASE WHEN g % 5 = 0 THEN (g * 7919) % $3 END
       FROM generate_series(1, $2) g`,
    [eventId, WAITLIST_ENTRIES, seats, sections],
  );
}

const waiting = async (sql: pg.Client, eventId: number) =>
  (await sql.query<{ n: number }>(`SELECT count(*)::int AS n FROM waitlist_entries WHERE event_id = $1 AND state = 'WAITING'`, [eventId])).rows[0]!.n;

/** Runs both halves of (w); returns them, no waitlist first. */
export async function caseWaitlist<R extends { opsPerSecond: number; latency: Record<string, { p99Ms: number }> }>(kit: WaitlistKit<R>): Promise<[R, R]> {
  const releases = async (label: string, withWaitlist: boolean): Promise<R> => {
    const eventId = await kit.createEvent(label);
    const holds = await holdEverySeat(kit.sql, eventId);
    if (withWaitlist) await fillWaitlist(kit.sql, eventId, kit.seatsPerEvent, kit.sections);
    const before = withWaitlist ? await waiting(kit.sql, eventId) : 0;
    let next = 0;
    const op = async (rec: Recorder) => {
      const hold = holds[next++];
      if (!hold) throw new Error(`all ${holds.length} holds are released: make the measurement shorter`);
      const answer = await kit.timed(rec, RELEASE, { id: `hold_${hold.id}` }, kit.sign(hold.owner.slice(5)), 'op');
      rec.count(answer.code, answer.message);
      if (answer.code === 'OK') rec.sample('ok', answer.ms);
    };
    return kit.runCase(label, op, {
      // 20,000 one-seat holds last 10 s at 2,000 releases a second; past them the case would measure refusals.
      maxSeconds: 10,
      after: async (): Promise<Record<string, number>> => {
        const { rows } = await kit.sql.query<{ n: number }>(`SELECT count(*)::int AS n FROM waitlist_entries WHERE event_id = $1 AND state = 'OFFERED'`, [eventId]);
        return withWaitlist ? { waitingAtStart: before, waitingAtEnd: await waiting(kit.sql, eventId), offersMade: rows[0]!.n, released: next } : { released: next };
      },
    });
  };
  const plain = await releases('(w1) releaseHold, 1 seat, nobody waiting', false);
  const waitlisted = await releases(`(w2) releaseHold, 1 seat, ${WAITLIST_ENTRIES.toLocaleString('en')} waitlist entries behind`, true);
  return [plain, waitlisted];
}
