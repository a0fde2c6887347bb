import { BadUserInputError } from './errors.js';

/**
 * Public IDs are opaque strings with a type prefix (`evt_12`, `seat_12_345`), so that an ID of the wrong
 * kind, or a seat of another event, is rejected before any query runs.
 */
export type IdKind = 'ven' | 'evt' | 'sec' | 'key';

const pattern = /^([a-z]+)_([1-9]\d{0,9})$/;
const seatPattern = /^seat_([1-9]\d{0,9})_(0|[1-9]\d{0,6})$/;
const MAX_INT = 2 ** 31 - 1;

/** The public ID of a row of kind `kind`. */
export const encodeId = (kind: IdKind, id: number): string => `${kind}_${id}`;

/** The row id behind a public ID, or BAD_USER_INPUT naming `field`. */
export function decodeId(kind: IdKind, value: string, field: string): number {
  const match = pattern.exec(value);
  const id = match && match[1] === kind ? Number(match[2]) : NaN;
  if (!(id <= MAX_INT)) throw new BadUserInputError(field, `not a valid ${kind}_… ID: ${JSON.stringify(value)}`);
  return id;
}

/** A seat's public ID: its event and its ordinal in the event's seat map. */
export const encodeSeatId = (eventId: number, ordinal: number): string => `seat_${eventId}_${ordinal}`;

/** The event and ordinal behind a seat ID, or BAD_USER_INPUT naming `field`. */
export function decodeSeatId(value: string, field: string): { eventId: number; ordinal: number } {
  const match = seatPattern.exec(value);
  const eventId = Number(match?.[1]);
  if (!match || !(eventId <= MAX_INT)) throw new BadUserInputError(field, `not a valid seat ID: ${JSON.stringify(value)}`);
  return { eventId, ordinal: Number(match[2]) };
}

/** Kinds of IDs that wrap a UUID: holds, bookings and queue tickets, whose number should say nothing about sales. */
export type UuidKind = 'hold' | 'bkg' | 'qt' | 'wl';

const uuidPattern = /^(hold|bkg|qt|wl)_([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})$/;

/** The public ID of a hold or booking. */
export const encodeUuidId = (kind: UuidKind, uuid: string): string => `${kind}_${uuid}`;

/** The UUID behind a hold or booking ID, or BAD_USER_INPUT naming `field`. */
export function decodeUuidId(kind: UuidKind, value: string, field: string): string {
  const match = uuidPattern.exec(value);
  if (!match || match[1] !== kind) throw new BadUserInputError(field, `not a valid ${kind}_… ID: ${JSON.stringify(value)}`);
  return match[2]!;
}
