// loadConfig with explicit environments: never process.env, so the machine's variables cannot leak in.
import { describe, it, expect } from 'vitest';
import { ConfigError, DEV_SECRET, loadConfig } from '../server/config.js';

const JWT_SECRET = 'j'.repeat(32);
const PAYMENT_WEBHOOK_SECRET = 'p'.repeat(16);

/** The ConfigError that loading `env` throws. */
function configError(env: Record<string, string | undefined>): ConfigError {
  let thrown: unknown;
  try {
    loadConfig(env);
  } catch (error) {
    thrown = error;
  }
  expect(thrown).toBeInstanceOf(ConfigError);
  return thrown as ConfigError;
}

describe('loadConfig', () => {
  it('has development defaults for an empty environment', () => {
    const config = loadConfig({});
    expect(config).toEqual({
      production: false,
      port: 4000,
      host: '0.0.0.0',
      databaseUrl: undefined,
      databasePoolSize: 20,
      dataDir: '.data/pglite',
      redisUrl: undefined,
      jwtSecret: DEV_SECRET,
      paymentWebhookSecret: DEV_SECRET,
      logLevel: 'info',
      seedDemo: 'auto',
      shutdownTimeoutMs: 10_000,
      seatMapCacheSeats: 2_000_000,
      paymentProvider: 'test',
      paymentAsyncDelayMs: 2_000,
      paymentHoldExtensionSeconds: 900,
      paymentRetryAfterSeconds: 30,
      sweepIntervalMs: 1_000,
      sweepBatchSize: 500,
      relayPollIntervalMs: 1_000,
      relayBatchSize: 1_000,
      outboxRetentionSeconds: 86_400,
      seatMapCoalesceMs: 100,
      holdExpiryWarningSeconds: 60,
      admissionIntervalMs: 250,
      waitingRoomChallenge: undefined,
      webSockets: { keepAliveMs: 15_000, maxSubscriptionsPerConnection: 50, maxConnectionsPerIp: 100 },
      trustProxy: [],
      jwks: undefined,
      corsOrigins: [],
      statementTimeoutMs: 10_000,
      queryLimits: { depth: 12, aliases: 30, directives: 50, tokens: 5_000, cost: 250_000 },
      rateLimits: { readsPerMinute: 600, writesPerMinute: 60, joinsPerMinute: 10, addressMultiplier: 20 },
      protections: true,
      workers: true,
    });
    expect(config.databaseUrl).toBeUndefined();
    expect(config.redisUrl).toBeUndefined();
  });

  it('names the join challenge verifier, and refuses one it cannot use', () => {
    expect(loadConfig({ WAITING_ROOM_CHALLENGE: 'test' }).waitingRoomChallenge).toEqual({ kind: 'test' });
    const siteverify = { WAITING_ROOM_CHALLENGE: 'siteverify', WAITING_ROOM_CHALLENGE_URL: 'https://challenges.cloudflare.com/turnstile/v0/siteverify', WAITING_ROOM_CHALLENGE_SECRET: 's' };
    expect(loadConfig(siteverify).waitingRoomChallenge).toEqual({ kind: 'siteverify', url: siteverify.WAITING_ROOM_CHALLENGE_URL, secret: 's' });
    expect(() => loadConfig({ WAITING_ROOM_CHALLENGE: 'siteverify' })).toThrow(/WAITING_ROOM_CHALLENGE_URL: required[\s\S]*WAITING_ROOM_CHALLENGE_SECRET: required/);
    expect(() => loadConfig({ ...siteverify, WAITING_ROOM_CHALLENGE_URL: 'ftp://x' })).toThrow(/WAITING_ROOM_CHALLENGE_URL/);
    const production = { NODE_ENV: 'production', JWT_SECRET: 'j'.repeat(32), PAYMENT_WEBHOOK_SECRET: 'p'.repeat(16), PAYMENT_PROVIDER: 'test' };
    expect(() => loadConfig({ ...production, WAITING_ROOM_CHALLENGE: 'test' })).toThrow(/the test verifier lets anyone in/);
    expect(() => loadConfig({ WAITING_ROOM_CHALLENGE: 'captcha' })).toThrow(/WAITING_ROOM_CHALLENGE/);
  });

  it('reads the variables it is given', () => {
    const config = loadConfig({
      PORT: '8080',
      DATABASE_URL: 'postgresql://app@db:5432/onsale',
      REDIS_URL: 'rediss://cache:6380',
      LOG_LEVEL: 'debug',
      SEED_DEMO: 'never',
    });
    expect(config.port).toBe(8080);
    expect(config.databaseUrl).toBe('postgresql://app@db:5432/onsale');
    expect(config.redisUrl).toBe('rediss://cache:6380');
    expect(config.logLevel).toBe('debug');
    expect(config.seedDemo).toBe('never');
    expect(config.production).toBe(false);
  });

  it.each(['abc', '70000', '-1', '80.5'])('rejects PORT=%s naming PORT', (port) => {
    const error = configError({ PORT: port });
    expect(error.message).toContain('PORT');
  });

  it('rejects a DATABASE_URL that is not postgres:// naming DATABASE_URL', () => {
    const error = configError({ DATABASE_URL: 'mysql://x' });
    expect(error.message).toContain('DATABASE_URL');
    expect(error.message).not.toContain('REDIS_URL');
  });

  it('rejects a REDIS_URL that is not redis:// naming REDIS_URL', () => {
    const error = configError({ REDIS_URL: 'http://x' });
    expect(error.message).toContain('REDIS_URL');
    expect(error.message).not.toContain('DATABASE_URL');
  });

  it('rejects an unknown LOG_LEVEL naming LOG_LEVEL', () => {
    expect(configError({ LOG_LEVEL: 'loud' }).message).toContain('LOG_LEVEL');
  });

  it('requires both secrets in production, naming both', () => {
    const error = configError({ NODE_ENV: 'production' });
    expect(error.message).toContain('JWT_SECRET');
    expect(error.message).toContain('PAYMENT_WEBHOOK_SECRET');
  });

  it('names the one secret that is missing in production', () => {
    const error = configError({ NODE_ENV: 'production', JWT_SECRET, PAYMENT_PROVIDER: 'test' });
    expect(error.message).toContain('PAYMENT_WEBHOOK_SECRET');
    expect(error.message).not.toContain('JWT_SECRET');
  });

  it('requires an explicit PAYMENT_PROVIDER in production', () => {
    const error = configError({ NODE_ENV: 'production', JWT_SECRET, PAYMENT_WEBHOOK_SECRET });
    expect(error.message).toContain('PAYMENT_PROVIDER');
    expect(error.message).not.toContain('JWT_SECRET');
    expect(configError({ PAYMENT_PROVIDER: 'stripe' }).message).toContain('PAYMENT_PROVIDER');
  });

  it('refuses RELAY_POLL_INTERVAL_MS=0 in production, where a relay must recover without a restart', () => {
    const error = configError({ NODE_ENV: 'production', JWT_SECRET, PAYMENT_WEBHOOK_SECRET, PAYMENT_PROVIDER: 'test', RELAY_POLL_INTERVAL_MS: '0' });
    expect(error.message).toContain('RELAY_POLL_INTERVAL_MS');
    expect(loadConfig({ NODE_ENV: 'production', JWT_SECRET, PAYMENT_WEBHOOK_SECRET, PAYMENT_PROVIDER: 'test', RELAY_POLL_INTERVAL_MS: '5' }).relayPollIntervalMs).toBe(5);
  });

  it('starts in production with both secrets and a payment provider', () => {
    const config = loadConfig({ NODE_ENV: 'production', JWT_SECRET, PAYMENT_WEBHOOK_SECRET, PAYMENT_PROVIDER: 'test' });
    expect(config.production).toBe(true);
    expect(config.jwtSecret).toBe(JWT_SECRET);
    expect(config.paymentWebhookSecret).toBe(PAYMENT_WEBHOOK_SECRET);
  });

  it('reads the real-time settings and names the ones out of range', () => {
    const config = loadConfig({ SEAT_MAP_COALESCE_MS: '0', WS_MAX_CONNECTIONS_PER_IP: '5000', RELAY_POLL_INTERVAL_MS: '0' });
    expect(config).toMatchObject({ seatMapCoalesceMs: 0, relayPollIntervalMs: 0, webSockets: { maxConnectionsPerIp: 5000 } });
    for (const name of ['WS_KEEPALIVE_MS', 'OUTBOX_RETENTION_SECONDS', 'WS_MAX_SUBSCRIPTIONS_PER_CONNECTION']) {
      expect(() => loadConfig({ [name]: '0' })).toThrow(new RegExp(name));
    }
  });

  it('reads TRUST_PROXY as a list of addresses and subnets, and names it when an entry is neither', () => {
    expect(loadConfig({ TRUST_PROXY: ' 10.0.0.0/8, 127.0.0.1,::1 ,fd00::/8,' }).trustProxy).toEqual(['10.0.0.0/8', '127.0.0.1', '::1', 'fd00::/8']);
    for (const bad of ['proxy.internal', '10.0.0.0/33', '10.0.0.0/', '10.0.0.0/8/1', 'fd00::/129', '10.0.0.1/ 8', '0.0.0.0/0', '::/0']) {
      expect(configError({ TRUST_PROXY: `127.0.0.1,${bad}` }).message).toContain('TRUST_PROXY');
    }
  });

  it('rejects a JWT_SECRET shorter than 32 characters', () => {
    const error = configError({ NODE_ENV: 'production', JWT_SECRET: 'j'.repeat(31), PAYMENT_WEBHOOK_SECRET });
    expect(error.message).toContain('JWT_SECRET');
    expect(error.message).toContain('at least 32 characters');
    // Outside production too: a short secret is a mistake wherever it is set.
    expect(configError({ JWT_SECRET: 'short' }).message).toContain('JWT_SECRET');
  });

  it('treats an empty variable as unset', () => {
    const config = loadConfig({ PORT: '', DATABASE_URL: '', REDIS_URL: '', JWT_SECRET: '', LOG_LEVEL: '' });
    expect(config.port).toBe(4000);
    expect(config.databaseUrl).toBeUndefined();
    expect(config.redisUrl).toBeUndefined();
    expect(config.jwtSecret).toBe(DEV_SECRET);
    expect(config.logLevel).toBe('info');
  });

  it('treats an empty secret as missing in production', () => {
    const error = configError({ NODE_ENV: 'production', JWT_SECRET: '', PAYMENT_WEBHOOK_SECRET });
    expect(error.message).toContain('JWT_SECRET');
    expect(error.message).toContain('required when NODE_ENV=production');
  });
});

describe('loadConfig, strict numbers and complete messages', () => {
  it('refuses WORKERS=off without a shared database and Redis (nothing else could do the background work)', () => {
    expect(configError({ WORKERS: 'off' }).message).toContain('WORKERS: off');
    expect(configError({ WORKERS: 'off', DATABASE_URL: 'postgres://h/db' }).message).toContain('WORKERS: off');
    expect(loadConfig({ WORKERS: 'off', DATABASE_URL: 'postgres://h/db', REDIS_URL: 'redis://h' }).workers).toBe(false);
  });

  it('rejects numbers that are blank, hex or exponents', () => {
    for (const PORT of [' ', '0x10', '1e3', '-1', '4000.5']) {
      expect(() => loadConfig({ PORT }), PORT).toThrow(/PORT: a whole number/);
    }
  });

  it('names every bad variable at once, production secrets included', () => {
    let message = '';
    try {
      loadConfig({ NODE_ENV: 'production', PORT: 'abc' });
    } catch (error) {
      message = (error as Error).message;
    }
    expect(message).toContain('PORT');
    expect(message).toContain('JWT_SECRET');
    expect(message).toContain('PAYMENT_WEBHOOK_SECRET');
  });
});
