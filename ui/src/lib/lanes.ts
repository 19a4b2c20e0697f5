// The board's lanes, in the order staff read them, and how cards are grouped and filtered.
import type { CardView, LaneId } from "./bindings";

export type { LaneId };

export interface Lane {
  id: LaneId;
  title: string;
}

export const LANES: readonly Lane[] = [
  { id: "upcoming", title: "Upcoming" },
  { id: "arrived", title: "Arrived" },
  { id: "rescheduled", title: "Rescheduled" },
  { id: "cancelled", title: "Cancelled" },
  { id: "no_show", title: "No-show" },
];

export interface Filters {
  provider: string;
  visitReason: string;
}

export const NO_FILTERS: Filters = { provider: "", visitReason: "" };

/** The cards of each lane, by start time, after the filters. */
export function byLane(cards: readonly CardView[], filters: Filters): Record<LaneId, CardView[]> {
  const lanes: Record<LaneId, CardView[]> = {
    upcoming: [],
    arrived: [],
    rescheduled: [],
    cancelled: [],
    no_show: [],
  };
  for (const card of cards) {
    if (filters.provider && card.provider !== filters.provider) continue;
    if (filters.visitReason && card.visitReason !== filters.visitReason) continue;
    lanes[card.lane].push(card);
  }
  return lanes;
}

/** The distinct values of one field, sorted, for a filter's choices. */
export function choices(cards: readonly CardView[], field: "provider" | "visitReason"): string[] {
  return [...new Set(cards.map((card) => card[field]))].sort((a, b) => a.localeCompare(b));
}

/** Today's cancellations and no-shows not known to be rebooked: who to call. */
export function rebookQueue(cards: readonly CardView[]): CardView[] {
  return cards.filter(
    (card) => (card.lane === "cancelled" || card.lane === "no_show") && card.rebooked !== true,
  );
}
