import { AsyncLocalStorage } from 'node:async_hooks';

/**
 * The database port. Postgres (`pg`) and embedded Postgres (PGlite) both implement it, and every SQL
 * statement in datasources/postgres runs unchanged on either.
 */

/** A parameterised statement; `name` makes `pg` prepare it once per connection (hot paths only). */
export interface Statement {
  name?: string;
  text: string;
}

/** Anything that runs a statement: the database itself or an open transaction. */
export interface Queryable {
  query<R>(statement: Statement | string, params?: readonly unknown[]): Promise<{ rows: R[]; rowCount: number }>;
  /** Runs a script of several statements without parameters (migrations). */
  exec(script: string): Promise<void>;
}

/**
 * A session of its own that LISTENs on a channel. Its statements run on that session, so a session-level
 * advisory lock taken through it lasts as long as the session.
 */
export interface ListenSession {
  query: Queryable['query'];
  close(): Promise<void>;
}

/** A database: statements, short transactions, a liveness probe and shutdown. */
export interface Database extends Queryable {
  readonly kind: 'postgres' | 'embedded';
  /** Runs `fn` in one READ COMMITTED transaction; commits when it resolves, rolls back when it throws. */
  transaction<T>(fn: (tx: Queryable) => Promise<T>): Promise<T>;
  /**
   * Opens a session that LISTENs on `channel` and calls `onNotify` with each notification's payload; `onLost`
   * runs once if the session breaks (its locks are gone then): close it and open another.
   */
  listen(channel: string, onNotify: (payload: string) => void, onLost: (error: Error) => void): Promise<ListenSession>;
  /**
   * Opens every connection the database will use and runs each of `statements` on it once, so that the first
   * requests find their connections open and their named statements prepared.
   */
  warm(statements: readonly (readonly [Statement, readonly unknown[]])[]): Promise<void>;
  /** The connection pool's state (Postgres; undefined for the embedded database's one session). */
  poolStats(): PoolStats | undefined;
  close(): Promise<void>;
}

export interface PoolStats {
  max: number;
  total: number;
  idle: number;
  /** Requests waiting for a client now. */
  waiting: number;
  /** Time transactions have waited for a client, in total, in seconds. */
  waitSeconds: number;
}

/**
 * Whether statements are checked against the open transaction body (see below). The check needs an
 * AsyncLocalStorage, which in Node 20 makes every promise of the process pay for context propagation: about a
 * tenth of a seat-map read's CPU. It is on by default, for tests and development, and off in production.
 */
let transactionScope: AsyncLocalStorage<true> | undefined = new AsyncLocalStorage<true>();

/** Turns the transaction-body check on or off; call it before the first transaction. */
export function checkTransactionBodies(on: boolean): void {
  transactionScope = on ? (transactionScope ?? new AsyncLocalStorage<true>()) : undefined;
}

/** Runs `fn` as the body of a transaction: while it runs, the database itself refuses statements. */
export const transactionBody = <T>(fn: () => Promise<T>): Promise<T> => (transactionScope ? transactionScope.run(true, fn) : fn());

/**
 * Throws when called from inside a transaction body. A statement sent to the database instead of the open
 * transaction would deadlock on PGlite (one session) and silently run outside the transaction on `pg`.
 */
export function assertNotInTransaction(): void {
  if (transactionScope?.getStore()) {
    throw new Error('a statement was sent to the database from inside a transaction: use the transaction (tx) instead');
  }
}

/** `tx` as a Database whose transactions join it, so that domain code can run inside a larger transaction. */
export function joinTransaction(tx: Queryable, kind: Database['kind']): Database {
  const listen = () => Promise.reject(new Error('cannot LISTEN from inside a transaction'));
  return { kind, query: tx.query, exec: tx.exec, transaction: (fn) => fn(tx), listen, warm: async () => {}, poolStats: () => undefined, close: async () => {} };
}
