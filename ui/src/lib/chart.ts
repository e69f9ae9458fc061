// The Costs screen's chart: the size to ask for (the size it is shown at,
// so its text is not scaled down) and the totals beside it, named as
// customers know them.

import type { PointRow } from "../api";
import { centsText, toCents } from "./format";

/** Sizes are asked in steps, so a window dragged wider does not ask for every pixel. */
export const CHART_STEP = 40;
export const CHART_MIN = { width: 480, height: 300 };
export const CHART_MAX = { width: 2400, height: 1400 };

/**
 * The chart size for a box `width` pixels wide with `height` pixels of
 * window left below its top: as wide as the box (rounded down to a step),
 * about half as tall, never taller than the room left; within bounds.
 */
export function chartSize(width: number, room: number): { width: number; height: number } {
  const step = (v: number) => Math.floor(v / CHART_STEP) * CHART_STEP;
  const clamp = (v: number, lo: number, hi: number) => Math.min(hi, Math.max(lo, v));
  const w = clamp(step(Number.isFinite(width) ? width : 0), CHART_MIN.width, CHART_MAX.width);
  const tall = Math.round(w * 0.52);
  const fit = Number.isFinite(room) && room > 0 ? Math.min(tall, room) : tall;
  return { width: w, height: clamp(step(fit), CHART_MIN.height, CHART_MAX.height) };
}

/** One row of the totals beside the chart. */
export type GroupTotal = { label: string; amount: string };

/**
 * The chart's points summed per group over the whole range, named by
 * their `labels` (services as customers know them), largest first; the
 * groups past `top` summed as "N others". Exact: amounts are summed in cents.
 */
export function groupTotals(points: readonly PointRow[], top = 8): GroupTotal[] {
  const sums = new Map<string, bigint>();
  for (const p of points) {
    const label = (p.labels.length > 0 ? p.labels : p.keys).join(" · ") || "(none)";
    sums.set(label, (sums.get(label) ?? 0n) + (toCents(p.amount) ?? 0n));
  }
  const rows = [...sums.entries()].sort((a, b) => (b[1] > a[1] ? 1 : b[1] < a[1] ? -1 : a[0].localeCompare(b[0])));
  const shown = rows.length > top + 1 ? rows.slice(0, top) : rows;
  const out = shown.map(([label, c]) => ({ label, amount: centsText(c) }));
  if (shown.length < rows.length) {
    const rest = rows.slice(shown.length);
    out.push({ label: `${rest.length} others`, amount: centsText(rest.reduce((s, [, c]) => s + c, 0n)) });
  }
  return out;
}

/**
 * What charts taught of keys' names (`AmazonEC2` → `Amazon EC2`), added to
 * `known`; `known` itself when nothing is new. Other tables with bare keys
 * (the movers) name them with it.
 */
export function learnLabels(known: ReadonlyMap<string, string>, points: readonly PointRow[]): ReadonlyMap<string, string> {
  let next: Map<string, string> | null = null;
  for (const p of points) {
    p.keys.forEach((key, i) => {
      const label = p.labels[i];
      if (!label || label === key || (next ?? known).get(key) === label) return;
      next ??= new Map(known);
      next.set(key, label);
    });
  }
  return next ?? known;
}
