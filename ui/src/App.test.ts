// Unit tests of the app shell with the IPC layer replaced: what staff see for each answer, the board's
// lanes and live updates, the drawer's confirmed actions, and the webhook inspector.
import { fireEvent, render, screen, waitFor } from "@testing-library/svelte";
import { beforeEach, describe, expect, it, vi } from "vitest";
import type { BoardDay, CardView, DrawerView, LinkStatus } from "./lib/bindings";

// Plain functions rather than vi.fn(): vitest reports a vi.fn's rejected promise as unhandled.
type Answer = () => Promise<unknown>;
const pending: Answer = () => new Promise(() => {});
let answers: Record<string, Answer> = {};
let calls: { name: string; args: unknown[] }[] = [];
const listeners: Record<string, ((event: { payload: unknown }) => void)[]> = {};

function command(name: string) {
  return (...args: unknown[]) => {
    calls.push({ name, args });
    return (answers[name] ?? pending)();
  };
}

function event(name: string) {
  return {
    listen: (callback: (event: { payload: unknown }) => void) => {
      (listeners[name] ??= []).push(callback);
      return Promise.resolve(() => {});
    },
  };
}

function emit(name: string, payload: unknown) {
  for (const listener of listeners[name] ?? []) listener({ payload });
}

vi.mock("./lib/bindings", () => ({
  commands: {
    appStatus: command("appStatus"),
    linkStatus: command("linkStatus"),
    board: command("board"),
    appointment: command("appointment"),
    staffAction: command("staffAction"),
    patientDetails: command("patientDetails"),
    startResync: command("startResync"),
    cancelResync: command("cancelResync"),
    webhooks: command("webhooks"),
    reprocessWebhook: command("reprocessWebhook"),
    settings: command("settings"),
    saveSettings: command("saveSettings"),
    storeSecret: command("storeSecret"),
    testZocdoc: command("testZocdoc"),
    resetDemo: command("resetDemo"),
    caspioPanel: command("caspioPanel"),
    caspioDryRun: command("caspioDryRun"),
    caspioPush: command("caspioPush"),
    caspioRetryFailed: command("caspioRetryFailed"),
    caspioCancel: command("caspioCancel"),
  },
  events: {
    boardChanged: event("boardChanged"),
    linkStatus: event("linkStatus"),
    webhookReceived: event("webhookReceived"),
    caspioProgress: event("caspioProgress"),
  },
}));

import App from "./App.svelte";

const ok = (data: unknown) => async () => ({ status: "ok", data });
const readyDatabase = { ready: true, problem: null, message: "Encrypted database ready (schema 5)" };
const sandboxStatus = {
  version: "1.2.3",
  environment: "sandbox",
  mode: "live",
  practiceName: "Riverside Family Medicine",
  timeZone: "America/New_York",
  dataDir: "/data/sandbox",
  database: readyDatabase,
};

function card(id: string, lane: CardView["lane"], time = "9:00 AM"): CardView {
  return {
    id,
    lane,
    time,
    previousTime: lane === "rescheduled" ? "Nov 25, 8:00 AM" : null,
    status: lane === "cancelled" ? "cancelled" : "confirmed",
    statusText: lane === "cancelled" ? "Cancelled" : "Confirmed",
    provider: "Dr. Ada Placeholder",
    visitReason: "Annual physical",
    patientType: "New patient",
    visitType: null,
    patientName: null,
    rebooked: lane === "cancelled" ? false : null,
  };
}

function day(cards: CardView[]): BoardDay {
  return {
    day: "2026-11-25",
    previousDay: "2026-11-24",
    nextDay: "2026-11-26",
    title: "Today",
    dateText: "Wednesday, November 25, 2026",
    isToday: true,
    cards,
  };
}

const link: LinkStatus = {
  tunnel: { state: "ok", detail: "Connected since 8:00 AM" },
  zocdoc: { state: "ok", detail: "OK" },
  caspio: { state: "off", detail: "Not set up" },
  clockWarning: null,
  resync: { running: false, done: 0, total: 0, message: "3 changes recovered at 8:01 AM", available: true },
};

function drawerOf(allowed: boolean): DrawerView {
  return {
    card: card("a1", "upcoming"),
    startText: "Wednesday, November 25, 9:00 AM",
    bookedText: "Booked Nov 20, 3:00 PM",
    notes: null,
    cancellationReason: null,
    history: [{ at: "Nov 20, 3:00 PM", text: "Booked (confirmed)" }],
    actions: [
      { action: "mark_arrived", label: "Mark arrived", confirm: "Tell Zocdoc that the patient has arrived?", allowed, reason: allowed ? null : "Not now." },
      { action: "mark_no_show", label: "Mark no-show", confirm: "Sure?", allowed: false, reason: "A no-show can only be marked once the start time has passed." },
      { action: "confirm", label: "Confirm", confirm: "Confirm?", allowed: false, reason: "Only a booking waiting for confirmation can be confirmed." },
    ],
    patientLoaded: false,
  };
}

beforeEach(() => {
  answers = {};
  calls = [];
  for (const name of Object.keys(listeners)) delete listeners[name];
});

describe("App shell", () => {
  it("shows the board's lanes with their counts and an empty state", async () => {
    answers.appStatus = ok(sandboxStatus);
    answers.board = ok(day([]));
    render(App);
    expect(await screen.findByTestId("board-empty")).toBeTruthy();
    for (const lane of ["upcoming", "arrived", "rescheduled", "cancelled", "no_show"]) {
      expect(screen.getByTestId(`lane-count-${lane}`).textContent).toBe("0");
    }
  });

  it("shows the version, practice and data folder the app reports", async () => {
    answers.appStatus = ok(sandboxStatus);
    render(App);
    expect((await screen.findByTestId("app-version")).textContent).toBe(
      "Deskbridge 1.2.3 · Sandbox — test data",
    );
    expect(screen.getByTestId("practice-name").textContent).toBe("Riverside Family Medicine");
    expect(screen.getByTestId("data-dir").textContent).toBe("/data/sandbox");
    expect(screen.getByTestId("database-status").textContent).toBe(
      "Encrypted database ready (schema 5)",
    );
    expect(screen.queryByTestId("database-problem")).toBeNull();
    expect(screen.queryByTestId("demo-banner")).toBeNull();
  });

  it("says plainly that the demo shows sandbox data", async () => {
    answers.appStatus = ok({ ...sandboxStatus, mode: "demo" });
    render(App);
    expect((await screen.findByTestId("demo-banner")).textContent).toContain("Demo — sandbox data");
  });

  it("says plainly when the database is closed, and why", async () => {
    const message = "The computer's keyring is locked, so Deskbridge cannot read its keys.";
    answers.appStatus = ok({
      ...sandboxStatus,
      database: { ready: false, problem: "keyring_locked", message },
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
    answers.appStatus = async () => ({
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
    answers.appStatus = async () => {
      throw new Error("ipc down");
    };
    render(App);
    expect((await screen.findByTestId("status-error")).textContent).toContain(
      "Restart Deskbridge",
    );
  });
});

describe("Board", () => {
  it("puts each card in its lane and reloads on a live change", async () => {
    answers.appStatus = ok(sandboxStatus);
    answers.board = ok(day([card("a1", "upcoming"), card("a2", "cancelled"), card("a3", "rescheduled")]));
    render(App);
    await waitFor(() => expect(screen.getAllByTestId("card")).toHaveLength(3));
    expect(screen.getByTestId("lane-count-upcoming").textContent).toBe("1");
    expect(screen.getByTestId("lane-count-cancelled").textContent).toBe("1");
    expect(screen.getByTestId("lane-rescheduled").textContent).toContain("Nov 25, 8:00 AM");
    expect(screen.getByTestId("rebook-count").textContent).toBe("1");

    answers.board = ok(day([card("a1", "arrived"), card("a2", "cancelled"), card("a3", "rescheduled")]));
    emit("boardChanged", { ids: ["a1"] });
    await waitFor(() => expect(screen.getByTestId("lane-count-arrived").textContent).toBe("1"));
    const moved = screen.getAllByTestId("card").find((node) => node.dataset.id === "a1")!;
    expect(moved.dataset.lane).toBe("arrived");
  });

  it("moves between days with the arrow keys", async () => {
    answers.appStatus = ok(sandboxStatus);
    answers.board = ok(day([]));
    render(App);
    await screen.findByTestId("board-empty");
    await fireEvent.keyDown(document.body, { key: "ArrowRight" });
    await waitFor(() => expect(calls.filter((c) => c.name === "board").map((c) => c.args[0])).toContain("2026-11-26"));
  });

  it("shows the link lights and the resync result", async () => {
    answers.appStatus = ok(sandboxStatus);
    answers.linkStatus = ok(link);
    render(App);
    await waitFor(() => expect(screen.getByTestId("link-tunnel").dataset.state).toBe("ok"));
    expect(screen.getByTestId("link-caspio").textContent).toContain("Not set up");
    expect(screen.getByTestId("resync-message").textContent).toBe("3 changes recovered at 8:01 AM");
    emit("linkStatus", { ...link, resync: { running: true, done: 40, total: 100, message: null, available: true } });
    await waitFor(() => expect(screen.getByTestId("resync-message").textContent).toContain("40 of about 100"));
    expect(screen.getByTestId("resync-cancel")).toBeTruthy();
  });
});

describe("Drawer", () => {
  it("confirms before it acts and shows Zocdoc's answer", async () => {
    answers.appStatus = ok(sandboxStatus);
    answers.board = ok(day([card("a1", "upcoming")]));
    answers.appointment = ok(drawerOf(true));
    render(App);
    await fireEvent.click(await screen.findByTestId("card"));
    const arrive = await screen.findByTestId("action-mark_arrived");
    expect((screen.getByTestId("action-mark_no_show") as HTMLButtonElement).disabled).toBe(true);
    await fireEvent.click(arrive);
    expect(calls.some((c) => c.name === "staffAction")).toBe(false);
    expect(screen.getByTestId("confirm").textContent).toContain("has arrived?");
    answers.staffAction = ok({ message: "Marked as arrived at Zocdoc.", drawer: drawerOf(false) });
    await fireEvent.click(screen.getByTestId("confirm-yes"));
    expect((await screen.findByTestId("drawer-outcome")).textContent).toBe("Marked as arrived at Zocdoc.");
    expect(calls.find((c) => c.name === "staffAction")?.args).toEqual(["a1", "mark_arrived"]);
    expect(screen.getByTestId("history").textContent).toContain("Booked (confirmed)");
  });

  it("shows Zocdoc's refusal in plain words", async () => {
    answers.appStatus = ok(sandboxStatus);
    answers.board = ok(day([card("a1", "upcoming")]));
    answers.appointment = ok(drawerOf(true));
    answers.staffAction = async () => ({
      status: "error",
      error: { code: "zocdoc", message: "Zocdoc does not allow this now: the appointment was cancelled." },
    });
    render(App);
    await fireEvent.click(await screen.findByTestId("card"));
    await fireEvent.click(await screen.findByTestId("action-mark_arrived"));
    await fireEvent.click(screen.getByTestId("confirm-yes"));
    expect((await screen.findByTestId("drawer-problem")).textContent).toContain("was cancelled");
  });
});

describe("Webhook inspector", () => {
  it("lists received webhooks and adds live ones on top", async () => {
    answers.appStatus = ok(sandboxStatus);
    answers.webhooks = ok([
      { key: "stored-1", received: "Nov 25, 8:00:00 AM", verdict: "stored", appointmentId: "a1", updateType: "created", detail: null, storedId: 1 },
    ]);
    answers.reprocessWebhook = ok(null);
    render(App);
    await fireEvent.click(screen.getByTestId("nav-webhooks"));
    await waitFor(() => expect(screen.getAllByTestId("webhook-row")).toHaveLength(1));
    emit("webhookReceived", {
      row: { key: "rejected-9", received: "Nov 25, 8:01:00 AM", verdict: "rejected", appointmentId: null, updateType: null, detail: "Refused", storedId: null },
    });
    await waitFor(() => expect(screen.getAllByTestId("webhook-row")).toHaveLength(2));
    expect(screen.getAllByTestId("webhook-row").at(0)?.dataset.verdict).toBe("rejected");
    expect(screen.getAllByTestId("reprocess")).toHaveLength(1);
    await fireEvent.click(screen.getByTestId("reprocess"));
    await waitFor(() => expect(calls.find((c) => c.name === "reprocessWebhook")?.args).toEqual([1]));
  });
});

describe("Settings", () => {
  const settingsView = (stored: boolean) => ({
    environment: "sandbox",
    practiceName: null,
    timeZone: null,
    relayUrl: null,
    directListen: null,
    caspioHost: null,
    caspioClientId: null,
    secrets: [{ secret: "webhook_key", label: "Webhook key", stored }],
    note: "Changes apply the next time Deskbridge starts.",
    demo: false,
  });

  it("stores a secret write-only: the field empties and only 'Stored' comes back", async () => {
    answers.appStatus = ok(sandboxStatus);
    answers.settings = ok(settingsView(false));
    answers.storeSecret = ok(settingsView(true));
    render(App);
    await fireEvent.click(screen.getByTestId("nav-settings"));
    const input = (await screen.findByTestId("secret-input-webhook_key")) as HTMLInputElement;
    expect(input.type).toBe("password");
    await fireEvent.input(input, { target: { value: "c2VjcmV0LWtleQ==" } });
    await fireEvent.click(screen.getByTestId("secret-save-webhook_key"));
    await waitFor(() =>
      expect(screen.getByTestId("secret-state-webhook_key").textContent).toContain("Stored"),
    );
    expect(calls.find((c) => c.name === "storeSecret")?.args).toEqual(["webhook_key", "c2VjcmV0LWtleQ=="]);
    expect(input.value).toBe("");
    expect(document.body.innerHTML).not.toContain("c2VjcmV0LWtleQ==");
  });
});

describe("Caspio panel", () => {
  it("shows a dry run row by row and writes nothing", async () => {
    answers.appStatus = ok(sandboxStatus);
    answers.caspioPanel = ok({ configured: true, table: "Appointments", pending: 0, pushed: 2, failed: 1, rows: [] });
    answers.caspioDryRun = ok({
      rows: [
        { appointmentId: "a1", action: "insert", changedColumns: [], values: [{ column: "Status", value: "confirmed" }] },
        { appointmentId: "a2", action: "update", changedColumns: ["Status"], values: [{ column: "Status", value: "cancelled" }] },
      ],
      notStored: [],
    });
    render(App);
    await fireEvent.click(screen.getByTestId("nav-caspio"));
    expect((await screen.findByTestId("caspio-failed")).textContent).toBe("1");
    await fireEvent.click(screen.getByTestId("caspio-dry-run"));
    await waitFor(() => expect(screen.getAllByTestId("dry-run-row")).toHaveLength(2));
    expect(screen.getAllByTestId("dry-run-row").map((row) => row.dataset.action)).toEqual(["insert", "update"]);
    expect(calls.some((c) => c.name === "caspioPush")).toBe(false);
  });
});
