// Unit tests of the app shell with the IPC layer replaced: what staff see for each answer.
import { render, screen } from "@testing-library/svelte";
import { describe, expect, it, vi } from "vitest";

// A plain function rather than vi.fn(): vitest reports a vi.fn's rejected promise as unhandled.
let answerAppStatus: () => Promise<unknown> = () => new Promise(() => {});
vi.mock("./lib/bindings", () => ({ commands: { appStatus: () => answerAppStatus() } }));

import App from "./App.svelte";

const readyDatabase = { ready: true, problem: null, message: "Encrypted database ready (schema 1)" };
const sandboxStatus = {
  status: "ok",
  data: {
    version: "1.2.3",
    environment: "sandbox",
    dataDir: "/data/sandbox",
    database: readyDatabase,
  },
};

describe("App shell", () => {
  it("shows the board frame with its empty state", () => {
    answerAppStatus = async () => sandboxStatus;
    render(App);
    expect(screen.getByTestId("board")).toBeTruthy();
    expect(screen.getByText("No appointments yet")).toBeTruthy();
    for (const lane of ["upcoming", "arrived", "rescheduled", "cancelled", "no_show"]) {
      expect(screen.getByTestId(`lane-count-${lane}`).textContent).toBe("0");
    }
  });

  it("shows the version and data folder the app reports", async () => {
    answerAppStatus = async () => sandboxStatus;
    render(App);
    expect((await screen.findByTestId("app-version")).textContent).toBe(
      "Deskbridge 1.2.3 · Sandbox — test data",
    );
    expect(screen.getByTestId("data-dir").textContent).toBe("/data/sandbox");
    expect(screen.getByTestId("environment").textContent?.trim()).toBe("Sandbox — test data");
    expect(screen.getByTestId("database-status").textContent).toBe(
      "Encrypted database ready (schema 1)",
    );
    expect(screen.queryByTestId("database-problem")).toBeNull();
  });

  it("says plainly when the database is closed, and why", async () => {
    const message = "The computer's keyring is locked, so Deskbridge cannot read its keys.";
    answerAppStatus = async () => ({
      status: "ok",
      data: {
        ...sandboxStatus.data,
        database: { ready: false, problem: "keyring_locked", message },
      },
    });
    render(App);
    const problem = await screen.findByTestId("database-problem");
    expect(problem.textContent).toContain(message);
    expect(problem.textContent).toContain("Zocdoc keeps retrying");
    expect(problem.getAttribute("role")).toBe("alert");
    expect(problem.dataset.problem).toBe("keyring_locked");
    expect(screen.queryByTestId("database-status")).toBeNull();
  });

  it("says what went wrong when the app reports an error", async () => {
    answerAppStatus = async () => ({
      status: "error",
      error: { code: "data_dir_missing", message: "The data folder has disappeared." },
    });
    render(App);
    expect((await screen.findByTestId("status-error")).textContent).toBe(
      "The data folder has disappeared.",
    );
    expect(screen.queryByTestId("app-version")).toBeNull();
  });

  it("says so when the background service cannot be reached", async () => {
    answerAppStatus = async () => {
      throw new Error("ipc down");
    };
    render(App);
    expect((await screen.findByTestId("status-error")).textContent).toContain(
      "Restart Deskbridge",
    );
    expect(screen.queryByTestId("app-version")).toBeNull();
  });
});
