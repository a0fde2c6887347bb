// Pure domain rules: public IDs, row labels, the availability bitmap, paging, search text, cursors and the
// validation of a new event. No database, no Redis.
import { describe, it, expect } from 'vitest';
import fc from 'fast-check';
import { BadUserInputError } from '../domain/errors.js';
import { decodeId, decodeSeatId, encodeId, encodeSeatId } from '../domain/ids.js';
import {
  decodeCursor,
  encodeCursor,
  pageSize,
  rowLabel,
  toPrefixQuery,
  validateEventSpec,
  type EventSpec,
} from '../domain/event/event.rules.js';
import { availabilityBitmap, decodeAvailability, seatStatus } from '../domain/seat-map/seat-map.rules.js';

/** Runs `fn`, expecting a BadUserInputError that names exactly `field`. */
function expectBadInput(fn: () => unknown, field: string): BadUserInputError {
  let thrown: unknown;
  try {
    fn();
  } catch (error) {
    thrown = error;
  }
  expect(thrown, `expected a BadUserInputError naming ${field}`).toBeInstanceOf(BadUserInputError);
  const error = thrown as BadUserInputError;
  expect(error.code).toBe('BAD_USER_INPUT');
  expect(error.extensions).toEqual({ field });
  expect(error.message.startsWith(`${field}: `)).toBe(true);
  return error;
}

const base64url = (text: string) => Buffer.from(text, 'utf8').toString('base64url');

describe('public IDs', () => {
  it('round-trips encodeId and decodeId', () => {
    expect(encodeId('evt', 12)).toBe('evt_12');
    expect(decodeId('evt', encodeId('evt', 12), 'id')).toBe(12);
    expect(decodeId('ven', encodeId('ven', 1), 'id')).toBe(1);
    expect(decodeId('sec', encodeId('sec', 2 ** 31 - 1), 'id')).toBe(2 ** 31 - 1);
  });

  it.each([
    ['an ID of another kind', 'ven_1'],
    ['an empty string', ''],
    ['id 0', 'evt_0'],
    ['a leading zero', 'evt_01'],
    ['a negative id', 'evt_-1'],
    ['a non-numeric id', 'evt_abc'],
    ['an id with 11 digits', 'evt_99999999999'],
    ['an id just above 2^31-1', 'evt_2147483648'],
    ['the largest 10-digit id', 'evt_9999999999'],
    ['surrounding whitespace', ' evt_1'],
    ['a bare prefix', 'evt_'],
  ])('decodeId rejects %s (%j) naming the field', (_, value) => {
    expectBadInput(() => decodeId('evt', value, 'input.eventId'), 'input.eventId');
  });

  it('round-trips seat IDs, including ordinal 0', () => {
    expect(encodeSeatId(7, 0)).toBe('seat_7_0');
    expect(decodeSeatId(encodeSeatId(7, 0), 'seatIds[0]')).toEqual({ eventId: 7, ordinal: 0 });
    expect(decodeSeatId(encodeSeatId(2 ** 31 - 1, 199_999), 'seatIds[0]')).toEqual({
      eventId: 2 ** 31 - 1,
      ordinal: 199_999,
    });
  });

  it.each([
    ['no ordinal', 'seat_1'],
    ['a non-numeric ordinal', 'seat_1_x'],
    ['event 0', 'seat_0_1'],
    ['an ordinal with a leading zero', 'seat_1_01'],
    ['an event id above 2^31-1', 'seat_2147483648_1'],
    ['another kind of ID', 'evt_1'],
  ])('decodeSeatId rejects %s (%j) naming the field', (_, value) => {
    expectBadInput(() => decodeSeatId(value, 'seatIds[2]'), 'seatIds[2]');
  });
});

describe('rowLabel', () => {
  it.each([
    [0, 'A'],
    [25, 'Z'],
    [26, 'AA'],
    [27, 'AB'],
    [51, 'AZ'],
    [52, 'BA'],
    [701, 'ZZ'],
  ])('row %i is %s', (index, label) => {
    expect(rowLabel(index)).toBe(label);
  });

  it('gives all 702 rows distinct labels of capital letters', () => {
    const labels = Array.from({ length: 702 }, (_, i) => rowLabel(i));
    expect(new Set(labels).size).toBe(702);
    for (const label of labels) expect(label).toMatch(/^[A-Z]{1,2}$/);
  });
});

describe('availability bitmap', () => {
  it('sets bit 7 - (i % 8) of byte floor(i / 8) for each available seat', () => {
    const { bitmap, availableCount } = availabilityBitmap('AHBAAAAAAH');
    expect([...Buffer.from(bitmap, 'base64')]).toEqual([0b10011111, 0b10000000]);
    expect(availableCount).toBe(7);
    expect(decodeAvailability(bitmap, 10)).toEqual([true, false, false, true, true, true, true, true, true, false]);
  });

  it('is empty for a map without seats', () => {
    expect(availabilityBitmap('')).toEqual({ bitmap: '', availableCount: 0 });
    expect(decodeAvailability('', 0)).toEqual([]);
  });

  it('decodes to exactly the available seats, for any status string', () => {
    fc.assert(
      fc.property(fc.array(fc.constantFrom('A', 'H', 'B'), { minLength: 0, maxLength: 200 }), (letters) => {
        const statuses = letters.join('');
        const { bitmap, availableCount } = availabilityBitmap(statuses);
        expect(Buffer.from(bitmap, 'base64').length).toBe(Math.ceil(statuses.length / 8));
        const decoded = decodeAvailability(bitmap, statuses.length);
        expect(decoded).toHaveLength(statuses.length);
        decoded.forEach((available, i) => expect(available).toBe(statuses[i] === 'A'));
        expect(availableCount).toBe(letters.filter((letter) => letter === 'A').length);
      }),
      { numRuns: 300 },
    );
  });
});

describe('seatStatus', () => {
  it('maps each letter to its status', () => {
    expect(seatStatus('AHB', 0)).toBe('AVAILABLE');
    expect(seatStatus('AHB', 1)).toBe('HELD');
    expect(seatStatus('AHB', 2)).toBe('BOOKED');
  });

  it.each([3, -1, 100])('throws for ordinal %i of a 3-seat map', (ordinal) => {
    expect(() => seatStatus('AHB', ordinal)).toThrow(`no seat with ordinal ${ordinal} in a map of 3 seats`);
  });
});

describe('pageSize', () => {
  it('defaults to 20', () => {
    expect(pageSize(undefined)).toBe(20);
    expect(pageSize(null)).toBe(20);
  });

  it('accepts 1 to 100', () => {
    expect(pageSize(1)).toBe(1);
    expect(pageSize(100)).toBe(100);
  });

  it.each([0, 101, 1.5, -1])('rejects %d naming first', (first) => {
    expectBadInput(() => pageSize(first), 'first');
  });
});

describe('toPrefixQuery', () => {
  it('makes every word a required prefix', () => {
    expect(toPrefixQuery('Taylor Swift')).toBe('taylor:* & swift:*');
  });

  it('keeps only letters and digits, so tsquery syntax cannot get through', () => {
    expect(toPrefixQuery("a & b | !c:*'")).toBe('a:* & b:* & c:*');
    expect(toPrefixQuery("AC/DC (live) '24 <-> x")).toBe('ac:* & dc:* & live:* & 24:* & x:*');
  });

  it.each(['', '   ', '!!!', "&|!:*()'<->"])('is undefined for %j, which has no word', (text) => {
    expect(toPrefixQuery(text)).toBeUndefined();
  });

  it('keeps unicode letters', () => {
    expect(toPrefixQuery('Beyoncé')).toBe('beyoncé:*');
    expect(toPrefixQuery('Sigur Rós 東京')).toBe('sigur:* & rós:* & 東京:*');
  });

  it('accepts 200 characters and 10 words', () => {
    expect(toPrefixQuery('a'.repeat(200))).toBe(`${'a'.repeat(200)}:*`);
    expect(toPrefixQuery('w '.repeat(10))).toBe(Array(10).fill('w:*').join(' & '));
  });

  it('rejects more than 200 characters naming filter.text', () => {
    expectBadInput(() => toPrefixQuery('a'.repeat(201)), 'filter.text');
  });

  it('rejects more than 10 words naming filter.text', () => {
    expectBadInput(() => toPrefixQuery('one two three four five six seven eight nine ten eleven'), 'filter.text');
  });
});

describe('event cursors', () => {
  const startsAt = new Date('2030-06-01T19:30:00.000Z');

  it('round-trips a ranked key', () => {
    const key = { rank: 0.25, startsAt, id: 42 };
    expect(decodeCursor(encodeCursor(key), true)).toEqual(key);
  });

  it('round-trips an unranked key', () => {
    const key = { rank: null, startsAt, id: 7 };
    expect(decodeCursor(encodeCursor(key), false)).toEqual(key);
  });

  it('rejects a ranked cursor in an unranked search, and vice versa', () => {
    expectBadInput(() => decodeCursor(encodeCursor({ rank: 0.25, startsAt, id: 42 }), false), 'after');
    expectBadInput(() => decodeCursor(encodeCursor({ rank: null, startsAt, id: 42 }), true), 'after');
  });

  it.each([
    ['not base64url JSON', '!!'],
    ['an empty cursor', ''],
    ['an object', base64url('{}')],
    ['two elements', base64url('[1,2]')],
    ['a string rank', base64url('["x",1,1]')],
    ['a fractional time', base64url('[null,1.5,1]')],
    ['id 0', base64url('[null,1,0]')],
    ['a string id', base64url('[null,1,"1"]')],
  ])('rejects %s naming after', (_, cursor) => {
    expectBadInput(() => decodeCursor(cursor, true), 'after');
    expectBadInput(() => decodeCursor(cursor, false), 'after');
  });
});

describe('validateEventSpec', () => {
  const validSpec = (): EventSpec => ({
    title: 'The Eras Tour',
    performer: 'Taylor Swift',
    category: 'concert',
    startsAt: new Date('2030-06-01T19:00:00Z'),
    onSaleAt: new Date('2030-05-01T10:00:00Z'),
    maxTicketsPerUser: 4,
    holdDurationSeconds: 600,
    currency: 'USD',
    sections: [
      { name: 'Floor', price: 25_000, rows: 10, seatsPerRow: 20 },
      { name: 'Balcony', price: 9_900, rows: 5, seatsPerRow: 30 },
    ],
    waitingRoom: {
      opensAt: new Date('2030-05-01T09:00:00Z'),
      admissionsPerMinute: 500,
      admissionWindowSeconds: 600,
    },
  });

  it('accepts a valid spec', () => {
    expect(() => validateEventSpec(validSpec())).not.toThrow();
    expect(() => validateEventSpec({ ...validSpec(), waitingRoom: null })).not.toThrow();
  });

  it('accepts exactly 200,000 seats and onSaleAt equal to startsAt', () => {
    const spec = validSpec();
    spec.sections = [{ name: 'Field', price: 0, rows: 200, seatsPerRow: 1_000 }];
    spec.onSaleAt = spec.startsAt;
    spec.waitingRoom = null;
    expect(() => validateEventSpec(spec)).not.toThrow();
  });

  const cases: [string, (spec: EventSpec) => void, string][] = [
    ['a blank title', (s) => void (s.title = '   '), 'input.title'],
    ['onSaleAt after startsAt', (s) => void (s.onSaleAt = new Date(s.startsAt.getTime() + 1)), 'input.onSaleAt'],
    ['maxTicketsPerUser 0', (s) => void (s.maxTicketsPerUser = 0), 'input.maxTicketsPerUser'],
    ['holdDurationSeconds 59', (s) => void (s.holdDurationSeconds = 59), 'input.holdDurationSeconds'],
    ['a lower-case currency', (s) => void (s.currency = 'usd'), 'input.currency'],
    ['no sections', (s) => void (s.sections = []), 'input.sections'],
    ['sections[1].rows 0', (s) => void (s.sections[1]!.rows = 0), 'input.sections[1].rows'],
    ['sections[1].seatsPerRow -1', (s) => void (s.sections[1]!.seatsPerRow = -1), 'input.sections[1].seatsPerRow'],
    ['a negative price', (s) => void (s.sections[0]!.price = -1), 'input.sections[0].price'],
    [
      'more than 200,000 seats in total',
      (s) =>
        void (s.sections = [
          { name: 'Lower', price: 100, rows: 100, seatsPerRow: 1_000 },
          { name: 'Upper', price: 100, rows: 101, seatsPerRow: 1_000 },
        ]),
      'input.sections',
    ],
    [
      'waitingRoom.opensAt after onSaleAt',
      (s) => void (s.waitingRoom!.opensAt = new Date(s.onSaleAt.getTime() + 1)),
      'input.waitingRoom.opensAt',
    ],
  ];

  it.each(cases)('rejects %s', (_, breakIt, field) => {
    const spec = validSpec();
    breakIt(spec);
    expectBadInput(() => validateEventSpec(spec), field);
  });
});

describe('edge cases found in review', () => {
  it('has no row label past ZZ', () => {
    expect(() => rowLabel(702)).toThrow(RangeError);
    expect(() => rowLabel(-1)).toThrow(RangeError);
  });

  it('normalises search text to NFC and keeps combining marks inside words', () => {
    expect(toPrefixQuery('Beyonce\u0301')).toBe('beyoncé:*');
    expect(toPrefixQuery('Beyoncé')).toBe('beyoncé:*');
  });

  it('rejects cursors whose time or id is out of range', () => {
    const forge = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
    // JS dates reach ±8.64e15 ms; both databases store years 1000 to 9999 alike.
    const outside = [9e15, -8.64e15, Date.parse('0999-12-31T23:59:59Z'), Date.parse('9999-12-31T23:59:59.999Z') + 1];
    for (const cursor of [...outside.map((t) => forge([null, t, 1])), forge([null, 0, 1e300]), forge([null, 0, 2 ** 31])]) {
      expect(() => decodeCursor(cursor, false)).toThrow(BadUserInputError);
    }
  });
});

describe('in-flight operations', () => {
  it('wakes every waiter once the last operation settles, and no sooner', async () => {
    const { createInFlight } = await import('../server/inflight.js');
    const inFlight = createInFlight();
    let release!: () => void;
    const work = inFlight.track(() => new Promise<void>((resolve) => (release = resolve)));
    const woken: string[] = [];
    const first = inFlight.idle().then(() => woken.push('first'));
    const second = inFlight.idle().then(() => woken.push('second'));
    await Promise.resolve();
    expect(woken).toEqual([]);
    release();
    await Promise.all([work, first, second]);
    expect(woken.sort()).toEqual(['first', 'second']);
    await expect(inFlight.track(() => Promise.reject(new Error('x')))).rejects.toThrow('x');
    await inFlight.idle();
  });
});
