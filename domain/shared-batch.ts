/**
 * DataLoader options for a batcher shared by every request in the process. It caches nothing, so no request
 * sees another's data; it only shares round trips. It dispatches on `setImmediate`, not DataLoader's default
 * microtask, because concurrent requests arrive in separate I/O callbacks and a batch should gather every load
 * of one event-loop turn.
 */
export const sharedBatchOptions = {
  cache: false,
  batchScheduleFn: (dispatch: () => void) => setImmediate(dispatch),
} as const;
