import { maxAliasesRule } from '@escape.tech/graphql-armor-max-aliases';
import { maxDepthRule } from '@escape.tech/graphql-armor-max-depth';
import { maxDirectivesRule } from '@escape.tech/graphql-armor-max-directives';
import { getNullableType, GraphQLError, isListType, type DocumentNode, type GraphQLFormattedError, type GraphQLSchema, type ValidationRule } from 'graphql';
import { getComplexity, type ComplexityEstimator } from 'graphql-query-complexity';
import { LRUCache } from 'lru-cache';
import { QueryTooComplexError } from '../../domain/errors.js';
import { MAX_LISTED_SEATS_PER_REQUEST } from '../../domain/seat-map/seat-map.rules.js';
import type { Config } from '../config.js';

type Limits = Config['queryLimits'];
type Limit = 'depth' | 'aliases' | 'directives' | 'tokens' | 'cost';

/** A limit that an operation is over: QUERY_TOO_COMPLEX, naming the limit and its value. */
const tooComplex = (limit: Limit, max: number, message: string) => new QueryTooComplexError(message, { limit, max });

/**
 * graphql-armor's depth, alias and directive rules, reporting QUERY_TOO_COMPLEX. The error they report wraps a
 * domain error, which decides the code however a transport wraps validation errors (Apollo makes them
 * GRAPHQL_VALIDATION_FAILED, with the original beneath).
 */
export function limitRules(limits: Limits): ValidationRule[] {
  const reject = (limit: Limit, max: number) => ({
    propagateOnRejection: false,
    onReject: [
      (context: { reportError(error: GraphQLError): void } | null, error: GraphQLError) => {
        const message = `${error.message.replace(/^Syntax Error: /, '')} (QUERY_MAX_${limit.toUpperCase()})`;
        context?.reportError(new GraphQLError(message, { originalError: tooComplex(limit, max, message) }));
      },
    ],
  });
  return [
    maxDepthRule({ n: limits.depth, ...reject('depth', limits.depth) }),
    maxAliasesRule({ n: limits.aliases, ...reject('aliases', limits.aliases) }),
    maxDirectivesRule({ n: limits.directives, ...reject('directives', limits.directives) }),
  ];
}

/** graphql-js's own token limit, applied while parsing: a huge document is refused before it is parsed whole. */
export const parseOptions = (limits: Limits) => ({ maxTokens: limits.tokens });

/** graphql-js says this (16.x spells it "more that") when a document has more tokens than `maxTokens`. */
const TOKENS_MESSAGE = /Document contains more (?:than|that) (\d+) tokens/;

/** A parse error that is the token limit, as every transport reports it: QUERY_TOO_COMPLEX, `limit: tokens`. */
export function recodeTokenLimit(formatted: GraphQLFormattedError): GraphQLFormattedError {
  const match = TOKENS_MESSAGE.exec(formatted.message);
  if (!match) return formatted;
  const max = Number(match[1]);
  return { message: `The document has more than ${max} tokens (QUERY_MAX_TOKENS)`, extensions: { code: 'QUERY_TOO_COMPLEX', limit: 'tokens', max } };
}

/**
 * How many objects a list field returns at most, where its arguments do not say: the bounds the API promises
 * (a hold has at most 100 seats; `viewer` lists at most 100 holds or bookings). Listing an event's seats
 * (`sections { rows { seats } }`) weighs SEAT_LISTING_WEIGHT, however it is nested.
 */
const LIST_SIZES: Record<string, number> = {
  // The seats' weight below is the whole listing's: sections and rows add only themselves.
  'SeatMap.sections': 1,
  'Section.rows': 1,
  'Viewer.holds': 100,
  'Viewer.bookings': 100,
  'Hold.seats': 100,
  'Booking.seats': 100,
  'SeatMapDelta.changes': 100,
};
const DEFAULT_LIST_SIZE = 10;

/**
 * What listing an event's seats weighs before it runs: a 20,000-seat arena's listing. The exact count is
 * charged as it runs (at most MAX_LISTED_SEATS_PER_REQUEST seats per request, QUERY_TOO_COMPLEX `limit: seats`);
 * this weight refuses at once what could only fail there, such as the seats of a whole page of events.
 */
const SEAT_LISTING_WEIGHT = MAX_LISTED_SEATS_PER_REQUEST / 10;

/** Every field costs 1; a list multiplies what it selects by its size (`first`, or LIST_SIZES). */
const estimate: ComplexityEstimator = ({ type, field, args, childComplexity }) => {
  const name = `${type.name}.${field.name}`;
  if (name === 'Row.seats') return SEAT_LISTING_WEIGHT;
  if (typeof args.first === 'number') return 1 + Math.max(0, args.first) * childComplexity;
  if (!isListType(getNullableType(field.type))) return 1 + childComplexity;
  return 1 + (LIST_SIZES[name] ?? DEFAULT_LIST_SIZE) * childComplexity;
};

/**
 * The cost of an operation (graphql-query-complexity, with `estimate`): QUERY_TOO_COMPLEX beyond `max`.
 * Variables that do not coerce are left to execution, which reports them as BAD_USER_INPUT. Costs are kept by
 * document hash, operation and variables: thousands of fans send the same few operations, and walking the
 * document again for each was a tenth of a seat-map read's CPU.
 */
export function createCostCheck(schema: GraphQLSchema, max: number) {
  const costs = new LRUCache<string, number>({ max: 10_000 });
  return (hash: string, document: DocumentNode, operationName?: string | null, variables?: Record<string, unknown>): void => {
    const key = `${hash}|${operationName ?? ''}|${variables ? JSON.stringify(variables) : ''}`;
    let cost = costs.get(key);
    if (cost === undefined) {
      try {
        cost = getComplexity({ schema, query: document, operationName: operationName ?? undefined, variables: variables ?? {}, estimators: [estimate] });
      } catch {
        return;
      }
      costs.set(key, cost);
    }
    if (cost > max) throw tooComplex('cost', max, `The operation costs ${cost}, more than ${max} (QUERY_MAX_COST)`);
  };
}
