/**
 * When the retention job runs, on both hosts: the Deno host reads the same Cron Trigger that
 * wrangler.toml gives Cloudflare, and fires it at the same times (deno/scheduler.ts); retention
 * periods end where the rule says (shared/api/retention.ts).
 */
import { join, resolve } from "node:path";
import { describe, expect, it } from "vitest";
import { readBindings } from "../../deno/config";
import { nextRun, parseDailyCron } from "../../deno/scheduler";
import { addPeriod, describeRule } from "../../shared/api/retention";

const root = resolve(import.meta.dirname, "../..");

describe("the daily Cron Trigger", () => {
  it("is read by the Deno host from wrangler.toml, as Cloudflare reads it", () => {
    const { crons } = readBindings(join(root, "wrangler.toml"));
    expect(crons).toHaveLength(1);
    expect(parseDailyCron(crons[0]!)).toEqual({ minute: 30, hour: 3 });
  });

  it("fires next at its time today if that is still ahead, else tomorrow (UTC)", () => {
    expect(nextRun("30 3 * * *", new Date("2026-12-07T01:00:00Z")).toISOString()).toBe("2026-12-07T03:30:00.000Z");
    expect(nextRun("30 3 * * *", new Date("2026-12-07T03:30:00Z")).toISOString()).toBe("2026-12-08T03:30:00.000Z");
    expect(nextRun("0 0 * * *", new Date("2026-12-31T23:59:59Z")).toISOString()).toBe("2027-01-01T00:00:00.000Z");
  });

  it("refuses a cron the host cannot run, rather than never running it", () => {
    for (const cron of ["*/5 * * * *", "30 3 * * 1", "61 3 * * *", "30 24 * * *", ""]) expect(() => parseDailyCron(cron), cron).toThrow(/daily Cron Triggers/);
  });
});

describe("retention periods", () => {
  it("end N days or years after their start; a year from 29 February ends on 1 March", () => {
    expect(addPeriod("2026-01-31T10:00:00.000Z", { basis: "capture", count: 30, unit: "days" })).toBe("2026-03-02T10:00:00.000Z");
    expect(addPeriod("2026-06-01T00:00:00.000Z", { basis: "case_closed", count: 3, unit: "years" })).toBe("2029-06-01T00:00:00.000Z");
    expect(addPeriod("2028-02-29T12:00:00.000Z", { basis: "case_closed", count: 1, unit: "years" })).toBe("2029-03-01T12:00:00.000Z");
    expect(addPeriod("2026-06-01T00:00:00.000Z", { basis: "capture", count: 0, unit: "days" })).toBe("2026-06-01T00:00:00.000Z");
  });

  it("read in words", () => {
    expect(describeRule({ basis: "indefinite" })).toBe("Kept indefinitely");
    expect(describeRule({ basis: "case_closed", count: 1, unit: "years" })).toBe("Kept 1 year after the case closes");
    expect(describeRule({ basis: "capture", count: 30, unit: "days" })).toBe("Kept 30 days after capture");
  });
});
