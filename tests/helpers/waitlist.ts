// The waitlist's operations as clients send them.
export const ENTRY_FIELDS = `id state position quantity sectionId seatId skipReason skippedAt event { id } offer { id status expiresAt seats { ordinal status } }`;
export const JOIN_WAITLIST = `mutation($input: JoinWaitlistInput!) { joinWaitlist(input: $input) { ${ENTRY_FIELDS} } }`;
export const LEAVE_WAITLIST = `mutation($id: ID!) { leaveWaitlist(id: $id) { ${ENTRY_FIELDS} } }`;
export const ENTRIES = `query($eventId: ID) { viewer { waitlistEntries(eventId: $eventId) { ${ENTRY_FIELDS} } } }`;
export const WAITLIST_UPDATED = `subscription($eventId: ID!) { waitlistEntryUpdated(eventId: $eventId) { ${ENTRY_FIELDS} } }`;

export interface Entry {
  id: string;
  state: string;
  position: number;
  quantity: number;
  sectionId: string | null;
  seatId: string | null;
  skipReason: string | null;
  skippedAt: string | null;
  event: { id: string };
  offer: { id: string; status: string; expiresAt: string; seats: { ordinal: number; status: string }[] } | null;
}
