import { configDefaults, defineConfig } from 'vitest/config';

/**
 * Run after everything else, one at a time: two stop and restart the local Redis server (every other user of it
 * would see the outage), and the surge runs four processes of its own that would starve the files beside it.
 */
const ALONE = ['tests/redis-restart.test.ts', 'tests/waiting-room-restart.test.ts', 'tests/surge.test.ts'];

export default defineConfig({
  resolve: {
    // Node loads graphql's CommonJS build (package "main") for us and for Apollo alike; Vite would pick the
    // ESM build ("module") for our files only, and two copies of graphql break `instanceof GraphQLError`.
    alias: [{ find: /^graphql$/, replacement: 'graphql/index.js' }],
  },
  test: {
    pool: 'forks',
    // Files mostly wait on Postgres, Redis and timers: two at a time on two cores (vitest's default is cores - 1).
    maxWorkers: 2,
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // Each file gets its own database; failures name what broke, so no retries that could hide a race.
    retry: 0,
    // Two projects, run one after the other (sequence.groupOrder: lowest first; a project waits for the one
    // before it to finish): every test file in parallel, then the ALONE files one by one, with nothing else running
    // that could see Redis go away or be starved. `npm test` and `npx vitest run <file>` run either as before. Each project
    // runs the global setup (its own template database).
    projects: [
      {
        extends: true,
        test: {
          name: 'onsale',
          include: ['tests/**/*.test.ts'],
          exclude: [...configDefaults.exclude, ...ALONE],
          globalSetup: ['tests/helpers/global-setup.ts'],
          sequence: { groupOrder: 0 },
        },
      },
      {
        extends: true,
        test: {
          name: 'alone',
          include: ALONE,
          // One at a time.
          fileParallelism: false,
          globalSetup: ['tests/helpers/global-setup.ts'],
          sequence: { groupOrder: 1 },
        },
      },
    ],
  },
});
