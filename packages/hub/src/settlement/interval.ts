/**
 * Durations as an operator writes them for the settlement schedule (`--settlement-interval`).
 */

const UNIT_MS: Readonly<Record<string, number>> = { s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 };
export const MAX_INTERVAL_MS = 7 * 86_400_000;

/** `90s`, `15m`, `1h`, `1d` in milliseconds; undefined when the text is not such a duration. */
export function parseInterval(text: string): number | undefined {
  const m = /^([1-9]\d{0,6})([smhd])$/.exec(text.trim());
  if (!m) return undefined;
  const ms = Number(m[1]) * UNIT_MS[m[2]!]!;
  return ms <= MAX_INTERVAL_MS ? ms : undefined;
}
