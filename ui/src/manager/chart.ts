// The one place that draws with Chart.js: bar and line charts coloured from the page's CSS
// variables, so they follow the light or dark theme. Kept thin; the numbers come ready-made.
import {
  BarController,
  BarElement,
  CategoryScale,
  Chart,
  Legend,
  LinearScale,
  LineController,
  LineElement,
  PointElement,
  Tooltip,
} from "chart.js";

Chart.register(
  BarController,
  BarElement,
  CategoryScale,
  LinearScale,
  LineController,
  LineElement,
  PointElement,
  Tooltip,
  Legend,
);

/** One series of a chart: a value per label, `null` where there is nothing fair to draw. */
export interface Series {
  label: string;
  values: (number | null)[];
}

/** What a chart shows: labels along one axis, one or more series of percentages. */
export interface ChartSpec {
  kind: "bar" | "line";
  labels: string[];
  series: Series[];
  /** Bars run sideways (long labels such as provider ids read better). */
  horizontal?: boolean;
}

/** A drawn chart: redraw with new numbers, or remove. */
export interface DrawnChart {
  update(spec: ChartSpec): void;
  destroy(): void;
}

/** Series colours, by CSS variable, in order. */
const SERIES_COLOURS = ["--chart-1", "--chart-2", "--chart-3"];

function cssColour(element: Element, name: string, fallback: string): string {
  const value = getComputedStyle(element).getPropertyValue(name).trim();
  return value || fallback;
}

function config(canvas: HTMLCanvasElement, spec: ChartSpec) {
  const text = cssColour(canvas, "--text", "#14232a");
  const line = cssColour(canvas, "--line", "#d9e1e4");
  const horizontal = spec.horizontal === true;
  const percentAxis = {
    beginAtZero: true,
    suggestedMax: 10,
    ticks: { color: text, callback: (value: string | number) => `${value}%` },
    grid: { color: line },
  };
  const labelAxis = { ticks: { color: text, autoSkip: true }, grid: { display: false } };
  return {
    type: spec.kind,
    data: {
      labels: spec.labels,
      datasets: spec.series.map((series, index) => {
        const colour = cssColour(canvas, SERIES_COLOURS[index % SERIES_COLOURS.length] ?? "", "#1f8a8a");
        return {
          label: series.label,
          data: series.values,
          backgroundColor: colour,
          borderColor: colour,
          spanGaps: false,
        };
      }),
    },
    options: {
      animation: false as const,
      maintainAspectRatio: false,
      indexAxis: horizontal ? ("y" as const) : ("x" as const),
      scales: horizontal ? { x: percentAxis, y: labelAxis } : { x: labelAxis, y: percentAxis },
      plugins: {
        legend: { display: spec.series.length > 1, labels: { color: text } },
        tooltip: {
          callbacks: {
            label: (item: { dataset: { label?: string }; formattedValue: string }) =>
              `${item.dataset.label ?? ""}: ${item.formattedValue}%`,
          },
        },
      },
    },
  };
}

/** Draws `spec` on `canvas`; `null` where the page cannot draw (no canvas context). */
export function drawChart(canvas: HTMLCanvasElement, spec: ChartSpec): DrawnChart | null {
  if (!canvas.getContext("2d")) {
    return null;
  }
  // Chart.js's option types are stricter than the plain object built above needs.
  let chart = new Chart(canvas, config(canvas, spec) as never);
  return {
    update(next: ChartSpec) {
      chart.destroy();
      chart = new Chart(canvas, config(canvas, next) as never);
    },
    destroy() {
      chart.destroy();
    },
  };
}
