/** Counts operations under way, so that a stop can wait for the last one before it closes the pools. */
export function createInFlight() {
  let running = 0;
  let whenIdle: (() => void) | undefined;
  return {
    /** Counts `work` as under way until it settles. */
    async track<T>(work: () => T | Promise<T>): Promise<T> {
      running++;
      try {
        return await work();
      } finally {
        if (--running === 0) whenIdle?.();
      }
    },
    /** Resolves once nothing is under way. */
    idle: () => (running === 0 ? Promise.resolve() : new Promise<void>((resolve) => (whenIdle = resolve))),
  };
}

export type InFlight = ReturnType<typeof createInFlight>;
