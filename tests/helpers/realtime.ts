// Shared by the real-time suites that run several instances or break Redis: graphql-ws clients on any URL,
// subscriptions collected as they come, and bounded waits for a condition (a deadline for a failure, never a
// measured duration).
import { createClient, type Client } from 'graphql-ws';
import { expect } from 'vitest';
import WebSocket from 'ws';

export const SEAT_MAP_CHANGED = `subscription($eventId: ID!) { seatMapChanged(eventId: $eventId) { eventId fromVersion version changes { ordinal status } } }`;
export const HOLD_UPDATED = `subscription($id: ID!) { holdUpdated(id: $id) { id status expiresAt } }`;

export type SeatMapChanged = {
  seatMapChanged: { eventId: string; fromVersion: number; version: number; changes: { ordinal: number; status: string }[] };
};
export type HoldUpdated = { holdUpdated: { id: string; status: string; expiresAt: string } };

/** A graphql-ws client on the gateway at `httpUrl` (http://…/graphql), connected at once, never retrying. */
export function connect(httpUrl: string, connectionParams?: Record<string, unknown>): Client {
  return createClient({
    url: httpUrl.replace(/^http/, 'ws'),
    webSocketImpl: WebSocket,
    connectionParams,
    retryAttempts: 0,
    lazy: false,
    onNonLazyError: () => {},
  });
}

/** A subscription whose results are collected as they come; `until` waits (bounded) for a condition on them. */
export interface Watch<T> {
  results: T[];
  errors: unknown[];
  until(done: (results: T[]) => boolean, ms?: number): Promise<void>;
  stop(): void;
}

export function watch<T = Record<string, any>>(client: Client, query: string, variables: Record<string, unknown>): Watch<T> {
  const results: T[] = [];
  const errors: unknown[] = [];
  const listeners = new Set<() => void>();
  const stop = client.subscribe<T>({ query, variables }, {
    next: (value) => {
      if (value.errors) errors.push(...value.errors);
      else results.push(value.data as T);
      listeners.forEach((listener) => listener());
    },
    error: (error) => {
      errors.push(error);
      listeners.forEach((listener) => listener());
    },
    complete: () => {},
  });
  return {
    results,
    errors,
    stop,
    until(done, ms = 15_000) {
      return new Promise((resolve, reject) => {
        const check = () => {
          if (done(results)) {
            clearTimeout(timer);
            listeners.delete(check);
            resolve();
          } else if (errors.length) {
            clearTimeout(timer);
            listeners.delete(check);
            reject(new Error(`subscription failed: ${JSON.stringify(errors)}`));
          }
        };
        const timer = setTimeout(() => {
          listeners.delete(check);
          reject(new Error(`not within ${ms} ms; got ${results.length} results: ${JSON.stringify(results.slice(-3))}`));
        }, ms);
        listeners.add(check);
        check();
      });
    },
  };
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Polls `probe` every `everyMs` until `done` holds on its value, and returns that value; fails naming `what`
 * and the last value when `ms` run out. A deadline for a failure: how long it took is never asserted.
 */
export async function eventually<T>(what: string, probe: () => Promise<T> | T, done: (value: T) => boolean, ms = 15_000, everyMs = 50): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await probe();
    if (done(value)) return value;
    if (Date.now() > deadline) throw new Error(`${what}: not within ${ms} ms; last: ${JSON.stringify(value)}`);
    await sleep(everyMs);
  }
}

/** The seat-map versions a watcher was shown, as [fromVersion, version] pairs. */
export const versionsOf = (results: SeatMapChanged[]) => results.map((r) => [r.seatMapChanged.fromVersion, r.seatMapChanged.version]);

/** Fails unless each message starts right after the one before it: no version twice, none missing. */
export function expectConsecutive(results: SeatMapChanged[]): void {
  results.slice(1).forEach((result, i) => {
    const previous = results[i]!.seatMapChanged;
    expect(result.seatMapChanged.fromVersion, `message ${i + 1} of ${JSON.stringify(versionsOf(results))}`).toBe(previous.version + 1);
  });
}
