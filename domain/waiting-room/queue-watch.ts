import { findLatestTicket, type DbQueueTicket } from '../../datasources/postgres/queue-tickets.sql.js';
import type { PubSub } from '../../subscriptions/pubsub.js';
import { createStream } from '../../subscriptions/stream.js';
import { topics, type QueueServing } from '../../subscriptions/topics.js';
import { ownerKey, type Caller } from '../caller.js';
import { DomainError } from '../errors.js';
import { decodeId } from '../ids.js';
import { estimatedWaitSeconds } from './waiting-room.rules.js';
import { viewTicket, type QueueTicketView, type WaitingRoomDeps } from './waiting-room.service.js';

type WatchDeps = Pick<WaitingRoomDeps, 'db' | 'queueLine' | 'admissions'> & { pubsub: PubSub };

/**
 * Position updates go out this much after the "now serving" message at most, each watcher at its own offset: the
 * frames of one tick are spread over most of a second instead of leaving in one burst that stalls the instance.
 */
const POSITION_SPREAD_MS = 750;

/**
 * The first "now serving" after the raffle moves every watcher at once from the pre-queue into line, each with a
 * lookup of its number and a frame of its own: 20,000 of them in 750 ms (or even 5 s) saturated the instances
 * just as the sale opened. That move is spread at 2,000 watchers a second over the line (20,000: 10 s), 15 s at
 * most. Fans at the head do not wait for it: their admission is a notice of its own and comes at once.
 */
const RAFFLE_MOVES_PER_SECOND = 2_000;
const RAFFLE_SPREAD_MAX_MS = 15_000;
const raffleSpreadMs = (serving: QueueServing) => Math.min(RAFFLE_SPREAD_MAX_MS, (serving.length / RAFFLE_MOVES_PER_SECOND) * 1000);

/**
 * A watcher takes "now serving" at most once a second, the latest one: admission ticks may come four times a
 * second (ADMISSION_INTERVAL_MS), and positions move no faster than POSITION_MIN_INTERVAL_MS anyway.
 */
const SERVING_EVERY_MS = 1_000;

/**
 * A position is shown again when it moved by 5% of itself (at least 1) and 2 s have passed since the last one, or
 * at least every 10 s: a fan does not need a frame a second to watch the number fall (the admission itself is a
 * notice of its own and comes at once). In a fast line (100 admissions a second) 20,000 watchers cost ~5,000
 * frames a second instead of ~18,000 with a 1% step and no interval (DECISIONS §52).
 */
const POSITION_STEP = 0.05;
const POSITION_MIN_INTERVAL_MS = 2_000;
const POSITION_REFRESH_MS = 10_000;

const stateKey = (view: QueueTicketView) => `${view.ticket.id}|${view.state}|${view.position}|${view.admissionExpiresAt?.getTime()}`;

/**
 * The caller's own ticket for the event, now and at every change: WAITING with its position once the raffle ran,
 * each new position, ADMITTED with its token, EXPIRED, LEFT, and a new ticket if they join again.
 *
 * What it costs: positions come from the event's one "now serving" message per tick (the same for everyone
 * waiting), from which each watcher works out its own: `number - served`, without a lookup. A watcher asks the
 * line only when its number is unknown or the line was rebuilt (a new epoch), and reads its ticket from Postgres
 * only on a personal notice (admitted, expired, left: outbox messages, so none is lost) or when pub/sub is back
 * after an outage. The current ticket comes first, so that an admission made just before subscribing is not missed.
 */
export async function watchQueueTicket(deps: WatchDeps, caller: Caller, id: string): Promise<AsyncIterableIterator<QueueTicketView>> {
  const owner = ownerKey(caller);
  const eventId = decodeId('evt', id, 'eventId');
  let view: QueueTicketView | undefined;
  let lastKey = '';
  let shownAt = 0;
  let closed = false;
  let expiryTimer: NodeJS.Timeout | undefined;
  const offset = Math.random();
  let pendingServing: QueueServing | undefined;
  let servedAt = 0;
  let spreadTimer: NodeJS.Timeout | undefined;
  /** A position held back by POSITION_MIN_INTERVAL_MS, shown when it is up. */
  let trailingTimer: NodeJS.Timeout | undefined;
  let reading = Promise.resolve();

  const unlisten: (() => void)[] = [];
  const stream = createStream<QueueTicketView>(() => {
    closed = true;
    clearTimeout(expiryTimer);
    clearTimeout(spreadTimer);
    clearTimeout(trailingTimer);
    for (const stop of unlisten) stop();
  });

  function show(next: QueueTicketView) {
    view = next;
    clearTimeout(expiryTimer);
    // An admission turns EXPIRED when its window ends, whether or not a tick has recorded it yet.
    if (next.state === 'ADMITTED') {
      const left = next.admissionExpiresAt!.getTime() - Date.now();
      expiryTimer = setTimeout(() => update(next.ticket), Math.min(left + 5, 2 ** 31 - 1));
      expiryTimer.unref();
    }
    const key = stateKey(next);
    if (key === lastKey) return;
    lastKey = key;
    shownAt = Date.now();
    stream.push(next);
  }

  /** Shows `ticket` (read afresh from Postgres when not given) with its place in line, one update at a time. */
  function update(ticket?: DbQueueTicket) {
    reading = reading.then(async () => {
      if (closed) return;
      const fresh = ticket ?? (await findLatestTicket(deps.db, eventId, owner).catch(() => null));
      if (!fresh || closed) return;
      const next = await viewTicket(deps, fresh).catch(() => null);
      if (next && !closed) show(next);
    });
  }

  /** Takes the latest "now serving" at this watcher's offset. */
  function spread(serving: QueueServing) {
    const first = !pendingServing;
    pendingServing = serving;
    if (!first) return;
    const spreadMs = offset * (view?.state === 'PRE_QUEUE' ? raffleSpreadMs(serving) : POSITION_SPREAD_MS);
    spreadTimer = setTimeout(() => {
      const latest = pendingServing!;
      pendingServing = undefined;
      servedAt = Date.now();
      onServing(latest);
    }, Math.floor(Math.max(spreadMs, servedAt + SERVING_EVERY_MS - Date.now())));
    spreadTimer.unref();
  }

  function onServing(serving: QueueServing) {
    clearTimeout(trailingTimer);
    if (closed || !view) return;
    // "Now serving" means the raffle ran: a pre-queue ticket is in line now.
    if (view.state === 'PRE_QUEUE') return update({ ...view.ticket, raffled: true });
    if (view.state !== 'WAITING') return;
    if (view.number === null || serving.epoch !== view.epoch) return update(view.ticket);
    const position = view.number - serving.served;
    // Passed by the line: admitted (its notice is on its way) or skipped; read it.
    if (position < 1) return update();
    const moved = view.position === null ? Infinity : view.position - position;
    const since = Date.now() - shownAt;
    const small = moved < Math.max(1, Math.floor(view.position! * POSITION_STEP));
    if (moved === 0 || (small && since < POSITION_REFRESH_MS)) return;
    if (moved !== Infinity && since < POSITION_MIN_INTERVAL_MS) {
      // Too soon after the last one: show it when the interval is up, unless a newer "now serving" comes first.
      trailingTimer = setTimeout(() => onServing(serving), POSITION_MIN_INTERVAL_MS - since);
      trailingTimer.unref();
      return;
    }
    show({ ...view, position, estimatedWaitSeconds: estimatedWaitSeconds(position, view.ticket.admissionsPerMinute) });
  }

  try {
    unlisten.push(await deps.pubsub.listen(topics.queueTicket(eventId, owner), () => update()));
    unlisten.push(await deps.pubsub.listen<QueueServing>(topics.queueServing(eventId), spread));
    // After an outage a notice may have been lost: read the ticket again.
    unlisten.push(deps.pubsub.onReconnect(() => update()));
    // Read after listening: a notice sent before this read is in it, one sent after it comes as a message.
    const first = await findLatestTicket(deps.db, eventId, owner);
    if (!first) throw new DomainError('NOT_FOUND', 'You have no ticket for this event: join its waiting room first', { field: 'eventId' });
    update(first);
  } catch (error) {
    void stream.iterator.return!();
    throw error;
  }
  return stream.iterator;
}
