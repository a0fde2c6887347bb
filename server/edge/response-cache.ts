import { createHash } from 'node:crypto';
import type { Redis } from 'ioredis';
import { LRUCache } from 'lru-cache';
import { encode, type Encoding } from '../compression.js';

/**
 * A response kept for every caller who sends the same request: only one that Apollo's cache-control plugin
 * found public (every field it holds hinted PUBLIC with a max-age), so it holds no caller's data.
 */
export interface CachedResponse {
  /** Weak: one validator for all of the response's codings. */
  etag: string;
  /** As Apollo computed it: `max-age=N, public`. */
  cacheControl: string;
  contentType: string;
  storedAt: number;
  /** storedAt + max-age: never served after, whatever else holds. */
  expiresAt: number;
  /** [event, seat-map version] of each seat map whose live fields the response holds: stale once one moves on. */
  reads: [number, number][];
  /** identity always; br and gzip when the body is large enough to be worth compressing. */
  bodies: Partial<Record<Encoding, Buffer>> & { identity: Buffer };
}

/** A request as the cache keys it. */
export interface CacheableRequest {
  query?: unknown;
  operationName?: unknown;
  variables?: unknown;
  extensions?: unknown;
  /** The media type the response goes in (Accept, negotiated): one entry per type. */
  mediaType: string;
}

export interface ResponseCache {
  /** The key of a request whose response may be shared; undefined for one the cache cannot name (Apollo answers it). */
  keyOf(request: CacheableRequest): string | undefined;
  /** A fresh entry: not past its max-age, and every seat map it shows still at the version it shows. */
  get(key: string): Promise<CachedResponse | undefined>;
  /** Keeps a response when it is public and cacheable (see CachedResponse); undefined when it is not. */
  put(key: string, response: { body: string; cacheControl?: string; contentType?: string }, reads: ReadonlyMap<number, number>): Promise<CachedResponse | undefined>;
  /** Resolves when this instance's own execution of `key` ends, if one is running (see `running`). */
  settled(key: string): Promise<void> | undefined;
  /**
   * Marks `key` as being executed here until the returned function is called: requests for it meanwhile wait and
   * take the stored response, so that a thousand fans opening a new seat map at once build it once per instance.
   */
  running(key: string): () => void;
}

const PUBLIC = /^max-age=(\d+), public$/;
/** Bytes of responses kept in each instance's memory (the layouts of a few dozen stadium events). */
const MEMORY_BYTES = 256 * 1024 * 1024;
/** A response larger than this is not kept (the 200,000-seat limit's listing is about 14 MB). */
const MAX_ENTRY_BYTES = 32 * 1024 * 1024;

const sha256 = (text: string | Buffer) => createHash('sha256').update(text).digest('hex');

/** GET carries variables and extensions as JSON text: parsed, so that GET and POST of one request share an entry. */
function json(value: unknown): unknown {
  if (typeof value !== 'string') return value;
  try {
    return JSON.parse(value);
  } catch {
    return Symbol.for('unparsable');
  }
}

const size = (entry: CachedResponse) => Object.values(entry.bodies).reduce((sum, body) => sum + body.length, 256);

/** An entry as one Redis string: a 4-byte length, the JSON of everything but the bodies, then the bodies. */
function serialize(entry: CachedResponse): Buffer {
  const { bodies, ...meta } = entry;
  const codings = Object.keys(bodies) as Encoding[];
  const head = Buffer.from(JSON.stringify({ ...meta, lengths: codings.map((coding) => [coding, bodies[coding]!.length]) }));
  const length = Buffer.alloc(4);
  length.writeUInt32BE(head.length);
  return Buffer.concat([length, head, ...codings.map((coding) => bodies[coding]!)]);
}

function deserialize(buffer: Buffer): CachedResponse {
  const headLength = buffer.readUInt32BE(0);
  const { lengths, ...meta } = JSON.parse(buffer.subarray(4, 4 + headLength).toString()) as Omit<CachedResponse, 'bodies'> & { lengths: [Encoding, number][] };
  const bodies: Partial<Record<Encoding, Buffer>> = {};
  let offset = 4 + headLength;
  for (const [coding, length] of lengths) {
    bodies[coding] = buffer.subarray(offset, offset + length);
    offset += length;
  }
  return { ...meta, bodies: bodies as CachedResponse['bodies'] };
}

/**
 * Responses shared by every instance through Redis (when there is one), in front of it each instance's memory.
 * An entry is immutable: its key names the request, its `reads` the seat-map versions it shows, so a copy in
 * memory is as good as the one in Redis. A Redis outage is a miss, never an error.
 *
 * `versionOf` answers the current seat-map version of an event (undefined for an event that is gone).
 */
export function createResponseCache(redis: Redis | undefined, prefix: string, versionOf: (eventId: number) => Promise<number | undefined>): ResponseCache {
  const memory = new LRUCache<string, CachedResponse>({ maxSize: MEMORY_BYTES, sizeCalculation: size, ttlAutopurge: false });
  const executing = new Map<string, Promise<void>>();
  const redisKey = (key: string) => `${prefix}rc:${key}`;

  async function fromRedis(key: string): Promise<CachedResponse | undefined> {
    const buffer = await redis?.getBuffer(redisKey(key)).catch(() => null);
    if (!buffer) return undefined;
    const entry = deserialize(buffer);
    memory.set(key, entry, { ttl: Math.max(1, entry.expiresAt - Date.now()) });
    return entry;
  }

  async function fresh(entry: CachedResponse): Promise<boolean> {
    if (entry.expiresAt <= Date.now()) return false;
    const versions = await Promise.all(entry.reads.map(([eventId]) => versionOf(eventId)));
    return entry.reads.every(([, version], i) => versions[i] === version);
  }

  return {
    keyOf({ query, operationName, variables, extensions, mediaType }) {
      const hash = (json(extensions) as { persistedQuery?: { sha256Hash?: unknown } } | undefined)?.persistedQuery?.sha256Hash;
      const document = typeof hash === 'string' ? hash : typeof query === 'string' ? sha256(query) : undefined;
      const values = json(variables);
      if (document === undefined || typeof values === 'symbol') return undefined;
      return sha256(JSON.stringify([document, operationName ?? null, values ?? null, mediaType]));
    },
    async get(key) {
      const entry = memory.get(key) ?? (await fromRedis(key));
      if (!entry) return undefined;
      if (await fresh(entry)) return entry;
      memory.delete(key);
      return undefined;
    },
    async put(key, response, reads) {
      const maxAge = Number(PUBLIC.exec(response.cacheControl ?? '')?.[1] ?? 0);
      const identity = Buffer.from(response.body);
      if (maxAge <= 0 || identity.length > MAX_ENTRY_BYTES) return undefined;
      const [br, gzip] = await Promise.all([encode(identity, 'br'), encode(identity, 'gzip')]);
      const bodies: CachedResponse['bodies'] = { identity };
      for (const encoded of [br, gzip]) if (encoded.encoding !== 'identity') bodies[encoded.encoding] = encoded.body;
      const storedAt = Date.now();
      const versions = [...reads];
      const entry: CachedResponse = {
        // Derived from the seat-map versions it shows (none for a layout, whose ETag never changes) and its bytes.
        etag: `W/"${versions.map(([event, version]) => `${event}.${version}`).join('-') || 'static'}.${sha256(identity).slice(0, 20)}"`,
        cacheControl: response.cacheControl!,
        contentType: response.contentType ?? 'application/json; charset=utf-8',
        storedAt,
        expiresAt: storedAt + maxAge * 1000,
        reads: versions,
        bodies,
      };
      memory.set(key, entry, { ttl: maxAge * 1000 });
      await redis?.set(redisKey(key), serialize(entry), 'PX', maxAge * 1000).catch(() => undefined);
      return entry;
    },
    settled: (key) => executing.get(key),
    running(key) {
      if (executing.has(key)) return () => {};
      let done!: () => void;
      executing.set(key, new Promise<void>((resolve) => (done = resolve)));
      return () => {
        executing.delete(key);
        done();
      };
    },
  };
}

/** Whether an If-None-Match header names `etag` (weak comparison, RFC 9110 13.1.2); garbage names nothing. */
export function matchesEtag(ifNoneMatch: string | undefined, etag: string): boolean {
  if (!ifNoneMatch) return false;
  const opaque = (tag: string) => tag.trim().replace(/^W\//, '');
  return ifNoneMatch.split(',').some((tag) => tag.trim() === '*' || opaque(tag) === opaque(etag));
}
