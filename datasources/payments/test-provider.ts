import { randomUUID } from 'node:crypto';
import type { Queryable } from '../db.js';
import { signWebhook, type ChargeOutcome, type PaymentEvent, type PaymentProvider } from '../../domain/booking/payment.js';

/** A charge as the test provider keeps it. */
export interface TestCharge {
  chargeId: string;
  key: string;
  token: string;
  amount: number;
  currency: string;
  status: 'captured' | 'declined' | 'pending' | 'failed';
  /** Refund calls that moved money (a repeated refund call with the same key moves none). */
  refunds: number;
}

export interface TestPaymentProvider extends PaymentProvider {
  /** The charge made with this key (booking id), if any. */
  chargeOf(key: string): Promise<TestCharge | undefined>;
  /** Every charge made, oldest first. */
  ledger(): Promise<TestCharge[]>;
  /** Settles a pending `tok_async` charge and returns the webhook event the provider sends for it. */
  settle(chargeId: string, outcome: 'succeeded' | 'failed'): Promise<PaymentEvent>;
  /** Stops delivering scheduled webhooks. */
  close(): void;
}

/** The tokens of API.md: approved at once, declined, or answered later by webhook. */
const TOKENS = new Set(['tok_visa', 'tok_declined', 'tok_async']);

const columns = `charge_id AS "chargeId", key, token, amount, currency, status, refunds`;

/**
 * The built-in test provider (the default outside production). Its ledger is a table of the database
 * (migration 009), so every process on that database shares it, as they would a real provider's. `tok_async`
 * charges succeed `asyncDelayMs` after they were made: the process that made one then posts the signed webhook
 * through `deliver` (the server posts it to itself), and `find` reports it captured from then on wherever it is
 * asked (the webhook of a process that died is not lost). 0 leaves them pending until `settle`.
 */
export function createTestPaymentProvider(options: { db: Queryable; asyncDelayMs: number; deliver?: (event: PaymentEvent) => Promise<void> }): TestPaymentProvider {
  const { db } = options;
  const timers = new Set<NodeJS.Timeout>();
  let closed = false;

  const chargeOf = async (key: string) => (await db.query<TestCharge>(`SELECT ${columns} FROM test_payment_charges WHERE key = $1`, [key])).rows[0];
  const outcomeOf = (charge: TestCharge): ChargeOutcome => ({ status: charge.status === 'failed' ? 'declined' : charge.status, chargeId: charge.chargeId });

  async function settle(chargeId: string, outcome: 'succeeded' | 'failed'): Promise<PaymentEvent> {
    const { rows } = await db.query<TestCharge>(
      `UPDATE test_payment_charges SET status = CASE WHEN status = 'pending' THEN $2 ELSE status END
        WHERE charge_id = $1 RETURNING ${columns}`,
      [chargeId, outcome === 'succeeded' ? 'captured' : 'failed'],
    );
    const charge = rows[0];
    if (!charge) throw new Error(`no test charge ${chargeId}`);
    return { id: `pev_${randomUUID()}`, type: charge.status === 'captured' ? 'charge.succeeded' : 'charge.failed', data: { chargeId, bookingId: charge.key } };
  }

  function scheduleWebhook(chargeId: string): void {
    if (!(options.asyncDelayMs > 0 && options.deliver)) return;
    const timer = setTimeout(() => {
      timers.delete(timer);
      if (!closed) void settle(chargeId, 'succeeded').then(options.deliver).catch(() => {});
    }, options.asyncDelayMs);
    timer.unref();
    timers.add(timer);
  }

  return {
    name: 'test',
    chargeOf,
    settle,
    ledger: async () => (await db.query<TestCharge>(`SELECT ${columns} FROM test_payment_charges ORDER BY created_at, key`)).rows,
    acceptsToken: (token) => TOKENS.has(token),
    async charge({ key, token, amount, currency }): Promise<ChargeOutcome> {
      const status = token === 'tok_visa' ? 'captured' : token === 'tok_declined' ? 'declined' : 'pending';
      const { rows } = await db.query<TestCharge>(
        `INSERT INTO test_payment_charges (key, charge_id, token, amount, currency, status, settles_at)
         VALUES ($1, $2, $3, $4, $5, $6, CASE WHEN $6 = 'pending' AND $7::int > 0 THEN now() + make_interval(secs => $7::int / 1000.0) END)
         ON CONFLICT (key) DO NOTHING RETURNING ${columns}`,
        [key, `ch_${randomUUID()}`, token, amount, currency, status, options.asyncDelayMs],
      );
      // Asked again with the same key: the first charge's answer (a statement of its own sees it committed).
      const charge = rows[0] ?? (await chargeOf(key))!;
      if (rows[0]?.status === 'pending') scheduleWebhook(charge.chargeId);
      return outcomeOf(charge);
    },
    async find(key) {
      // A pending charge whose delay has passed has succeeded, whoever asks (one statement: the row as it is now).
      const { rows } = await db.query<TestCharge>(
        `UPDATE test_payment_charges SET status = CASE WHEN status = 'pending' AND settles_at <= now() THEN 'captured' ELSE status END
          WHERE key = $1 RETURNING ${columns}`,
        [key],
      );
      return rows[0] ? outcomeOf(rows[0]) : null;
    },
    async refund({ key, chargeId }) {
      const { rows } = await db.query<{ chargeId: string }>(
        `UPDATE test_payment_charges SET refunds = CASE WHEN status = 'captured' THEN 1 ELSE refunds END
          WHERE key = $1 AND charge_id = $2 RETURNING charge_id AS "chargeId"`,
        [key, chargeId],
      );
      if (!rows[0]) throw new Error(`no test charge ${chargeId} for ${key}`);
      return { refundId: `re_${chargeId.slice(3)}` };
    },
    close() {
      closed = true;
      for (const timer of timers) clearTimeout(timer);
      timers.clear();
    },
  };
}

/** Posts a provider event to a webhook URL, signed with `secret` as API.md says. */
export async function sendWebhook(url: string, secret: string, event: PaymentEvent): Promise<Response> {
  const body = JSON.stringify(event);
  return fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'onsale-signature': signWebhook(secret, body, Math.floor(Date.now() / 1000)) },
    body,
  });
}
