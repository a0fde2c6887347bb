/**
 * The line port: the hot state of each gated event's waiting room, in Redis (atomic Lua scripts) or in process
 * (the embedded mode). Postgres keeps every ticket; the line keeps their order for O(log n) positions, and is
 * rebuilt from Postgres when it is lost (a Redis restart). Both implementations pass one contract suite.
 *
 * A line holds ticket ids by score, lowest first. It is "built" once the admission worker has filled it after
 * the raffle; until then (and after it is lost) it answers null and adds nothing. `served` counts the tickets
 * taken off its head so far, so that `served + rank + 1` is a ticket's number and a client's position follows
 * from one "now serving" count per event: `number - served`.
 */
export interface QueueLine {
  readonly kind: 'redis' | 'in-process';
  /** Fills the line afresh (any old one is dropped) and marks it built under `epoch`, with `served` at 0. */
  build(eventId: number, entries: readonly LineEntry[], epoch: string): Promise<void>;
  /** Adds entries (a score already there is kept) if the line is built; returns whether it is. */
  place(eventId: number, entries: readonly LineEntry[]): Promise<boolean>;
  /** The ticket's rank (0 = next; null when not in line), with the line's status; null when not built. */
  position(eventId: number, ticketId: string): Promise<{ rank: number | null; status: LineStatus } | null>;
  /** `count` ticket ids from rank `offset` on, in order; null when not built. */
  head(eventId: number, offset: number, count: number): Promise<string[] | null>;
  /** Takes these tickets out of the line and adds how many were in it to `served`; returns that number. */
  remove(eventId: number, ticketIds: readonly string[]): Promise<number>;
  /** The line's status; null when not built. */
  status(eventId: number): Promise<LineStatus | null>;
  close(): Promise<void>;
}

export interface LineEntry {
  ticketId: string;
  score: number;
}

export interface LineStatus {
  /** Which build of the line this is: positions of one epoch are comparable, across epochs they are not. */
  epoch: string;
  /** Tickets taken off the line's head since it was built (admitted, or skipped because they left). */
  served: number;
  /** Tickets in line now. */
  length: number;
}
