import { randomUUID } from 'node:crypto';
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
  /** Every charge made, by key (booking id). */
  readonly charges: ReadonlyMap<string, TestCharge>;
  /** Settles a pending `tok_async` charge and returns the webhook event the provider sends for it. */
  settle(chargeId: string, outcome: 'succeeded' | 'failed'): PaymentEvent;
  /** Stops delivering scheduled webhooks. */
  close(): void;
}

/** The tokens of API.md: approved at once, declined, or answered later by webhook. */
const TOKENS = new Set(['tok_visa', 'tok_declined', 'tok_async']);

/**
 * The built-in test provider (the default outside production). It keeps its ledger in memory, so it is only
 * for one process: demos, tests and benchmarks. `tok_async` charges settle as succeeded after `asyncDelayMs`
 * through `deliver` (the server posts a signed webhook to itself); 0 leaves them pending until `settle`.
 */
export function createTestPaymentProvider(options: { asyncDelayMs: number; deliver?: (event: PaymentEvent) => Promise<void> }): TestPaymentProvider {
  const charges = new Map<string, TestCharge>();
  const byChargeId = new Map<string, TestCharge>();
  const timers = new Set<NodeJS.Timeout>();
  let closed = false;

  function settle(chargeId: string, outcome: 'succeeded' | 'failed'): PaymentEvent {
    const charge = byChargeId.get(chargeId);
    if (!charge) throw new Error(`no test charge ${chargeId}`);
    if (charge.status === 'pending') charge.status = outcome === 'succeeded' ? 'captured' : 'failed';
    return {
      id: `pev_${randomUUID()}`,
      type: charge.status === 'captured' ? 'charge.succeeded' : 'charge.failed',
      data: { chargeId, bookingId: charge.key },
    };
  }

  return {
    name: 'test',
    charges,
    settle,
    acceptsToken: (token) => TOKENS.has(token),
    async charge({ key, token, amount, currency }): Promise<ChargeOutcome> {
      let charge = charges.get(key);
      if (!charge) {
        const status = token === 'tok_visa' ? 'captured' : token === 'tok_declined' ? 'declined' : 'pending';
        charge = { chargeId: `ch_${randomUUID()}`, key, token, amount, currency, status, refunds: 0 };
        charges.set(key, charge);
        byChargeId.set(charge.chargeId, charge);
        const { chargeId } = charge;
        if (status === 'pending' && options.asyncDelayMs > 0 && options.deliver) {
          const timer = setTimeout(() => {
            timers.delete(timer);
            if (!closed) void options.deliver!(settle(chargeId, 'succeeded')).catch(() => {});
          }, options.asyncDelayMs);
          timer.unref();
          timers.add(timer);
        }
      }
      const status = charge.status === 'failed' ? 'declined' : charge.status;
      return { status, chargeId: charge.chargeId };
    },
    async refund({ key, chargeId }) {
      const charge = charges.get(key);
      if (!charge || charge.chargeId !== chargeId) throw new Error(`no test charge ${chargeId} for ${key}`);
      if (charge.status === 'captured' && charge.refunds === 0) charge.refunds = 1;
      return { refundId: `re_${charge.chargeId.slice(3)}` };
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
