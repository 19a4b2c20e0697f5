// The board's lanes, in the order staff read them.
export type LaneId = "upcoming" | "arrived" | "rescheduled" | "cancelled" | "no_show";

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
