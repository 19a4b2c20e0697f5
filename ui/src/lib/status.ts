// Turns the app's status facts into the words the status bar shows.
import type { AppStatus } from "./bindings";

/** The environment as staff should read it: sandbox data is never real patients. */
export function environmentLabel(environment: string): string {
  switch (environment) {
    case "sandbox":
      return "Sandbox — test data";
    case "production":
      return "Production";
    default:
      return environment;
  }
}

/** One line for the status bar, e.g. "Deskbridge 0.1.0 · Sandbox — test data · Demo". */
export function statusLine(status: AppStatus): string {
  const demo = status.mode === "demo" ? " · Demo" : "";
  return `Deskbridge ${status.version} · ${environmentLabel(status.environment)}${demo}`;
}
