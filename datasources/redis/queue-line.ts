import { Redis } from 'ioredis';
import type { LineEntry, LineStatus, QueueLine } from '../../domain/waiting-room/line.js';

/** Entries per ZADD: Lua's unpack and Redis's argument count both have limits, and a big call blocks Redis. */
const CHUNK = 2_000;

// Each script names the line's two keys: KEYS[1] the meta hash (epoch, served), KEYS[2] the sorted set. Both
// carry the event in one hash tag, so that on Redis Cluster they live in one slot and a script may touch both.
const scripts = {
  linePlace: `if redis.call('HEXISTS', KEYS[1], 'epoch') == 0 then return 0 end
    redis.call('ZADD', KEYS[2], 'NX', unpack(ARGV))
    return 1`,
  linePosition: `local epoch = redis.call('HGET', KEYS[1], 'epoch')
    if not epoch then return false end
    local rank = redis.call('ZRANK', KEYS[2], ARGV[1])
    return {rank or -1, redis.call('HGET', KEYS[1], 'served'), epoch, redis.call('ZCARD', KEYS[2])}`,
  lineHead: `if redis.call('HEXISTS', KEYS[1], 'epoch') == 0 then return false end
    return redis.call('ZRANGE', KEYS[2], ARGV[1], ARGV[2])`,
  lineRemove: `local removed = redis.call('ZREM', KEYS[2], unpack(ARGV))
    if removed > 0 and redis.call('HEXISTS', KEYS[1], 'epoch') == 1 then redis.call('HINCRBY', KEYS[1], 'served', removed) end
    return removed`,
  lineStatus: `local epoch = redis.call('HGET', KEYS[1], 'epoch')
    if not epoch then return false end
    return {0, redis.call('HGET', KEYS[1], 'served'), epoch, redis.call('ZCARD', KEYS[2])}`,
};

type Script = (meta: string, line: string, ...args: (string | number)[]) => Promise<unknown>;
type Scripted = Redis & Record<keyof typeof scripts, Script>;

const statusOf = (reply: unknown): LineStatus | null => {
  if (!Array.isArray(reply)) return null;
  return { served: Number(reply[1]), epoch: String(reply[2]), length: Number(reply[3]) };
};

/**
 * The line in Redis: per event a sorted set of ticket ids and a hash with the build's epoch and the served
 * count, under `prefix`. Commands fail soon while Redis is out of reach: the caller degrades (a join is still recorded in Postgres; positions are null until the line is rebuilt).
 */
export function createRedisQueueLine(url: string, prefix = 'onsale:'): QueueLine {
  const redis = new Redis(url, {
    // While Redis is out of reach a command waits for one reconnection attempt, then fails: callers degrade.
    maxRetriesPerRequest: 1,
    // Position lookups of many subscribers at once (after the raffle) go out in few round trips.
    enableAutoPipelining: true,
    retryStrategy: (attempt: number) => Math.min(attempt * 100, 2_000),
  }) as Scripted;
  redis.on('error', () => {});
  for (const [name, lua] of Object.entries(scripts)) redis.defineCommand(name, { numberOfKeys: 2, lua });
  const keys = (eventId: number) => [`${prefix}wr:{${eventId}}:meta`, `${prefix}wr:{${eventId}}:line`] as const;
  const args = (entries: readonly LineEntry[]) => entries.flatMap((entry) => [entry.score, entry.ticketId]);

  return {
    kind: 'redis',
    async build(eventId, entries, epoch) {
      const [meta, line] = keys(eventId);
      // Not built (meta gone) while it fills: joins add nothing meanwhile and the builder reads them back after.
      await redis.del(meta, line);
      // Sent together: one connection keeps their order, and the round trips overlap.
      const chunks: Promise<unknown>[] = [];
      for (let i = 0; i < entries.length; i += CHUNK) chunks.push(redis.zadd(line, ...args(entries.slice(i, i + CHUNK))));
      await Promise.all(chunks);
      await redis.hset(meta, 'epoch', epoch, 'served', 0);
    },
    async place(eventId, entries) {
      let built = true;
      for (let i = 0; i < entries.length && built; i += CHUNK) built = (await redis.linePlace(...keys(eventId), ...args(entries.slice(i, i + CHUNK)))) === 1;
      return entries.length ? built : (await this.status(eventId)) !== null;
    },
    async position(eventId, ticketId) {
      const reply = await redis.linePosition(...keys(eventId), ticketId);
      const status = statusOf(reply);
      if (!status) return null;
      const rank = Number((reply as unknown[])[0]);
      return { rank: rank < 0 ? null : rank, status };
    },
    async head(eventId, offset, count) {
      if (count <= 0) return (await this.status(eventId)) ? [] : null;
      const reply = await redis.lineHead(...keys(eventId), offset, offset + count - 1);
      return Array.isArray(reply) ? reply.map(String) : null;
    },
    async remove(eventId, ticketIds) {
      let removed = 0;
      for (let i = 0; i < ticketIds.length; i += CHUNK) removed += Number(await redis.lineRemove(...keys(eventId), ...ticketIds.slice(i, i + CHUNK)));
      return removed;
    },
    status: async (eventId) => statusOf(await redis.lineStatus(...keys(eventId))),
    async close() {
      redis.disconnect();
    },
  };
}
