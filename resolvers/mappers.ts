import type { DbEvent } from '../datasources/postgres/events.sql.js';
import type { Caller } from '../domain/caller.js';
import type { Availability, LayoutRow, LayoutSection } from '../domain/seat-map/seat-map.service.js';

/** What the resolvers of each object type receive as their parent (see `mappers` in codegen.yml). */
export type ViewerParent = Extract<Caller, { kind: 'user' }>;
export interface SeatMapParent {
  event: DbEvent;
  availability: Availability;
}
/** Seat statuses travel down with the layout, so every seat of one response is read at one version. */
export type SectionParent = LayoutSection & { statuses: string };
export type RowParent = LayoutRow & { statuses: string };
