// Unit tests of the manager's view's numbers: fair percentages, chart series, heatmap, states.
import { describe, expect, it } from "vitest";
import {
  activePreset,
  barSpec,
  definitionWords,
  drawable,
  fairPercent,
  heatGrid,
  noticeSpec,
  rateText,
  trendSpec,
  viewState,
} from "./figures";
import { busyView, emptyView, figures, rate, row, smallView } from "./testdata";

describe("manager figures", () => {
  it("draws a rate only when it rests on enough appointments", () => {
    expect(fairPercent(rate(3, 40))).toBe(7.5);
    expect(fairPercent(rate(2, 3))).toBeNull();
    expect(fairPercent(rate(0, 0))).toBeNull();
    expect(fairPercent(rate(1, 3 * 7))).toBe(4.8);
  });

  it("writes rates with the counts they rest on", () => {
    expect(rateText(rate(3, 40))).toBe("7.5% (3 of 40)");
    expect(rateText(rate(0, 0))).toBe("—");
  });

  it("tells empty, small and full ranges apart", () => {
    expect(viewState(emptyView())).toBe("empty");
    expect(viewState(smallView())).toBe("small");
    expect(viewState(busyView())).toBe("full");
  });

  it("leaves groups too small to judge out of a bar chart, and says so in the label", () => {
    const rows = busyView().byVisitReason;
    const spec = barSpec(rows, "noShow");
    expect(spec.labels).toEqual(["pc_1", "pc_2 (too few)"]);
    expect(spec.series[0]?.values).toEqual([11.4, null]);
    expect(spec.series[0]?.label).toBe("No-show rate");
    expect(drawable(rows, "noShow")).toBe(true);
    expect(drawable([row("x", "x", figures(5, 1))], "noShow")).toBe(false);
  });

  it("draws long breakdowns sideways", () => {
    const many = Array.from({ length: 7 }, (_, i) => row(`pc_${i}`, `pc_${i}`, figures(40, 4)));
    expect(barSpec(many, "cancellation").horizontal).toBe(true);
    expect(barSpec(many.slice(0, 2), "cancellation").horizontal).toBe(false);
  });

  it("leaves gaps in the trend for weeks too small to judge", () => {
    const weeks = [row("2026-03-02", "Week of Mar 2, 2026", figures(100, 10)), row("2026-03-09", "Week of Mar 9, 2026", figures(4, 1))];
    const spec = trendSpec(weeks, "noShow");
    expect(spec.kind).toBe("line");
    expect(spec.labels).toEqual(["Mar 2, 2026", "Mar 9, 2026"]);
    expect(spec.series[0]?.values).toEqual([10, null]);
  });

  it("puts cancellation and reschedule notice side by side", () => {
    const view = busyView();
    const spec = noticeSpec(view.cancellationNotice, view.rescheduleNotice);
    expect(spec.labels).toEqual(["Less than 24 hours", "1 to 3 days", "More than 3 days", "Not known"]);
    expect(spec.series.map((series) => series.values)).toEqual([
      [25, 41.7, 33.3, 0],
      [25, 25, 43.8, 6.3],
    ]);
  });

  it("shades the heatmap over the busy hours only, and marks cells too small to judge", () => {
    const grid = heatGrid(busyView().byWeekdayHour, "appointments");
    expect(grid.hours.map((hour) => hour.label)).toEqual(["9 AM", "10 AM", "11 AM", "12 PM"]);
    expect(grid.rows.map((r) => r.label)).toEqual([
      "Monday",
      "Tuesday",
      "Wednesday",
      "Thursday",
      "Friday",
      "Saturday",
      "Sunday",
    ]);
    const monday9 = grid.rows[0]?.cells[0];
    expect(monday9).toMatchObject({ text: "20", level: 4, state: "value", title: "Monday 9 AM: 20 appointments" });
    expect(grid.rows[6]?.cells[0]).toMatchObject({ state: "none", text: "", level: 0 });

    const rates = heatGrid(busyView().byWeekdayHour, "noShow");
    expect(rates.rows[0]?.cells[0]).toMatchObject({ state: "too_few", text: "·", level: 0 });
    expect(rates.rows[0]?.cells[0]?.title).toBe("Monday 9 AM: 20 appointments, too few to judge");
  });

  it("shows working hours on an empty heatmap", () => {
    const grid = heatGrid(emptyView().byWeekdayHour, "appointments");
    expect(grid.hours[0]?.label).toBe("8 AM");
    expect(grid.hours.at(-1)?.label).toBe("5 PM");
  });

  it("finds definitions and the preset shown", () => {
    const view = busyView();
    expect(definitionWords(view, "by_week")).toContain("by_week");
    expect(definitionWords(view, "nothing")).toBe("");
    expect(activePreset(view)).toBe("four_weeks");
    expect(activePreset({ ...view, from: "2026-01-01" })).toBe("custom");
  });
});
