import { GraphQLScalarType, Kind } from 'graphql';
import { DomainError } from '../domain/errors.js';
import { isStorableInstant } from '../domain/input.js';

// RFC 3339 date-time with a mandatory offset (Z or ±hh:mm); fractions of a second are kept to the millisecond.
const rfc3339 = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(\.\d{1,9})?(?:Z|[+-](\d{2}):(\d{2}))$/i;

/** The instant an RFC 3339 string names, or null when it is malformed or names no real date (Feb 30). */
function parseRfc3339(value: unknown): Date | null {
  const match = typeof value === 'string' ? rfc3339.exec(value) : null;
  if (!match) return null;
  const [year, month, day, hour, minute, second] = match.slice(1, 7).map(Number) as number[];
  const [offsetHours, offsetMinutes] = [Number(match[8] ?? 0), Number(match[9] ?? 0)];
  // JS Date rolls Feb 30 over to March; RFC 3339 calls it invalid, and so do we.
  const daysInMonth = new Date(Date.UTC(year!, month!, 0)).getUTCDate();
  const valid = month! >= 1 && month! <= 12 && day! >= 1 && day! <= daysInMonth && hour! <= 23 && minute! <= 59
    && second! <= 59 && offsetHours <= 23 && offsetMinutes <= 59;
  const date = new Date(value as string);
  return valid && isStorableInstant(date.getTime()) ? date : null;
}

function parse(value: unknown): Date {
  const date = parseRfc3339(value);
  if (!date) {
    // graphql-js prefixes this message with the variable or argument it was given for.
    throw new DomainError('BAD_USER_INPUT', `expected an RFC 3339 date-time between years 1000 and 9999, such as 2027-06-01T19:30:00Z, got ${JSON.stringify(value)}`);
  }
  return date;
}

export const DateTime = new GraphQLScalarType<Date, string>({
  name: 'DateTime',
  serialize: (value) => (value instanceof Date ? value : parse(value)).toISOString(),
  parseValue: parse,
  parseLiteral: (ast) => parse(ast.kind === Kind.STRING ? ast.value : undefined),
});
