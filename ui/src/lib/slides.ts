// Present mode walks a review pack page by page: which slide a key or a
// click leads to, what every slide's footer says, which table columns are
// amounts. Pure: the presenter component only wires these to the DOM.

/** Where a key press leads: a slide index, `"stop"` (leave presenting), or `null` (not ours). */
export type SlideStep = number | "stop" | null;

const NEXT = new Set(["ArrowRight", "ArrowDown", "PageDown", " ", "Spacebar"]);
const PREVIOUS = new Set(["ArrowLeft", "ArrowUp", "PageUp"]);

/** A slide index kept within `0 .. count - 1` (0 when there is none). */
export function clampSlide(index: number, count: number): number {
  if (count <= 0 || !Number.isFinite(index)) return 0;
  return Math.min(count - 1, Math.max(0, Math.trunc(index)));
}

/**
 * The slide a key leads to from `index` of `count`: Right, Down, Page Down
 * and Space go on; Left, Up and Page Up go back (never past the ends);
 * Home and End jump; Escape stops. Other keys: `null`.
 */
export function slideForKey(key: string, index: number, count: number): SlideStep {
  if (key === "Escape" || key === "Esc") return "stop";
  if (count <= 0) return null;
  if (NEXT.has(key)) return clampSlide(index + 1, count);
  if (PREVIOUS.has(key)) return clampSlide(index - 1, count);
  if (key === "Home") return 0;
  if (key === "End") return count - 1;
  return null;
}

/** A click at `x` on a slide `width` wide: the right half goes on, the left half back. */
export function slideForClick(x: number, width: number, index: number, count: number): number {
  return clampSlide(x >= width / 2 ? index + 1 : index - 1, count);
}

/** `3 / 9`: the slide's place, 1-based. */
export function slidePosition(index: number, count: number): string {
  return count <= 0 ? "0 / 0" : `${clampSlide(index, count) + 1} / ${count}`;
}

/** An amount, a signed change or a percentage as the backend formats them (`$1,234.50`, `+€3.00`, `-12.5%`, `CHF 10.00`). */
const AMOUNT = /^[+-]?(?:[$€£¥₹]|[A-Z]{3} )\d[\d,]*(?:\.\d+)?$|^[+-]?\d+(?:\.\d+)?%$|^n\/a$|^—$/;

/**
 * Which columns of a table hold amounts (right-aligned): those whose
 * every non-empty cell reads as one, with at least one such cell.
 */
export function amountColumns(columns: readonly string[], rows: readonly (readonly string[])[]): boolean[] {
  return columns.map((_, c) => {
    const cells = rows.map((r) => (r[c] ?? "").trim()).filter((v) => v !== "");
    return cells.length > 0 && cells.every((v) => AMOUNT.test(v)) && cells.some((v) => /\d/.test(v));
  });
}

/** The tone of a signed change cell: `up` (costs grew), `down`, or none. */
export function changeTone(cell: string): "up" | "down" | null {
  const t = cell.trim();
  if (!/\d/.test(t) || !AMOUNT.test(t)) return null;
  if (t.startsWith("+") && /[1-9]/.test(t)) return "up";
  if (t.startsWith("-") && /[1-9]/.test(t)) return "down";
  return null;
}
