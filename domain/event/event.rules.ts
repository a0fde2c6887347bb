import { BadUserInputError } from '../errors.js';
import { checkText, isStorableInstant } from '../input.js';
import type { EventKey } from '../../datasources/postgres/events.sql.js';

export const MAX_PAGE_SIZE = 100;
export const MAX_SEATS_PER_EVENT = 200_000;
export const MAX_SECTIONS = 200;
export const MAX_ROWS_PER_SECTION = 702;
export const MAX_SEATS_PER_ROW = 1_000;
const MAX_SEARCH_WORDS = 10;
const MAX_ID = 2 ** 31 - 1;

/** Row labels: A…Z, then AA…ZZ (702 in all), as venues letter their rows. */
export function rowLabel(index: number): string {
  if (!Number.isInteger(index) || index < 0 || index >= MAX_ROWS_PER_SECTION) throw new RangeError(`no row label for row ${index}`);
  const letter = (i: number) => String.fromCharCode(65 + i);
  return index < 26 ? letter(index) : letter(Math.floor(index / 26) - 1) + letter(index % 26);
}

/** `first` of a connection, checked: 1 to MAX_PAGE_SIZE. */
export function pageSize(first: number | null | undefined): number {
  const size = first ?? 20;
  if (!Number.isInteger(size) || size < 1 || size > MAX_PAGE_SIZE) {
    throw new BadUserInputError('first', `must be between 1 and ${MAX_PAGE_SIZE}, got ${size}`);
  }
  return size;
}

/**
 * Search text as a prefix query in `to_tsquery('simple', …)` syntax: every word must match, each as a prefix.
 * Only letters, combining marks and digits survive, so nothing the caller types can change the query's syntax.
 * Undefined when the text has no word to search for.
 */
export function toPrefixQuery(text: string): string | undefined {
  if (text.length > 200) throw new BadUserInputError('filter.text', 'must be at most 200 characters');
  // NFC, and combining marks kept inside words, so that "é" typed as e + accent matches the stored "é".
  const words = text.normalize('NFC').toLowerCase().match(/[\p{L}\p{M}\p{N}]+/gu) ?? [];
  if (words.length > MAX_SEARCH_WORDS) throw new BadUserInputError('filter.text', `must have at most ${MAX_SEARCH_WORDS} words`);
  return words.length ? words.map((word) => `${word}:*`).join(' & ') : undefined;
}

/** An opaque cursor for the position after `key`. */
export function encodeCursor(key: EventKey): string {
  return Buffer.from(JSON.stringify([key.rank, key.startsAt.getTime(), key.id])).toString('base64url');
}

/** The position behind a cursor; BAD_USER_INPUT unless it came from a search of the same kind (ranked or not). */
export function decodeCursor(cursor: string, ranked: boolean): EventKey {
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    parsed = undefined;
  }
  if (Array.isArray(parsed) && parsed.length === 3) {
    const [rank, time, id] = parsed as unknown[];
    const rankOk = ranked ? typeof rank === 'number' && Number.isFinite(rank) : rank === null;
    const timeOk = Number.isSafeInteger(time) && isStorableInstant(time as number);
    if (rankOk && timeOk && Number.isInteger(id) && (id as number) > 0 && (id as number) <= MAX_ID) {
      return { rank: rank as number | null, startsAt: new Date(time as number), id: id as number };
    }
  }
  throw new BadUserInputError('after', 'not a cursor of this search; pass pageInfo.endCursor of the previous page');
}

/** The layout of one section as an admin describes it. */
export interface SectionLayout {
  name: string;
  price: number;
  rows: number;
  seatsPerRow: number;
}

/** Everything createEvent accepts, after defaults. */
export interface EventSpec {
  title: string;
  performer: string;
  category: string;
  startsAt: Date;
  onSaleAt: Date;
  maxTicketsPerUser: number;
  holdDurationSeconds: number;
  currency: string;
  sections: SectionLayout[];
  waitingRoom: { opensAt: Date; admissionsPerMinute: number; admissionWindowSeconds: number } | null;
}

function checkInt(field: string, value: number, min: number, max: number): void {
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new BadUserInputError(field, `must be between ${min} and ${max}, got ${value}`);
  }
}

/** The defaults of CreateEventInput (API.md), applied here once for every caller. */
export const EVENT_DEFAULTS = { maxTicketsPerUser: 8, holdDurationSeconds: 600, currency: 'USD', admissionWindowSeconds: 900 };

/** What an admin (or the seed) sends: settings left out or null take EVENT_DEFAULTS. */
export interface EventInput extends Omit<EventSpec, 'maxTicketsPerUser' | 'holdDurationSeconds' | 'currency' | 'waitingRoom'> {
  maxTicketsPerUser?: number | null;
  holdDurationSeconds?: number | null;
  currency?: string | null;
  waitingRoom?: { opensAt: Date; admissionsPerMinute: number; admissionWindowSeconds?: number | null } | null;
}

/** An event input with its defaults applied. */
export function eventSpec(input: EventInput): EventSpec {
  const { waitingRoom, ...rest } = input;
  return {
    ...rest,
    maxTicketsPerUser: input.maxTicketsPerUser ?? EVENT_DEFAULTS.maxTicketsPerUser,
    holdDurationSeconds: input.holdDurationSeconds ?? EVENT_DEFAULTS.holdDurationSeconds,
    currency: input.currency ?? EVENT_DEFAULTS.currency,
    waitingRoom: waitingRoom
      ? { ...waitingRoom, admissionWindowSeconds: waitingRoom.admissionWindowSeconds ?? EVENT_DEFAULTS.admissionWindowSeconds }
      : null,
  };
}

/** Checks an event before anything is written; throws BAD_USER_INPUT naming the first bad field. */
export function validateEventSpec(spec: EventSpec): void {
  checkText('input.title', spec.title, 200);
  checkText('input.performer', spec.performer, 200);
  checkText('input.category', spec.category, 50);
  if (spec.onSaleAt > spec.startsAt) throw new BadUserInputError('input.onSaleAt', 'must not be after startsAt');
  checkInt('input.maxTicketsPerUser', spec.maxTicketsPerUser, 1, 100);
  checkInt('input.holdDurationSeconds', spec.holdDurationSeconds, 60, 86_400);
  if (!/^[A-Z]{3}$/.test(spec.currency)) throw new BadUserInputError('input.currency', 'must be an ISO 4217 code such as USD');
  if (spec.sections.length === 0 || spec.sections.length > MAX_SECTIONS) {
    throw new BadUserInputError('input.sections', `must have 1 to ${MAX_SECTIONS} sections`);
  }
  let seats = 0;
  spec.sections.forEach((section, i) => {
    const field = `input.sections[${i}]`;
    checkText(`${field}.name`, section.name, 100);
    checkInt(`${field}.price`, section.price, 0, 100_000_000);
    checkInt(`${field}.rows`, section.rows, 1, MAX_ROWS_PER_SECTION);
    checkInt(`${field}.seatsPerRow`, section.seatsPerRow, 1, MAX_SEATS_PER_ROW);
    seats += section.rows * section.seatsPerRow;
  });
  if (seats > MAX_SEATS_PER_EVENT) {
    throw new BadUserInputError('input.sections', `must add up to at most ${MAX_SEATS_PER_EVENT} seats, got ${seats}`);
  }
  const wr = spec.waitingRoom;
  if (wr) {
    if (wr.opensAt > spec.onSaleAt) throw new BadUserInputError('input.waitingRoom.opensAt', 'must not be after onSaleAt');
    checkInt('input.waitingRoom.admissionsPerMinute', wr.admissionsPerMinute, 1, 100_000);
    checkInt('input.waitingRoom.admissionWindowSeconds', wr.admissionWindowSeconds, 60, 86_400);
  }
}
