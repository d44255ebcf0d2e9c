/**
 * Which time to check expiry against. A field laptop's clock may be wrong
 * (flat RTC battery, wrong time zone set as UTC, deliberately set back).
 * Setting the clock back is the only way a wrong clock could admit an expired
 * bundle, so the decision never uses a time earlier than one already known to
 * have passed: the bundle's own signed creation time and the latest time this
 * laptop has seen (persisted with the anti-rollback state). When the clock
 * reads earlier than either, it is declared unreliable, the later time is used
 * and the decision is reported (logged) in plain words. A clock set forward can
 * only make bundles look expired, which fails safe and says so.
 */
export interface ClockDecision {
  /** The time used for expiry checks (ms since epoch). */
  effective: number;
  clock: number;
  reliable: boolean;
  /** Why the clock was overruled, when it was. */
  reason?: 'clock-before-bundle-creation' | 'clock-before-last-seen';
  message: string;
}

export function decideTime(clock: number, bundleCreated: number | undefined, lastSeen: number | undefined): ClockDecision {
  const iso = (t: number) => new Date(t).toISOString();
  const floor = Math.max(bundleCreated ?? -Infinity, lastSeen ?? -Infinity);
  if (clock >= floor) return { effective: clock, clock, reliable: true, message: `Using the laptop clock (${iso(clock)}) for expiry.` };
  const reason = bundleCreated !== undefined && bundleCreated === floor ? 'clock-before-bundle-creation' : 'clock-before-last-seen';
  const what = reason === 'clock-before-bundle-creation' ? "the bundle's signed creation time" : 'the latest time this laptop has already seen';
  return {
    effective: floor,
    clock,
    reliable: false,
    reason,
    message: `The laptop clock (${iso(clock)}) is earlier than ${what} (${iso(floor)}), so it is wrong. Checking expiry against ${iso(floor)} instead; set the clock correctly.`,
  };
}
