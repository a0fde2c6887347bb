import { LRUCache } from 'lru-cache';
import type { Database } from '../../datasources/db.js';
import { findLiveApiKeyByHash, findPersistedOperation } from '../../datasources/postgres/api-keys.sql.js';
import type { Caller } from '../caller.js';
import { decodeId, encodeId } from '../ids.js';
import { keyHashOf } from './api-key.service.js';

type Reseller = Extract<Caller, { kind: 'reseller' }>;

/** Resellers' API keys and the documents registered for them, as the gateway edge asks about them. */
export interface ApiKeys {
  /** The reseller a presented key speaks for; null for a key that is unknown or revoked. */
  callerOf(key: string): Promise<Reseller | null>;
  /** The document registered for the key under its SHA-256 (lowercase hex), or null. */
  documentOf(apiKeyId: string, hash: string): Promise<string | null>;
  /** Forgets what this instance knows of a key: call after revoking it or registering documents for it. */
  forget(apiKeyId: string): void;
}

/**
 * How long an instance trusts what it read of a key: a key revoked through another instance is refused
 * everywhere within this. The instance that revokes forgets the key at once.
 */
export const API_KEY_CACHE_TTL_MS = 10_000;

/** The API keys in `db`, each looked up once per API_KEY_CACHE_TTL_MS however many requests present it. */
export function createApiKeys(db: Database): ApiKeys {
  const callers = new LRUCache<string, { caller: Reseller | null }>({ max: 10_000, ttl: API_KEY_CACHE_TTL_MS });
  const documents = new LRUCache<string, { text: string | null }>({ max: 10_000, ttl: API_KEY_CACHE_TTL_MS });
  const idsByHash = new Map<string, string>();
  return {
    async callerOf(key) {
      const keyHash = keyHashOf(key).toString('hex');
      let found = callers.get(keyHash);
      if (!found) {
        const row = await findLiveApiKeyByHash(db, Buffer.from(keyHash, 'hex'));
        const caller: Reseller | null = row && {
          kind: 'reseller',
          apiKeyId: encodeId('key', row.id),
          budget: { readsPerMinute: row.readsPerMinute, writesPerMinute: row.writesPerMinute },
        };
        callers.set(keyHash, (found = { caller }));
        if (caller) idsByHash.set(caller.apiKeyId, keyHash);
      }
      return found.caller;
    },
    async documentOf(apiKeyId, hash) {
      const cacheKey = `${apiKeyId}:${hash}`;
      let found = documents.get(cacheKey);
      if (!found) {
        const text = /^[0-9a-f]{64}$/.test(hash) ? await findPersistedOperation(db, decodeId('key', apiKeyId, 'apiKeyId'), hash) : null;
        documents.set(cacheKey, (found = { text }));
      }
      return found.text;
    },
    forget(apiKeyId) {
      const keyHash = idsByHash.get(apiKeyId);
      if (keyHash) callers.delete(keyHash);
      idsByHash.delete(apiKeyId);
      for (const cacheKey of documents.keys()) if (cacheKey.startsWith(`${apiKeyId}:`)) documents.delete(cacheKey);
    },
  };
}
