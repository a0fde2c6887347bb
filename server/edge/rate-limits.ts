import type { Redis } from 'ioredis';
import { LRUCache } from 'lru-cache';
import { RateLimiterMemory, RateLimiterRedis, RateLimiterRes, type RateLimiterAbstract } from 'rate-limiter-flexible';
import type { Caller } from '../../domain/caller.js';
import { RateLimitedError } from '../../domain/errors.js';
import type { Config } from '../config.js';

/** What an operation spends: reads (queries, subscriptions), writes (mutations), joins (joinWaitingRoom). */
export type Budget = 'read' | 'write' | 'join';

export interface RateLimits {
  /** Spends `points` of `budget` for the caller and their address; RATE_LIMITED (a DomainError) when either is spent. */
  charge(caller: Caller, address: string, budget: Budget, points?: number): Promise<void>;
}

const WINDOW_SECONDS = 60;
/** Points an instance takes from a shared budget at once, while at least twice as many are left (see `leased`). */
const LEASE_POINTS = 10;

/** Points of one budget's window this instance has taken from Redis and not spent yet. */
interface Lease {
  left: number;
  /** What Redis said was left after the last take, and when the window ends. */
  remaining: number;
  until: number;
  /** A take in flight: other requests wait for it rather than take more. */
  taking?: Promise<unknown>;
}

/**
 * Spends single points of Redis-backed budgets from leases: a take of LEASE_POINTS at a time, while the budget has
 * at least twice that left, one at a time after that and at a window's first request. One Redis command per ten
 * reads instead of one each (the gate's largest cost per request, BENCHMARKS.md), and still never more admitted
 * than the budget: a point is spent only after Redis counted it. What an instance leased and did not spend is lost
 * when the window ends: with n instances a caller may be refused up to n × 9 points early, never late.
 */
function leased(): (payer: RateLimiterAbstract, key: string) => Promise<void> {
  const leases = new LRUCache<string, Lease>({ max: 100_000 });
  return async function spend(payer, key) {
    const id = `${payer.keyPrefix}:${key}`;
    for (;;) {
      const lease = leases.get(id);
      if (lease?.taking) {
        await lease.taking.catch(() => {});
        continue;
      }
      const now = Date.now();
      const current = lease && now < lease.until ? lease : undefined;
      if (current && current.left > 0) {
        current.left--;
        return;
      }
      const size = current && current.remaining >= 2 * LEASE_POINTS ? LEASE_POINTS : 1;
      const taking = payer.consume(key, size);
      leases.set(id, { left: 0, remaining: current?.remaining ?? 0, until: current?.until ?? now, taking });
      try {
        const taken = await taking;
        leases.set(id, { left: size - 1, remaining: taken.remainingPoints, until: now + taken.msBeforeNext });
        return;
      } catch (refusal) {
        leases.delete(id);
        throw refusal;
      }
    }
  };
}

/**
 * rate-limiter-flexible's fixed windows of a minute, in Redis when there is one (every instance counts against
 * the same budget), in memory otherwise. While Redis is out of reach each instance counts in memory instead
 * (the insurance limiter): limits hold per instance, and nothing fails because Redis is down.
 *
 * Who pays: a user from their own budget and their address from one `addressMultiplier` times as large (many
 * fans share an address behind a carrier's NAT); an anonymous caller from their address's; a reseller from its
 * API key's budgets alone (a reseller's servers are one address for all its customers).
 */
export function createRateLimits(config: Config, redis: Redis | undefined, prefix: string): RateLimits {
  const limiters = new Map<string, RateLimiterAbstract>();
  const spendOne = redis ? leased() : (payer: RateLimiterAbstract, key: string) => payer.consume(key, 1);
  const limiter = (budget: Budget, scope: 'user' | 'address' | 'key', points: number) => {
    const keyPrefix = `${prefix}rl:${budget}:${scope}:${points}`;
    let found = limiters.get(keyPrefix);
    if (!found) {
      // A spent budget is refused in memory until its window ends: a flood past it costs no Redis round trips.
      const options = { keyPrefix, points, duration: WINDOW_SECONDS, inMemoryBlockOnConsumed: points + 1, inMemoryBlockDuration: 0 };
      found = redis
        ? new RateLimiterRedis({ ...options, storeClient: redis, rejectIfRedisNotReady: true, insuranceLimiter: new RateLimiterMemory(options) })
        : new RateLimiterMemory(options);
      limiters.set(keyPrefix, found);
    }
    return found;
  };
  const { readsPerMinute, writesPerMinute, joinsPerMinute, addressMultiplier } = config.rateLimits;
  const perUser: Record<Budget, number> = { read: readsPerMinute, write: writesPerMinute, join: joinsPerMinute };

  /** Who pays for an operation of `caller` from `address`: [limiter, key] pairs. */
  const payers = (caller: Caller, address: string, budget: Budget): [RateLimiterAbstract, string][] => {
    if (caller.kind === 'reseller') {
      const points = budget === 'read' ? caller.budget.readsPerMinute : caller.budget.writesPerMinute;
      return [[limiter(budget, 'key', points), caller.apiKeyId]];
    }
    const byAddress: [RateLimiterAbstract, string] = [limiter(budget, 'address', perUser[budget] * addressMultiplier), address];
    return caller.kind === 'user' ? [[limiter(budget, 'user', perUser[budget]), caller.userId], byAddress] : [byAddress];
  };

  return {
    async charge(caller, address, budget, points = 1) {
      const spent = await Promise.allSettled(payers(caller, address, budget).map(([payer, key]) => (points === 1 ? spendOne(payer, key) : payer.consume(key, points))));
      let wait = 0;
      for (const result of spent) {
        if (result.status === 'fulfilled') continue;
        // rate-limiter-flexible rejects with a RateLimiterRes when the budget is spent, with an Error when its
        // store failed and no insurance took over: that one is not the client's to wait for.
        if (!(result.reason instanceof RateLimiterRes)) throw result.reason;
        wait = Math.max(wait, result.reason.msBeforeNext);
      }
      if (wait) throw new RateLimitedError(budget, Math.max(1, Math.ceil(wait / 1000)));
    },
  };
}
