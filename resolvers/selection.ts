import { Kind, type GraphQLResolveInfo, type SelectionSetNode } from 'graphql';

/**
 * True when the client selected the field path `names` (e.g. `rows`, `seats`) below the field being resolved,
 * through fragments or not, so that a resolver can skip, or account for, work before doing it.
 */
export function selectsField(info: GraphQLResolveInfo, ...names: string[]): boolean {
  const within = (set: SelectionSetNode | undefined, [name, ...rest]: string[]): boolean =>
    !!set?.selections.some((selection) => {
      if (selection.kind === Kind.FIELD) {
        return selection.name.value === name && (rest.length === 0 || within(selection.selectionSet, rest));
      }
      if (selection.kind === Kind.INLINE_FRAGMENT) return within(selection.selectionSet, [name!, ...rest]);
      return within(info.fragments[selection.name.value]?.selectionSet, [name!, ...rest]);
    });
  return info.fieldNodes.some((node) => within(node.selectionSet, names));
}
