// One contract for the waiting room's line, run over both implementations: Redis (Lua scripts) and in-process.
import { randomUUID } from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import { createInProcessQueueLine } from '../datasources/embedded/queue-line.js';
import { createRedisQueueLine } from '../datasources/redis/queue-line.js';
import type { QueueLine } from '../domain/waiting-room/line.js';
import { TEST_REDIS_URL } from './helpers/services.js';

const lines: [string, () => QueueLine][] = [
  ['redis', () => createRedisQueueLine(TEST_REDIS_URL, `test:line:${randomUUID()}:`)],
  ['in-process', () => createInProcessQueueLine()],
];

describe.each(lines)('the %s queue line', (_, open) => {
  const line = open();
  let nextEvent = 1;
  const entries = (ids: string[], from = 1) => ids.map((ticketId, i) => ({ ticketId, score: from + i }));
  afterAll(() => line.close());

  it('is not built until it is filled: it answers null and adds nothing', async () => {
    const eventId = nextEvent++;
    expect(await line.status(eventId)).toBeNull();
    expect(await line.place(eventId, entries(['a']))).toBe(false);
    expect(await line.position(eventId, 'a')).toBeNull();
    expect(await line.head(eventId, 0, 5)).toBeNull();
  });

  it('orders by score, whatever the order entries come in, and ranks in O(log n)', async () => {
    const eventId = nextEvent++;
    await line.build(eventId, [{ ticketId: 'c', score: 30 }, { ticketId: 'a', score: 10 }], 'e1');
    expect(await line.place(eventId, [{ ticketId: 'b', score: 20 }, { ticketId: 'd', score: 40 }])).toBe(true);
    expect(await line.head(eventId, 0, 10)).toEqual(['a', 'b', 'c', 'd']);
    expect(await line.head(eventId, 1, 2)).toEqual(['b', 'c']);
    expect(await line.position(eventId, 'c')).toEqual({ rank: 2, status: { epoch: 'e1', served: 0, length: 4 } });
    expect((await line.position(eventId, 'zz'))!.rank).toBeNull();
  });

  it('keeps the first score of a ticket placed twice', async () => {
    const eventId = nextEvent++;
    await line.build(eventId, entries(['a', 'b']), 'e1');
    await line.place(eventId, [{ ticketId: 'a', score: 99 }]);
    expect(await line.head(eventId, 0, 10)).toEqual(['a', 'b']);
  });

  it('counts what leaves the head as served, so that number - served stays the position', async () => {
    const eventId = nextEvent++;
    const ids = Array.from({ length: 100 }, (_, i) => `t${i}`);
    await line.build(eventId, entries(ids), 'e1');
    const before = (await line.position(eventId, 't50'))!;
    const number = before.status.served + before.rank! + 1;
    expect(await line.remove(eventId, ids.slice(0, 30))).toBe(30);
    // Removing what is not in line counts nothing.
    expect(await line.remove(eventId, ['t0', 'nope'])).toBe(0);
    const after = (await line.position(eventId, 't50'))!;
    expect(after.status).toEqual({ epoch: 'e1', served: 30, length: 70 });
    expect(number - after.status.served).toBe(after.rank! + 1);
    expect(await line.head(eventId, 0, 2)).toEqual(['t30', 't31']);
  });

  it('starts afresh when built again: a new epoch, served 0, only the new entries', async () => {
    const eventId = nextEvent++;
    await line.build(eventId, entries(['a', 'b', 'c']), 'e1');
    await line.remove(eventId, ['a']);
    await line.build(eventId, entries(['c', 'd'], 5), 'e2');
    expect(await line.status(eventId)).toEqual({ epoch: 'e2', served: 0, length: 2 });
    expect(await line.head(eventId, 0, 10)).toEqual(['c', 'd']);
  });

  it('builds and serves a line of 20,000 tickets', async () => {
    const eventId = nextEvent++;
    const ids = Array.from({ length: 20_000 }, () => randomUUID());
    await line.build(eventId, entries(ids), 'big');
    expect((await line.position(eventId, ids[12_345]!))!.rank).toBe(12_345);
    await line.remove(eventId, ids.slice(0, 5_000));
    expect((await line.position(eventId, ids[12_345]!))!.rank).toBe(7_345);
    expect((await line.status(eventId))!.length).toBe(15_000);
  });
});
