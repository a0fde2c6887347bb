import { HeaderMap, type ApolloServerPlugin } from '@apollo/server';
import { LRUCache } from 'lru-cache';
import {
  getDirectiveValues,
  getNamedType,
  getNullableType,
  isLeafType,
  isListType,
  isObjectType,
  Kind,
  type FieldNode,
  type GraphQLField,
  type GraphQLLeafType,
  type GraphQLNamedType,
  type GraphQLObjectType,
  type GraphQLSchema,
  type OperationDefinitionNode,
  type SelectionSetNode,
  type ValueNode,
} from 'graphql';
import { decodeId } from '../domain/ids.js';
import { chargeListedSeats } from '../domain/seat-map/seat-map.rules.js';
import type { SeatMapLayout } from '../domain/seat-map/seat-map.service.js';
import type { Context } from './context.js';

/**
 * The seat layout without graphql-js. A layout query (`event(id) { seatMap { sections { … rows { … seats { … } } } } }`)
 * lists every seat of an event: graphql-js resolves ~60,000 fields for a stadium, 17 responses a second, while the
 * layout is fixed once the event exists and cached per instance as plain objects (seat-map.service). For such a
 * query this plugin answers before execution with a projection of those objects onto the selection, each leaf
 * serialized by its schema type as graphql-js would, so the answer is the same; anything it does not recognise runs
 * as usual. It recognises a query of one `event` with its `id`, one `seatMap` below it, `sections`
 * below that, and then only fixed fields: those without a max-age of their own or of their type (a live field has `maxAge: 1`),
 * which are plain properties of the layout objects, with aliases and `__typename` but no fragments, directives or
 * arguments. The response's cache policy is then the `event` field's hint, as the cache-control plugin would
 * compute for fields that all inherit it. The gate has already judged and charged the request (didResolveOperation
 * comes first); the shortcut charges the listed seats like the `sections` resolver.
 */
export function layoutShortcut(): ApolloServerPlugin<Context> {
  let shortcut: Shortcut | undefined;
  return {
    async serverWillStart({ schema }) {
      shortcut = createShortcut(schema);
    },
    async requestDidStart() {
      return {
        async responseForOperation(request) {
          const plan = request.operation && shortcut?.plan(request.operation);
          if (!plan) return null;
          const id = plan.id.kind === Kind.STRING ? plan.id.value : plan.id.kind === Kind.VARIABLE ? request.request.variables?.[plan.id.name.value] : undefined;
          if (typeof id !== 'string') return null;
          const { loaders, services } = request.contextValue;
          // A malformed or unknown id, or a read that fails: the execution answers, with the resolver's error
          // (masked and logged if it is ours), as for any other query.
          const found = await (async () => {
            const event = await loaders.event.load(decodeId('evt', id, 'id'));
            return event && { event, layout: await services.seatMaps.layout(event.id, event.currency) };
          })().catch(() => null);
          if (!found) return null;
          const { event, layout } = found;
          request.contextValue.listedSeats = chargeListedSeats(request.contextValue.listedSeats, event.capacity);
          request.overallCachePolicy.restrict(shortcut!.policy);
          const seatMap = { [plan.sectionsKey]: projected(plan, layout) };
          return {
            http: { status: undefined, headers: new HeaderMap() },
            body: { kind: 'single', singleResult: { data: { [plan.eventKey]: { [plan.seatMapKey]: seatMap } } } },
          };
        },
      };
    },
  };
}

/** What to copy from a layout object into the response: a constant `__typename`, a leaf, or an object (list). */
type Step =
  | { key: string; typename: string }
  | { key: string; name: string; leaf: GraphQLLeafType }
  | { key: string; name: string; list: boolean; plan: Step[] };

interface Plan {
  /** The `id` argument as written: a string or a variable. */
  id: ValueNode;
  eventKey: string;
  seatMapKey: string;
  sectionsKey: string;
  section: Step[];
  /** `section` as a string: the same selection however it was written. */
  shape: string;
}

interface Shortcut {
  /** The plan of a layout query, undefined for any other (memoised per parsed document, which Apollo reuses). */
  plan(operation: OperationDefinitionNode): Plan | undefined;
  /** The `event` field's hint: what every fixed field below it inherits. */
  policy: { maxAge?: number; scope?: 'PUBLIC' | 'PRIVATE' };
}

function createShortcut(schema: GraphQLSchema): Shortcut | undefined {
  const cacheControl = schema.getDirective('cacheControl');
  const eventField = schema.getQueryType()?.getFields().event;
  const seatMapField = eventField && (getNamedType(eventField.type) as GraphQLObjectType).getFields?.().seatMap;
  const sectionsField = seatMapField && (getNamedType(seatMapField.type) as GraphQLObjectType).getFields?.().sections;
  const hint = (field: GraphQLField<unknown, unknown>) => (cacheControl && field.astNode ? getDirectiveValues(cacheControl, field.astNode) : undefined);
  /** A type's own max-age (one that does not inherit its parent's) would make the policy its own too. */
  const typeMaxAge = (type: GraphQLNamedType) =>
    cacheControl && type.astNode ? getDirectiveValues(cacheControl, type.astNode)?.maxAge !== undefined : false;
  const policy = eventField && hint(eventField);
  if (!eventField || !seatMapField || !sectionsField || typeof policy?.maxAge !== 'number') return undefined;

  /** The steps for a selection of fixed fields of `type`; undefined if it selects anything else. */
  function steps(set: SelectionSetNode | undefined, type: GraphQLObjectType): Step[] | undefined {
    const plan: Step[] = [];
    const keys = new Set<string>();
    for (const selection of set?.selections ?? []) {
      const only = plainField(selection);
      if (!only) return undefined;
      const key = only.alias?.value ?? only.name.value;
      if (keys.has(key)) return undefined; // merging repeated keys is graphql-js's job
      keys.add(key);
      if (only.name.value === '__typename') {
        plan.push({ key, typename: type.name });
        continue;
      }
      const field = type.getFields()[only.name.value];
      const named = field && getNamedType(field.type);
      if (!field || !named || hint(field) || typeMaxAge(named)) return undefined;
      if (isLeafType(named)) {
        if (only.selectionSet) return undefined;
        plan.push({ key, name: field.name, leaf: named });
      } else if (isObjectType(named)) {
        const inner = steps(only.selectionSet, named);
        if (!inner) return undefined;
        plan.push({ key, name: field.name, list: isListType(getNullableType(field.type)), plan: inner });
      } else {
        return undefined;
      }
    }
    return plan;
  }

  const plans = new WeakMap<OperationDefinitionNode, Plan | null>();
  return {
    policy: policy as Shortcut['policy'],
    plan(operation) {
      let plan = plans.get(operation);
      if (plan === undefined) plans.set(operation, (plan = compile(operation) ?? null));
      return plan ?? undefined;
    },
  };

  function compile(operation: OperationDefinitionNode): Plan | undefined {
    if (operation.operation !== 'query' || operation.directives?.length) return undefined;
    const event = onlyField(operation.selectionSet, 'event', 1);
    const id = event?.arguments?.[0];
    if (!event || id?.name.value !== 'id') return undefined;
    const seatMap = onlyField(event.selectionSet, 'seatMap', 0);
    const sections = seatMap && onlyField(seatMap.selectionSet, 'sections', 0);
    const section = sections && steps(sections.selectionSet, getNamedType(sectionsField!.type) as GraphQLObjectType);
    if (!section) return undefined;
    const key = (node: FieldNode) => node.alias?.value ?? node.name.value;
    const shape = JSON.stringify(section, (name, value) => (name === 'leaf' ? (value as GraphQLLeafType).name : value));
    return { id: id.value, eventKey: key(event), seatMapKey: key(seatMap), sectionsKey: key(sections), section, shape };
  }
}

/** A field without directives or (beyond `args`) arguments: the only selections the shortcut takes. */
function plainField(selection: SelectionSetNode['selections'][number], args = 0): FieldNode | undefined {
  if (selection.kind !== Kind.FIELD || selection.directives?.length || (selection.arguments?.length ?? 0) !== args) return undefined;
  return selection;
}

/** The one selection of `set` when it is the plain field `name`. */
function onlyField(set: SelectionSetNode | undefined, name: string, args: number): FieldNode | undefined {
  const field = set?.selections.length === 1 ? plainField(set.selections[0]!, args) : undefined;
  return field?.name.value === name ? field : undefined;
}

/**
 * The sections of `layout` as `plan` selects them, built once per event and selection (the layout never changes).
 * Keyed by the selection's canonical form, so documents differing only in their text share one copy, and bounded
 * by seats like the layout cache: a flood of distinct aliases cannot keep copies of a stadium without end.
 */
const projections = new LRUCache<string, unknown[]>({
  maxSize: 1_000_000,
  sizeCalculation: (_sections, key) => Math.max(1, Number(key.slice(0, key.indexOf('|')))),
});
function projected(plan: Plan, layout: SeatMapLayout): unknown[] {
  const key = `${layout.seatCount}|${layout.eventId}|${plan.shape}`;
  let sections = projections.get(key);
  if (!sections) projections.set(key, (sections = layout.sections.map((section) => project(section, plan.section))));
  return sections;
}

/** The fields `plan` selects of a layout object, as graphql-js would complete them. */
function project(source: object, plan: Step[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const step of plan) {
    if ('typename' in step) {
      out[step.key] = step.typename;
      continue;
    }
    const value = (source as Record<string, unknown>)[step.name];
    if ('leaf' in step) out[step.key] = step.leaf.serialize(value);
    else out[step.key] = step.list ? (value as object[]).map((item) => project(item, step.plan)) : project(value as object, step.plan);
  }
  return out;
}
