/**
 * Strict ISO 8601 (the RFC 3339 profile) for dates and times from clients.
 * JavaScript's Date parser guesses (`2026-01-01junk` is June 1st), and
 * PostgreSQL refuses years JavaScript accepts (0000), so inputs are read
 * here: exact shapes, real calendar dates, years 1900 to 9999.
 */
export const MIN_YEAR = 1900;
export const MAX_YEAR = 9999;

const DATE = /^(\d{4})-(\d{2})-(\d{2})$/;
const DATE_TIME = /^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(\.\d{1,9})?(?:([Zz])|([+-])(\d{2}):(\d{2}))$/;

function realDate(year: number, month: number, day: number): boolean {
  if (year < MIN_YEAR || year > MAX_YEAR || month < 1 || month > 12 || day < 1) return false;
  return day <= new Date(Date.UTC(year, month, 0)).getUTCDate();
}

/** `YYYY-MM-DD`, a real date in range, or undefined. */
export function parseLocalDate(text: string): string | undefined {
  const match = DATE.exec(text);
  return match && realDate(Number(match[1]), Number(match[2]), Number(match[3])) ? text : undefined;
}

/** An RFC 3339 date-time with its offset (`2026-03-01T12:00:00Z`, `…+01:00`), in range, or undefined. */
export function parseInstant(text: string): Date | undefined {
  const match = DATE_TIME.exec(text);
  if (!match) return undefined;
  const [year, month, day, hour, minute, second] = match.slice(1, 7).map(Number) as [number, number, number, number, number, number];
  if (!realDate(year, month, day) || hour > 23 || minute > 59 || second > 59) return undefined;
  let offsetMinutes = 0;
  if (!match[8]) {
    const [offsetHours, offsetMins] = [Number(match[10]), Number(match[11])];
    if (offsetHours > 23 || offsetMins > 59) return undefined;
    offsetMinutes = (match[9] === "-" ? -1 : 1) * (offsetHours * 60 + offsetMins);
  }
  const millis = match[7] ? Math.floor(Number(`0${match[7]}`) * 1000) : 0;
  return inRange(new Date(Date.UTC(year, month - 1, day, hour, minute, second, millis) - offsetMinutes * 60_000));
}

/** The instant itself when its UTC year is within range (an offset can push 9999-12-31 past it). */
export function inRange(date: Date): Date | undefined {
  const year = date.getUTCFullYear();
  return Number.isNaN(date.getTime()) || year < MIN_YEAR || year > MAX_YEAR ? undefined : date;
}
