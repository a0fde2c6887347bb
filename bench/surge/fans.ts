// The load generator of the surge (npm run bench:onsale, tests/surge.test.ts): one of its processes, started by
// bench/surge/load.ts with an IPC channel, playing its share of the fans and watchers (FanPlan.shard). Fans join
// the waiting room, wait for their admission by subscription, hold best-available seats, pay (or not), and join
// the waitlist when nothing is left; watchers follow the seat map.
// Each fan has a home gateway and moves to the next one when its connection fails, as behind a load balancer.
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { createClient, type Client } from 'graphql-ws';
import WebSocket from 'ws';
import { graphqlClient, tokenSigner, type GqlAnswer, type GraphqlClient } from '../common.js';
import { sleep } from '../server.js';
import type { FanPlan, FansReport, FansRequest, Persona, WatcherCheck } from './protocol.js';

const HOLD = `mutation($input: HoldBestAvailableInput!) { holdBestAvailable(input: $input) { id seats { ordinal } } }`;
const HOLDS = `query($eventId: ID) { viewer { holds(eventId: $eventId) { id status } } }`;
const CONFIRM = `mutation($input: ConfirmBookingInput!) { confirmBooking(input: $input) { id status } }`;
const JOIN = `mutation($eventId: ID!) { joinWaitingRoom(eventId: $eventId) { id state } }`;
const TICKET_UPDATED = `subscription($eventId: ID!) { queueTicketUpdated(eventId: $eventId) { state admissionToken } }`;
const CANCEL = `mutation($id: ID!) { cancelBooking(id: $id) { status } }`;
const BOOKING = `query($id: ID!) { booking(id: $id) { status } }`;
const BOOKING_UPDATED = `subscription($id: ID!) { bookingUpdated(id: $id) { status } }`;
const JOIN_WAITLIST = `mutation($input: JoinWaitlistInput!) { joinWaitlist(input: $input) { id state } }`;
const ENTRIES = `query($eventId: ID) { viewer { waitlistEntries(eventId: $eventId) { state offer { id } } } }`;
const ENTRY_UPDATED = `subscription($eventId: ID!) { waitlistEntryUpdated(eventId: $eventId) { state offer { id } } }`;
const SEAT_MAP = `query($id: ID!) { event(id: $id) { seatMap { version availability } } }`;
const SEAT_MAP_CHANGED = `subscription($eventId: ID!) { seatMapChanged(eventId: $eventId) { fromVersion version changes { ordinal status } } }`;

let plan: FanPlan;
/**
 * The loopback addresses the load generator's sockets come from, each fan and watcher from one of them: from one
 * address to one gateway port there are only about 28,000 local ports (32768–60999) for ~11,000 sockets, their
 * HTTP sockets reopened after idling and the TIME_WAIT of closed ones. (A process's open-file limit, 20,000 on the
 * benchmark machine, is the nearer bound: see BENCHMARKS.md, EMFILE.)
 */
const SOURCES = Array.from({ length: 8 }, (_, k) => `127.0.0.${k + 2}`);
/** A fan or watcher: its home gateway, and the index of the address its sockets come from. */
type Who = { home: number; source: number };
const whoIs = (i: number): Who => ({ home: i % plan.gateways.length, source: i % SOURCES.length });
/** HTTP clients by gateway, then by source address. */
let http: GraphqlClient[][];
const via = (who: Who, gateway = who.home) => http[gateway]![who.source]!;
/** A WebSocket class per source address, for graphql-ws. */
const webSockets = SOURCES.map((localAddress) => class extends WebSocket {
  constructor(url: string, protocols?: string | string[]) {
    super(url, protocols, { localAddress });
  }
});
let sign: (sub: string) => string;
let stopping = false;
const stopWaiters = new Set<() => void>();
/** Resolves when the parent says stop: every wait below races it. */
const stopped = () => new Promise<void>((resolve) => (stopping ? resolve() : stopWaiters.add(resolve)));

const report: FansReport = { latencies: {}, timeline: {}, codes: {}, outcomes: {}, reconnects: 0, deltas: 0, refetches: 0, failovers: 0, loopDelayP99Ms: 0 };
// This process's own event-loop delay: what of a latency measured here is the load generator's, not the server's.
const loopDelay = monitorEventLoopDelay({ resolution: 10 });
loopDelay.enable();
const count = (table: Record<string, number>, key: string) => (table[key] = (table[key] ?? 0) + 1);

/** Moves `who` off gateway `failed` (when it is still there: a socket and a request may both have seen it fail). */
const leave = (who: { home: number }, failed: number) => {
  if (who.home === failed) who.home = (failed + 1) % plan.gateways.length;
};

/**
 * One operation over HTTP from `who` (its home gateway, then the others when that one cannot be reached), timed.
 * A request whose answer was lost may have been carried out: before it is sent again, `recover` (when given) asks
 * the next gateway what became of it, as a client must for a mutation that is not idempotent.
 */
async function call(
  who: Who, op: string, query: string, variables: Record<string, unknown>, token?: string,
  recover?: () => Promise<GqlAnswer | undefined>,
): Promise<GqlAnswer> {
  for (let attempt = 0; ; attempt++) {
    const begun = performance.now();
    const home = who.home;
    try {
      const answer = await via(who, home).gql(query, variables, token);
      const ms = performance.now() - begun;
      (report.latencies[op] ??= []).push(ms);
      (report.timeline[op] ??= []).push([Date.now(), ms]);
      count(report.codes, `${op} ${answer.code}`);
      return answer;
    } catch (error) {
      // The gateway is gone (or restarting): retry elsewhere. A confirm retried keeps its idempotency key.
      count(report.codes, `${op} NETWORK`);
      count(report.codes, `NETWORK ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
      leave(who, home);
      report.failovers++;
      if (attempt >= 2 * http.length) return { code: 'NETWORK', data: null };
      await sleep(200);
      const recovered = await recover?.().catch(() => undefined);
      if (recovered) return recovered;
    }
  }
}

/** A graphql-ws client that reconnects (to the next gateway when its own went away) until `done` says so. */
function socket(who: Who, connectionParams: Record<string, unknown>, done: () => boolean, onConnected?: () => void): Client {
  let connects = 0;
  let dialled = who.home;
  return createClient({
    url: () => plan.gateways[(dialled = who.home)]!.replace('http', 'ws'),
    webSocketImpl: webSockets[who.source],
    connectionParams,
    lazy: false,
    retryAttempts: Number.MAX_SAFE_INTEGER,
    shouldRetry: () => !done(),
    retryWait: () => sleep(300 + Math.random() * 700),
    onNonLazyError: () => {},
    on: {
      connected: () => {
        if (connects++) report.reconnects++;
        onConnected?.();
      },
      closed: (event) => {
        const code = (event as { code?: number }).code;
        if (!done() && code !== 1000) count(report.codes, `socket closed ${code}`);
        if (!done() && code === 1006) leave(who, dialled);
      },
    },
  });
}

/** Closes a client; one whose connection attempt failed rejects its dispose with that failure, which is old news. */
const close = (client: Client) => void Promise.resolve(client.dispose()).catch(() => {});

/** Subscribes and calls `onData` with each result's data until `until` resolves; then unsubscribes. */
async function follow<T>(client: Client, query: string, variables: Record<string, unknown>, onData: (data: T) => boolean | void, until: Promise<unknown>): Promise<void> {
  let stop: () => void = () => {};
  const done = new Promise<void>((resolve) => (stop = resolve));
  const unsubscribe = client.subscribe<T>({ query, variables }, {
    next: (result) => void (result.data && onData(result.data as T) && stop()),
    error: () => {},
    complete: () => {},
  });
  await Promise.race([done, until]);
  unsubscribe();
}

const pick = (shares: Record<Persona, number>, x: number): Persona => {
  let sum = 0;
  for (const [persona, share] of Object.entries(shares) as [Persona, number][]) if (x < (sum += share)) return persona;
  return 'visa';
};

async function fan(i: number): Promise<string> {
  const who = whoIs(i);
  const token = sign(`surge-fan-${i}`);
  const random = mulberry(i + 1);
  await Promise.race([sleep(random() * plan.joinWindowMs), stopped()]);
  if (stopping) return 'not started';
  const joined = await call(who, 'joinWaitingRoom', JOIN, { eventId: plan.eventId }, token);
  if (joined.code !== 'OK') return `join ${joined.code}`;

  let admissionToken: string | null = null;
  const client = socket(who, { authorization: `Bearer ${token}` }, () => stopping);
  try {
    await follow<{ queueTicketUpdated: { state: string; admissionToken: string | null } }>(
      client, TICKET_UPDATED, { eventId: plan.eventId },
      ({ queueTicketUpdated: t }) => (admissionToken = t.admissionToken) !== null || t.state === 'EXPIRED', stopped());
    if (!admissionToken) return stopping ? 'still waiting' : 'admission expired';
    count(report.outcomes, 'admitted');
    const quantity = 1 + Math.floor(random() * 4);
    const attempts = [{ quantity, adjacent: true }, { quantity, adjacent: false }, { quantity: 1, adjacent: false }];
    let hold: { id: string } | undefined;
    // A hold whose answer was lost with its gateway may exist: take it rather than make another (and leave that one to lapse).
    const lostHold = async (): Promise<GqlAnswer | undefined> => {
      const read = await via(who).gql(HOLDS, { eventId: plan.eventId }, token);
      const active = (read.data?.viewer as { holds: { id: string; status: string }[] } | undefined)?.holds.find((h) => h.status === 'ACTIVE');
      return active && { code: 'OK', data: { holdBestAvailable: active } };
    };
    for (const attempt of attempts) {
      const answer = await call(who, 'holdBestAvailable', HOLD, { input: { eventId: plan.eventId, admissionToken, ...attempt } }, token, lostHold);
      if (answer.code === 'OK') hold = answer.data!.holdBestAvailable as { id: string };
      if (answer.code !== 'SEAT_UNAVAILABLE') break;
    }
    if (!hold) return random() < plan.waitlistShare ? waitlist(who, client, token, admissionToken, Math.min(quantity, 2)) : 'no seats';
    const persona = pick(plan.personas, random());
    if (persona === 'abandon') return 'abandoned its hold';
    if (persona === 'declined') {
      const { status: declined } = await pay(who, client, token, hold.id, 'tok_declined', `${i}-declined`);
      if (declined !== 'PAYMENT_DECLINED' && declined !== 'FAILED') return `declined answered ${declined}`;
    }
    const paid = await pay(who, client, token, hold.id, persona === 'async' ? 'tok_async' : 'tok_visa', `${i}-pay`);
    if (persona !== 'refund' || !paid.bookingId) return `${persona}: ${paid.status}`;
    // Changed their mind a few seconds later (by then others wait for seats): the seats go to the waitlist at once,
    // the money back.
    await Promise.race([sleep(2_000 + random() * 3_000), stopped()]);
    const cancelled = await call(who, 'cancelBooking', CANCEL, { id: paid.bookingId }, token);
    return `refund: ${(cancelled.data?.cancelBooking as { status: string } | undefined)?.status ?? cancelled.code}`;
  } finally {
    close(client);
  }
}

/**
 * Pays for a hold: the booking's final status (or the error code). A booking left PENDING_PAYMENT (tok_async, or a
 * retry of a request a killed gateway had) is followed to its end.
 */
async function pay(who: Who, client: Client, token: string, holdId: string, paymentToken: string, key: string): Promise<{ status: string; bookingId?: string }> {
  const answer = await call(who, 'confirmBooking', CONFIRM, { input: { holdId, paymentToken, idempotencyKey: key } }, token);
  const booking = answer.data?.confirmBooking as { id: string; status: string } | undefined;
  if (!booking) return { status: answer.code };
  if (booking.status !== 'PENDING_PAYMENT') return { status: booking.status, bookingId: booking.id };
  let status = 'PENDING_PAYMENT';
  const settled = (next: string) => (status = next) !== 'PENDING_PAYMENT';
  const polled = (async () => {
    // What happened before the subscription started: read the booking too (and again now and then).
    while (!stopping && status === 'PENDING_PAYMENT') {
      const read = await call(who, 'booking', BOOKING, { id: booking.id }, token);
      if (read.code === 'OK') settled((read.data!.booking as { status: string }).status);
      await Promise.race([sleep(5_000), stopped()]);
    }
  })();
  await follow<{ bookingUpdated: { status: string } }>(client, BOOKING_UPDATED, { id: booking.id }, ({ bookingUpdated: b }) => settled(b.status), Promise.race([polled, stopped()]));
  return { status, bookingId: booking.id };
}

/** Joins the event's waitlist and books the first offer, until stopped. */
async function waitlist(who: Who, client: Client, token: string, admissionToken: string, quantity: number): Promise<string> {
  const joined = await call(who, 'joinWaitlist', JOIN_WAITLIST, { input: { eventId: plan.eventId, quantity, admissionToken } }, token);
  if (joined.code !== 'OK') return `waitlist ${joined.code}`;
  count(report.outcomes, 'waitlisted');
  let offer: string | undefined;
  const seen = (entries: { state: string; offer: { id: string } | null }[]) => (offer = entries.find((e) => e.state === 'OFFERED')?.offer?.id) !== undefined;
  const caughtUp = (async () => {
    // On every (re)connect the subscription only sends what happens next: read the entries as well.
    while (!stopping && !offer) {
      const read = await call(who, 'waitlistEntries', ENTRIES, { eventId: plan.eventId }, token);
      if (read.code === 'OK') seen((read.data!.viewer as { waitlistEntries: { state: string; offer: { id: string } | null }[] }).waitlistEntries);
      await Promise.race([sleep(10_000), stopped()]);
    }
  })();
  await follow<{ waitlistEntryUpdated: { state: string; offer: { id: string } | null } }>(
    client, ENTRY_UPDATED, { eventId: plan.eventId }, ({ waitlistEntryUpdated: e }) => seen([e]), Promise.race([caughtUp, stopped()]));
  if (!offer) return 'waitlisted, no offer';
  count(report.outcomes, 'offered');
  return `offer: ${(await pay(who, client, token, offer, 'tok_visa', `offer-${offer}`)).status}`;
}

// ---------------------------------------------------------------------------------------------------------------
// Watchers: the seat map, kept current as README "Keeping a seat map current" says.

interface Watcher {
  version: number;
  bits: Buffer | undefined;
}
const watchers: Watcher[] = [];
const clients: Client[] = [];

/** Watcher `i`: subscribed until the process exits. */
function watcher(i: number): void {
  const who = whoIs(i);
  const state: Watcher = { version: -1, bits: undefined };
  watchers.push(state);
  let fetching: Promise<void> | undefined;
  const queued: { fromVersion: number; version: number; changes: { ordinal: number; status: string }[] }[] = [];
  const refetch = () =>
    (fetching ??= (async () => {
      let map: { version: number; availability: string } | undefined;
      // A read that fails (the gateway is down or swamped) is tried again: nothing else would bring this map back.
      for (let attempt = 0; !map; attempt++) {
        if (attempt) await sleep(1_000);
        report.refetches++;
        const answer = await call(who, 'seatMap', SEAT_MAP, { id: plan.eventId });
        map = (answer.data?.event as { seatMap: typeof map } | undefined)?.seatMap;
      }
      if (map && map.version > state.version) Object.assign(state, { version: map.version, bits: Buffer.from(map.availability, 'base64') });
      fetching = undefined;
      for (const delta of queued.splice(0)) apply(delta);
    })());
  function apply(delta: (typeof queued)[number]) {
    if (fetching) return void queued.push(delta);
    if (delta.version <= state.version) return;
    if (delta.fromVersion !== state.version + 1) return void refetch();
    for (const change of delta.changes) {
      const mask = 1 << (7 - (change.ordinal % 8));
      const byte = Math.floor(change.ordinal / 8);
      state.bits![byte] = change.status === 'AVAILABLE' ? state.bits![byte]! | mask : state.bits![byte]! & ~mask;
    }
    state.version = delta.version;
  }
  // Subscribe first, then fetch (again after every reconnect): nothing falls between the two.
  const client = socket(who, {}, () => false, () => void refetch());
  clients.push(client);
  client.subscribe<{ seatMapChanged: (typeof queued)[number] }>(
    { query: SEAT_MAP_CHANGED, variables: { eventId: plan.eventId } },
    { next: (result) => result.data && (report.deltas++, apply(result.data.seatMapChanged)), error: () => {}, complete: () => {} },
  );
}

function checkWatchers(version: number, availability: string): WatcherCheck {
  const expected = Buffer.from(availability, 'base64');
  const behind = watchers.filter((w) => w.version !== version).length;
  const wrong = watchers.filter((w) => w.version === version && !w.bits!.equals(expected)).length;
  return { watchers: watchers.length, matching: watchers.length - behind - wrong, behind, wrong };
}

/** A small seeded generator, so that fan i behaves the same in every run. */
function mulberry(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

const send = (message: unknown) => process.send!(message);
process.on('message', (message: FansRequest) => {
  if (message.type === 'start') {
    plan = message.plan;
    sign = tokenSigner(plan.jwtSecret);
    const { index, count: processes } = plan.shard;
    // Up to 2,000 HTTP sockets per gateway from all the load-generator processes together.
    http = plan.gateways.map((url) => SOURCES.map((from) => graphqlClient(Number(new URL(url).port), Math.ceil(2_000 / SOURCES.length / processes), 4_000, from)));
    const mine = (n: number) => Array.from({ length: Math.max(0, Math.ceil((n - index) / processes)) }, (_, k) => index + k * processes);
    for (const i of mine(plan.watchers)) watcher(i);
    const fans = mine(plan.fans).map((i) =>
      fan(i).then((outcome) => count(report.outcomes, outcome), (error: unknown) => count(report.outcomes, `crashed: ${String(error)}`)),
    );
    // Done once every fan has finished (bought, given up, or stopped); the watchers carry on until asked.
    void Promise.all(fans).then(() => send({ type: 'fansDone', report: { ...report, loopDelayP99Ms: Math.round(loopDelay.percentile(99) / 1e5) / 10 } }));
    send({ type: 'started' });
  } else if (message.type === 'stop') {
    stopping = true;
    for (const resolve of stopWaiters) resolve();
  } else if (message.type === 'check') {
    send({ type: 'checked', check: checkWatchers(message.version, message.availability) });
  } else if (message.type === 'exit') {
    for (const client of clients) close(client);
    process.exit(0);
  }
});
