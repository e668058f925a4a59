/**
 * The one source of "now" for every time-dependent rule (hold ends, "this
 * month", scheduled runs, tax years). Tests set it; production reads the
 * system time.
 */
export interface Clock {
  now(): Date;
}

export const systemClock: Clock = { now: () => new Date() };

/** A clock that tests move by hand; it stands still unless told otherwise. */
export class ManualClock implements Clock {
  #now: Date;
  constructor(start: Date | string = "2026-01-15T12:00:00.000Z") {
    this.#now = new Date(start);
  }
  now(): Date {
    return new Date(this.#now);
  }
  set(to: Date | string): void {
    this.#now = new Date(to);
  }
  advance(milliseconds: number): void {
    this.#now = new Date(this.#now.getTime() + milliseconds);
  }
}
