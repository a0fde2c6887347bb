import { randomUUID } from 'node:crypto';
import { Writable } from 'node:stream';
import { createClient, type Client } from 'graphql-ws';
import { pino } from 'pino';
import WebSocket from 'ws';
import { signToken } from '../../server/auth.js';
import { startApp, type App } from '../../server/app.js';
import { loadConfig } from '../../server/config.js';
import { afterAll, beforeAll, inject } from 'vitest';
import { adminQuery, databaseUrl, TEST_REDIS_URL } from './services.js';

/** The two ways Onsale runs: real Postgres and Redis, or embedded Postgres and in-process pub/sub. */
export type Mode = 'postgres' | 'embedded';
export const modes: Mode[] = ['postgres', 'embedded'];

export interface GraphQLResponse<T = Record<string, any>> {
  status: number;
  headers: Headers;
  data?: T | null;
  errors?: { message: string; path?: (string | number)[]; extensions?: Record<string, any> }[];
}

export interface TestServer {
  app: App;
  url: string;
  /** Every log line the server wrote, parsed. */
  logs: Record<string, any>[];
  /** Runs one operation over HTTP POST as `as` (a bearer token), anonymous by default. */
  gql<T = Record<string, any>>(query: string, variables?: Record<string, unknown>, as?: string): Promise<GraphQLResponse<T>>;
  /** A graphql-ws client on this server, with `connectionParams` as the connection_init payload. */
  ws(connectionParams?: Record<string, unknown>): Client;
  token(sub: string, admin?: boolean): Promise<string>;
  /** Postgres mode: the URL of this server's own database, for another instance (or a test) to share it. */
  databaseUrl?: string;
  /** Postgres mode: the Redis channel prefix this server publishes and subscribes under. */
  redisPrefix?: string;
  stop(): Promise<void>;
}

/** What every test instance runs with. Races send hundreds of operations from one address in a second: the budgets under test set their own. */
const TEST_ENV = {
  NODE_ENV: 'test',
  PORT: '0',
  HOST: '127.0.0.1',
  RATE_LIMIT_READS_PER_MINUTE: '10000000',
  RATE_LIMIT_WRITES_PER_MINUTE: '10000000',
  RATE_LIMIT_JOINS_PER_MINUTE: '10000000',
};

/** Another instance on a postgres-mode server's database and Redis prefix, as a second gateway of one deployment. */
export function startPeer(server: TestServer, env: Record<string, string> = {}): Promise<App> {
  return startApp(
    loadConfig({ ...TEST_ENV, DATABASE_URL: server.databaseUrl!, REDIS_URL: TEST_REDIS_URL, SEED_DEMO: 'never', ...env }),
    { redisPrefix: server.redisPrefix!, log: pino({ level: 'silent' }) },
  );
}

/** For the enclosing describe: a postgres-mode server and a peer on its database and Redis prefix. */
export function withPeer(): { readonly first: TestServer; readonly second: App } {
  const pair = {} as { first: TestServer; second: App };
  beforeAll(async () => {
    pair.first = await startTestServer('postgres');
    pair.second = await startPeer(pair.first);
  });
  afterAll(async () => {
    await pair.second?.stop();
    await pair.first?.stop();
  });
  return pair;
}

/**
 * Starts a real server on a free port of 127.0.0.1. In postgres mode it gets its own database cloned from the
 * seeded template and its own Redis channel prefix; in embedded mode an in-memory PGlite seeded at start.
 */
export async function startTestServer(mode: Mode, env: Record<string, string> = {}): Promise<TestServer> {
  const database = `onsale_test_${randomUUID().replaceAll('-', '')}`;
  if (mode === 'postgres') await adminQuery(`CREATE DATABASE ${database} TEMPLATE ${inject('templateDatabase')}`);
  const config = loadConfig({
    ...TEST_ENV,
    LOG_LEVEL: 'debug',
    ...(mode === 'postgres'
      ? { DATABASE_URL: databaseUrl(database), REDIS_URL: TEST_REDIS_URL, SEED_DEMO: 'never', DATABASE_POOL_SIZE: '10' }
      : { DATA_DIR: 'memory' }),
    ...env,
  });
  const logs: Record<string, any>[] = [];
  const sink = new Writable({
    write(chunk, _encoding, done) {
      for (const line of String(chunk).split('\n')) if (line) logs.push(JSON.parse(line));
      done();
    },
  });
  const redisPrefix = `test:${database}:`;
  const app = await startApp(config, { log: pino({ level: 'debug' }, sink), redisPrefix });
  const clients: Client[] = [];
  return {
    app,
    url: app.url,
    logs,
    async gql(query, variables, as) {
      const response = await fetch(app.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...(as && { authorization: `Bearer ${as}` }) },
        body: JSON.stringify({ query, variables }),
      });
      const body = (await response.json()) as Omit<GraphQLResponse, 'status' | 'headers'>;
      return { status: response.status, headers: response.headers, ...body } as GraphQLResponse<any>;
    },
    ws(connectionParams) {
      const client = createClient({
        url: app.url.replace('http', 'ws'),
        webSocketImpl: WebSocket,
        connectionParams,
        retryAttempts: 0,
        lazy: false,
        onNonLazyError: () => {},
      });
      clients.push(client);
      return client;
    },
    token: (sub, admin = false) => signToken(config.jwtSecret, sub, { admin }),
    ...(mode === 'postgres' && { databaseUrl: config.databaseUrl, redisPrefix }),
    async stop() {
      await Promise.all(clients.map((client) => client.dispose()));
      await app.stop();
      if (mode === 'postgres') await adminQuery(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`);
    },
  };
}

/** The data of a response that must have succeeded; fails with the errors it carries otherwise. */
export function ok<T>(response: GraphQLResponse<T>): T {
  if (response.errors?.length || !response.data) {
    throw new Error(`expected data, got ${response.status}: ${JSON.stringify(response.errors)}`);
  }
  return response.data;
}

/** The error codes of a response, in order. */
export const codes = (response: GraphQLResponse) => (response.errors ?? []).map((error) => error.extensions?.code);

/** Runs one operation over a graphql-ws client and resolves with its single result. */
export function wsQuery(client: Client, query: string): Promise<Record<string, any>> {
  return new Promise((resolve, reject) => {
    let result: Record<string, any> | undefined;
    client.subscribe({ query }, { next: (value) => (result = value), error: reject, complete: () => resolve(result!) });
  });
}

/** Runs one operation over a graphql-ws client and resolves with the error codes it fails with. */
export function wsErrorCodes(client: Client, query: string, variables?: Record<string, unknown>): Promise<string[]> {
  return new Promise((resolve, reject) => {
    client.subscribe({ query, variables }, {
      next: (value) => (value.errors ? resolve(value.errors.map((e: any) => e.extensions?.code)) : reject(new Error('expected errors'))),
      error: (errors) => resolve((errors as { extensions?: { code?: string } }[]).map((e) => e.extensions?.code ?? 'none')),
      complete: () => {},
    });
  });
}

/** Opens a raw WebSocket with the graphql-transport-ws protocol and resolves with the close code. */
export function closeCodeAfterInit(url: string, payload: unknown): Promise<number> {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(url.replace('http', 'ws'), 'graphql-transport-ws');
    socket.on('open', () => socket.send(JSON.stringify({ type: 'connection_init', payload })));
    socket.on('close', (code) => resolve(code));
    socket.on('error', reject);
  });
}
