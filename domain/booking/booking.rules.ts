import { createHash } from 'node:crypto';
import type { DbBooking, DbBookingStatus } from '../../datasources/postgres/bookings.sql.js';
import { BadUserInputError, DomainError } from '../errors.js';
import type { PaymentProvider } from './payment.js';
import { topics } from '../../subscriptions/topics.js';

/**
 * The booking state machine: a booking waits for its payment, then is confirmed or fails; a confirmed booking
 * may be refunded. Nothing else: FAILED and REFUNDED are final.
 */
export const BOOKING_TRANSITIONS: Record<DbBookingStatus, readonly DbBookingStatus[]> = {
  PENDING_PAYMENT: ['CONFIRMED', 'FAILED'],
  CONFIRMED: ['REFUNDED'],
  FAILED: [],
  REFUNDED: [],
};

/** Throws (an internal error: a bug) unless a booking may go from `from` to `to`. */
export function assertTransition(from: DbBookingStatus, to: DbBookingStatus): void {
  if (!BOOKING_TRANSITIONS[from].includes(to)) throw new Error(`booking cannot go from ${from} to ${to}`);
}

/** BAD_USER_INPUT unless the key is 1 to 200 visible ASCII characters. */
export function checkIdempotencyKey(key: string): void {
  if (!/^[\x21-\x7e]{1,200}$/.test(key)) {
    throw new BadUserInputError('input.idempotencyKey', 'must be 1 to 200 visible ASCII characters (a UUID is a good choice)');
  }
}

/** BAD_USER_INPUT unless the token looks like a token and the provider could charge it. */
export function checkPaymentToken(provider: PaymentProvider, token: string): void {
  if (!/^tok_[A-Za-z0-9_]{1,100}$/.test(token)) throw new BadUserInputError('input.paymentToken', 'not a payment token (tok_…)');
  if (!provider.acceptsToken(token)) throw new BadUserInputError('input.paymentToken', `the ${provider.name} payment provider does not know this token`);
}

/** What an idempotency key is bound to: the hold and the payment token. */
export const requestHash = (holdId: string, paymentToken: string): string =>
  createHash('sha256').update(JSON.stringify([holdId, paymentToken])).digest('hex');

export const paymentDeclined = () =>
  new DomainError('PAYMENT_DECLINED', 'The payment was declined; your hold is still active: try another payment method with a new idempotency key');

/**
 * The answer to a retry with a key that was used before: the same booking (or the same decline) for the same
 * input, IDEMPOTENCY_KEY_REUSED for any other.
 */
export function replay(booking: DbBooking, hash: string): DbBooking {
  if (booking.requestHash !== hash) {
    throw new DomainError('IDEMPOTENCY_KEY_REUSED', 'This idempotency key was used for another request; use a new key for a new request');
  }
  if (booking.status === 'FAILED' && booking.failure === 'declined') throw paymentDeclined();
  return booking;
}

/** The outbox message that tells a booking's watchers its new status. */
export const bookingMessage = (booking: DbBooking) => ({
  topic: topics.booking(booking.id),
  payload: { bookingId: booking.id, status: booking.status },
});
