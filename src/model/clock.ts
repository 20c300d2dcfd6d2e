// The one notion of time every service is given: injected, never read from Date.now() beside it, so tests and
// the watchdog can move time by hand.

export interface Clock {
  now(): Date;
}

export const systemClock: Clock = { now: () => new Date() };

/** A clock that only moves when told to (tests, simulators). */
export class ManualClock implements Clock {
  private t: number;
  constructor(start: Date | number = 0) {
    this.t = typeof start === 'number' ? start : start.getTime();
  }
  now(): Date {
    return new Date(this.t);
  }
  advance(ms: number): void {
    this.t += ms;
  }
  set(at: Date | number): void {
    this.t = typeof at === 'number' ? at : at.getTime();
  }
}
