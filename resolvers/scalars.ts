import { GraphQLScalarType, Kind } from 'graphql';
import { DomainError } from '../domain/errors.js';

// RFC 3339 date-time with a mandatory offset (Z or ±hh:mm); fractions of a second are kept to the millisecond.
const rfc3339 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})$/i;

function parse(value: unknown): Date {
  const date = typeof value === 'string' && rfc3339.test(value) ? new Date(value) : null;
  if (!date || Number.isNaN(date.getTime())) {
    // graphql-js prefixes this message with the variable or argument it was given for.
    throw new DomainError('BAD_USER_INPUT', `expected an RFC 3339 date-time such as 2027-06-01T19:30:00Z, got ${JSON.stringify(value)}`);
  }
  return date;
}

export const DateTime = new GraphQLScalarType<Date, string>({
  name: 'DateTime',
  serialize: (value) => (value instanceof Date ? value : parse(value)).toISOString(),
  parseValue: parse,
  parseLiteral: (ast) => parse(ast.kind === Kind.STRING ? ast.value : undefined),
});
