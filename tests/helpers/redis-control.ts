// Stops and starts the local Redis server as CI does (.ci/run), for the suites that test a Redis restart. Every
// other user of that Redis sees the outage: vitest.config.ts runs those suites on their own, one at a time.
import { spawnSync } from 'node:child_process';
import { expect } from 'vitest';
import { eventually } from './realtime.js';
import { TEST_REDIS_URL } from './services.js';

const redisAddress = new URL(TEST_REDIS_URL);
const host = redisAddress.hostname;
const port = redisAddress.port || '6379';

function redisCli(...args: string[]): string {
  const result = spawnSync('redis-cli', ['-h', host, '-p', port, ...args], { encoding: 'utf8', timeout: 5_000 });
  return `${result.stdout ?? ''}${result.stderr ?? ''}`.trim();
}
export const answers = () => redisCli('ping') === 'PONG';

export async function stopRedis() {
  redisCli('shutdown', 'nosave');
  await eventually('Redis down', answers, (up) => !up);
}

/** Starts Redis as .ci/run does, and waits until it answers. */
export async function startRedis() {
  const started = spawnSync(
    'redis-server',
    ['--daemonize', 'yes', '--bind', '127.0.0.1', '-::1', '--port', port, '--save', '', '--appendonly', 'no', '--dir', '/var/lib/redis', '--logfile', '/var/log/redis/ci.log'],
    { encoding: 'utf8', timeout: 10_000 },
  );
  expect(started.status, `redis-server failed: ${started.stdout}${started.stderr}`).toBe(0);
  await eventually('Redis answering PONG', answers, (up) => up);
}

/** Refuses to restart a Redis that is not on this machine. */
export function assertLocalRedis(): void {
  if (!['127.0.0.1', 'localhost', '[::1]'].includes(host)) throw new Error(`refusing to restart a Redis that is not on this machine: ${TEST_REDIS_URL}`);
}
