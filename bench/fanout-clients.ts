// The subscribers of npm run bench:fanout, in a process of their own (started by bench/fanout.ts with an IPC
// channel): raw `ws` WebSockets speaking graphql-transport-ws, one seatMapChanged subscription each. Each client
// records, per message, when it arrived (Date.now()), fromVersion, version and how many changes it carried, and
// checks that every message starts where the one before ended. The parent drives it with the requests below.
import WebSocket from 'ws';
import { round, stats } from './common.js';

/** What the parent asks; each request gets one answer (`type` of the same name). */
export type ClientsRequest =
  /** Opens `subscribers` connections, `wave` at a time, each subscribing with `query` and `variables`. */
  | { type: 'connect'; url: string; subscribers: number; wave: number; query: string; variables: Record<string, unknown> }
  /** Answers once every subscribed client has received `version` (or a later one), or after `timeoutMs`. */
  | { type: 'waitFor'; version: number; timeoutMs: number }
  /**
   * The messages starting after version `after` and at or before `final` (one stream's), measured against
   * `commits` (version → the outbox row's created_at, ms since the epoch).
   */
  | { type: 'report'; after: number; final: number; commits: [number, number][] }
  /** Closes every connection; the process then exits. */
  | { type: 'close' };

export type ClientsAnswer =
  | { type: 'progress'; connected: number }
  | { type: 'connect'; connected: number; failed: number; failures: Record<string, number>; ms: number }
  /** `reached`: clients at `version` or later, of `subscribed` (those that got connection_ack and subscribed). */
  | { type: 'waitFor'; version: number; reached: number; subscribed: number; open: number; ms: number }
  | { type: 'report'; report: ClientsReport }
  | { type: 'close' };

export interface ClientsReport {
  clients: number;
  /** Clients whose socket closed before the end (by close code). */
  closed: Record<string, number>;
  /** Every message of the stream (`after` < fromVersion <= `final`), all clients together. */
  messages: number;
  /** Their changes (seats), all clients together. */
  changes: number;
  /** Received − created_at of the message's fromVersion (its oldest change): what a subscriber waits at most. */
  latencyOldest: ReturnType<typeof stats>;
  /** Received − created_at of the message's version (its newest change): without the coalescing wait. */
  latencyNewest: ReturnType<typeof stats>;
  /** Messages whose fromVersion has no outbox row (should be none). */
  unknownVersions: number;
  /** Messages, over the whole run, whose fromVersion was not the last version + 1: gaps (and the versions missed) and overlaps. */
  gaps: number;
  versionsMissed: number;
  overlaps: number;
  /** Clients with at least one gap or overlap. */
  clientsWithGaps: number;
  /** Messages other than `next` (error, complete) and `next` messages with errors. */
  errorMessages: number;
  firstError?: string;
  /** This process's resident memory (MB) at the report. */
  rssMB: number;
}

// ---------------------------------------------------------------------------------------------------------------
// One client

interface Delivery {
  fromVersion: number;
  version: number;
  changes: number;
}

class Client {
  socket: WebSocket | undefined;
  subscribed = false;
  /** Per message: when it arrived, and what it covered (the same object for every client that got those bytes). */
  readonly times: number[] = [];
  readonly deliveries: Delivery[] = [];
  lastVersion = -1;
  gaps = 0;
  versionsMissed = 0;
  overlaps = 0;
  closedWith: string | undefined;

  receive(at: number, delivery: Delivery) {
    if (this.lastVersion >= 0 && delivery.fromVersion !== this.lastVersion + 1) {
      if (delivery.fromVersion > this.lastVersion + 1) {
        this.gaps++;
        this.versionsMissed += delivery.fromVersion - this.lastVersion - 1;
      } else this.overlaps++;
    }
    this.lastVersion = Math.max(this.lastVersion, delivery.version);
    this.times.push(at);
    this.deliveries.push(delivery);
  }
}

const clients: Client[] = [];
let errorMessages = 0;
let firstError: string | undefined;

function noteError(text: string) {
  errorMessages++;
  firstError ??= text.slice(0, 300);
}

/** A message as the clients need it: a delivery of the subscription, or just its type. */
type Message = { type: 'delivery'; delivery: Delivery } | { type: string; delivery?: undefined };

/**
 * The same bytes reach every client: each distinct message is parsed once. A few recent ones are kept, since
 * the clients of one broadcast can interleave with the next.
 */
const parsed = new Map<string, Message>();

function parse(text: string): Message {
  let message = parsed.get(text);
  if (message) return message;
  const raw = JSON.parse(text) as {
    type: string;
    payload?: { data?: { seatMapChanged?: { fromVersion: number; version: number; changes: unknown[] } }; errors?: unknown };
  };
  const change = raw.payload?.data?.seatMapChanged;
  message =
    raw.type === 'next' && change && !raw.payload?.errors
      ? { type: 'delivery', delivery: { fromVersion: change.fromVersion, version: change.version, changes: change.changes.length } }
      : { type: raw.type === 'next' ? 'next with errors' : raw.type };
  parsed.set(text, message);
  if (parsed.size > 64) parsed.delete(parsed.keys().next().value!);
  return message;
}

/** Connects, initialises and subscribes; resolves once the subscribe message is sent, rejects on any failure. */
function open(client: Client, request: Extract<ClientsRequest, { type: 'connect' }>): Promise<void> {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(request.url, 'graphql-transport-ws', { perMessageDeflate: false });
    client.socket = socket;
    const timer = setTimeout(() => {
      reject(new Error('no connection_ack within 30 s'));
      socket.terminate();
    }, 30_000);
    socket.on('open', () => socket.send(JSON.stringify({ type: 'connection_init' })));
    socket.on('unexpected-response', (_req, res) => {
      clearTimeout(timer);
      reject(new Error(`upgrade refused: HTTP ${res.statusCode}`));
      socket.terminate();
    });
    socket.on('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    socket.on('close', (code) => {
      clearTimeout(timer);
      client.closedWith ??= String(code);
      reject(new Error(`closed with ${code} before connection_ack`));
    });
    socket.on('message', (data) => {
      const at = Date.now();
      const text = data.toString();
      const message = parse(text);
      if (message.delivery) client.receive(at, message.delivery);
      else if (message.type === 'connection_ack') {
        clearTimeout(timer);
        socket.send(JSON.stringify({ id: '1', type: 'subscribe', payload: { query: request.query, variables: request.variables } }));
        client.subscribed = true;
        resolve();
      } else if (message.type === 'ping') socket.send(JSON.stringify({ type: 'pong' }));
      else if (message.type !== 'pong') noteError(text);
    });
  });
}

// ---------------------------------------------------------------------------------------------------------------
// Requests

const send = (answer: ClientsAnswer) => process.send!(answer);

async function connect(request: Extract<ClientsRequest, { type: 'connect' }>) {
  const started = performance.now();
  const failures: Record<string, number> = {};
  let connected = 0;
  for (let first = 0; first < request.subscribers; first += request.wave) {
    const wave = Array.from({ length: Math.min(request.wave, request.subscribers - first) }, () => new Client());
    clients.push(...wave);
    const outcomes = await Promise.allSettled(wave.map((client) => open(client, request)));
    for (const outcome of outcomes) {
      if (outcome.status === 'fulfilled') connected++;
      else failures[outcome.reason.message] = (failures[outcome.reason.message] ?? 0) + 1;
    }
    send({ type: 'progress', connected });
  }
  const failed = request.subscribers - connected;
  send({ type: 'connect', connected, failed, failures, ms: Math.round(performance.now() - started) });
}

async function waitFor(request: Extract<ClientsRequest, { type: 'waitFor' }>) {
  const started = performance.now();
  const deadline = started + request.timeoutMs;
  const isOpen = (client: Client) => client.socket?.readyState === WebSocket.OPEN;
  for (;;) {
    const open = clients.filter(isOpen).length;
    const subscribed = clients.filter((client) => client.subscribed).length;
    const reached = clients.filter((client) => client.lastVersion >= request.version).length;
    if (reached >= subscribed || performance.now() >= deadline) {
      send({ type: 'waitFor', version: request.version, reached, subscribed, open, ms: Math.round(performance.now() - started) });
      return;
    }
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

function report(request: Extract<ClientsRequest, { type: 'report' }>) {
  const commits = new Map(request.commits);
  const oldest: number[] = [];
  const newest: number[] = [];
  let changes = 0;
  let unknownVersions = 0;
  const closed: Record<string, number> = {};
  for (const client of clients) {
    if (client.closedWith) closed[client.closedWith] = (closed[client.closedWith] ?? 0) + 1;
    client.deliveries.forEach((delivery, i) => {
      if (delivery.fromVersion <= request.after || delivery.fromVersion > request.final) return;
      changes += delivery.changes;
      const from = commits.get(delivery.fromVersion);
      const to = commits.get(delivery.version);
      if (from === undefined || to === undefined) {
        unknownVersions++;
        return;
      }
      oldest.push(client.times[i]! - from);
      newest.push(client.times[i]! - to);
    });
  }
  const sum = (count: (client: Client) => number) => clients.reduce((total, client) => total + count(client), 0);
  const result: ClientsReport = {
    clients: clients.length,
    closed,
    messages: oldest.length + unknownVersions,
    changes,
    latencyOldest: stats(oldest, 1),
    latencyNewest: stats(newest, 1),
    unknownVersions,
    gaps: sum((client) => client.gaps),
    versionsMissed: sum((client) => client.versionsMissed),
    overlaps: sum((client) => client.overlaps),
    clientsWithGaps: clients.filter((client) => client.gaps || client.overlaps).length,
    errorMessages,
    firstError,
    rssMB: round(process.memoryUsage().rss / 2 ** 20),
  };
  send({ type: 'report', report: result });
}

function close() {
  for (const client of clients) client.socket?.close(1000);
  send({ type: 'close' });
  // Let the close frames go out; the parent stops the server next either way.
  setTimeout(() => process.exit(0), 500);
}

process.on('message', (request: ClientsRequest) => {
  const handle = {
    connect: () => connect(request as Extract<ClientsRequest, { type: 'connect' }>),
    waitFor: () => waitFor(request as Extract<ClientsRequest, { type: 'waitFor' }>),
    report: () => report(request as Extract<ClientsRequest, { type: 'report' }>),
    close,
  }[request.type];
  Promise.resolve()
    .then(handle)
    .catch((error: unknown) => {
      console.error(`fanout clients: ${request.type} failed: ${(error as Error).stack ?? String(error)}`);
      process.exit(1);
    });
});
// The parent went away: nothing left to measure for.
process.on('disconnect', () => process.exit(0));
