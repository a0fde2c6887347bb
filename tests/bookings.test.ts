// Bookings and payments in both modes: the test provider's tokens, idempotency, asynchronous webhooks (signed,
// duplicated, out of order, stale), payment across expiry, refunds and cancellation, and bad input.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sendWebhook, type TestPaymentProvider } from '../datasources/payments/test-provider.js';
import { assertNotInTransaction } from '../datasources/db.js';
import { signWebhook, type PaymentEvent } from '../domain/booking/payment.js';
import { recoverQuietPayments } from '../domain/booking/booking.service.js';
import { codes, modes, ok, startTestServer, type TestServer } from './helpers/harness.js';
import { CANCEL, CONFIRM, createOnSaleEvent, HOLD_SEATS, lapseHolds, RELEASE, seatCounts, type TestEvent } from './helpers/write-path.js';

const SECTIONS = [{ name: 'Hall', price: 2500, rows: 4, seatsPerRow: 10 }];

describe.each(modes)('bookings and payments (%s)', (mode) => {
  let server: TestServer;
  let alice: string;
  let bob: string;
  let admin: string;
  let keys = 0;

  beforeAll(async () => {
    server = await startTestServer(mode, { SWEEP_INTERVAL_MS: '0', PAYMENT_ASYNC_DELAY_MS: '0' });
    [alice, bob, admin] = await Promise.all([server.token('alice'), server.token('bob'), server.token('root', true)]);
  });
  afterAll(() => server?.stop());

  const db = () => server.app.services.db;
  const provider = () => server.app.services.payments as TestPaymentProvider;
  const webhookUrl = () => server.url.replace('/graphql', '/webhooks/payments');
  const secret = () => server.app.services.config.paymentWebhookSecret;
  const newKey = () => `key-${mode}-${++keys}`;

  const hold = async (event: TestEvent, ordinals: number[], as = alice) =>
    ok(await server.gql(HOLD_SEATS, { input: { eventId: event.id, seatIds: ordinals.map(event.seatId) } }, as)).holdSeats;
  const confirm = (holdId: string, paymentToken: string, idempotencyKey = newKey(), as = alice) =>
    server.gql(CONFIRM, { input: { holdId, paymentToken, idempotencyKey } }, as);
  const holdStatus = async (id: string) =>
    ok(await server.gql(`query($id: ID!) { hold(id: $id) { status expiresAt } }`, { id }, admin)).hold;
  const bookingRow = async (id: string) =>
    (await db().query<{ status: string; chargeStatus: string; failure: string | null; refundStatus: string | null }>(
      `SELECT status, charge_status AS "chargeStatus", failure, refund_status AS "refundStatus" FROM bookings WHERE id = $1`,
      [id.slice(4)],
    )).rows[0]!;
  const chargeOf = async (bookingId: string) => (await provider().chargeOf(bookingId.slice(4)))!;
  const bookingOfHold = async (holdId: string) =>
    (await db().query<{ id: string }>(`SELECT id FROM bookings WHERE hold_id = $1 ORDER BY created_at DESC LIMIT 1`, [holdId.slice(5)])).rows[0]!.id;
  const deliver = (event: PaymentEvent) => sendWebhook(webhookUrl(), secret(), event);

  describe('confirmBooking', () => {
    it('calls the payment provider with no transaction open', async () => {
      const payments = provider();
      const charge = payments.charge;
      const inTransaction: boolean[] = [];
      payments.charge = (request) => {
        try {
          assertNotInTransaction();
          inTransaction.push(false);
        } catch {
          inTransaction.push(true);
        }
        return charge(request);
      };
      try {
        const event = await createOnSaleEvent(server, SECTIONS);
        ok(await confirm((await hold(event, [30])).id, 'tok_visa'));
        ok(await confirm((await hold(event, [31])).id, 'tok_async'));
      } finally {
        payments.charge = charge;
      }
      expect(inTransaction).toEqual([false, false]);
    });

    it('books the seats with tok_visa: CONFIRMED, seats BOOKED, hold CONVERTED, one captured charge', async () => {
      const event = await createOnSaleEvent(server, SECTIONS);
      const held = await hold(event, [4, 5]);
      const booking = ok(await confirm(held.id, 'tok_visa')).confirmBooking;
      expect(booking.id).toMatch(/^bkg_[0-9a-f-]{36}$/);
      expect(booking.status).toBe('CONFIRMED');
      expect(booking.total).toEqual({ amount: 5000, currency: 'USD' });
      expect(booking.seats.map((seat: any) => seat.status)).toEqual(['BOOKED', 'BOOKED']);
      expect((await holdStatus(held.id)).status).toBe('CONVERTED');
      expect(await seatCounts(server, event.eventId)).toEqual({ available: 38, held: 0, booked: 2 });
      expect(await chargeOf(booking.id)).toMatchObject({ status: 'captured', amount: 5000, currency: 'USD', refunds: 0 });
      const { rows } = await db().query(`SELECT payload FROM outbox WHERE topic = $1 ORDER BY id`, [`booking.${booking.id.slice(4)}`]);
      expect(rows.map((row: any) => row.payload.status)).toEqual(['PENDING_PAYMENT', 'CONFIRMED']);
      const mine = ok(await server.gql(`{ viewer { bookings { id status } } }`, {}, alice)).viewer.bookings;
      expect(mine[0]).toEqual({ id: booking.id, status: 'CONFIRMED' });
      const query = `query($id: ID!) { booking(id: $id) { id } }`;
      expect(ok(await server.gql(query, { id: booking.id }, bob)).booking).toBeNull();
      expect(ok(await server.gql(query, { id: booking.id }, admin)).booking.id).toBe(booking.id);
    });

    it('declines tok_declined with PAYMENT_DECLINED: the hold stays ACTIVE with its expiry, and a new key can pay', async () => {
      const event = await createOnSaleEvent(server, SECTIONS);
      const held = await hold(event, [0]);
      const key = newKey();
      const declined = await confirm(held.id, 'tok_declined', key);
      expect(codes(declined)).toEqual(['PAYMENT_DECLINED']);
      const after = await holdStatus(held.id);
      expect(after).toEqual({ status: 'ACTIVE', expiresAt: held.expiresAt });
      expect(await seatCounts(server, event.eventId)).toMatchObject({ held: 1, booked: 0 });
      // The same request again gets the same answer, and charges nothing more.
      expect(codes(await confirm(held.id, 'tok_declined', key))).toEqual(['PAYMENT_DECLINED']);
      const booking = ok(await confirm(held.id, 'tok_visa')).confirmBooking;
      expect(booking.status).toBe('CONFIRMED');
      const { rows } = await db().query<{ status: string; failure: string }>(`SELECT status, failure FROM bookings WHERE hold_id = $1 ORDER BY created_at`, [held.id.slice(5)]);
      expect(rows).toEqual([{ status: 'FAILED', failure: 'declined' }, { status: 'CONFIRMED', failure: null }]);
    });

    it('is idempotent: the same key and input give the same booking and one charge, even at once; other input is refused', async () => {
      const event = await createOnSaleEvent(server, SECTIONS);
      const held = await hold(event, [1, 2]);
      const key = newKey();
      const responses = await Promise.all(Array.from({ length: 10 }, () => confirm(held.id, 'tok_visa', key)));
      const ids = new Set(responses.map((response) => ok(response).confirmBooking.id));
      expect(ids.size).toBe(1);
      const [id] = [...ids];
      expect(ok(await confirm(held.id, 'tok_visa', key)).confirmBooking).toMatchObject({ id, status: 'CONFIRMED' });
      expect((await provider().ledger()).filter((charge) => charge.key === id!.slice(4))).toHaveLength(1);
      const { rows } = await db().query(`SELECT 1 FROM bookings WHERE hold_id = $1`, [held.id.slice(5)]);
      expect(rows).toHaveLength(1);

      expect(codes(await confirm(held.id, 'tok_async', key))).toEqual(['IDEMPOTENCY_KEY_REUSED']);
      const other = await hold(event, [9]);
      expect(codes(await confirm(other.id, 'tok_visa', key))).toEqual(['IDEMPOTENCY_KEY_REUSED']);
      expect((await holdStatus(other.id)).status).toBe('ACTIVE');
      // Keys belong to their caller: Bob may use the same key for his own hold.
      const bobs = await hold(event, [20], bob);
      expect(ok(await confirm(bobs.id, 'tok_visa', key, bob)).confirmBooking.status).toBe('CONFIRMED');
    });

    it('refuses a hold that is not the caller\'s, released, converted, or lapsed, and charges nothing', async () => {
      const event = await createOnSaleEvent(server, SECTIONS);
      const chargesBefore = (await provider().ledger()).length;
      const bobs = await hold(event, [0], bob);
      expect(codes(await confirm(bobs.id, 'tok_visa'))).toEqual(['NOT_FOUND']);
      expect(codes(await server.gql(CONFIRM, { input: { holdId: bobs.id, paymentToken: 'tok_visa', idempotencyKey: 'k' } }))).toEqual(['UNAUTHENTICATED']);
      const released = await hold(event, [1]);
      ok(await server.gql(RELEASE, { id: released.id }, alice));
      expect(codes(await confirm(released.id, 'tok_visa'))).toEqual(['HOLD_NOT_ACTIVE']);
      const converted = await hold(event, [2]);
      ok(await confirm(converted.id, 'tok_visa'));
      expect(codes(await confirm(converted.id, 'tok_visa'))).toEqual(['HOLD_NOT_ACTIVE']);
      const late = await hold(event, [3]);
      await lapseHolds(server, event.eventId);
      expect(codes(await confirm(late.id, 'tok_visa'))).toEqual(['HOLD_EXPIRED']);
      await server.app.sweeper.runOnce();
      expect(codes(await confirm(late.id, 'tok_visa'))).toEqual(['HOLD_EXPIRED']);
      expect((await provider().ledger()).length).toBe(chargesBefore + 1);
    });

    it.each([
      ['a malformed hold ID', { holdId: 'hold_1' }, 'input.holdId'],
      ['a malformed token', { paymentToken: 'visa' }, 'input.paymentToken'],
      ['a token the provider does not know', { paymentToken: 'tok_mastercard' }, 'input.paymentToken'],
      ['an empty idempotency key', { idempotencyKey: '' }, 'input.idempotencyKey'],
      ['an idempotency key with spaces', { idempotencyKey: 'a b' }, 'input.idempotencyKey'],
      ['an idempotency key of 201 characters', { idempotencyKey: 'k'.repeat(201) }, 'input.idempotencyKey'],
    ])('refuses %s with BAD_USER_INPUT naming the field; nothing is charged or changed', async (_, change, field) => {
      const event = await createOnSaleEvent(server, SECTIONS);
      const held = await hold(event, [0]);
      const chargesBefore = (await provider().ledger()).length;
      const response = await server.gql(CONFIRM, { input: { holdId: held.id, paymentToken: 'tok_visa', idempotencyKey: newKey(), ...change } }, alice);
      expect(codes(response)).toEqual(['BAD_USER_INPUT']);
      expect(response.errors![0]!.extensions!.field).toBe(field);
      expect((await provider().ledger()).length).toBe(chargesBefore);
      expect((await holdStatus(held.id)).status).toBe('ACTIVE');
    });

    it('counts pending and confirmed bookings against maxTicketsPerUser, and frees the room when refunded', async () => {
      const event = await createOnSaleEvent(server, SECTIONS, { maxTicketsPerUser: 3 });
      const first = ok(await confirm((await hold(event, [0, 1])).id, 'tok_visa')).confirmBooking;
      const pending = await hold(event, [2]);
      ok(await confirm(pending.id, 'tok_async'));
      const tooMany = await server.gql(HOLD_SEATS, { input: { eventId: event.id, seatIds: [event.seatId(3)] } }, alice);
      expect(codes(tooMany)).toEqual(['LIMIT_EXCEEDED']);
      ok(await server.gql(CANCEL, { id: first.id }, alice));
      await hold(event, [3, 4]);
    });
  });

  describe('asynchronous payments and webhooks', () => {
    it('keeps a tok_async booking PENDING_PAYMENT, extends its hold, and confirms it on a signed webhook, once', async () => {
      const event = await createOnSaleEvent(server, SECTIONS);
      const held = await hold(event, [6, 7]);
      const pending = ok(await confirm(held.id, 'tok_async')).confirmBooking;
      expect(pending.status).toBe('PENDING_PAYMENT');
      const extended = await holdStatus(held.id);
      expect(extended.status).toBe('ACTIVE');
      expect(Date.parse(extended.expiresAt)).toBeGreaterThanOrEqual(Date.parse(held.expiresAt));
      expect(codes(await server.gql(RELEASE, { id: held.id }, alice))).toEqual(['HOLD_NOT_ACTIVE']);
      expect(codes(await server.gql(CANCEL, { id: pending.id }, alice))).toEqual(['BAD_USER_INPUT']);

      const succeeded = await provider().settle((await chargeOf(pending.id)).chargeId, 'succeeded');
      expect((await deliver(succeeded)).status).toBe(200);
      expect(await bookingRow(pending.id)).toMatchObject({ status: 'CONFIRMED', chargeStatus: 'captured' });
      expect(await seatCounts(server, event.eventId)).toMatchObject({ held: 0, booked: 2 });
      // Delivered again, and a stale "failed" for the same charge arriving late: nothing changes.
      expect((await deliver(succeeded)).status).toBe(200);
      expect((await deliver({ ...succeeded, id: `${succeeded.id}-late`, type: 'charge.failed' })).status).toBe(200);
      expect(await bookingRow(pending.id)).toMatchObject({ status: 'CONFIRMED', chargeStatus: 'captured', refundStatus: null });
      const { rows } = await db().query(`SELECT payload FROM outbox WHERE topic = $1 ORDER BY id`, [`booking.${pending.id.slice(4)}`]);
      expect(rows.map((row: any) => row.payload.status)).toEqual(['PENDING_PAYMENT', 'CONFIRMED']);
    });

    it('fails a tok_async booking whose charge fails: FAILED, and the hold keeps its original expiry', async () => {
      const event = await createOnSaleEvent(server, SECTIONS);
      const held = await hold(event, [8]);
      const pending = ok(await confirm(held.id, 'tok_async')).confirmBooking;
      await deliver(await provider().settle((await chargeOf(pending.id)).chargeId, 'failed'));
      expect(await bookingRow(pending.id)).toMatchObject({ status: 'FAILED', failure: 'declined', chargeStatus: 'declined' });
      expect(await holdStatus(held.id)).toEqual({ status: 'ACTIVE', expiresAt: held.expiresAt });
    });

    it('refunds a payment that completes after its hold was lost to another buyer: FAILED, never a charge without seats', async () => {
      const event = await createOnSaleEvent(server, SECTIONS);
      const held = await hold(event, [10, 11]);
      const pending = ok(await confirm(held.id, 'tok_async')).confirmBooking;
      await lapseHolds(server, event.eventId);
      await hold(event, [11], bob);
      await deliver(await provider().settle((await chargeOf(pending.id)).chargeId, 'succeeded'));
      expect(await bookingRow(pending.id)).toEqual({ status: 'FAILED', failure: 'hold_lost', chargeStatus: 'captured', refundStatus: 'done' });
      expect((await chargeOf(pending.id)).refunds).toBe(1);
      const { rows } = await db().query<{ status: string; holdId: string }>(
        `SELECT status, hold_id AS "holdId" FROM seats WHERE event_id = $1 AND ordinal IN (10, 11) ORDER BY ordinal`, [event.eventId]);
      expect(rows[1]!.status).toBe('held');
      expect(rows[1]!.holdId).not.toBe(held.id.slice(5));
      expect(rows[0]!.status).not.toBe('booked');
    });

    it('fails a payment still pending when its extended hold runs out, and refunds it if the money arrives after', async () => {
      const event = await createOnSaleEvent(server, SECTIONS);
      const held = await hold(event, [12]);
      const pending = ok(await confirm(held.id, 'tok_async')).confirmBooking;
      await server.app.sweeper.runOnce();
      expect((await bookingRow(pending.id)).status).toBe('PENDING_PAYMENT');
      await lapseHolds(server, event.eventId);
      await server.app.sweeper.runOnce();
      expect(await bookingRow(pending.id)).toMatchObject({ status: 'FAILED', failure: 'timeout' });
      expect((await holdStatus(held.id)).status).toBe('EXPIRED');
      expect(await seatCounts(server, event.eventId)).toMatchObject({ held: 0, booked: 0 });
      await deliver(await provider().settle((await chargeOf(pending.id)).chargeId, 'succeeded'));
      expect(await bookingRow(pending.id)).toEqual({ status: 'FAILED', failure: 'timeout', chargeStatus: 'captured', refundStatus: 'done' });
      expect((await chargeOf(pending.id)).refunds).toBe(1);
    });

    it('recovers payments that went quiet: the sweep asks the provider and applies its answer; a charge it never saw waits', async () => {
      const event = await createOnSaleEvent(server, SECTIONS);
      const [lost, died, due, unseen] = await Promise.all([
        confirm((await hold(event, [30])).id, 'tok_async'),
        confirm((await hold(event, [31])).id, 'tok_async'),
        confirm((await hold(event, [32])).id, 'tok_async'),
        confirm((await hold(event, [33])).id, 'tok_async'),
      ]).then((answers) => answers.map((answer) => ok(answer).confirmBooking.id.slice(4) as string));
      const ledger = (sql: string, keys: string[]) => db().query(`UPDATE test_payment_charges SET ${sql} WHERE key = ANY($1::text[])`, [keys]);
      // The webhook of a settled charge was lost; a request died between the provider's capture and its record;
      // a tok_async charge came due in a process that died; a request died before the provider heard of it.
      await ledger(`status = 'captured'`, [lost!, died!]);
      await db().query(`UPDATE bookings SET charge_status = 'requested', charge_id = NULL WHERE id = $1`, [died]);
      await ledger(`settles_at = now() - interval '1 second'`, [due!]);
      await db().query(`DELETE FROM test_payment_charges WHERE key = $1`, [unseen]);
      await db().query(`UPDATE bookings SET charge_status = 'requested', charge_id = NULL WHERE id = $1`, [unseen]);
      // Quiet for less than PAYMENT_RETRY_AFTER_SECONDS: left alone.
      await server.app.sweeper.runOnce();
      expect((await bookingRow(`bkg_${lost}`)).status).toBe('PENDING_PAYMENT');
      await db().query(`UPDATE bookings SET updated_at = now() - interval '1 hour' WHERE id = ANY($1::uuid[])`, [[lost, died, due, unseen]]);
      await server.app.sweeper.runOnce();
      for (const id of [lost, died, due]) expect(await bookingRow(`bkg_${id}`)).toMatchObject({ status: 'CONFIRMED', chargeStatus: 'captured' });
      expect(await bookingRow(`bkg_${unseen}`)).toMatchObject({ status: 'PENDING_PAYMENT', chargeStatus: 'requested' });
      expect(await seatCounts(server, event.eventId)).toMatchObject({ booked: 3, held: 1 });
    });

    it('a payment the provider has no answer for yet does not crowd out the others: it goes to the back', async () => {
      const event = await createOnSaleEvent(server, SECTIONS);
      const first = ok(await confirm((await hold(event, [35])).id, 'tok_async')).confirmBooking.id.slice(4) as string;
      const second = ok(await confirm((await hold(event, [36])).id, 'tok_async')).confirmBooking.id.slice(4) as string;
      await db().query(`UPDATE test_payment_charges SET status = 'captured' WHERE key = $1`, [second]);
      await db().query(`UPDATE bookings SET updated_at = now() - interval '2 hours' WHERE id = $1`, [first]);
      await db().query(`UPDATE bookings SET updated_at = now() - interval '1 hour' WHERE id = $1`, [second]);
      // One at a time: the oldest (still pending at the provider) first, then the other, not the oldest again.
      await recoverQuietPayments(server.app.services, 1, 1);
      expect((await bookingRow(`bkg_${second}`)).status).toBe('PENDING_PAYMENT');
      await recoverQuietPayments(server.app.services, 1, 1);
      expect(await bookingRow(`bkg_${second}`)).toMatchObject({ status: 'CONFIRMED' });
      expect(await bookingRow(`bkg_${first}`)).toMatchObject({ status: 'PENDING_PAYMENT', chargeStatus: 'pending' });
    });

    it('a retry of a payment whose first request died before the provider heard of it asks the provider again, once', async () => {
      const event = await createOnSaleEvent(server, SECTIONS);
      const held = await hold(event, [34]);
      const key = newKey();
      const first = ok(await confirm(held.id, 'tok_async', key)).confirmBooking;
      await db().query(`DELETE FROM test_payment_charges WHERE key = $1`, [first.id.slice(4)]);
      await db().query(`UPDATE bookings SET charge_status = 'requested', charge_id = NULL WHERE id = $1`, [first.id.slice(4)]);
      // The retry waits for the first request (REPLAY_WAIT_MS), then charges: one charge, the same booking.
      const [again, twice] = await Promise.all([confirm(held.id, 'tok_async', key), confirm(held.id, 'tok_async', key)]);
      expect(ok(again).confirmBooking).toMatchObject({ id: first.id, status: 'PENDING_PAYMENT' });
      expect(ok(twice).confirmBooking).toMatchObject({ id: first.id, status: 'PENDING_PAYMENT' });
      expect((await provider().ledger()).filter((charge) => charge.key === first.id.slice(4))).toHaveLength(1);
      expect(await bookingRow(first.id)).toMatchObject({ status: 'PENDING_PAYMENT', chargeStatus: 'pending' });
      // Another token with that key is another request.
      expect(codes(await confirm(held.id, 'tok_visa', key))).toEqual(['IDEMPOTENCY_KEY_REUSED']);
    });

    it('refuses unsigned, mis-signed, stale and malformed webhooks with 400, and changes nothing', async () => {
      const event = await createOnSaleEvent(server, SECTIONS);
      const pending = ok(await confirm((await hold(event, [13])).id, 'tok_async')).confirmBooking;
      const succeeded = await provider().settle((await chargeOf(pending.id)).chargeId, 'succeeded');
      const body = JSON.stringify(succeeded);
      const now = Math.floor(Date.now() / 1000);
      const post = (headers: Record<string, string>, payload = body) =>
        fetch(webhookUrl(), { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: payload });
      const cases: [string, Promise<Response>][] = [
        ['unsigned', post({})],
        ['signed with another secret', post({ 'onsale-signature': signWebhook('x'.repeat(32), body, now) })],
        ['signed over another body', post({ 'onsale-signature': signWebhook(secret(), body + ' ', now) })],
        ['six minutes old', post({ 'onsale-signature': signWebhook(secret(), body, now - 360) })],
        ['six minutes in the future', post({ 'onsale-signature': signWebhook(secret(), body, now + 360) })],
        ['a garbled header', post({ 'onsale-signature': 't=abc,v1=zz' })],
        ['signed but not an event', post({ 'onsale-signature': signWebhook(secret(), '{"hello":1}', now) }, '{"hello":1}')],
      ];
      for (const [what, response] of cases) expect((await response).status, what).toBe(400);
      expect((await fetch(webhookUrl())).status).toBe(405);
      expect((await bookingRow(pending.id)).status).toBe('PENDING_PAYMENT');
      const { rows } = await db().query(`SELECT 1 FROM payment_events WHERE id = $1`, [succeeded.id]);
      expect(rows).toHaveLength(0);
      // Signed within the tolerance (four minutes old): applied.
      expect((await post({ 'onsale-signature': signWebhook(secret(), body, now - 240) })).status).toBe(200);
      expect((await bookingRow(pending.id)).status).toBe('CONFIRMED');
    });

    it('acknowledges a signed webhook about an unknown booking or another charge, and changes nothing', async () => {
      const event = await createOnSaleEvent(server, SECTIONS);
      const pending = ok(await confirm((await hold(event, [14])).id, 'tok_async')).confirmBooking;
      const unknown: PaymentEvent = { id: 'pev_unknown', type: 'charge.succeeded', data: { chargeId: 'ch_x', bookingId: '00000000-0000-0000-0000-000000000000' } };
      expect((await deliver(unknown)).status).toBe(200);
      const wrongCharge: PaymentEvent = { id: 'pev_wrong', type: 'charge.succeeded', data: { chargeId: 'ch_other', bookingId: pending.id.slice(4) } };
      expect((await deliver(wrongCharge)).status).toBe(200);
      expect((await bookingRow(pending.id)).status).toBe('PENDING_PAYMENT');
    });
  });

  describe('cancelBooking', () => {
    it('refunds a confirmed booking and frees its seats; a second cancel changes nothing; others get NOT_FOUND', async () => {
      const event = await createOnSaleEvent(server, SECTIONS);
      const booking = ok(await confirm((await hold(event, [15, 16])).id, 'tok_visa')).confirmBooking;
      expect(codes(await server.gql(CANCEL, { id: booking.id }, bob))).toEqual(['NOT_FOUND']);
      const cancelled = ok(await server.gql(CANCEL, { id: booking.id }, alice)).cancelBooking;
      expect(cancelled.status).toBe('REFUNDED');
      expect(cancelled.seats.map((seat: any) => seat.status)).toEqual(['AVAILABLE', 'AVAILABLE']);
      expect(await bookingRow(booking.id)).toMatchObject({ status: 'REFUNDED', refundStatus: 'done' });
      expect((await chargeOf(booking.id)).refunds).toBe(1);
      expect(ok(await server.gql(CANCEL, { id: booking.id }, alice)).cancelBooking.status).toBe('REFUNDED');
      expect((await chargeOf(booking.id)).refunds).toBe(1);
      // The seats can be sold again.
      await hold(event, [15, 16], bob);
    });

    it('lets an admin cancel any booking; a failed booking is returned unchanged', async () => {
      const event = await createOnSaleEvent(server, SECTIONS);
      const booking = ok(await confirm((await hold(event, [17])).id, 'tok_visa')).confirmBooking;
      expect(ok(await server.gql(CANCEL, { id: booking.id }, admin)).cancelBooking.status).toBe('REFUNDED');
      const held = await hold(event, [18]);
      await confirm(held.id, 'tok_declined');
      const failed = await bookingOfHold(held.id);
      expect(ok(await server.gql(CANCEL, { id: `bkg_${failed}` }, alice)).cancelBooking.status).toBe('FAILED');
      expect(codes(await server.gql(CANCEL, { id: 'bkg_nope' }, alice))).toEqual(['BAD_USER_INPUT']);
    });
  });
});

describe('the test provider settles tok_async by itself', () => {
  it('posts a signed webhook to the server, which confirms the booking', async () => {
    const server = await startTestServer('embedded', { PAYMENT_ASYNC_DELAY_MS: '100' });
    try {
      const alice = await server.token('alice');
      const event = await createOnSaleEvent(server, SECTIONS);
      const held = ok(await server.gql(HOLD_SEATS, { input: { eventId: event.id, seatIds: [event.seatId(0)] } }, alice)).holdSeats;
      const pending = ok(await server.gql(CONFIRM, { input: { holdId: held.id, paymentToken: 'tok_async', idempotencyKey: 'auto' } }, alice)).confirmBooking;
      expect(pending.status).toBe('PENDING_PAYMENT');
      const query = `query($id: ID!) { booking(id: $id) { status } }`;
      await expect.poll(async () => ok(await server.gql(query, { id: pending.id }, alice)).booking.status, { timeout: 5_000 }).toBe('CONFIRMED');
    } finally {
      await server.stop();
    }
  });
});
