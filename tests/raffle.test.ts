// The raffle is fair and checkable: over many raffles a ticket's place does not depend on when it joined, and the
// audit that verify-raffle runs accepts what the server serves and rejects what it must not.
import { createHash, createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { auditRaffle, type RaffleRecord } from '../domain/waiting-room/raffle-audit.js';
import { raffleOrder } from '../domain/waiting-room/waiting-room.rules.js';

const hash = (text: string) => createHash('sha256').update(text).digest('hex');
/** A UUID made from `text`: deterministic, so that these statistics are the same on every run. */
const uuidOf = (text: string) => {
  const h = hash(text);
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-8${h.slice(17, 20)}-${h.slice(20, 32)}`;
};

const N = 20;
const RAFFLES = 2_000;

/** For each raffle, the place (0-based) of each ticket by join order, under `order`. */
function places(order: (seed: string, ids: string[]) => string[]): number[][] {
  return Array.from({ length: RAFFLES }, (_, r) => {
    const ids = Array.from({ length: N }, (_, i) => uuidOf(`raffle ${r} ticket ${i}`));
    const served = order(hash(`seed ${r}`), ids);
    return ids.map((id) => served.indexOf(id));
  });
}

/** Spearman's rank correlation between join order and place, averaged over the raffles. */
const meanSpearman = (all: number[][]) =>
  all.reduce((sum, place) => sum + 1 - (6 * place.reduce((d2, p, i) => d2 + (p - i) ** 2, 0)) / (N * (N * N - 1)), 0) / all.length;

/** Pearson's chi-square of the join-index × place table against a uniform one. */
function chiSquare(all: number[][]): number {
  const table = Array.from({ length: N }, () => new Array<number>(N).fill(0));
  for (const place of all) place.forEach((p, i) => table[i]![p]!++);
  const expected = RAFFLES / N;
  return table.flat().reduce((sum, observed) => sum + (observed - expected) ** 2 / expected, 0);
}

// For a uniform raffle, the mean of 2,000 Spearman coefficients over 20 tickets has a standard deviation of about
// 0.005: 0.03 is six of them. The chi-square has (N-1)^2 = 361 degrees of freedom: 470 is beyond p = 0.0001.
const SPEARMAN_BOUND = 0.03;
const CHI_SQUARE_BOUND = 470;

describe('the raffle', () => {
  const fair = places((seed, ids) => raffleOrder(seed, ids));

  it('places tickets independently of join time (Spearman near zero)', () => {
    expect(Math.abs(meanSpearman(fair))).toBeLessThan(SPEARMAN_BOUND);
  });

  it('places each ticket uniformly (chi-square over join index × place)', () => {
    expect(chiSquare(fair)).toBeLessThan(CHI_SQUARE_BOUND);
  });

  it('has statistics that catch a biased raffle (the checks above can fail)', () => {
    // Mostly by join time: a raffle that only shuffles neighbours.
    const biased = places((seed, ids) => {
      const order = [...ids];
      for (let i = 0; i + 1 < order.length; i += 2) if (hash(seed + i).charCodeAt(0) % 2) [order[i], order[i + 1]] = [order[i + 1]!, order[i]!];
      return order;
    });
    expect(meanSpearman(biased)).toBeGreaterThan(SPEARMAN_BOUND);
    expect(chiSquare(biased)).toBeGreaterThan(CHI_SQUARE_BOUND);
    // First come, first served for the last quarter only: Spearman barely moves, chi-square sees it.
    const lateFirst = places((seed, ids) => {
      const shuffled = raffleOrder(seed, ids.slice(0, 15));
      return [...shuffled.slice(0, 5), ...ids.slice(15), ...shuffled.slice(5)];
    });
    expect(chiSquare(lateFirst)).toBeGreaterThan(CHI_SQUARE_BOUND);
  });

  it('is the order of HMAC-SHA256(seed, ticket ID) as docs/RAFFLE.md states it', () => {
    const seed = hash('doc');
    const ids = ['00000000-0000-4000-8000-000000000001', '00000000-0000-4000-8000-000000000002', '00000000-0000-4000-8000-000000000003'];
    const key = (id: string) => createHmac('sha256', seed).update(`qt_${id}`).digest('hex');
    expect(raffleOrder(seed, ids)).toEqual([...ids].sort((a, b) => (key(a) < key(b) ? -1 : 1)));
  });
});

describe('the raffle audit', () => {
  const seed = hash('audit seed');
  const pre = Array.from({ length: 6 }, (_, i) => uuidOf(`pre ${i}`));
  const line = raffleOrder(seed, pre);
  const late = uuidOf('late');
  /** A record where the first `admitted` of the line were admitted, in order. */
  const record = (admitted: number, change: (r: RaffleRecord['tickets'][number][]) => void = () => {}): RaffleRecord => {
    const tickets = [...line, late].map((id, i) => ({
      id,
      preQueue: id !== late,
      seq: pre.indexOf(id) + 1 || 7,
      state: i < admitted ? ('ADMITTED' as const) : ('QUEUED' as const),
      admissionNumber: i < admitted ? i + 1 : null,
    }));
    change(tickets);
    return { seed, commitment: hash(seed), tickets };
  };

  it('accepts admissions that followed the line, with leavers skipped', () => {
    expect(auditRaffle(record(3))).toMatchObject({ ok: true, preQueue: 6, admitted: 3 });
    expect(auditRaffle(record(7)).ok).toBe(true);
    const leaver = record(3, (t) => Object.assign(t[3]!, { state: 'LEFT' }));
    expect(auditRaffle(leaver).ok).toBe(true);
  });

  it('rejects a seed that is not the commitment, admissions out of order, and a fan passed over', () => {
    expect(auditRaffle({ ...record(2), commitment: hash('other') }).failures).toEqual(['sha256(seed) is not the published commitment']);
    const swapped = record(3, (t) => ([t[0]!.admissionNumber, t[1]!.admissionNumber] = [2, 1]));
    expect(auditRaffle(swapped).ok).toBe(false);
    const skipped = record(3, (t) => Object.assign(t[1]!, { state: 'QUEUED', admissionNumber: null }));
    expect(auditRaffle(skipped).failures.join()).toMatch(/still waiting/);
    const lateFirst = record(0, (t) => Object.assign(t[6]!, { state: 'ADMITTED', admissionNumber: 1 }));
    expect(auditRaffle(lateFirst).ok).toBe(false);
    expect(auditRaffle({ ...record(0), seed: null }).ok).toBe(false);
  });
});
