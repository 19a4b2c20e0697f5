// The manager's view's numbers turned into what its charts, heatmap and states need: pure
// functions, so the unit tests cover them without a canvas.
import type { ChartSpec } from "./chart";
import type { CellView, FiguresView, GroupRow, PatternsView, RateView, ShareRow } from "../lib/bindings";

/** The rate the charts show. */
export type Metric = "noShow" | "cancellation" | "reschedule";

export const METRICS: { id: Metric; label: string; definition: string }[] = [
  { id: "noShow", label: "No-show rate", definition: "no_show_rate" },
  { id: "cancellation", label: "Cancellation rate", definition: "cancellation_rate" },
  { id: "reschedule", label: "Reschedule rate", definition: "reschedule_rate" },
];

/** What the view as a whole can show. */
export type ViewState = "empty" | "small" | "full";

/** Nothing counted: say so. Fewer than the threshold: tables only, no charts. */
export function viewState(view: PatternsView): ViewState {
  if (view.overall.appointments === 0) {
    return "empty";
  }
  return view.overall.appointments < view.tooFewBelow ? "small" : "full";
}

/** The percentage a chart may draw for `rate`; `null` when there is none or too few to judge. */
export function fairPercent(rate: RateView): number | null {
  if (rate.denominator === 0 || rate.tooFew) {
    return null;
  }
  return Math.round((1000 * rate.numerator) / rate.denominator) / 10;
}

export function metricRate(figures: FiguresView, metric: Metric): RateView {
  return figures[metric];
}

export function metricLabel(metric: Metric): string {
  return METRICS.find((entry) => entry.id === metric)?.label ?? metric;
}

/** A rate as a table shows it: "12.5% (3 of 24)", with its too-few mark. */
export function rateText(rate: RateView): string {
  if (rate.denominator === 0) {
    return "—";
  }
  return `${rate.percent} (${rate.numerator} of ${rate.denominator})`;
}

/** Whether any row has a rate fair to draw; otherwise the chart is left out. */
export function drawable(rows: GroupRow[], metric: Metric): boolean {
  return rows.some((row) => fairPercent(metricRate(row.figures, metric)) !== null);
}

/** A bar chart of one rate per row; rows too small to judge get no bar and say so. */
export function barSpec(rows: GroupRow[], metric: Metric): ChartSpec {
  return {
    kind: "bar",
    horizontal: rows.length > 6,
    labels: rows.map((row) =>
      fairPercent(metricRate(row.figures, metric)) === null ? `${row.label} (too few)` : row.label,
    ),
    series: [{ label: metricLabel(metric), values: rows.map((row) => fairPercent(metricRate(row.figures, metric))) }],
  };
}

/** The week-by-week line; weeks too small to judge leave a gap rather than a spike. */
export function trendSpec(weeks: GroupRow[], metric: Metric): ChartSpec {
  return {
    kind: "line",
    labels: weeks.map((week) => week.label.replace(/^Week of /, "")),
    series: [{ label: metricLabel(metric), values: weeks.map((week) => fairPercent(metricRate(week.figures, metric))) }],
  };
}

/** The notice bands of cancellations and reschedules side by side. */
export function noticeSpec(cancellations: ShareRow[], reschedules: ShareRow[]): ChartSpec {
  return {
    kind: "bar",
    labels: cancellations.map((band) => band.label),
    series: [
      { label: "Cancellations", values: cancellations.map((band) => fairPercent(band.share)) },
      { label: "Reschedules", values: reschedules.map((band) => fairPercent(band.share)) },
    ],
  };
}

export function noticeDrawable(bands: ShareRow[]): boolean {
  return bands.some((band) => fairPercent(band.share) !== null);
}

/** One heatmap cell as drawn. */
export interface HeatCell {
  weekday: number;
  hour: number;
  /** What the cell says, e.g. "12.5%", "3", "too few" or "". */
  text: string;
  /** 0 (none) … 4 (highest of the grid). */
  level: number;
  state: "none" | "too_few" | "value";
  /** The full words, for a tooltip and screen readers. */
  title: string;
}

/** The heatmap: one row per weekday, the hours that have appointments (or 8 AM–5 PM). */
export interface HeatGrid {
  hours: { hour: number; label: string }[];
  rows: { weekday: number; label: string; cells: HeatCell[] }[];
}

/** The weekday × hour grid of `metric` ("appointments" counts them). */
export function heatGrid(cells: CellView[], metric: Metric | "appointments"): HeatGrid {
  const busy = cells.filter((cell) => cell.figures.appointments > 0).map((cell) => cell.hour);
  const first = busy.length > 0 ? Math.min(...busy) : 8;
  const last = busy.length > 0 ? Math.max(...busy) : 17;
  const value = (cell: CellView): number | null =>
    metric === "appointments" ? cell.figures.appointments : fairPercent(metricRate(cell.figures, metric));
  const shown = cells.filter((cell) => cell.hour >= first && cell.hour <= last);
  const top = Math.max(0, ...shown.map((cell) => value(cell) ?? 0));
  const hours = shown.filter((cell) => cell.weekday === 1).map((cell) => ({ hour: cell.hour, label: cell.hourLabel }));
  const rows = [1, 2, 3, 4, 5, 6, 7].map((weekday) => {
    const own = shown.filter((cell) => cell.weekday === weekday);
    return {
      weekday,
      label: own[0]?.weekdayLabel ?? "",
      cells: own.map((cell): HeatCell => {
        const where = `${cell.weekdayLabel} ${cell.hourLabel}`;
        if (cell.figures.appointments === 0) {
          return { weekday, hour: cell.hour, text: "", level: 0, state: "none", title: `${where}: no appointments` };
        }
        const amount = value(cell);
        if (amount === null) {
          return {
            weekday,
            hour: cell.hour,
            text: "·",
            level: 0,
            state: "too_few",
            title: `${where}: ${cell.figures.appointments} appointments, too few to judge`,
          };
        }
        const text = metric === "appointments" ? String(amount) : `${amount}%`;
        return {
          weekday,
          hour: cell.hour,
          text,
          level: top > 0 ? Math.max(1, Math.ceil((4 * amount) / top)) : 1,
          state: "value",
          title:
            metric === "appointments"
              ? `${where}: ${amount} appointments`
              : `${where}: ${metricLabel(metric)} ${rateText(metricRate(cell.figures, metric))}`,
        };
      }),
    };
  });
  return { hours, rows };
}

/** The words of figure `id`, from core's definitions. */
export function definitionWords(view: PatternsView, id: string): string {
  return view.definitions.find((definition) => definition.id === id)?.words ?? "";
}

/** The preset whose days the view shows, or "custom". */
export function activePreset(view: PatternsView): string {
  return view.presets.find((preset) => preset.from === view.from && preset.to === view.to)?.id ?? "custom";
}
