import { joinTransaction, type Database, type Queryable } from '../db.js';
import type { Caller } from '../../domain/caller.js';
import { createEvent, createVenue } from '../../domain/event/event.service.js';
import { refreshWritePathStatistics } from '../postgres/stats.sql.js';
import { demoEvents, demoVenues } from './demo-data.js';
import { advisoryLocks } from '../postgres/locks.js';

const DAY = 86_400_000;
const HOUR = 3_600_000;
const system: Caller = { kind: 'user', userId: 'system:seed', admin: true };

/** True when the database holds no event yet. */
export async function isEmpty(db: Queryable): Promise<boolean> {
  const { rows } = await db.query<{ empty: boolean }>(`SELECT NOT EXISTS (SELECT 1 FROM events) AS empty`);
  return rows[0]!.empty;
}

/**
 * Seeds the demo catalogue through the same domain functions an admin uses, with dates relative to `now` so
 * that the demo never goes stale. All or nothing, in one transaction; instances starting together take turns,
 * and with `onlyIfEmpty` (the default) only the first seeds. Returns the number of events created.
 */
export async function seedDemo(db: Database, options: { onlyIfEmpty?: boolean; now?: Date } = {}): Promise<number> {
  return db.transaction(async (tx) => {
    await tx.query(`SELECT pg_advisory_xact_lock(${advisoryLocks.seed})`);
    if ((options.onlyIfEmpty ?? true) && !(await isEmpty(tx))) return 0;
    return seedCatalogue(joinTransaction(tx, db.kind), options.now ?? new Date());
  });
}

async function seedCatalogue(db: Database, now: Date): Promise<number> {
  const hour = Math.floor(now.getTime() / HOUR) * HOUR;
  const day = Math.floor(now.getTime() / DAY) * DAY;
  const venueIds = new Map<string, number>();
  for (const venue of demoVenues) {
    venueIds.set(venue.key, (await createVenue(db, system, venue)).id);
  }
  for (const event of demoEvents) {
    await createEvent(db, system, venueIds.get(event.venue)!, {
      title: event.title,
      performer: event.performer,
      category: event.category,
      startsAt: new Date(day + event.startsInDays * DAY + event.startHour * HOUR),
      onSaleAt: new Date(event.onSaleInMinutes === undefined ? hour + event.onSaleInDays * DAY : now.getTime() + event.onSaleInMinutes * 60_000),
      currency: event.currency,
      maxTicketsPerUser: event.maxTicketsPerUser,
      holdDurationSeconds: event.holdDurationSeconds,
      sections: event.sections,
      waitingRoom: event.waitingRoom && {
        opensAt: new Date(hour + event.waitingRoom.opensInDays * DAY),
        admissionsPerMinute: event.waitingRoom.admissionsPerMinute,
        admissionWindowSeconds: event.waitingRoom.admissionWindowSeconds,
      },
    }, { refreshStatistics: false });
  }
  await refreshWritePathStatistics(db);
  return demoEvents.length;
}
