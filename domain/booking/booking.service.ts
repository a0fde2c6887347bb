import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import type { Database, Queryable } from '../../datasources/db.js';
import {
  findBooking,
  findBookingByKey,
  findBookingsOfOwner,
  findLiveBookingOfHold,
  findRefundsDue,
  findUnsettledBookings,
  touchBookings,
  freeBookedSeats,
  insertBooking,
  recordPaymentEvent,
  recordRefund,
  updateBooking,
  type BookingChange,
  type DbBooking,
} from '../../datasources/postgres/bookings.sql.js';
import { isPgError, PgError } from '../../datasources/postgres/errors.js';
import { convertHold, extendHold, findHold, restoreHoldExpiry } from '../../datasources/postgres/holds.sql.js';
import { insertOutbox, type OutboxMessage } from '../../datasources/postgres/outbox.sql.js';
import { endOffers } from '../../datasources/postgres/waitlist.sql.js';
import { mayAct, ownerKey, type Caller } from '../caller.js';
import { DomainError, NotFoundError } from '../errors.js';
import { checkHoldActive, holdMessage, MAX_LISTED } from '../hold/hold.rules.js';
import { learnFreed } from '../hold/hold-release.js';
import { freeWithOffers } from '../waitlist/offers.js';
import { entryMessage } from '../waitlist/waitlist.rules.js';
import { decodeId, decodeUuidId } from '../ids.js';
import {
  assertTransition,
  bookingMessage,
  checkIdempotencyKey,
  checkPaymentToken,
  paymentDeclined,
  replay,
  requestHash,
} from './booking.rules.js';
import { webhookSignatureProblem, type ChargeOutcome, type PaymentEvent, type PaymentProvider } from './payment.js';
import type { SeatMapCache } from '../seat-map/seat-map.service.js';

interface LogLike {
  info(object: object, message: string): void;
  warn(object: object, message: string): void;
  error(object: object, message: string): void;
}

/** What bookings need: the database, the payment provider, a log and two settings. (Services satisfies it.) */
export interface BookingDeps {
  db: Database;
  /** Told of the seats a cancellation frees, so that this instance offers them again at once. */
  seatMaps: Pick<SeatMapCache, 'learnTaken'>;
  payments: PaymentProvider;
  log: LogLike;
  config: { paymentHoldExtensionSeconds: number; paymentWebhookSecret: string };
}

/** How long a retry waits for a first request with the same key that is still talking to the provider. */
const REPLAY_WAIT_MS = 5_000;

/**
 * Turns an active hold into a booking and pays for it. Idempotent per caller and key: the same key and input
 * give the same booking and one charge, even for simultaneous requests; other input with the key is refused.
 * The hold is extended while the payment is in flight. No transaction is open while the provider is called.
 */
export async function confirmBooking(
  deps: BookingDeps,
  caller: Caller,
  input: { holdId: string; paymentToken: string; idempotencyKey: string },
): Promise<DbBooking> {
  const owner = ownerKey(caller);
  const holdId = decodeUuidId('hold', input.holdId, 'input.holdId');
  checkIdempotencyKey(input.idempotencyKey);
  checkPaymentToken(deps.payments, input.paymentToken);
  const hash = requestHash(holdId, input.paymentToken);
  const start = () => startBooking(deps, owner, holdId, input.idempotencyKey, hash);
  let started = await start();
  if ('inFlight' in started) {
    // Another payment for this hold was being charged: wait for its outcome (it may be declined and free the hold)
    // and try once more, so that simultaneous retries of one request all get the same answer.
    await settledBooking(deps.db, started.inFlight);
    started = await start();
  }
  if ('inFlight' in started) throw holdBeingPaid();
  if ('previous' in started) {
    const previous = await settledBooking(deps.db, started.previous);
    // Its first request went quiet before recording the provider's answer (its process may have died): this retry,
    // with the same input, asks the provider again. The provider's idempotency by key keeps it one charge.
    if (previous.status === 'PENDING_PAYMENT' && previous.chargeStatus === 'requested' && previous.requestHash === hash) {
      return pay(deps, previous, input.paymentToken);
    }
    return replay(previous, hash);
  }
  return pay(deps, started.booking, input.paymentToken);
}

/** Charges a booking (the provider call, outside any transaction) and applies the answer; declined throws. */
async function pay(deps: BookingDeps, booking: DbBooking, paymentToken: string): Promise<DbBooking> {
  const outcome = await deps.payments.charge({ key: booking.id, token: paymentToken, amount: booking.total, currency: booking.currency });
  const settled = await settleCharge(deps, booking.id, outcome);
  if (settled.failure === 'declined') throw paymentDeclined();
  return settled;
}

const holdBeingPaid = () => new DomainError('HOLD_NOT_ACTIVE', 'This hold is already being paid for or booked', { status: 'ACTIVE' });

type Started = { previous: DbBooking } | { booking: DbBooking } | { inFlight: DbBooking };

/**
 * Transaction 1 of confirmBooking: under the hold's lock, the booking this key made before, or a new booking
 * with the hold extended for the payment; or the other booking whose charge is still being asked for.
 */
async function startBooking(deps: BookingDeps, owner: string, holdId: string, idempotencyKey: string, hash: string): Promise<Started> {
  return deps.db
    .transaction(async (tx): Promise<Started> => {
      // The hold's lock serialises every attempt to pay for it, retries with the same key included.
      const hold = await findHold(tx, holdId, true);
      const previous = await findBookingByKey(tx, owner, idempotencyKey);
      if (previous) return { previous };
      if (!hold || hold.owner !== owner) throw new NotFoundError('Hold', 'input.holdId');
      checkHoldActive(hold);
      const live = await findLiveBookingOfHold(tx, holdId);
      if (live?.status === 'PENDING_PAYMENT' && live.chargeStatus === 'requested') return { inFlight: live };
      if (live) throw holdBeingPaid();
      if (!(await extendHold(tx, holdId, deps.config.paymentHoldExtensionSeconds))) {
        throw new DomainError('HOLD_EXPIRED', 'This hold has expired; its seats are no longer yours', { status: 'EXPIRED' });
      }
      const booking = await insertBooking(tx, {
        id: randomUUID(),
        eventId: hold.eventId,
        holdId,
        owner,
        ordinals: hold.ordinals,
        total: hold.total,
        currency: hold.currency,
        idempotencyKey,
        requestHash: hash,
      });
      await insertOutbox(tx, [bookingMessage(booking)]);
      return { booking };
    })
    .catch(async (error: unknown) => {
      // Same key, other hold, at the same moment: the other request's insert won.
      if (isPgError(error, PgError.uniqueViolation, 'bookings_owner_idempotency_key_key')) {
        return { previous: (await findBookingByKey(deps.db, owner, idempotencyKey))! };
      }
      throw error;
    });
}

/** The booking once its first request has heard from the provider (or after REPLAY_WAIT_MS, as it is then). */
async function settledBooking(db: Database, booking: DbBooking): Promise<DbBooking> {
  const deadline = Date.now() + REPLAY_WAIT_MS;
  while (booking.chargeStatus === 'requested' && booking.status === 'PENDING_PAYMENT' && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 25));
    booking = (await findBooking(db, booking.id))!;
  }
  return booking;
}

/**
 * Applies what the provider said of a booking's charge, from the confirming request or from a webhook
 * (`event`, applied once). Captured: the hold becomes the booking's seats, CONFIRMED; if the hold was
 * lost meanwhile, the booking FAILED and the charge is refunded. Declined: FAILED, and the hold gets its
 * original expiry back. Pending: wait for the webhook. Whatever arrives late or twice changes nothing.
 */
export async function settleCharge(deps: BookingDeps, bookingId: string, outcome: ChargeOutcome, event?: PaymentEvent): Promise<DbBooking> {
  const booking = await deps.db.transaction(async (tx) => {
    const found = await findBooking(tx, bookingId);
    if (!found) return null;
    await findHold(tx, found.holdId, true);
    const current = (await findBooking(tx, bookingId, true))!;
    if (event && !(await recordPaymentEvent(tx, event.id, event.type))) return current;
    return applyOutcome(tx, current, outcome);
  });
  if (!booking) throw new NotFoundError('Booking');
  if (booking.refundStatus === 'due') await refund(deps, booking);
  return booking;
}

async function applyOutcome(tx: Queryable, booking: DbBooking, outcome: ChargeOutcome): Promise<DbBooking> {
  const messages: OutboxMessage[] = [];
  const change = async (next: BookingChange) => {
    if (next.status) assertTransition(booking.status, next.status);
    const updated = await updateBooking(tx, booking.id, next);
    if (next.status) messages.push(bookingMessage(updated));
    return updated;
  };
  let result = booking;
  const pending = booking.status === 'PENDING_PAYMENT';
  if (outcome.status === 'pending') {
    if (pending && booking.chargeStatus === 'requested') result = await change({ chargeStatus: 'pending', chargeId: outcome.chargeId });
  } else if (outcome.status === 'declined') {
    if (pending) {
      result = await change({ status: 'FAILED', failure: 'declined', chargeStatus: 'declined', chargeId: outcome.chargeId });
      await restoreHoldExpiry(tx, booking.holdId);
    } else if (booking.chargeStatus !== 'captured') {
      result = await change({ chargeStatus: 'declined', chargeId: outcome.chargeId });
    }
  } else if (pending) {
    // If the hold lost a seat, everything since the savepoint is undone.
    await tx.query('SAVEPOINT convert_hold');
    const confirmed = await change({ status: 'CONFIRMED', chargeStatus: 'captured', chargeId: outcome.chargeId });
    // Booking a waitlist offer accepts it.
    const accepted = await endOffers(tx, [booking.holdId], 'ACCEPTED');
    await insertOutbox(tx, [...messages, holdMessage({ id: booking.holdId, status: 'CONVERTED' }), ...accepted.map(entryMessage)]);
    if ((await convertHold(tx, booking.holdId, booking.id)) === booking.ordinals.length) return confirmed;
    await tx.query('ROLLBACK TO SAVEPOINT convert_hold');
    messages.length = 0;
    result = await change({ status: 'FAILED', failure: 'hold_lost', chargeStatus: 'captured', chargeId: outcome.chargeId, refundStatus: 'due' });
  } else if (booking.chargeStatus !== 'captured') {
    // The booking failed (its payment took too long) and the money arrived after all: give it back.
    result = await change({ chargeStatus: 'captured', chargeId: outcome.chargeId, refundStatus: 'due' });
  }
  await insertOutbox(tx, messages);
  return result;
}

/** Refunds a booking whose refund is due, and records it; on failure it stays due for the sweep to retry. */
async function refund(deps: BookingDeps, booking: DbBooking): Promise<void> {
  try {
    const { refundId } = await deps.payments.refund({ key: booking.id, chargeId: booking.chargeId!, amount: booking.total });
    await recordRefund(deps.db, booking.id, refundId);
    deps.log.info({ bookingId: booking.id, refundId }, 'refunded');
  } catch (error) {
    deps.log.error({ err: error, bookingId: booking.id }, 'refund failed; the sweep will retry it');
  }
}

/**
 * What the sweep does for payments that went quiet for `olderThanSeconds` (a process that died between the
 * provider's answer and its record, a lost webhook, a provider outage): retries the refunds that are due, and
 * asks the provider what became of the charges of bookings still waiting for one, then applies the answer as
 * the confirming request would have. A charge the provider never saw stays for the hold's expiry to fail.
 */
export async function recoverQuietPayments(deps: BookingDeps, olderThanSeconds: number, limit: number): Promise<number> {
  const due = await findRefundsDue(deps.db, olderThanSeconds, limit);
  for (const booking of due) await refund(deps, booking);
  const unsettled = await findUnsettledBookings(deps.db, olderThanSeconds, limit);
  const unchanged: string[] = [];
  for (const booking of unsettled) {
    const outcome = await deps.payments.find(booking.id);
    if (outcome && (outcome.status !== 'pending' || booking.chargeStatus === 'requested')) await settleCharge(deps, booking.id, outcome);
    else unchanged.push(booking.id);
  }
  // Still waiting (the provider has no answer yet): to the back of the queue, so that they cannot crowd out others.
  await touchBookings(deps.db, unchanged);
  return due.length + unsettled.length;
}

/**
 * Cancels a confirmed booking (its owner, or an admin): REFUNDED, its seats free at once (and offered to the
 * waitlist in the same transaction), the money returned.
 * Cancelling a refunded or failed booking returns it unchanged; a booking still waiting for its payment cannot
 * be cancelled yet.
 */
export async function cancelBooking(deps: BookingDeps, caller: Caller, id: string): Promise<DbBooking> {
  const bookingId = decodeUuidId('bkg', id, 'id');
  const { booking, offers } = await deps.db.transaction(async (tx) => {
    const found = await findBooking(tx, bookingId);
    if (!found || !mayAct(caller, found.owner)) throw new NotFoundError('Booking', 'id');
    await findHold(tx, found.holdId, true);
    const current = (await findBooking(tx, bookingId, true))!;
    if (current.status === 'PENDING_PAYMENT') {
      throw new DomainError('BAD_USER_INPUT', 'id: this booking is waiting for its payment; cancel it once it is confirmed', { field: 'id' });
    }
    if (current.status !== 'CONFIRMED') return { booking: current, offers: [] };
    assertTransition(current.status, 'REFUNDED');
    const refunded = await updateBooking(tx, bookingId, { status: 'REFUNDED', refundStatus: 'due' });
    const { holds, messages } = await freeWithOffers(tx, [current], () => freeBookedSeats(tx, bookingId));
    await insertOutbox(tx, [bookingMessage(refunded), ...messages]);
    return { booking: refunded, offers: holds };
  });
  if (booking.status === 'REFUNDED') learnFreed(deps.seatMaps, booking, offers);
  if (booking.refundStatus === 'due') await refund(deps, booking);
  return booking;
}

/** A booking by its public ID, if `caller` may see it (owner or admin); null otherwise, whether or not it exists. */
export async function getBooking(db: Database, caller: Caller, id: string): Promise<DbBooking | null> {
  const booking = await findBooking(db, decodeUuidId('bkg', id, 'id'));
  return booking && mayAct(caller, booking.owner) ? booking : null;
}

/** The caller's bookings, newest first (at most MAX_LISTED), of one event if `eventId` is given. */
export async function bookingsOfCaller(db: Database, caller: Caller, eventId: string | null | undefined): Promise<DbBooking[]> {
  return findBookingsOfOwner(db, ownerKey(caller), eventId == null ? null : decodeId('evt', eventId, 'eventId'), MAX_LISTED);
}

const webhookBody = z.object({
  id: z.string().min(1).max(200),
  type: z.enum(['charge.succeeded', 'charge.failed']),
  data: z.object({ chargeId: z.string().min(1).max(200), bookingId: z.string().uuid() }),
});

/** What /webhooks/payments answers. */
export interface WebhookAnswer {
  status: 200 | 400;
  body: { received: boolean; error?: string };
}

/**
 * A provider event from /webhooks/payments. Unsigned, mis-signed, stale or malformed: 400 and nothing changes.
 * A signed event is applied once (a second delivery changes nothing) and acknowledged with 200, also when it is
 * about a booking we do not know or a charge that does not match (logged, since retrying will not help).
 */
export async function receivePaymentWebhook(deps: BookingDeps, signature: string | undefined, rawBody: string, nowSeconds: number): Promise<WebhookAnswer> {
  const problem = webhookSignatureProblem(deps.config.paymentWebhookSecret, signature, rawBody, nowSeconds);
  if (problem) return { status: 400, body: { received: false, error: problem } };
  let event: PaymentEvent;
  try {
    event = webhookBody.parse(JSON.parse(rawBody));
  } catch {
    return { status: 400, body: { received: false, error: 'not a payment event' } };
  }
  const booking = await findBooking(deps.db, event.data.bookingId);
  if (!booking || (booking.chargeId !== null && booking.chargeId !== event.data.chargeId)) {
    deps.log.warn({ event }, 'payment webhook about an unknown booking or charge; ignored');
    return { status: 200, body: { received: true } };
  }
  const outcome: ChargeOutcome = { status: event.type === 'charge.succeeded' ? 'captured' : 'declined', chargeId: event.data.chargeId };
  await settleCharge(deps, booking.id, outcome, event);
  return { status: 200, body: { received: true } };
}
