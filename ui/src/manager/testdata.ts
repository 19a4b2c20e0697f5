// Manager's views for the unit tests: a year's worth, a small one and an empty one.
import type { CellView, FiguresView, GroupRow, PatternsView, RateView } from "../lib/bindings";

export function rate(numerator: number, denominator: number): RateView {
  return {
    numerator,
    denominator,
    percent: denominator === 0 ? "—" : `${((100 * numerator) / denominator).toFixed(1)}%`,
    tooFew: denominator < 20,
  };
}

/** Figures of `appointments` with `noShows`, `cancelled` and `rescheduled` among them. */
export function figures(appointments: number, noShows: number, cancelled = 0, rescheduled = 0): FiguresView {
  return {
    appointments,
    noShow: rate(noShows, appointments - cancelled),
    cancellation: rate(cancelled, appointments),
    reschedule: rate(rescheduled, appointments),
  };
}

export function row(key: string, label: string, values: FiguresView): GroupRow {
  return { key, label, figures: values };
}

const WEEKDAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"];

function hourLabel(hour: number): string {
  return `${hour % 12 === 0 ? 12 : hour % 12} ${hour < 12 ? "AM" : "PM"}`;
}

/** 168 cells, with `busy(weekday, hour)` giving each one's figures. */
export function cells(busy: (weekday: number, hour: number) => FiguresView): CellView[] {
  const all: CellView[] = [];
  for (let weekday = 1; weekday <= 7; weekday++) {
    for (let hour = 0; hour < 24; hour++) {
      all.push({
        weekday,
        hour,
        weekdayLabel: WEEKDAYS[weekday - 1] ?? "",
        hourLabel: hourLabel(hour),
        figures: busy(weekday, hour),
      });
    }
  }
  return all;
}

const DEFINITIONS = [
  "appointments",
  "no_show_rate",
  "cancellation_rate",
  "reschedule_rate",
  "cancellation_notice",
  "reschedule_notice",
  "rebook_rate",
  "by_weekday_hour",
  "by_provider",
  "by_location",
  "by_visit_reason",
  "by_patient_type",
  "by_lead_time",
  "by_week",
  "too_few",
].map((id) => ({ id, words: `Definition of ${id}: what it counts, in plain words.` }));

/** A busy range: 400 appointments, two providers, weekday mornings. */
export function busyView(): PatternsView {
  return {
    from: "2026-02-11",
    to: "2026-03-10",
    rangeText: "Feb 11 – Mar 10, 2026",
    timeZone: "America/New_York",
    provider: null,
    location: null,
    presets: [
      { id: "four_weeks", label: "Last 4 weeks", from: "2026-02-11", to: "2026-03-10" },
      { id: "quarter", label: "Last quarter", from: "2025-12-11", to: "2026-03-10" },
      { id: "year", label: "Last year", from: "2025-03-11", to: "2026-03-10" },
    ],
    providers: ["pr_a", "pr_b"],
    locations: ["lo_x"],
    tooFewBelow: 20,
    overall: figures(400, 40, 48, 32),
    leftOut: 3,
    cancellationNotice: [
      { key: "under_24_hours", label: "Less than 24 hours", share: rate(12, 48) },
      { key: "one_to_three_days", label: "1 to 3 days", share: rate(20, 48) },
      { key: "over_three_days", label: "More than 3 days", share: rate(16, 48) },
      { key: "unknown", label: "Not known", share: rate(0, 48) },
    ],
    rescheduleNotice: [
      { key: "under_24_hours", label: "Less than 24 hours", share: rate(8, 32) },
      { key: "one_to_three_days", label: "1 to 3 days", share: rate(8, 32) },
      { key: "over_three_days", label: "More than 3 days", share: rate(14, 32) },
      { key: "unknown", label: "Not known", share: rate(2, 32) },
    ],
    rebook: {
      all: rate(30, 70),
      afterCancellation: rate(20, 40),
      afterNoShow: rate(10, 30),
      withoutPatientId: 12,
      windowOpen: 6,
    },
    byWeekdayHour: cells((weekday, hour) =>
      weekday <= 5 && hour >= 9 && hour <= 12 ? figures(20, 2, 2, 1) : figures(0, 0),
    ),
    byProvider: [row("pr_a", "pr_a", figures(300, 30, 36, 24)), row("pr_b", "pr_b", figures(100, 10, 12, 8))],
    byLocation: [row("lo_x", "lo_x", figures(400, 40, 48, 32))],
    byVisitReason: [row("pc_1", "pc_1", figures(390, 39, 47, 31)), row("pc_2", "pc_2", figures(10, 1, 1, 1))],
    byPatientType: [
      row("new", "New patients", figures(100, 15, 12, 8)),
      row("existing", "Existing patients", figures(300, 25, 36, 24)),
      row("not_said", "Not said", figures(0, 0)),
    ],
    byLeadTime: [
      row("same_day", "Same day", figures(50, 2, 5, 1)),
      row("days_1_to_2", "1–2 days", figures(350, 38, 43, 31)),
      row("days_3_to_7", "3–7 days", figures(0, 0)),
      row("days_8_to_14", "8–14 days", figures(0, 0)),
      row("days_15_to_30", "15–30 days", figures(0, 0)),
      row("over_30_days", "More than 30 days", figures(0, 0)),
      row("unknown", "Not known", figures(0, 0)),
    ],
    byWeek: [
      row("2026-02-09", "Week of Feb 9, 2026", figures(60, 6, 7, 5)),
      row("2026-02-16", "Week of Feb 16, 2026", figures(100, 10, 12, 8)),
      row("2026-02-23", "Week of Feb 23, 2026", figures(100, 10, 12, 8)),
      row("2026-03-02", "Week of Mar 2, 2026", figures(100, 10, 12, 8)),
      row("2026-03-09", "Week of Mar 9, 2026", figures(40, 4, 5, 3)),
    ],
    definitions: DEFINITIONS,
  };
}

/** A range with only 5 appointments: every rate too few to judge. */
export function smallView(): PatternsView {
  const view = busyView();
  return {
    ...view,
    overall: figures(5, 1, 1, 0),
    leftOut: 0,
    byProvider: [row("pr_a", "pr_a", figures(5, 1, 1, 0))],
    byLocation: [row("lo_x", "lo_x", figures(5, 1, 1, 0))],
    byVisitReason: [row("pc_1", "pc_1", figures(5, 1, 1, 0))],
    byWeekdayHour: cells((weekday, hour) => (weekday === 2 && hour === 10 ? figures(5, 1, 1, 0) : figures(0, 0))),
    byWeek: [row("2026-03-02", "Week of Mar 2, 2026", figures(5, 1, 1, 0))],
    rebook: { ...view.rebook, all: rate(1, 2), afterCancellation: rate(1, 1), afterNoShow: rate(0, 1) },
  };
}

/** A range with no appointment counted. */
export function emptyView(): PatternsView {
  const view = smallView();
  return {
    ...view,
    overall: figures(0, 0),
    byProvider: [],
    byLocation: [],
    byVisitReason: [],
    byWeekdayHour: cells(() => figures(0, 0)),
    byWeek: [],
  };
}
