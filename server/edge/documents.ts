import type { ApolloServerOptions } from '@apollo/server';
import type { Redis } from 'ioredis';
import { LRUCache } from 'lru-cache';
import { documentHash } from '../../domain/api-key/manifest.js';

/** Apollo Server's key-value cache, as its `persistedQueries.cache` option takes it. */
type ApolloCache = NonNullable<Exclude<ApolloServerOptions<object>['persistedQueries'], false | undefined>['cache']>;

/** A well-formed SHA-256 in hex, as APQ sends it: anything else is never looked up. */
const HASH = /^[0-9a-f]{64}$/;

/** How long an APQ registration lives in Redis; each instance also keeps what it saw lately in memory. */
const APQ_TTL_SECONDS = 7 * 86_400;

/** Documents by their hash: automatic persisted queries (APQ), shared by every caller and every instance. */
export interface DocumentStore {
  /** The text of the document with this hash, or undefined. */
  get(hash: string): Promise<string | undefined>;
  /** Remembers a document a client sent with its hash (verified and valid). */
  set(hash: string, text: string): Promise<void>;
  /** The same store for Apollo Server's APQ (its `persistedQueries.cache`). */
  readonly apollo: ApolloCache;
}

/**
 * APQ in Redis when there is one, so that a hash registered through one instance is found by all; an in-process
 * LRU in front (a hash names its text forever, so nothing there goes stale). A Redis that is out of reach is a
 * miss, never an error: the client sends the document in full and carries on.
 */
export function createDocumentStore(redis: Redis | undefined, prefix: string): DocumentStore {
  const local = new LRUCache<string, string>({ maxSize: 20 * 1024 * 1024, sizeCalculation: (text) => text.length + 64 });
  const key = (hash: string) => `${prefix}apq:${hash}`;
  const store: DocumentStore = {
    async get(hash) {
      if (!HASH.test(hash)) return undefined;
      const cached = local.get(hash);
      if (cached !== undefined) return cached;
      const text = await redis?.get(key(hash)).catch(() => null);
      // Whatever Redis holds is checked against its name before it is trusted.
      if (!text || documentHash(text) !== hash) return undefined;
      local.set(hash, text);
      return text;
    },
    async set(hash, text) {
      local.set(hash, text);
      await redis?.set(key(hash), text, 'EX', APQ_TTL_SECONDS).catch(() => undefined);
    },
    // Apollo prefixes its keys with `apq:`.
    apollo: {
      get: (name) => store.get(name.replace(/^apq:/, '')),
      set: (name, text) => store.set(name.replace(/^apq:/, ''), text),
      delete: async () => true,
    },
  };
  return store;
}
