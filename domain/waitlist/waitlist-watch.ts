import type { Database } from '../../datasources/db.js';
import { findEntriesOfOwner, findEntry, type DbWaitlistEntry } from '../../datasources/postgres/waitlist.sql.js';
import type { PubSub } from '../../subscriptions/pubsub.js';
import { createStream } from '../../subscriptions/stream.js';
import { topics, type Envelope, type WaitlistEntryChanged } from '../../subscriptions/topics.js';
import { ownerKey, type Caller } from '../caller.js';
import { decodeId } from '../ids.js';
import { entryState, MAX_ENTRIES_LISTED } from './waitlist.rules.js';
import { withPositions, type WaitlistEntryView } from './waitlist.service.js';

const stateKey = (entry: DbWaitlistEntry) => `${entryState(entry)}|${entry.offerHoldId}|${entry.skippedAt?.getTime()}`;

/**
 * The caller's own entries of the event: each live one (WAITING, OFFERED) at once, then every change of any of
 * them — OFFERED with its hold, skipped (WAITING with `skipReason`), ACCEPTED, EXPIRED, LEFT, and entries joined
 * later. Notices are outbox messages (none is lost); each is read afresh from Postgres, as are all the entries
 * when pub/sub is back after an outage. An offer turns EXPIRED at its hold's expiry, swept or not.
 */
export async function watchWaitlist(deps: { db: Database; pubsub: PubSub }, caller: Caller, id: string): Promise<AsyncIterableIterator<WaitlistEntryView>> {
  const owner = ownerKey(caller);
  const eventId = decodeId('evt', id, 'eventId');
  const shown = new Map<string, string>();
  const timers = new Map<string, NodeJS.Timeout>();
  let closed = false;
  let reading = Promise.resolve();
  const unlisten: (() => void)[] = [];
  const stream = createStream<WaitlistEntryView>(() => {
    closed = true;
    for (const timer of timers.values()) clearTimeout(timer);
    for (const stop of unlisten) stop();
  });

  /** Reads entries (`load`) and shows those that changed, one read at a time, in the order they were asked for. */
  function show(load: () => Promise<DbWaitlistEntry[]>, all: boolean) {
    reading = reading.then(async () => {
      const entries = await load().catch(() => []);
      const live = (entry: DbWaitlistEntry) => entryState(entry) === 'WAITING' || entryState(entry) === 'OFFERED';
      const changed = entries.filter(
        (entry) => entry.owner === owner && entry.eventId === eventId && shown.get(entry.id) !== stateKey(entry) && (!all || shown.has(entry.id) || live(entry)),
      );
      if (closed || !changed.length) return;
      const views = await withPositions(deps.db, changed).catch(() => []);
      for (const view of views) {
        if (closed) return;
        shown.set(view.id, stateKey(view));
        clearTimeout(timers.get(view.id));
        if (entryState(view) === 'OFFERED') {
          const left = view.offerExpiresAt!.getTime() - Date.now();
          timers.set(view.id, setTimeout(() => read(view.id), Math.min(left + 5, 2 ** 31 - 1)).unref());
        }
        stream.push(view);
      }
    });
  }
  const read = (entryId: string) => show(async () => [await findEntry(deps.db, entryId)].filter((entry) => entry !== null), false);
  const readAll = () => show(() => findEntriesOfOwner(deps.db, owner, eventId, MAX_ENTRIES_LISTED), true);

  try {
    unlisten.push(await deps.pubsub.listen<Envelope<WaitlistEntryChanged>>(topics.waitlist(eventId, owner), (message) => read(message.payload.entryId)));
    // After an outage a notice may have been lost: read every entry again.
    unlisten.push(deps.pubsub.onReconnect(readAll));
    // Read after listening: a change made before this read is in it, one made after it comes as a notice.
    readAll();
  } catch (error) {
    void stream.iterator.return!();
    throw error;
  }
  return stream.iterator;
}
