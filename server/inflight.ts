/** Counts operations under way, so that a stop can wait for the last one before it closes the pools. */
export function createInFlight() {
  let running = 0;
  let waiters: (() => void)[] = [];
  return {
    /** Counts `work` as under way until it settles. */
    async track<T>(work: () => T | Promise<T>): Promise<T> {
      running++;
      try {
        return await work();
      } finally {
        if (--running === 0) {
          for (const wake of waiters) wake();
          waiters = [];
        }
      }
    },
    /** Resolves once nothing is under way; any number of callers may wait. */
    idle: () => (running === 0 ? Promise.resolve() : new Promise<void>((resolve) => waiters.push(resolve))),
  };
}

export type InFlight = ReturnType<typeof createInFlight>;
