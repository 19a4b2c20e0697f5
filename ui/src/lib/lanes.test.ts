// The board's grouping and filters.
import { describe, expect, it } from "vitest";
import type { CardView } from "./bindings";
import { byLane, choices, NO_FILTERS, rebookQueue } from "./lanes";

function card(id: string, lane: CardView["lane"], provider = "Dr. A", visitReason = "Checkup"): CardView {
  return {
    id,
    lane,
    time: "9:00 AM",
    previousTime: null,
    status: "confirmed",
    statusText: "Confirmed",
    provider,
    visitReason,
    patientType: null,
    visitType: null,
    patientName: null,
    rebooked: null,
  };
}

describe("lanes", () => {
  it("groups cards by lane and keeps their order", () => {
    const lanes = byLane(
      [card("1", "upcoming"), card("2", "cancelled"), card("3", "upcoming")],
      NO_FILTERS,
    );
    expect(lanes.upcoming.map((c) => c.id)).toEqual(["1", "3"]);
    expect(lanes.cancelled.map((c) => c.id)).toEqual(["2"]);
    expect(lanes.no_show).toEqual([]);
  });

  it("queues cancellations and no-shows not known to be rebooked", () => {
    const rebooked = { ...card("3", "cancelled"), rebooked: true };
    const open = { ...card("4", "no_show"), rebooked: false };
    const unknown = card("5", "cancelled");
    const queue = rebookQueue([card("1", "upcoming"), rebooked, open, unknown]);
    expect(queue.map((c) => c.id)).toEqual(["4", "5"]);
  });

  it("filters by provider and visit reason", () => {
    const cards = [card("1", "upcoming", "Dr. A"), card("2", "upcoming", "Dr. B", "Flu")];
    expect(byLane(cards, { provider: "Dr. B", visitReason: "" }).upcoming.map((c) => c.id)).toEqual(["2"]);
    expect(byLane(cards, { provider: "", visitReason: "Checkup" }).upcoming.map((c) => c.id)).toEqual(["1"]);
    expect(choices(cards, "provider")).toEqual(["Dr. A", "Dr. B"]);
  });
});
