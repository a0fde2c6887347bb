import { GraphQLError, type GraphQLFormattedError } from 'graphql';
import { DomainError } from '../domain/errors.js';
import { recodeTokenLimit } from './edge/limits.js';
import type { Logger } from './logger.js';

/** An error and the errors it wraps, outermost first (graphql-js and Apollo wrap what resolvers throw). */
function causes(error: unknown): unknown[] {
  const chain = [error];
  for (let cause = error; cause instanceof GraphQLError && cause.originalError; cause = cause.originalError) {
    chain.push(cause.originalError);
  }
  return chain;
}

/** The innermost error: what a resolver, a scalar or the context actually threw. */
export const rootCause = (error: unknown): unknown => causes(error).at(-1);

const domainError = (error: unknown) => causes(error).find((cause) => cause instanceof DomainError) as DomainError | undefined;

/**
 * True for errors the client can act on: our domain errors, and the request errors that graphql-js and Apollo
 * give a code (syntax, validation, variables, persisted queries). Everything else is a fault of ours.
 */
export function isClientError(error: unknown): boolean {
  return causes(error).some((cause) =>
    cause instanceof DomainError
    || (cause instanceof GraphQLError && cause.extensions?.code !== undefined && cause.extensions.code !== 'INTERNAL_SERVER_ERROR'));
}

/**
 * What the client sees of an error. Domain errors keep their code and extensions (also when graphql-js
 * wrapped one thrown by a scalar); other client errors pass as they are; anything else is masked as
 * INTERNAL_SERVER_ERROR, its details left to the server log.
 */
export function formatError(formatted: GraphQLFormattedError, error: unknown): GraphQLFormattedError {
  const domain = domainError(error);
  if (domain) return { ...formatted, extensions: { ...domain.extensions, code: domain.code } };
  if (isClientError(error)) return recodeTokenLimit(formatted);
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
