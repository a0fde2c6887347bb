import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { codes, modes, ok, startTestServer, type TestServer } from './helpers/harness.js';

const CREATE_EVENT = `mutation($input: CreateEventInput!) { createEvent(input: $input) {
  id title category capacity availableCount maxTicketsPerUser holdDurationSeconds status venue { id city }
  priceRange { min { amount currency } max { amount currency } }
  waitingRoom { opensAt admissionsPerMinute admissionWindowSeconds raffleCommitment raffleSeed }
  seatMap { version seatCount availableCount sections { id name seatCount price { amount currency } rows { label seats { ordinal number } } } }
} }`;
const CREATE_VENUE = `mutation($input: CreateVenueInput!) { createVenue(input: $input) { id name city country } }`;

describe.each(modes)('admin mutations (%s)', (mode) => {
  let server: TestServer;
  let admin: string;
  let fan: string;
  let venueId: string;

  const layout = (overrides: Record<string, unknown> = {}) => ({
    venueId,
    title: 'Spring Gala',
    performer: 'The Test Orchestra',
    category: 'Concert',
    startsAt: '2027-04-01T19:00:00Z',
    onSaleAt: '2027-03-01T10:00:00+01:00',
    sections: [
      { name: 'Stalls', price: 5000, rows: 3, seatsPerRow: 4 },
      { name: 'Balcony', price: 2500, rows: 28, seatsPerRow: 2 },
    ],
    ...overrides,
  });
  const counts = async () =>
    (await server.app.services.db.query<{ events: number; sections: number; seats: number; venues: number }>(
      `SELECT (SELECT count(*) FROM events)::int AS events, (SELECT count(*) FROM sections)::int AS sections,
              (SELECT count(*) FROM seats)::int AS seats, (SELECT count(*) FROM venues)::int AS venues`,
    )).rows[0]!;

  beforeAll(async () => {
    server = await startTestServer(mode);
    admin = await server.token('admin-1', true);
    fan = await server.token('fan-1');
    venueId = ok(await server.gql(CREATE_VENUE, { input: { name: ' Test Hall ', city: 'Leeds', country: 'United Kingdom' } }, admin)).createVenue.id;
  });
  afterAll(() => server?.stop());

  it('creates a venue, trimmed, with a public id', async () => {
    const { createVenue } = ok(await server.gql(CREATE_VENUE, { input: { name: 'Hall Two', city: 'York', country: 'UK' } }, admin));
    expect(createVenue).toEqual({ id: expect.stringMatching(/^ven_\d+$/), name: 'Hall Two', city: 'York', country: 'UK' });
  });

  it('creates an event with every seat of its layout, numbered in order', async () => {
    const event = ok(await server.gql(CREATE_EVENT, { input: layout() }, admin)).createEvent;
    expect(event).toMatchObject({
      title: 'Spring Gala', category: 'concert', capacity: 68, availableCount: 68, maxTicketsPerUser: 8,
      holdDurationSeconds: 600, status: 'SCHEDULED', venue: { id: venueId, city: 'Leeds' }, waitingRoom: null,
      priceRange: { min: { amount: 2500, currency: 'USD' }, max: { amount: 5000, currency: 'USD' } },
    });
    const { sections, seatCount, version, availableCount } = event.seatMap;
    expect({ seatCount, version, availableCount }).toEqual({ seatCount: 68, version: 0, availableCount: 68 });
    expect(sections.map((s: any) => [s.name, s.seatCount, s.rows.length])).toEqual([['Stalls', 12, 3], ['Balcony', 56, 28]]);
    expect(sections[1].rows.map((row: any) => row.label).slice(24, 28)).toEqual(['Y', 'Z', 'AA', 'AB']);
    const ordinals = sections.flatMap((s: any) => s.rows.flatMap((r: any) => r.seats.map((seat: any) => seat.ordinal)));
    expect(ordinals).toEqual([...Array(68).keys()]);
    expect(sections[0].rows[2].seats.map((seat: any) => seat.number)).toEqual([1, 2, 3, 4]);
  });

  it('applies the defaults to settings sent as explicit nulls', async () => {
    const input = layout({
      maxTicketsPerUser: null, holdDurationSeconds: null, currency: null,
      waitingRoom: { opensAt: '2027-02-28T10:00:00Z', admissionsPerMinute: 50, admissionWindowSeconds: null },
    });
    const event = ok(await server.gql(CREATE_EVENT, { input }, admin)).createEvent;
    expect(event).toMatchObject({ maxTicketsPerUser: 8, holdDurationSeconds: 600, priceRange: { min: { currency: 'USD' } } });
    expect(event.waitingRoom.admissionWindowSeconds).toBe(900);
  });

  it('creates a gated event with a published raffle commitment and a hidden seed', async () => {
    const input = layout({
      currency: 'EUR', maxTicketsPerUser: 4, holdDurationSeconds: 300,
      waitingRoom: { opensAt: '2027-02-28T10:00:00Z', admissionsPerMinute: 200 },
    });
    const event = ok(await server.gql(CREATE_EVENT, { input }, admin)).createEvent;
    expect(event.waitingRoom).toEqual({
      opensAt: '2027-02-28T10:00:00.000Z', admissionsPerMinute: 200, admissionWindowSeconds: 900,
      raffleCommitment: expect.stringMatching(/^[0-9a-f]{64}$/), raffleSeed: null,
    });
    expect(event.priceRange.min.currency).toBe('EUR');
  });

  it('accepts exactly the largest layout, 200,000 seats, and serves its seat map', async () => {
    const input = layout({ sections: [{ name: 'Field', price: 100, rows: 200, seatsPerRow: 1000 }] });
    const created = ok(await server.gql(`mutation($input: CreateEventInput!) { createEvent(input: $input) { id capacity } }`, { input }, admin)).createEvent;
    expect(created.capacity).toBe(200_000);
    // Builds the layout over all 200,000 seats (linear work: a quadratic build would not finish in time).
    const { event } = ok(await server.gql(`query($id: ID!) { event(id: $id) { seatMap { availableCount sections { seatCount rows { label } } } } }`, { id: created.id }));
    expect(event.seatMap.availableCount).toBe(200_000);
    expect(event.seatMap.sections[0].seatCount).toBe(200_000);
    expect(event.seatMap.sections[0].rows).toHaveLength(200);
    expect(event.seatMap.sections[0].rows.at(-1).label).toBe('GR');
  });

  const badInputs: [string, Record<string, unknown>, string][] = [
    ['no sections', { sections: [] }, 'input.sections'],
    ['zero rows', { sections: [{ name: 'A', price: 1, rows: 0, seatsPerRow: 5 }] }, 'input.sections[0].rows'],
    ['negative seats per row', { sections: [{ name: 'A', price: 1, rows: 1, seatsPerRow: -5 }] }, 'input.sections[0].seatsPerRow'],
    ['a negative price', { sections: [{ name: 'A', price: 1, rows: 1, seatsPerRow: 1 }, { name: 'B', price: -1, rows: 1, seatsPerRow: 1 }] }, 'input.sections[1].price'],
    ['more than 200,000 seats', { sections: [{ name: 'A', price: 1, rows: 201, seatsPerRow: 1000 }] }, 'input.sections'],
    ['a blank section name', { sections: [{ name: '  ', price: 1, rows: 1, seatsPerRow: 1 }] }, 'input.sections[0].name'],
    ['a blank title', { title: ' ' }, 'input.title'],
    ['on sale after it starts', { onSaleAt: '2027-05-01T00:00:00Z' }, 'input.onSaleAt'],
    ['a lower-case currency', { currency: 'usd' }, 'input.currency'],
    ['no tickets per user', { maxTicketsPerUser: 0 }, 'input.maxTicketsPerUser'],
    ['a hold shorter than a minute', { holdDurationSeconds: 10 }, 'input.holdDurationSeconds'],
    ['a waiting room opening after the sale', { waitingRoom: { opensAt: '2027-03-02T00:00:00Z', admissionsPerMinute: 10 } }, 'input.waitingRoom.opensAt'],
    ['a malformed venue id', { venueId: 'evt_1' }, 'input.venueId'],
    ['a NUL in the performer', { performer: 'The\u0000Band' }, 'input.performer'],
  ];
  it.each(badInputs)('rejects %s with BAD_USER_INPUT naming the field, and writes nothing', async (_, overrides, field) => {
    const before = await counts();
    const response = await server.gql(CREATE_EVENT, { input: layout(overrides) }, admin);
    expect(codes(response)).toEqual(['BAD_USER_INPUT']);
    expect(response.errors![0]!.extensions!.field).toBe(field);
    expect(response.data).toBeNull();
    expect(await counts()).toEqual(before);
  });

  it('rejects an invalid date with BAD_USER_INPUT and writes nothing', async () => {
    const before = await counts();
    const response = await server.gql(CREATE_EVENT, { input: layout({ startsAt: '2027-02-30T19:00:00Z' }) }, admin);
    expect(codes(response)).toEqual(['BAD_USER_INPUT']);
    expect(await counts()).toEqual(before);
  });

  it('answers NOT_FOUND for an unknown venue and writes nothing', async () => {
    const before = await counts();
    const response = await server.gql(CREATE_EVENT, { input: layout({ venueId: 'ven_999999' }) }, admin);
    expect(codes(response)).toEqual(['NOT_FOUND']);
    expect(response.errors![0]!.extensions!.field).toBe('input.venueId');
    expect(await counts()).toEqual(before);
  });

  it('lets only admins create: FORBIDDEN for a fan, UNAUTHENTICATED when anonymous', async () => {
    const before = await counts();
    expect(codes(await server.gql(CREATE_EVENT, { input: layout() }, fan))).toEqual(['FORBIDDEN']);
    expect(codes(await server.gql(CREATE_EVENT, { input: layout() }))).toEqual(['UNAUTHENTICATED']);
    const venue = { input: { name: 'X', city: 'Y', country: 'Z' } };
    expect(codes(await server.gql(CREATE_VENUE, venue, fan))).toEqual(['FORBIDDEN']);
    expect(codes(await server.gql(CREATE_VENUE, venue))).toEqual(['UNAUTHENTICATED']);
    expect(await counts()).toEqual(before);
  });

  it('rejects a bad venue input naming the field', async () => {
    const response = await server.gql(CREATE_VENUE, { input: { name: 'X', city: '', country: 'Z' } }, admin);
    expect(codes(response)).toEqual(['BAD_USER_INPUT']);
    expect(response.errors![0]!.extensions!.field).toBe('input.city');
    const nul = await server.gql(CREATE_VENUE, { input: { name: 'X\u0000', city: 'Y', country: 'Z' } }, admin);
    expect(nul.errors![0]!.extensions!.field).toBe('input.name');
  });

  it('rejects a forged, expired, never-expiring or malformed token with UNAUTHENTICATED and HTTP 401', async () => {
    const { signToken } = await import('../server/auth.js');
    const forged = await signToken('another-secret-that-is-at-least-32-chars', 'admin-1', { admin: true });
    const expired = await signToken(server.app.services.config.jwtSecret, 'admin-1', { admin: true, expiresIn: '-1m' });
    const { createSigner } = await import('fast-jwt');
    const forever = createSigner({ key: server.app.services.config.jwtSecret, algorithm: 'HS256' })({ sub: 'admin-1', role: 'admin' });
    const unsigned = createSigner({ algorithm: 'none' })({ sub: 'admin-1', role: 'admin', exp: Math.floor(Date.now() / 1000) + 600 });
    const otherAlgorithm = createSigner({ key: server.app.services.config.jwtSecret, algorithm: 'HS512', expiresIn: '1h' })({ sub: 'admin-1', role: 'admin' });
    for (const token of [forged, expired, forever, unsigned, otherAlgorithm, 'not-a-jwt']) {
      const response = await server.gql(CREATE_VENUE, { input: { name: 'X', city: 'Y', country: 'Z' } }, token);
      expect(response.status).toBe(401);
      expect(codes(response)).toEqual(['UNAUTHENTICATED']);
    }
  });

  it('stops accepting a token it has verified before once the token expires', async () => {
    const { signToken } = await import('../server/auth.js');
    const shortLived = await signToken(server.app.services.config.jwtSecret, 'admin-1', { admin: true, expiresIn: '2s' });
    const create = () => server.gql(CREATE_VENUE, { input: { name: 'Short', city: 'Y', country: 'Z' } }, shortLived);
    expect((await create()).status).toBe(200);
    await new Promise((resolve) => setTimeout(resolve, 3_000));
    const late = await create();
    expect(late.status).toBe(401);
    expect(codes(late)).toEqual(['UNAUTHENTICATED']);
  });
});
