import { createHmac, timingSafeEqual } from 'node:crypto';

/**
 * The payment-provider port. Every call is idempotent by `key` (the booking id): asking twice charges or
 * refunds once. Calls go over the network, so the domain never makes one inside a database transaction.
 */
export interface PaymentProvider {
  readonly name: string;
  /** True when the provider could charge this token at all (a malformed or unknown token is the caller's error). */
  acceptsToken(token: string): boolean;
  charge(request: { key: string; token: string; amount: number; currency: string }): Promise<ChargeOutcome>;
  refund(request: { key: string; chargeId: string; amount: number }): Promise<{ refundId: string }>;
  /** What became of the charge made with this key, or null when none was made (the sweep asks about quiet ones). */
  find(key: string): Promise<ChargeOutcome | null>;
}

/** What the provider says of a charge: `pending` means the answer comes later, by webhook. */
export interface ChargeOutcome {
  status: 'captured' | 'declined' | 'pending';
  chargeId: string;
}

/** A provider event as it arrives on /webhooks/payments. */
export interface PaymentEvent {
  id: string;
  type: 'charge.succeeded' | 'charge.failed';
  data: { chargeId: string; bookingId: string };
}

/** Webhooks older (or further in the future) than this are refused, so that a captured one cannot be replayed. */
export const WEBHOOK_TOLERANCE_SECONDS = 300;

const hmac = (secret: string, timestamp: number, body: string) =>
  createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex');

/** The `Onsale-Signature` header for `body` sent at `timestamp` (unix seconds). */
export const signWebhook = (secret: string, body: string, timestamp: number): string =>
  `t=${timestamp},v1=${hmac(secret, timestamp, body)}`;

/**
 * Checks an `Onsale-Signature` header (`t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<raw body>">`); several
 * `v1` values are allowed, for secret rotation. Returns why it fails, or null when it is good.
 */
export function webhookSignatureProblem(secret: string, header: string | undefined, body: string, nowSeconds: number): string | null {
  if (!header) return 'missing Onsale-Signature header';
  const parts = header.split(',').map((part) => part.trim().split('='));
  const timestamps = parts.filter(([key]) => key === 't').map(([, value]) => value ?? '');
  const signatures = parts.filter(([key]) => key === 'v1').map(([, value]) => value ?? '');
  if (timestamps.length !== 1 || !/^\d{1,12}$/.test(timestamps[0]!) || !signatures.length) return 'malformed Onsale-Signature header';
  const timestamp = Number(timestamps[0]);
  if (Math.abs(nowSeconds - timestamp) > WEBHOOK_TOLERANCE_SECONDS) return 'signature timestamp outside the tolerance';
  const expected = Buffer.from(hmac(secret, timestamp, body), 'hex');
  const matches = signatures.some((signature) => {
    const given = Buffer.from(signature, 'hex');
    return /^[0-9a-f]{64}$/i.test(signature) && timingSafeEqual(given, expected);
  });
  return matches ? null : 'signature does not match';
}
