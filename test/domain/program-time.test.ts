import { DateTime } from "luxon";
import { describe, expect, it } from "vitest";
import { addDays } from "../../src/domain/program-time.ts";

const byCalendar = (instant: Date, days: number, zone: string) => DateTime.fromJSDate(instant, { zone }).plus({ days }).toJSDate();

describe("addDays", () => {
  it("in UTC is the calendar's sum, for any instant and hold (including leap days and year ends)", () => {
    const instants = ["2024-02-28T23:59:59.999Z", "2024-02-29T00:00:00.000Z", "2025-12-31T12:34:56.789Z", "1999-03-28T01:30:00.000Z", "2026-03-08T10:00:00.000Z"];
    for (const zone of ["UTC", "Etc/UTC"]) {
      for (const text of instants) {
        for (const days of [0, 1, 7, 30, 45, 90, 365, 366, -1, -30]) {
          const instant = new Date(text);
          expect(addDays(instant, days, zone).toISOString(), `${text} + ${days} in ${zone}`).toBe(byCalendar(instant, days, zone).toISOString());
        }
      }
    }
  });

  it("keeps the wall-clock time across a DST change in a zone that has one", () => {
    // New York springs forward on 2026-03-08: thirty days after 10:00 local on 2026-03-01 is 10:00 local, 23 hours of that day short.
    const start = new Date("2026-03-01T15:00:00.000Z"); // 10:00 EST
    expect(addDays(start, 30, "America/New_York").toISOString()).toBe("2026-03-31T14:00:00.000Z"); // 10:00 EDT
    expect(addDays(start, 30, "UTC").toISOString()).toBe("2026-03-31T15:00:00.000Z");
  });

  it("gives an invalid date for an invalid instant, as before", () => {
    expect(Number.isNaN(addDays(new Date(Number.NaN), 30, "UTC").getTime())).toBe(true);
  });
});
