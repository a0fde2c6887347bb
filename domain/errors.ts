/** Error codes of the public contract (API.md, "Errors"). */
export type ErrorCode =
  | 'BAD_USER_INPUT'
  | 'UNAUTHENTICATED'
  | 'FORBIDDEN'
  | 'NOT_FOUND'
  | 'SEAT_UNAVAILABLE'
  | 'LIMIT_EXCEEDED'
  | 'NOT_ADMITTED'
  | 'EVENT_NOT_ON_SALE'
  | 'HOLD_EXPIRED'
  | 'HOLD_NOT_ACTIVE'
  | 'PAYMENT_DECLINED'
  | 'IDEMPOTENCY_KEY_REUSED'
  | 'RATE_LIMITED'
  | 'PERSISTED_QUERY_NOT_FOUND'
  | 'OPERATION_NOT_ALLOWED'
  | 'QUERY_TOO_COMPLEX';

/**
 * An error the client can act on: it reaches the client with its code and extensions. Any other error is
 * masked as INTERNAL_SERVER_ERROR and logged.
 */
export class DomainError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly extensions: Record<string, unknown> = {},
  ) {
    super(message);
    this.name = new.target.name;
    // The client's to act on, never logged as a failure: no stack frames to format (formatting them, with
    // source maps, cost a rejected hold more than deciding it).
    this.stack = `${this.name}: ${message}`;
  }
}

/** Input that fails validation; `field` is the argument path, e.g. `input.sections[2].rows`. */
export class BadUserInputError extends DomainError {
  constructor(field: string, message: string) {
    super('BAD_USER_INPUT', `${field}: ${message}`, { field });
  }
}

export class UnauthenticatedError extends DomainError {
  constructor(message = 'Sign in to do this: send Authorization: Bearer <token>') {
    super('UNAUTHENTICATED', message);
  }
}

export class ForbiddenError extends DomainError {
  constructor(message = 'You are not allowed to do this') {
    super('FORBIDDEN', message);
  }
}

export class NotFoundError extends DomainError {
  constructor(what: string, field?: string) {
    super('NOT_FOUND', `${what} not found`, field ? { field } : {});
  }
}

/** An operation over a limit; `extensions.limit` names it (depth, aliases, directives, tokens, cost, seats). */
export class QueryTooComplexError extends DomainError {
  constructor(message: string, extensions: { limit?: string; max?: number } = {}) {
    super('QUERY_TOO_COMPLEX', message, extensions);
  }
}

/** Over a rate budget: try again after `retryAfterSeconds`. */
export class RateLimitedError extends DomainError {
  constructor(budget: string, retryAfterSeconds: number) {
    super('RATE_LIMITED', `Too many ${budget} operations: try again in ${retryAfterSeconds} s`, { budget, retryAfterSeconds });
  }
}

/** Some of the seats asked for are not free; `seatIds` lists them. */
export class SeatUnavailableError extends DomainError {
  constructor(seatIds: string[], message = 'Some of these seats are not available') {
    super('SEAT_UNAVAILABLE', message, { seatIds });
  }
}
