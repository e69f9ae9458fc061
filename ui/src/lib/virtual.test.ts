import { describe, expect, it } from "vitest";
import { revealRow, visibleRange } from "./virtual";

describe("visibleRange", () => {
  it("renders the visible rows plus overscan", () => {
    // 400px viewport of 40px rows at the top: rows 0..10 visible (+1 partial), overscan 6
    expect(visibleRange(0, 400, 40, 10_000, 6)).toEqual({ start: 0, end: 17 });
    // scrolled to row 100
    expect(visibleRange(4000, 400, 40, 10_000, 6)).toEqual({ start: 94, end: 117 });
  });

  it("stays small whatever the list size", () => {
    const r = visibleRange(123_456, 600, 40, 10_000);
    expect(r.end - r.start).toBeLessThan(40);
  });

  it("clamps at the end and handles empty lists", () => {
    expect(visibleRange(1_000_000, 400, 40, 50, 6)).toEqual({ start: 43, end: 50 });
    expect(visibleRange(0, 400, 40, 0)).toEqual({ start: 0, end: 0 });
  });
});

describe("revealRow", () => {
  it("scrolls up or down just enough", () => {
    expect(revealRow(5, 400, 400, 40)).toBe(200); // above: align top
    expect(revealRow(20, 0, 400, 40)).toBe(440); // below: align bottom
    expect(revealRow(3, 0, 400, 40)).toBe(0); // visible: stay
  });
});
