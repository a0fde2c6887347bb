// The waitlist's pure rules: which seats an entry is offered and who goes first. No database.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { DbOfferSeat, DbWaitlistEntry } from '../datasources/postgres/waitlist.sql.js';
import { decideOffers, entryState, seatsFor } from '../domain/waitlist/waitlist.rules.js';

/** Section 1: two rows of 6 (ordinals 0-11); section 2: one row of 6 (12-17). Rank = ordinal. */
const seat = (ordinal: number): DbOfferSeat => {
  const sectionId = ordinal < 12 ? 1 : 2;
  const inSection = sectionId === 1 ? ordinal : ordinal - 12;
  return { ordinal, sectionId, rowIndex: Math.floor(inSection / 6), seatNumber: (inSection % 6) + 1, rank: ordinal, seatsPerRow: 6 };
};
let next = 0;
const entry = (over: Partial<DbWaitlistEntry>): DbWaitlistEntry => ({
  id: `e${next++}`,
  eventId: 1,
  owner: `user:${next}`,
  quantity: 1,
  sectionId: null,
  seatOrdinal: null,
  state: 'WAITING',
  offerHoldId: null,
  offerExpiresAt: null,
  skipReason: null,
  skippedAt: null,
  createdAt: new Date(),
  ...over,
});
const limits = { maxTicketsPerUser: 8, ticketsInUse: {} };

describe('seatsFor', () => {
  it('takes the entry\'s seat only, its section\'s, or any', () => {
    const pool = [0, 5, 13].map(seat);
    expect(seatsFor(entry({ seatOrdinal: 5, sectionId: 1 }), pool)).toEqual([5]);
    expect(seatsFor(entry({ seatOrdinal: 4, sectionId: 1 }), pool)).toBeNull();
    expect(seatsFor(entry({ sectionId: 2 }), pool)).toEqual([13]);
    expect(seatsFor(entry({}), pool)).toEqual([0]);
  });

  it('prefers seats side by side in one row, else the best that match', () => {
    expect(seatsFor(entry({ quantity: 2 }), [0, 2, 7, 8].map(seat))).toEqual([7, 8]);
    expect(seatsFor(entry({ quantity: 2 }), [0, 2, 6].map(seat))).toEqual([0, 2]);
    expect(seatsFor(entry({ quantity: 3, sectionId: 1 }), [0, 2, 13].map(seat))).toBeNull();
  });
});

describe('decideOffers', () => {
  it('serves in join order; an entry that cannot be served yet keeps its place and the seat goes on', () => {
    const pair = entry({ quantity: 2 });
    const single = entry({});
    const later = entry({});
    const decision = decideOffers([pair, single, later], [seat(3)], limits);
    expect(decision.offers.map((o) => [o.entry.id, o.ordinals])).toEqual([[single.id, [3]]]);
    expect(decision.skipped).toEqual([]);
  });

  it('skips an entry that would pass maxTicketsPerUser, and counts offers as they are made', () => {
    const full = entry({ owner: 'user:full' });
    const twice1 = entry({ owner: 'user:twice' });
    const twice2 = entry({ owner: 'user:twice', sectionId: 2 });
    const decision = decideOffers([full, twice1, twice2], [0, 1, 12].map(seat), { maxTicketsPerUser: 2, ticketsInUse: { 'user:full': 2, 'user:twice': 1 } });
    expect(decision.skipped.map((s) => [s.entry.id, s.reason])).toEqual([[full.id, 'LIMIT_EXCEEDED'], [twice2.id, 'LIMIT_EXCEEDED']]);
    expect(decision.offers.map((o) => [o.entry.id, o.ordinals])).toEqual([[twice1.id, [0]]]);
  });

  it('never offers a seat twice, nor more or other seats than an entry asked for (property)', () => {
    const arbitraryEntry = fc.record({
      quantity: fc.integer({ min: 1, max: 3 }),
      target: fc.oneof(fc.constant('event'), fc.constant('s1'), fc.constant('s2'), fc.integer({ min: 0, max: 17 })),
    });
    fc.assert(
      fc.property(fc.array(arbitraryEntry, { maxLength: 12 }), fc.subarray([...Array(18).keys()]), (wishes, free) => {
        const entries = wishes.map((w) =>
          typeof w.target === 'number'
            ? entry({ quantity: 1, seatOrdinal: w.target, sectionId: seat(w.target).sectionId })
            : entry({ quantity: w.quantity, sectionId: w.target === 'event' ? null : Number(w.target.slice(1)) }),
        );
        const { offers } = decideOffers(entries, free.map(seat), limits);
        const given = offers.flatMap((o) => o.ordinals);
        expect(new Set(given).size).toBe(given.length);
        for (const o of offers) {
          expect(o.ordinals).toHaveLength(o.entry.quantity);
          for (const n of o.ordinals) {
            expect(free).toContain(n);
            if (o.entry.seatOrdinal !== null) expect(n).toBe(o.entry.seatOrdinal);
            else if (o.entry.sectionId !== null) expect(seat(n).sectionId).toBe(o.entry.sectionId);
          }
        }
        // Strict order: an entry left out could not have been served from what the entries before it left.
        const served = new Set(offers.map((o) => o.entry.id));
        entries.forEach((e, i) => {
          if (served.has(e.id)) return;
          const takenBefore = new Set(offers.filter((o) => entries.indexOf(o.entry) < i).flatMap((o) => o.ordinals));
          expect(seatsFor(e, free.map(seat).filter((s) => !takenBefore.has(s.ordinal)))).toBeNull();
        });
      }),
    );
  });
});

describe('entryState', () => {
  it('shows an OFFERED entry whose hold lapsed as EXPIRED at once', () => {
    const now = new Date();
    expect(entryState({ state: 'OFFERED', offerExpiresAt: new Date(now.getTime() - 1) }, now)).toBe('EXPIRED');
    expect(entryState({ state: 'OFFERED', offerExpiresAt: new Date(now.getTime() + 1000) }, now)).toBe('OFFERED');
    expect(entryState({ state: 'WAITING', offerExpiresAt: null }, now)).toBe('WAITING');
  });
});
