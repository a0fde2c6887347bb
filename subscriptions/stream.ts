/**
 * Payloads that are the same for every subscriber, whoever they are (a seat-map change): the WebSocket server
 * executes an operation once per such payload and shares the result among the subscribers that sent the same
 * document and variables. A payload whose fields depend on the caller must never be added.
 */
export const publicPayloads = new WeakSet<object>();

/** An async iterator whose values may instead be handed straight to a listener (see `divert`). */
export interface StreamIterator<T> extends AsyncIterableIterator<T> {
  /** From now on, hands each value to `listener` as it comes (after any already queued) instead of to next(). */
  divert(listener: (value: T) => void): void;
}

/**
 * A lean async iterator fed by `push`: what a subscription hands to graphql-ws. Values wait in a queue until
 * pulled; `return()` (the client went away or completed) runs `onClose` once and drops what is queued.
 * (Node's `events.on` costs about twice the memory per subscription.)
 */
export interface Stream<T> {
  push(value: T): void;
  readonly iterator: StreamIterator<T>;
}

export function createStream<T>(onClose: () => void): Stream<T> {
  const queue: T[] = [];
  let waiting: ((result: IteratorResult<T>) => void) | undefined;
  let diverted: ((value: T) => void) | undefined;
  let closed = false;
  const iterator: StreamIterator<T> = {
    next() {
      if (queue.length) return Promise.resolve({ done: false, value: queue.shift()! });
      if (closed) return Promise.resolve({ done: true, value: undefined });
      return new Promise((resolve) => (waiting = resolve));
    },
    return() {
      if (!closed) {
        closed = true;
        queue.length = 0;
        waiting?.({ done: true, value: undefined });
        waiting = undefined;
        diverted = undefined;
        onClose();
      }
      return Promise.resolve({ done: true, value: undefined });
    },
    divert(listener) {
      diverted = listener;
      for (const value of queue.splice(0)) listener(value);
    },
    [Symbol.asyncIterator]() {
      return this;
    },
  };
  return {
    push(value) {
      if (closed) return;
      if (diverted) return diverted(value);
      const resolve = waiting;
      waiting = undefined;
      if (resolve) resolve({ done: false, value });
      else queue.push(value);
    },
    iterator,
  };
}
