// The seat layout answered without graphql-js (server/layout-shortcut.ts): the same bytes and headers as an
// execution, for every form of layout query it takes, and an execution for everything else.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { codes, modes, ok, startTestServer, type TestServer } from './helpers/harness.js';
import { createOnSaleEvent, HOLD_SEATS, type TestEvent } from './helpers/write-path.js';

const SEATS = `sections { id name rows { label seats { id number ordinal } } }`;

/** Layout queries the shortcut takes, each with the selection it puts below `seatMap`. */
const TAKEN: [string, string][] = [
  ['the documented layout', SEATS],
  ['aliases, __typename, prices and every fixed field', `s: sections { __typename id name seatCount price { amount currency } r: rows { label seats { __typename id row number ordinal price { currency amount } } } }`],
  ['sections without rows', `sections { id name seatCount }`],
];

/** Queries that must run as usual: live fields, fragments, directives, repeated keys, anything beside the layout. */
const EXECUTED: [string, string][] = [
  ['a live seat status', `sections { rows { seats { id status } } }`],
  ['a live field beside the layout', `version ${SEATS}`],
  ['an inline fragment', `... on SeatMap { ${SEATS} }`],
  ['a directive', `sections @include(if: true) { id }`],
  ['a repeated key', `sections { id } sections { name }`],
];

describe.each(modes)('the layout shortcut (%s)', (mode) => {
  let server: TestServer;
  let event: TestEvent;
  /** Seat-map reads of availability: the `seatMap` resolver makes one, the shortcut none. */
  let availabilityReads = 0;

  beforeAll(async () => {
    server = await startTestServer(mode);
    event = await createOnSaleEvent(server, [
      { name: 'Floor', price: 5000, rows: 2, seatsPerRow: 10 },
      { name: 'Balcony', price: 2500, rows: 3, seatsPerRow: 4 },
    ]);
    const seatMaps = server.app.services.seatMaps;
    const availability = seatMaps.availability.bind(seatMaps);
    seatMaps.availability = (...args) => (availabilityReads++, availability(...args));
  });
  afterAll(() => server?.stop());

  /** The response to `query { event(id) { seatMap { <selection> } } }`, and whether it was executed. */
  async function layout(selection: string, variables = true) {
    const before = availabilityReads;
    const query = variables
      ? `query($id: ID!) { event(id: $id) { seatMap { ${selection} } } }`
      : `{ event(id: "${event.id}") { seatMap { ${selection} } } }`;
    const response = await server.gql(query, variables ? { id: event.id } : undefined);
    return { response, executed: availabilityReads > before };
  }
  /** The same selection inside an inline fragment on Event, which the shortcut never takes. */
  const executedOf = (selection: string) => layout(`... on SeatMap { ${selection} }`);

  it.each(TAKEN)('answers %s as an execution would, without executing it', async (_, selection) => {
    const shortcut = await layout(selection);
    const executed = await executedOf(selection);
    expect(shortcut.executed).toBe(false);
    expect(executed.executed).toBe(true);
    expect(JSON.stringify(shortcut.response.data)).toBe(JSON.stringify(executed.response.data));
    expect(shortcut.response.headers.get('cache-control')).toBe('max-age=3600, public');
    expect(shortcut.response.headers.get('cache-control')).toBe(executed.response.headers.get('cache-control'));
  });

  it('takes an id written in the document as well as one in a variable', async () => {
    const literal = await layout(SEATS, false);
    expect(literal.executed).toBe(false);
    expect(literal.response.data).toEqual((await layout(SEATS)).response.data);
  });

  it.each(EXECUTED)('executes a query with %s', async (_, selection) => {
    const { response, executed } = await layout(selection);
    expect(executed).toBe(true);
    ok(response);
  });

  it('answers an unknown event and a malformed id as the resolver does', async () => {
    const query = `query($id: ID!) { event(id: $id) { seatMap { ${SEATS} } } }`;
    expect(ok(await server.gql(query, { id: 'evt_999999999' })).event).toBeNull();
    expect(codes(await server.gql(query, { id: 'ven_1' }))).toEqual(['BAD_USER_INPUT']);
    expect(codes(await server.gql(query, { id: 7 }))).toEqual(codes(await server.gql(`query($id: ID!) { event(id: $id) { title } }`, { id: 7 })));
  });

  it('leaves a failed layout read to the execution, which masks it for the client', async () => {
    const seatMaps = server.app.services.seatMaps;
    const layoutOf = seatMaps.layout;
    seatMaps.layout = async () => {
      throw new Error('the layout store is down');
    };
    try {
      const { response } = await layout(SEATS);
      expect(codes(response)).toEqual(['INTERNAL_SERVER_ERROR']);
      expect(response.errors![0]!.message).not.toContain('layout store');
      expect([response.status, response.data]).toEqual([200, { event: null }]);
    } finally {
      seatMaps.layout = layoutOf;
    }
  });

  it('is still a layout after a seat changes: the statuses come from an execution', async () => {
    const before = await layout(SEATS);
    const seatId = event.seatId(0);
    ok(await server.gql(HOLD_SEATS, { input: { eventId: event.id, seatIds: [seatId] } }, await server.token('layout-holder')));
    const after = await layout(SEATS);
    expect(after.executed).toBe(false);
    expect(after.response.data).toEqual(before.response.data);
    const statuses = await layout(`sections { rows { seats { id status } } }`);
    const seats = statuses.response.data!.event.seatMap.sections.flatMap((s: any) => s.rows.flatMap((r: any) => r.seats));
    expect(seats.find((seat: any) => seat.id === seatId).status).toBe('HELD');
    expect(statuses.response.headers.get('cache-control')).toBe('max-age=1, public');
  });
});
