/** Work that runs every so often, one round at a time. */
export interface Periodic<T> {
  /** Runs a round now (tests), or joins the one in progress. */
  runOnce(): Promise<T>;
  /** Stops the timer and waits for a round in progress. */
  stop(): Promise<void>;
}

/**
 * Runs `work` `intervalMs` after the end of each round (0: never by itself; runOnce still works). A round that
 * fails is reported to `onError` and the next one comes at the next interval.
 */
export function startPeriodic<T>(intervalMs: number, work: () => Promise<T>, onError: (error: unknown) => void): Periodic<T> {
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<T> | undefined;
  let stopped = false;

  function runOnce(): Promise<T> {
    running ??= work().finally(() => (running = undefined));
    return running;
  }

  function schedule() {
    if (stopped || intervalMs === 0) return;
    timer = setTimeout(() => void runOnce().catch(onError).finally(schedule), intervalMs);
    timer.unref();
  }
  schedule();

  return {
    runOnce,
    async stop() {
      stopped = true;
      clearTimeout(timer);
      await running?.catch(() => {});
    },
  };
}
