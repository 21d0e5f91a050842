/** The clock sits at the edge: pure code receives times, shells receive a Clock. */
export interface Clock {
  now(): number;
}

export const systemClock: Clock = { now: () => Date.now() };
