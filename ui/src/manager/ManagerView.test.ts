// Unit tests of the manager's view with the IPC layer and the chart drawing replaced: what a manager sees for each answer.
import { fireEvent, render, screen, within } from "@testing-library/svelte";
import { describe, expect, it, vi } from "vitest";
import { busyView, emptyView, smallView } from "./testdata";

// Plain functions rather than vi.fn(): vitest reports a vi.fn's rejected promise as unhandled.
let answerPatterns: (...args: unknown[]) => Promise<unknown> = () => new Promise(() => {});
let answerExport: (...args: unknown[]) => Promise<unknown> = () => new Promise(() => {});
const asked: unknown[][] = [];
const exported: unknown[][] = [];
vi.mock("../lib/bindings", () => ({
  commands: {
    practicePatterns: (...args: unknown[]) => {
      asked.push(args);
      return answerPatterns(...args);
    },
    exportPatternsCsv: (...args: unknown[]) => {
      exported.push(args);
      return answerExport(...args);
    },
  },
}));
const drawn: unknown[] = [];
vi.mock("./chart", () => ({
  drawChart: (_canvas: unknown, spec: unknown) => {
    drawn.push(spec);
    return { update: () => {}, destroy: () => {} };
  },
}));

import ManagerView from "./ManagerView.svelte";

function ok(data: unknown) {
  return async () => ({ status: "ok", data });
}

function reset() {
  asked.length = 0;
  exported.length = 0;
  drawn.length = 0;
}

describe("Manager's view", () => {
  it("asks for the last 4 weeks first and shows the headline figures", async () => {
    reset();
    answerPatterns = ok(busyView());
    render(ManagerView);
    expect(screen.getByTestId("manager-loading")).toBeTruthy();
    expect((await screen.findByTestId("summary-appointments")).textContent).toBe("400");
    expect(asked[0]).toEqual(["", "", null, null]);
    expect(screen.getByTestId("manager-range").textContent).toBe("Feb 11 – Mar 10, 2026");
    expect(screen.getByTestId("summary-no-show").textContent).toBe("11.4%");
    expect(screen.getByTestId("summary-cancellation").textContent).toBe("12.0%");
    expect(screen.getByTestId("summary-reschedule").textContent).toBe("8.0%");
    expect(screen.getByTestId("summary-rebook").textContent).toBe("42.9%");
    expect(screen.getByTestId("summary-left-out").textContent).toBe("3 not counted");
    expect(screen.getByTestId("preset-four_weeks").getAttribute("aria-pressed")).toBe("true");
    expect(screen.queryByTestId("manager-small")).toBeNull();
    // Heatmap, 5 breakdowns, notice and trend: 7 charts (the heatmap is HTML).
    expect(drawn.length).toBe(7);
  });

  it("puts a table with the same numbers beneath each chart", async () => {
    reset();
    answerPatterns = ok(busyView());
    render(ManagerView);
    const providers = await screen.findByTestId("table-by-provider");
    const first = within(providers).getAllByRole("row")[1] as HTMLElement;
    expect(first.dataset.key).toBe("pr_a");
    expect(within(first).getByText("300")).toBeTruthy();
    expect(first.querySelector('[data-figure="noShow"]')?.textContent?.trim()).toBe("11.4% (30 of 264)");
    for (const id of [
      "table-by-location",
      "table-by-visit-reason",
      "table-by-patient-type",
      "table-by-lead-time",
      "table-by-week",
      "table-by-weekday-hour",
      "table-notice",
      "table-rebook",
    ]) {
      expect(screen.getByTestId(id)).toBeTruthy();
    }
    // Groups without appointments are left out of tables; too-small rates are marked.
    expect(within(screen.getByTestId("table-by-lead-time")).getAllByRole("row")).toHaveLength(3);
    expect(within(screen.getByTestId("table-by-visit-reason")).getAllByText(/too few/)).toHaveLength(3);
    expect(within(screen.getByTestId("table-by-weekday-hour")).getAllByRole("row")).toHaveLength(1 + 20);
    expect(screen.getByTestId("heatmap")).toBeTruthy();
  });

  it("shows each figure's definition from core as help text", async () => {
    reset();
    answerPatterns = ok(busyView());
    render(ManagerView);
    expect((await screen.findByTestId("help-by_provider")).textContent).toContain(
      "Definition of by_provider",
    );
    for (const id of ["by_weekday_hour", "by_lead_time", "cancellation_notice", "rebook_rate", "by_week"]) {
      expect(screen.getByTestId(`help-${id}`).textContent).toContain(`Definition of ${id}`);
    }
    for (const id of ["appointments", "no_show_rate", "too_few"]) {
      expect(screen.getByTestId(`help-summary-${id}`).textContent).toContain(`Definition of ${id}`);
    }
  });

  it("says so when a range has no appointments, and draws nothing", async () => {
    reset();
    answerPatterns = ok(emptyView());
    render(ManagerView);
    expect((await screen.findByTestId("manager-empty")).textContent).toContain("No appointments in this range");
    expect(screen.queryByTestId("summary")).toBeNull();
    expect(drawn).toHaveLength(0);
  });

  it("says a small range is too small to judge, and shows counts without charts", async () => {
    reset();
    answerPatterns = ok(smallView());
    render(ManagerView);
    expect((await screen.findByTestId("manager-small")).textContent).toContain("Only 5 appointments");
    expect(screen.getByTestId("summary-no-show-too-few")).toBeTruthy();
    expect(screen.getByTestId("table-by-provider")).toBeTruthy();
    expect(screen.queryByTestId("heatmap")).toBeNull();
    expect(drawn).toHaveLength(0);
  });

  it("asks again for a preset, a filter, or a custom range", async () => {
    reset();
    answerPatterns = ok(busyView());
    render(ManagerView);
    await fireEvent.click(await screen.findByTestId("preset-year"));
    expect(asked.at(-1)).toEqual(["2025-03-11", "2026-03-10", null, null]);

    const provider = screen.getByTestId("filter-provider") as HTMLSelectElement;
    provider.value = "pr_b";
    await fireEvent.change(provider);
    expect(asked.at(-1)).toEqual(["2025-03-11", "2026-03-10", "pr_b", null]);

    await fireEvent.click(screen.getByTestId("preset-custom"));
    const from = screen.getByTestId("custom-from") as HTMLInputElement;
    const to = screen.getByTestId("custom-to") as HTMLInputElement;
    await fireEvent.input(from, { target: { value: "2026-03-05" } });
    await fireEvent.input(to, { target: { value: "2026-03-01" } });
    await fireEvent.click(screen.getByTestId("custom-apply"));
    expect(screen.getByTestId("custom-problem").textContent).toContain("before the first");
    const count = asked.length;
    await fireEvent.input(to, { target: { value: "2026-03-31" } });
    await fireEvent.click(screen.getByTestId("custom-apply"));
    expect(asked.length).toBe(count + 1);
    expect(asked.at(-1)).toEqual(["2026-03-05", "2026-03-31", "pr_b", null]);
  });

  it("exports what it shows and says where the file went", async () => {
    reset();
    answerPatterns = ok({ ...busyView(), provider: "pr_a" });
    answerExport = ok("/home/desk/figures.csv");
    render(ManagerView);
    await fireEvent.click(await screen.findByTestId("export-csv"));
    expect(exported[0]).toEqual([null, "2026-02-11", "2026-03-10", "pr_a", null]);
    expect((await screen.findByTestId("export-result")).textContent).toBe("Saved as /home/desk/figures.csv");
  });

  it("says nothing when the save dialog is cancelled, and why when saving fails", async () => {
    reset();
    answerPatterns = ok(busyView());
    answerExport = ok(null);
    render(ManagerView);
    await fireEvent.click(await screen.findByTestId("export-csv"));
    expect(screen.queryByTestId("export-result")).toBeNull();
    answerExport = async () => ({
      status: "error",
      error: { code: "file_not_saved", message: "The file could not be saved as /x.csv (denied)." },
    });
    await fireEvent.click(screen.getByTestId("export-csv"));
    expect((await screen.findByTestId("export-error")).textContent).toContain("could not be saved");
  });

  it("says what went wrong when the figures cannot be had", async () => {
    reset();
    answerPatterns = async () => ({
      status: "error",
      error: { code: "keyring_locked", message: "The computer's keyring is locked." },
    });
    render(ManagerView);
    expect((await screen.findByTestId("manager-error")).textContent).toContain("keyring is locked");
  });

  it("says so when the background service cannot be reached", async () => {
    reset();
    answerPatterns = async () => {
      throw new Error("ipc down");
    };
    render(ManagerView);
    expect((await screen.findByTestId("manager-error")).textContent).toContain("Restart Deskbridge");
  });
});
