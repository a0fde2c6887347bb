import { GraphQLError, type GraphQLFormattedError } from 'graphql';
import { DomainError } from '../domain/errors.js';
import type { Logger } from './logger.js';

/** The error a resolver, a scalar or the context threw, beneath graphql-js's wrapping. */
export function rootCause(error: unknown): unknown {
  let cause = error;
  while (cause instanceof GraphQLError && cause.originalError) cause = cause.originalError;
  return cause;
}

/**
 * True for errors the client can act on: our domain errors, and graphql-js's and Apollo's own request errors
 * (syntax, validation, variables, persisted queries). Everything else is a fault of ours.
 */
export function isClientError(error: unknown): boolean {
  const cause = rootCause(error);
  if (cause instanceof DomainError) return true;
  if (!(cause instanceof GraphQLError)) return false;
  const code = cause.extensions?.code;
  return code !== undefined && code !== 'INTERNAL_SERVER_ERROR';
}

/**
 * What the client sees of an error. Domain errors keep their code and extensions (also when graphql-js
 * wrapped one thrown by a scalar during validation); other client errors pass as they are; anything else is
 * masked as INTERNAL_SERVER_ERROR, its details left to the server log.
 */
export function formatError(formatted: GraphQLFormattedError, error: unknown): GraphQLFormattedError {
  const cause = rootCause(error);
  if (cause instanceof DomainError) {
    return { ...formatted, extensions: { ...cause.extensions, code: cause.code } };
  }
  if (isClientError(error)) return formatted;
  return {
    message: 'Internal server error',
    ...(formatted.locations && { locations: formatted.locations }),
    ...(formatted.path && { path: formatted.path }),
    extensions: { code: 'INTERNAL_SERVER_ERROR' },
  };
}

/** A domain error as a GraphQLError with an HTTP status, for errors raised before execution (credentials). */
export function toHttpGraphQLError(error: DomainError, status: number): GraphQLError {
  return new GraphQLError(error.message, { extensions: { ...error.extensions, code: error.code, http: { status } } });
}

/** Logs, with their stacks, the errors of a result that are faults of ours (clients only see them masked). */
export function logInternalErrors(log: Logger, errors: readonly GraphQLError[]): void {
  for (const error of errors) {
    if (!isClientError(error)) log.error({ err: rootCause(error), path: error.path }, 'internal error');
  }
}
