// Unit tests of the status-bar wording.
import { describe, expect, it } from "vitest";
import { environmentLabel, statusLine } from "./status";

describe("status wording", () => {
  it("names each environment in staff words", () => {
    expect(environmentLabel("sandbox")).toBe("Sandbox — test data");
    expect(environmentLabel("production")).toBe("Production");
    expect(environmentLabel("staging")).toBe("staging");
  });

  it("builds the status line from version and environment", () => {
    const status = {
      version: "0.1.0",
      environment: "production",
      mode: "live" as const,
      practiceName: null,
      timeZone: "America/New_York",
      dataDir: "/x",
      database: { ready: true, problem: null, message: "ready" },
    };
    expect(statusLine(status)).toBe("Deskbridge 0.1.0 · Production");
    expect(statusLine({ ...status, environment: "sandbox", mode: "demo" })).toBe(
      "Deskbridge 0.1.0 · Sandbox — test data · Demo",
    );
  });
});
