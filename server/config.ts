import { z } from 'zod';
import { isAddressOrSubnet } from './client-address.js';

/** The development secret: good only outside production, where the server refuses to start without its own. */
export const DEV_SECRET = 'onsale-development-secret-do-not-use-in-production';

/** A whole number in [min, max] written in plain decimal digits: no blanks, hex or exponents. */
const integer = (min: number, max: number, fallback: number) =>
  z
    .string()
    .regex(/^\d+$/, 'a whole number')
    .transform(Number)
    .pipe(z.number().min(min, `at least ${min}`).max(max, `at most ${max}`))
    .default(fallback);

const schema = z.object({
    NODE_ENV: z.enum(['development', 'production', 'test']).default('development'),
    PORT: integer(0, 65535, 4000),
    HOST: z.string().min(1).default('0.0.0.0'),
    DATABASE_URL: z
      .string()
      .regex(/^postgres(ql)?:\/\//, 'a postgres:// or postgresql:// URL')
      .optional(),
    DATABASE_POOL_SIZE: integer(1, 500, 20),
    DATA_DIR: z.string().min(1).default('.data/pglite'),
    REDIS_URL: z
      .string()
      .regex(/^rediss?:\/\//, 'a redis:// or rediss:// URL')
      .optional(),
    JWT_SECRET: z.string().min(32, 'at least 32 characters').optional(),
    PAYMENT_WEBHOOK_SECRET: z.string().min(16, 'at least 16 characters').optional(),
    LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
    SEED_DEMO: z.enum(['auto', 'always', 'never']).default('auto'),
    SHUTDOWN_TIMEOUT_MS: integer(0, 60_000, 10_000),
    SEAT_MAP_CACHE_SEATS: integer(200_000, 1_000_000_000, 2_000_000),
    PAYMENT_PROVIDER: z.enum(['test']).optional(),
    PAYMENT_ASYNC_DELAY_MS: integer(0, 3_600_000, 2_000),
    PAYMENT_HOLD_EXTENSION_SECONDS: integer(1, 86_400, 900),
    PAYMENT_RETRY_AFTER_SECONDS: integer(1, 86_400, 30),
    SWEEP_INTERVAL_MS: integer(0, 3_600_000, 1_000),
    SWEEP_BATCH_SIZE: integer(1, 100_000, 500),
    RELAY_POLL_INTERVAL_MS: integer(0, 3_600_000, 1_000),
    RELAY_BATCH_SIZE: integer(1, 100_000, 1_000),
    OUTBOX_RETENTION_SECONDS: integer(60, 30 * 86_400, 86_400),
    SEAT_MAP_COALESCE_MS: integer(0, 60_000, 100),
    HOLD_EXPIRY_WARNING_SECONDS: integer(0, 86_400, 60),
    ADMISSION_INTERVAL_MS: integer(0, 60_000, 250),
    WAITING_ROOM_CHALLENGE: z.enum(['test', 'siteverify']).optional(),
    WAITING_ROOM_CHALLENGE_URL: z.url({ protocol: /^https?$/ }).optional(),
    WAITING_ROOM_CHALLENGE_SECRET: z.string().min(1).optional(),
    WS_KEEPALIVE_MS: integer(1_000, 3_600_000, 15_000),
    WS_MAX_SUBSCRIPTIONS_PER_CONNECTION: integer(1, 10_000, 50),
    WS_MAX_CONNECTIONS_PER_IP: integer(1, 1_000_000, 100),
    TRUST_PROXY: z
      .string()
      .transform((list) => list.split(',').map((entry) => entry.trim()).filter(Boolean))
      .refine((entries) => entries.every(isAddressOrSubnet), 'comma-separated IP addresses or subnets (10.0.0.0/8, fd00::/8)')
      .default([]),
    JWT_JWKS_URL: z.url({ protocol: /^https?$/ }).optional(),
    JWT_ISSUER: z.string().min(1).optional(),
    JWT_AUDIENCE: z.string().min(1).optional(),
    CORS_ORIGINS: z
      .string()
      .transform((list) => list.split(',').map((entry) => entry.trim()).filter(Boolean))
      .refine((entries) => entries.every((entry) => /^https?:\/\/[^/\s]+$/.test(entry)), 'comma-separated origins (https://app.example.com), no paths')
      .default([]),
    DATABASE_STATEMENT_TIMEOUT_MS: integer(0, 3_600_000, 10_000),
    QUERY_MAX_DEPTH: integer(1, 1_000, 12),
    QUERY_MAX_ALIASES: integer(0, 10_000, 30),
    QUERY_MAX_DIRECTIVES: integer(0, 10_000, 50),
    QUERY_MAX_TOKENS: integer(10, 1_000_000, 5_000),
    QUERY_MAX_COST: integer(1, 1_000_000_000, 250_000),
    RATE_LIMIT_READS_PER_MINUTE: integer(1, 100_000_000, 600),
    RATE_LIMIT_WRITES_PER_MINUTE: integer(1, 100_000_000, 60),
    RATE_LIMIT_JOINS_PER_MINUTE: integer(1, 100_000_000, 10),
    RATE_LIMIT_ADDRESS_MULTIPLIER: integer(1, 100_000, 20),
    GATEWAY_PROTECTIONS: z.enum(['on', 'off']).default('on'),
    WORKERS: z.enum(['on', 'off']).default('on'),
});

/** The validated configuration; read once at start-up. */
export interface Config {
  production: boolean;
  port: number;
  host: string;
  /** Unset: embedded Postgres (PGlite) in `dataDir` (`memory` for a throwaway database). */
  databaseUrl?: string;
  databasePoolSize: number;
  dataDir: string;
  /** Unset: in-process pub/sub. */
  redisUrl?: string;
  jwtSecret: string;
  paymentWebhookSecret: string;
  logLevel: string;
  /** `auto` seeds the demo into an empty embedded database; `always` into any empty database. */
  seedDemo: 'auto' | 'always' | 'never';
  shutdownTimeoutMs: number;
  /** Seats' worth of layouts (about 130 bytes a seat) and of availability snapshots each instance keeps. */
  seatMapCacheSeats: number;
  /** The payment provider; `test` (the built-in test provider) is the only one so far and the default outside production. */
  paymentProvider: 'test';
  /** How long the test provider takes to settle a `tok_async` charge by webhook; 0 leaves it pending. */
  paymentAsyncDelayMs: number;
  /** How long a hold is kept (at least) once its payment starts. */
  paymentHoldExtensionSeconds: number;
  /** How long a due refund, or a booking waiting for its charge's outcome, stays quiet before the sweep asks the provider. */
  paymentRetryAfterSeconds: number;
  /** How often this instance sweeps expired holds and recovers quiet payments; 0 runs no sweeper here. */
  sweepIntervalMs: number;
  /** Holds expired per sweep transaction. */
  sweepBatchSize: number;
  /** How often the outbox relay looks for rows besides being woken by NOTIFY; 0: only when woken. */
  relayPollIntervalMs: number;
  /** Outbox rows published per round trip. */
  relayBatchSize: number;
  /** How long published outbox rows are kept (feeds read missed messages back from them). */
  outboxRetentionSeconds: number;
  /** At most one seatMapChanged message per event and subscriber per this interval; 0: one per version. */
  seatMapCoalesceMs: number;
  /** holdUpdated sends the ACTIVE hold this long before it expires, as a warning; 0: no warning. */
  holdExpiryWarningSeconds: number;
  /** How often this instance runs the waiting rooms' raffles and admission ticks; 0 runs none here. */
  admissionIntervalMs: number;
  /** The challenge joinWaitingRoom needs: the built-in test verifier, or a Turnstile/hCaptcha siteverify endpoint. */
  waitingRoomChallenge?: { kind: 'test' } | { kind: 'siteverify'; url: string; secret: string };
  webSockets: { keepAliveMs: number; maxSubscriptionsPerConnection: number; maxConnectionsPerIp: number };
  /** Proxies (addresses or subnets) whose X-Forwarded-For names the client for per-address limits; none by default. */
  trustProxy: string[];
  /** Bearer tokens from an identity provider (RS256/ES256, keys from its JWKS), besides HS256 with `jwtSecret`. */
  jwks?: { url: string; issuer?: string; audience?: string };
  /** Browser origins allowed to call (CORS, and the Origin of WebSocket and SSE requests); none: same-origin only. */
  corsOrigins: string[];
  /** Postgres sessions' `statement_timeout`; 0: none. */
  statementTimeoutMs: number;
  /** Per-operation limits (QUERY_TOO_COMPLEX beyond them). */
  queryLimits: { depth: number; aliases: number; directives: number; tokens: number; cost: number };
  /**
   * Operations per minute per user (an API key has budgets of its own); a client address gets `addressMultiplier`
   * times as many, since many fans share one address behind a NAT.
   */
  rateLimits: { readsPerMinute: number; writesPerMinute: number; joinsPerMinute: number; addressMultiplier: number };
  /** `off` turns query limits, rate limits and the Origin allowlist off: for benchmarks only, refused in production. */
  protections: boolean;
  /** Whether this gateway runs the background work (sweep, relay, admissions) too; off when `npm run worker` does. */
  workers: boolean;
}

/** Thrown when the environment is invalid; the message names every bad variable and what it expects. */
export class ConfigError extends Error {}

/** Reads and validates the configuration from an environment. */
export function loadConfig(env: Record<string, string | undefined> = process.env): Config {
  // An empty variable means "not set", as in most shells' `VAR= cmd`.
  const present = Object.fromEntries(Object.entries(env).filter(([, value]) => value !== undefined && value !== ''));
  const parsed = schema.safeParse(present);
  const lines = parsed.success ? [] : parsed.error.issues.map((issue) => `  ${issue.path.join('.')}: ${issue.message}`);
  // Checked outside the schema so that it is reported together with any other bad variable.
  if (present.NODE_ENV === 'production') {
    // The test provider is the default only outside production: going live with it must be a decision.
    for (const key of ['JWT_SECRET', 'PAYMENT_WEBHOOK_SECRET', 'PAYMENT_PROVIDER']) {
      if (!present[key]) lines.push(`  ${key}: required when NODE_ENV=production`);
    }
    // Without polls nothing wakes a relay that lost its session or failed to publish: rows would wait for a restart.
    if (parsed.success && parsed.data.RELAY_POLL_INTERVAL_MS === 0) lines.push('  RELAY_POLL_INTERVAL_MS: 0 (no polls) is for tests; it must be at least 1 when NODE_ENV=production');
  }
  if (present.WAITING_ROOM_CHALLENGE === 'siteverify') {
    for (const key of ['WAITING_ROOM_CHALLENGE_URL', 'WAITING_ROOM_CHALLENGE_SECRET']) {
      if (!present[key]) lines.push(`  ${key}: required when WAITING_ROOM_CHALLENGE=siteverify`);
    }
  }
  if (present.WAITING_ROOM_CHALLENGE === 'test' && present.NODE_ENV === 'production') {
    lines.push('  WAITING_ROOM_CHALLENGE: the test verifier lets anyone in; it is refused when NODE_ENV=production');
  }
  if (present.GATEWAY_PROTECTIONS === 'off' && present.NODE_ENV === 'production') {
    lines.push('  GATEWAY_PROTECTIONS: off is for benchmarks; it is refused when NODE_ENV=production');
  }
  if (present.WORKERS === 'off' && (!present.DATABASE_URL || !present.REDIS_URL)) {
    lines.push('  WORKERS: off leaves the background work to worker processes, which need the DATABASE_URL and REDIS_URL this process shares');
  }
  if ((present.JWT_ISSUER || present.JWT_AUDIENCE) && !present.JWT_JWKS_URL) {
    lines.push('  JWT_ISSUER, JWT_AUDIENCE: they apply to tokens checked against JWT_JWKS_URL, which is not set');
  }
  if (!parsed.success || lines.length) throw new ConfigError(`Invalid configuration:\n${lines.join('\n')}`);
  const e = parsed.data;
  return {
    production: e.NODE_ENV === 'production',
    port: e.PORT,
    host: e.HOST,
    databaseUrl: e.DATABASE_URL,
    databasePoolSize: e.DATABASE_POOL_SIZE,
    dataDir: e.DATA_DIR,
    redisUrl: e.REDIS_URL,
    jwtSecret: e.JWT_SECRET ?? DEV_SECRET,
    paymentWebhookSecret: e.PAYMENT_WEBHOOK_SECRET ?? DEV_SECRET,
    logLevel: e.LOG_LEVEL,
    seedDemo: e.SEED_DEMO,
    shutdownTimeoutMs: e.SHUTDOWN_TIMEOUT_MS,
    seatMapCacheSeats: e.SEAT_MAP_CACHE_SEATS,
    paymentProvider: e.PAYMENT_PROVIDER ?? 'test',
    paymentAsyncDelayMs: e.PAYMENT_ASYNC_DELAY_MS,
    paymentHoldExtensionSeconds: e.PAYMENT_HOLD_EXTENSION_SECONDS,
    paymentRetryAfterSeconds: e.PAYMENT_RETRY_AFTER_SECONDS,
    sweepIntervalMs: e.SWEEP_INTERVAL_MS,
    sweepBatchSize: e.SWEEP_BATCH_SIZE,
    relayPollIntervalMs: e.RELAY_POLL_INTERVAL_MS,
    relayBatchSize: e.RELAY_BATCH_SIZE,
    outboxRetentionSeconds: e.OUTBOX_RETENTION_SECONDS,
    seatMapCoalesceMs: e.SEAT_MAP_COALESCE_MS,
    holdExpiryWarningSeconds: e.HOLD_EXPIRY_WARNING_SECONDS,
    admissionIntervalMs: e.ADMISSION_INTERVAL_MS,
    waitingRoomChallenge:
      e.WAITING_ROOM_CHALLENGE === 'siteverify'
        ? { kind: 'siteverify', url: e.WAITING_ROOM_CHALLENGE_URL!, secret: e.WAITING_ROOM_CHALLENGE_SECRET! }
        : e.WAITING_ROOM_CHALLENGE && { kind: e.WAITING_ROOM_CHALLENGE },
    webSockets: {
      keepAliveMs: e.WS_KEEPALIVE_MS,
      maxSubscriptionsPerConnection: e.WS_MAX_SUBSCRIPTIONS_PER_CONNECTION,
      maxConnectionsPerIp: e.WS_MAX_CONNECTIONS_PER_IP,
    },
    trustProxy: e.TRUST_PROXY,
    jwks: e.JWT_JWKS_URL ? { url: e.JWT_JWKS_URL, issuer: e.JWT_ISSUER, audience: e.JWT_AUDIENCE } : undefined,
    corsOrigins: e.CORS_ORIGINS,
    statementTimeoutMs: e.DATABASE_STATEMENT_TIMEOUT_MS,
    queryLimits: { depth: e.QUERY_MAX_DEPTH, aliases: e.QUERY_MAX_ALIASES, directives: e.QUERY_MAX_DIRECTIVES, tokens: e.QUERY_MAX_TOKENS, cost: e.QUERY_MAX_COST },
    rateLimits: {
      readsPerMinute: e.RATE_LIMIT_READS_PER_MINUTE,
      writesPerMinute: e.RATE_LIMIT_WRITES_PER_MINUTE,
      joinsPerMinute: e.RATE_LIMIT_JOINS_PER_MINUTE,
      addressMultiplier: e.RATE_LIMIT_ADDRESS_MULTIPLIER,
    },
    protections: e.GATEWAY_PROTECTIONS === 'on',
    workers: e.WORKERS === 'on',
  };
}
