// The WebSocket endpoint at the protocol level, in both modes: graphql-transport-ws close codes for clients
// that break the protocol, the message size limit, the per-connection operation limit, the per-address
// connection limit, server-side keep-alive, and request errors (parse, validation) of subscriptions. Spoken
// over raw `ws` sockets, so that the tests see exactly what the server sends and how it closes.
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import WebSocket from 'ws';
import { modes, ok, startTestServer, type TestServer } from './helpers/harness.js';
import { createOnSaleEvent, HOLD_SEATS, RELEASE, type TestEvent } from './helpers/write-path.js';

const SEAT_MAP_CHANGED = `subscription($eventId: ID!) { seatMapChanged(eventId: $eventId) { eventId fromVersion version changes { seatId status } } }`;
const EVENT = `query($id: ID!) { event(id: $id) { id } }`;
const HOLD_UPDATED = `subscription($id: ID!) { holdUpdated(id: $id) { id status } }`;
const PROTOCOL = 'graphql-transport-ws';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A graphql-transport-ws message as received (`unparseable` for a frame that is not JSON). */
interface Message {
  type: string;
  id?: string;
  payload?: any;
}

/** Every raw socket a test opened, terminated after it so that no test leaks connections into the next. */
const opened = new Set<WebSocket>();

/** A raw `ws` client speaking graphql-transport-ws by hand: records what arrives and how the socket ends. */
class Raw {
  readonly messages: Message[] = [];
  pings = 0;
  close?: { code: number; reason: string };
  private readonly listeners = new Set<() => void>();

  constructor(readonly socket: WebSocket) {
    opened.add(socket);
    socket.on('message', (data) => {
      let message: Message;
      try {
        message = JSON.parse(String(data)) as Message;
      } catch {
        message = { type: 'unparseable', payload: String(data) };
      }
      this.messages.push(message);
      this.notify();
    });
    socket.on('ping', () => {
      this.pings++;
      this.notify();
    });
    socket.once('close', (code, reason) => {
      this.close = { code, reason: String(reason) };
      this.notify();
    });
    // Errors (a 1009 from the server, a terminated socket) end in 'close', which is what the tests look at.
    socket.on('error', () => {});
  }

  /** Opens a socket with the graphql-transport-ws subprotocol; `options` go to `ws` (e.g. autoPong). */
  static open(url: string, options: WebSocket.ClientOptions = {}): Promise<Raw> {
    return new Promise((resolve, reject) => {
      const socket = new WebSocket(url.replace('http', 'ws'), PROTOCOL, options);
      const raw = new Raw(socket);
      socket.once('open', () => resolve(raw));
      socket.once('close', (code) => reject(new Error(`closed with ${code} before it opened`)));
    });
  }

  private notify() {
    for (const listener of [...this.listeners]) listener();
  }

  /** Resolves once `condition` holds; rejects after `ms` or if the socket closes first (unless that is awaited). */
  until<T>(condition: () => T | undefined | false, what: string, ms = 5_000, allowClose = false): Promise<T> {
    return new Promise((resolve, reject) => {
      const check = () => {
        const value = condition();
        if (value) {
          done();
          resolve(value);
        } else if (this.close && !allowClose) {
          done();
          reject(new Error(`${what}: socket closed with ${this.close.code} (${this.close.reason}); got ${JSON.stringify(this.messages)}`));
        }
      };
      const timer = setTimeout(() => {
        done();
        reject(new Error(`${what}: not within ${ms} ms; got ${JSON.stringify(this.messages)}`));
      }, ms);
      const done = () => {
        clearTimeout(timer);
        this.listeners.delete(check);
      };
      this.listeners.add(check);
      check();
    });
  }

  /** The first message (of those received so far or later) that `predicate` accepts. */
  message(predicate: (message: Message) => boolean, what: string, ms?: number): Promise<Message> {
    return this.until(() => this.messages.find(predicate), what, ms);
  }

  /** The close code the socket ends with, within `ms`. */
  async closeCode(ms = 5_000): Promise<number> {
    return (await this.until(() => this.close, 'close', ms, true)).code;
  }

  send(message: unknown) {
    this.socket.send(typeof message === 'string' ? message : JSON.stringify(message));
  }

  /** Sends connection_init and waits for connection_ack. */
  async init(payload?: Record<string, unknown>) {
    this.send({ type: 'connection_init', ...(payload && { payload }) });
    await this.message((m) => m.type === 'connection_ack', 'connection_ack');
  }

  subscribe(id: string, query: string, variables?: Record<string, unknown>) {
    this.send({ type: 'subscribe', id, payload: { query, ...(variables && { variables }) } });
  }

  /** The messages received for operation `id`. */
  of(id: string): Message[] {
    return this.messages.filter((m) => m.id === id);
  }

  /** The error codes of the `error` message for operation `id` (waits for it). */
  async errorCodes(id: string): Promise<string[]> {
    const error = await this.message((m) => m.id === id && (m.type === 'error' || m.type === 'next'), `error for ${id}`);
    expect(error.type).toBe('error');
    expect(Array.isArray(error.payload)).toBe(true);
    return (error.payload as { extensions?: { code?: string } }[]).map((e) => e.extensions?.code ?? 'none');
  }
}

/** What a connection attempt got: an open socket, or the HTTP status it was refused with at the upgrade. */
function attempt(url: string, headers?: Record<string, string>): Promise<{ raw: Raw } | { status: number }> {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(url.replace('http', 'ws'), PROTOCOL, { headers });
    opened.add(socket);
    let settled = false;
    const settle = (outcome: { raw: Raw } | { status: number }) => {
      if (!settled) resolve(outcome);
      settled = true;
    };
    socket.once('open', () => settle({ raw: new Raw(socket) }));
    socket.once('unexpected-response', (request, response) => {
      settle({ status: response.statusCode ?? 0 });
      response.resume();
      request.destroy();
    });
    socket.on('error', (error) => {
      const status = /Unexpected server response: (\d+)/.exec(error.message);
      if (status) settle({ status: Number(status[1]) });
      else if (!settled) {
        settled = true;
        reject(error);
      }
    });
  });
}

describe.each(modes)('WebSocket protocol and limits (%s)', (mode) => {
  /** Keep-alive every second, at most 3 operations per connection. */
  let server: TestServer;
  /** At most 5 connections per address: only the per-address test connects to it. */
  let limited: TestServer;
  /** At most 2 per address, behind a trusted proxy at the loopback address: only the proxy test connects to it. */
  let proxied: TestServer;
  let event: TestEvent;
  let nextSeat = 0;

  beforeAll(async () => {
    // No demo data (the tests make their own event): an embedded server starts faster without it.
    [server, limited, proxied] = await Promise.all([
      startTestServer(mode, { WS_KEEPALIVE_MS: '1000', WS_MAX_SUBSCRIPTIONS_PER_CONNECTION: '3', SEAT_MAP_COALESCE_MS: '20', SEED_DEMO: 'never' }),
      startTestServer(mode, { WS_MAX_CONNECTIONS_PER_IP: '5', SEED_DEMO: 'never' }),
      startTestServer(mode, { WS_MAX_CONNECTIONS_PER_IP: '2', TRUST_PROXY: '127.0.0.1, ::1', SEED_DEMO: 'never' }),
    ]);
    event = await createOnSaleEvent(server, [{ name: 'Floor', price: 2_000, rows: 8, seatsPerRow: 25 }]);
  });
  afterEach(() => {
    for (const socket of opened) socket.terminate();
    opened.clear();
  });
  afterAll(async () => {
    await Promise.all([server?.stop(), limited?.stop(), proxied?.stop()]);
  });

  /** Holds one more seat of the event over HTTP: a seat-map change every watcher of the event must see. */
  async function hold() {
    const seat = nextSeat++;
    const token = await server.token(`ws-poke-${seat}`);
    ok(await server.gql(HOLD_SEATS, { input: { eventId: event.id, seatIds: [event.seatId(seat)] } }, token));
  }

  /**
   * Holds seats until `condition` holds (at most 20 holds, 150 ms apart). A subscription becomes live
   * asynchronously (a Redis SUBSCRIBE in postgres mode), so a change made right after subscribing may precede it.
   */
  async function holdUntil(condition: () => boolean, what: string) {
    for (let i = 0; i < 20; i++) {
      if (condition()) return;
      await hold();
      await sleep(150);
    }
    if (!condition()) throw new Error(`${what}: not after 20 holds`);
  }

  /** A hold of one more seat by a user of its own: a token for that user and the hold. */
  async function holdOfOwn(user: string) {
    const owner = await server.token(user);
    const { holdSeats: held } = ok(await server.gql<{ holdSeats: { id: string } }>(HOLD_SEATS, { input: { eventId: event.id, seatIds: [event.seatId(nextSeat++)] } }, owner));
    return { owner, held };
  }

  const deltas = (raw: Raw, id: string) => raw.of(id).filter((m) => m.type === 'next' && m.payload?.data?.seatMapChanged);

  it('closes with 4401 when a subscribe comes before connection_init', async () => {
    const raw = await Raw.open(server.url);
    raw.subscribe('early', SEAT_MAP_CHANGED, { eventId: event.id });
    expect(await raw.closeCode()).toBe(4401);
    expect(raw.of('early')).toEqual([]);
  });

  it('closes with 4400 on a malformed message', async () => {
    const malformed: [string, unknown][] = [
      ['subscribe without an id', { type: 'subscribe', payload: { query: '{ __typename }' } }],
      ['subscribe with an empty id', { type: 'subscribe', id: '', payload: { query: '{ __typename }' } }],
      ['subscribe with a numeric id', { type: 'subscribe', id: 1, payload: { query: '{ __typename }' } }],
      ['subscribe whose payload is a string', { type: 'subscribe', id: 'a', payload: '{ __typename }' }],
      ['subscribe without a payload', { type: 'subscribe', id: 'a' }],
      ['subscribe whose query is not a string', { type: 'subscribe', id: 'a', payload: { query: 42 } }],
      ['subscribe whose variables are not an object', { type: 'subscribe', id: 'a', payload: { query: '{ __typename }', variables: 'x' } }],
      ['an unknown message type', { type: 'launch', id: 'a' }],
      ['a message without a type', { id: 'a', payload: {} }],
      ['a JSON array', '[]'],
      ['invalid JSON', '{"type":"subscribe","id":'],
    ];
    const results = await Promise.all(
      malformed.map(async ([what, message]) => {
        const raw = await Raw.open(server.url);
        await raw.init();
        raw.send(message);
        return [what, await raw.closeCode()] as const;
      }),
    );
    expect(Object.fromEntries(results)).toEqual(Object.fromEntries(malformed.map(([what]) => [what, 4400])));
  });

  it('closes with 4409 when a second subscription takes the id of a running one', async () => {
    const raw = await Raw.open(server.url);
    await raw.init();
    raw.subscribe('same', SEAT_MAP_CHANGED, { eventId: event.id });
    // The first one is provably running: it receives changes.
    await holdUntil(() => deltas(raw, 'same').length > 0, 'first subscription live');
    raw.subscribe('same', SEAT_MAP_CHANGED, { eventId: event.id });
    expect(await raw.closeCode()).toBe(4409);
    expect(raw.close!.reason).toContain('same');
  });

  /** Corks the socket while `fn` sends, so that the server reads what it sent in one go. */
  function together(raw: Raw, fn: () => void) {
    const tcp = (raw.socket as unknown as { _socket: import('node:net').Socket })._socket;
    tcp.cork();
    fn();
    tcp.uncork();
  }

  it('serves a subscribe that reuses the ID of one completed while it started, once that one has ended, and leaves nothing behind', async () => {
    // A hold stream has a pub/sub listen of its own: the count of listens shows whether one is left behind.
    const { owner, held } = await holdOfOwn('ws-reuse');
    const listening = () => server.app.services.pubsub.listening();
    /** The count of listens once it has not changed for 200 ms (earlier tests' sockets may still be closing). */
    const steady = async () => {
      let last = -1;
      for (let i = 0; i < 25 && listening() !== last; i++) {
        last = listening();
        await sleep(200);
      }
      return listening();
    };
    const before = await steady();
    const raw = await Raw.open(server.url);
    await raw.init({ authorization: `Bearer ${owner}` });
    // The complete comes while the first operation is still reading the hold; the second subscribe right after.
    together(raw, () => {
      raw.subscribe('reused', HOLD_UPDATED, { id: held.id });
      raw.send({ type: 'complete', id: 'reused' });
      raw.subscribe('reused', HOLD_UPDATED, { id: held.id });
    });
    // One operation listens: the second. The first ended.
    expect(await steady()).toBe(before + 1);
    ok(await server.gql(RELEASE, { id: held.id }, owner));
    expect((await raw.message((m) => m.id === 'reused' && m.type === 'next', 'RELEASED')).payload.data.holdUpdated.status).toBe('RELEASED');
    await sleep(200);
    expect(raw.of('reused')).toHaveLength(1);
    raw.socket.close();
    expect(await steady()).toBe(before);
  });

  it('takes a running subscription completed and subscribed again under its ID in one breath', async () => {
    const raw = await Raw.open(server.url);
    await raw.init();
    raw.subscribe('again', SEAT_MAP_CHANGED, { eventId: event.id });
    await holdUntil(() => deltas(raw, 'again').length > 0, 'first subscription live');
    const seen = deltas(raw, 'again').length;
    together(raw, () => {
      raw.send({ type: 'complete', id: 'again' });
      raw.subscribe('again', SEAT_MAP_CHANGED, { eventId: event.id });
    });
    // The new subscription gets the changes from now on; the old one's end is not announced (the client ended it).
    await holdUntil(() => deltas(raw, 'again').length > seen, 'the second subscription live');
    expect(raw.of('again').filter((m) => m.type !== 'next')).toEqual([]);
  });

  it('closes with 4409 on an ID too long for the close reason, saying so without it', async () => {
    const raw = await Raw.open(server.url);
    await raw.init();
    const id = 'x'.repeat(200);
    raw.subscribe(id, SEAT_MAP_CHANGED, { eventId: event.id });
    raw.subscribe(id, SEAT_MAP_CHANGED, { eventId: event.id });
    expect(await raw.closeCode()).toBe(4409);
    expect(raw.close!.reason).toBe('Subscriber already exists');
  });

  it('closes a connection that sends more than 64 KiB with 1009, and only that one', async () => {
    const other = await Raw.open(server.url);
    await other.init();
    // Just under the limit is fine.
    other.subscribe('below', `${EVENT}${' '.repeat(60 * 1024)}`, { id: event.id });
    expect((await other.message((m) => m.id === 'below' && m.type === 'next', 'below')).payload).toEqual({ data: { event: { id: event.id } } });

    const consoleError = vi.spyOn(console, 'error');
    const big = await Raw.open(server.url);
    await big.init();
    big.subscribe('over', `${EVENT}${' '.repeat(65 * 1024)}`, { id: event.id });
    expect(await big.closeCode()).toBe(1009);
    expect(big.of('over')).toEqual([]);
    // The client's mistake, logged as such (once, at info, before the close frame reaches the client), not as an
    // internal error on the console.
    expect(server.logs.filter((line) => line.code === 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH').map((line) => line.level)).toEqual([30]);
    expect(consoleError).not.toHaveBeenCalled();
    consoleError.mockRestore();

    // The connection opened before still works, and so does a new one.
    expect(other.socket.readyState).toBe(WebSocket.OPEN);
    other.subscribe('after', EVENT, { id: event.id });
    expect((await other.message((m) => m.id === 'after' && m.type === 'next', 'after')).payload).toEqual({ data: { event: { id: event.id } } });
    await other.message((m) => m.id === 'after' && m.type === 'complete', 'after completes');
    const fresh = await Raw.open(server.url);
    await fresh.init();
    fresh.subscribe('fresh', EVENT, { id: event.id });
    expect((await fresh.message((m) => m.id === 'fresh' && m.type === 'next', 'fresh')).payload).toEqual({ data: { event: { id: event.id } } });
  });

  it('closes with 4429 on a second connection_init', async () => {
    // After the acknowledgement…
    const acknowledged = await Raw.open(server.url);
    await acknowledged.init();
    acknowledged.send({ type: 'connection_init' });
    expect(await acknowledged.closeCode()).toBe(4429);
    expect(acknowledged.close!.reason).toBe('Too many initialisation requests');
    // …and while the first is still being checked.
    const eager = await Raw.open(server.url);
    eager.send({ type: 'connection_init' });
    eager.send({ type: 'connection_init' });
    expect(await eager.closeCode()).toBe(4429);
  });

  it('refuses a 4th concurrent operation on a connection with LIMIT_EXCEEDED; the 3 running ones keep working', async () => {
    const raw = await Raw.open(server.url);
    await raw.init();
    for (const id of ['s1', 's2', 's3', 's4']) raw.subscribe(id, SEAT_MAP_CHANGED, { eventId: event.id });
    const refused = await raw.message((m) => m.id === 's4', 's4 refused');
    expect(refused.type).toBe('error');
    expect(refused.payload).toEqual([
      expect.objectContaining({ message: 'At most 3 operations at once on one connection', extensions: expect.objectContaining({ code: 'LIMIT_EXCEEDED', limit: 3 }) }),
    ]);

    // The first three are live and keep receiving changes; the refused one receives nothing more.
    await holdUntil(() => ['s1', 's2', 's3'].every((id) => deltas(raw, id).length > 0), 's1-s3 receive changes');
    const before = Object.fromEntries(['s1', 's2', 's3'].map((id) => [id, deltas(raw, id).length]));
    await holdUntil(() => ['s1', 's2', 's3'].every((id) => deltas(raw, id).length > before[id]!), 's1-s3 receive another change');
    expect(raw.of('s4')).toHaveLength(1);
    expect(raw.messages.filter((m) => m.type === 'error')).toHaveLength(1);

    // Completing one makes room for another: it is accepted and receives changes.
    raw.send({ type: 'complete', id: 's1' });
    raw.subscribe('s5', SEAT_MAP_CHANGED, { eventId: event.id });
    await holdUntil(() => deltas(raw, 's5').length > 0, 's5 receives changes');
    expect(raw.of('s5').filter((m) => m.type !== 'next')).toEqual([]);
    // And the limit still counts: s2, s3, s5 are running, so one more is refused.
    raw.subscribe('s6', SEAT_MAP_CHANGED, { eventId: event.id });
    expect(await raw.errorCodes('s6')).toEqual(['LIMIT_EXCEEDED']);
    expect(raw.socket.readyState).toBe(WebSocket.OPEN);
  });

  it('counts operations the client completed while they start until they end: at most twice the limit run at once', async () => {
    const { owner, held } = await holdOfOwn('ws-flood');
    const raw = await Raw.open(server.url);
    await raw.init({ authorization: `Bearer ${owner}` });
    // Six operations (twice the limit of 3), each completed at once, then one more: in one TCP write, so that the
    // server reads them together and none has ended (read its hold) when the last comes.
    together(raw, () => {
      for (let i = 0; i < 6; i++) {
        raw.subscribe(`flood-${i}`, HOLD_UPDATED, { id: held.id });
        raw.send({ type: 'complete', id: `flood-${i}` });
      }
      raw.subscribe('one-more', HOLD_UPDATED, { id: held.id });
    });
    expect(await raw.errorCodes('one-more')).toEqual(['LIMIT_EXCEEDED']);
    // Once they have ended there is room again.
    await sleep(300);
    raw.subscribe('later', EVENT, { id: event.id });
    expect((await raw.message((m) => m.id === 'later' && m.type === 'next', 'later')).payload).toEqual({ data: { event: { id: event.id } } });
  });

  it('refuses the 6th WebSocket from one address at the upgrade with HTTP 429, and accepts one again after a close', async () => {
    const sockets: Raw[] = [];
    for (let i = 0; i < 5; i++) {
      const outcome = await attempt(limited.url);
      if (!('raw' in outcome)) throw new Error(`connection ${i + 1} of 5 refused with ${outcome.status}`);
      sockets.push(outcome.raw);
    }
    // All five are real graphql-ws connections.
    await Promise.all(sockets.map((raw) => raw.init()));
    expect(await attempt(limited.url)).toEqual({ status: 429 });
    // The address is the socket's: without TRUST_PROXY, X-Forwarded-For is anyone's to write and is not read.
    expect(await attempt(limited.url, { 'x-forwarded-for': '203.0.113.9' })).toEqual({ status: 429 });
    expect(sockets.every((raw) => raw.socket.readyState === WebSocket.OPEN)).toBe(true);

    sockets[0]!.socket.close(1000);
    await sockets[0]!.closeCode();
    // The server counts the close when its side of the socket closes: retry, bounded, until it has.
    let accepted: Raw | undefined;
    for (let i = 0; i < 40 && !accepted; i++) {
      const outcome = await attempt(limited.url);
      if ('raw' in outcome) accepted = outcome.raw;
      else {
        expect(outcome.status).toBe(429);
        await sleep(50);
      }
    }
    expect(accepted, 'a connection is accepted again after one of the five closed').toBeDefined();
    await accepted!.init();
    accepted!.subscribe('q', '{ __typename }');
    await accepted!.message((m) => m.id === 'q' && m.type === 'next', 'query on the new connection');
    // Five again: the next one is refused.
    expect(await attempt(limited.url)).toEqual({ status: 429 });
  });

  it('counts the clients behind a trusted proxy by X-Forwarded-For, read from the right, IPv6 ones by /64', async () => {
    const via = (forwardedFor?: string) => attempt(proxied.url, forwardedFor ? { 'x-forwarded-for': forwardedFor } : undefined);
    const accepted = async (forwardedFor?: string) => {
      const outcome = await via(forwardedFor);
      if (!('raw' in outcome)) throw new Error(`${forwardedFor ?? 'no header'}: refused with ${outcome.status}`);
      await outcome.raw.init();
    };
    // Two clients behind the proxy (127.0.0.1): each has its own two connections.
    await accepted('203.0.113.7');
    await accepted('::ffff:203.0.113.7');
    await accepted('203.0.113.8');
    // What the client wrote left of the address the proxy appended is ignored: still 203.0.113.7, its third.
    expect(await via('198.51.100.1, 203.0.113.7')).toEqual({ status: 429 });
    expect(await via('203.0.113.7')).toEqual({ status: 429 });
    await accepted('203.0.113.8');
    // A second trusted hop is skipped; a malformed entry stops at the last proxy.
    expect(await via('203.0.113.8, 127.0.0.1')).toEqual({ status: 429 });
    await accepted('203.0.113.9, not-an-address');
    await accepted();
    expect(await via('not-an-address')).toEqual({ status: 429 });
    // IPv6 clients count by their /64: two addresses of one network share its two connections.
    await accepted('2001:db8:1:2::a');
    await accepted('2001:db8:1:2:ffff::b');
    expect(await via('2001:db8:1:2::c')).toEqual({ status: 429 });
    await accepted('2001:db8:1:3::a');
  });

  it('terminates a client that does not answer pings, and keeps one that does', async () => {
    const [silent, normal] = await Promise.all([Raw.open(server.url, { autoPong: false }), Raw.open(server.url)]);
    await Promise.all([silent.init(), normal.init()]);
    // WS_KEEPALIVE_MS=1000: the silent one is pinged, then terminated (no close frame: 1006) at a later round.
    expect(await silent.closeCode(6_000)).toBe(1006);
    expect(silent.pings).toBeGreaterThanOrEqual(1);
    // The normal one has been pinged (and answered) several times and is still open and working.
    await normal.until(() => normal.pings >= 3, 'three pings', 6_000);
    expect(normal.close).toBeUndefined();
    expect(normal.socket.readyState).toBe(WebSocket.OPEN);
    normal.subscribe('q', EVENT, { id: event.id });
    expect((await normal.message((m) => m.id === 'q' && m.type === 'next', 'query after pings')).payload).toEqual({ data: { event: { id: event.id } } });
  });

  it('rejects subscriptions that do not parse or validate, with the codes HTTP uses, and keeps the connection', async () => {
    const raw = await Raw.open(server.url);
    await raw.init();
    // One at a time: this server allows 3 operations at once on a connection, and each counts until refused.
    raw.subscribe('unknown-field', `subscription($eventId: ID!) { seatMapChanged(eventId: $eventId) { version nosuchfield } }`, { eventId: event.id });
    expect(await raw.errorCodes('unknown-field')).toEqual(['GRAPHQL_VALIDATION_FAILED']);
    raw.subscribe('unknown-root', `subscription { nosuchsubscription }`);
    expect(await raw.errorCodes('unknown-root')).toEqual(['GRAPHQL_VALIDATION_FAILED']);
    raw.subscribe('parse', `subscription($eventId: ID!) { seatMapChanged(eventId: $eventId) { version `, { eventId: event.id });
    expect(await raw.errorCodes('parse')).toEqual(['GRAPHQL_PARSE_FAILED']);
    raw.subscribe('two-roots', `subscription($eventId: ID!) { seatMapChanged(eventId: $eventId) { version } holdUpdated(id: "hold_1") { id } }`, { eventId: event.id });
    expect(await raw.errorCodes('two-roots')).toEqual(['GRAPHQL_VALIDATION_FAILED']);
    expect(raw.of('two-roots')[0]!.payload[0].message).toMatch(/only one top level field/);
    // Nothing else arrived for them (no next, no complete), and the connection still serves a valid subscription.
    for (const id of ['unknown-field', 'unknown-root', 'parse', 'two-roots']) expect(raw.of(id)).toHaveLength(1);
    raw.subscribe('valid', SEAT_MAP_CHANGED, { eventId: event.id });
    await holdUntil(() => deltas(raw, 'valid').length > 0, 'valid subscription receives changes');
    expect(raw.socket.readyState).toBe(WebSocket.OPEN);
    expect(server.logs.filter((line) => line.msg === 'internal error')).toEqual([]);
  });
});
